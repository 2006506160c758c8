//! Table `review_freezes`: a year whose review is approved and frozen, with the review as it
//! stood (JSON). A row present means frozen; unfreezing deletes it (the history keeps both).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "review_freezes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub definition_key: String,
    pub year: i32,
    pub frozen_at: DateTimeUtc,
    pub frozen_by: i64,
    #[sea_orm(column_type = "Text")]
    pub comment: String,
    #[sea_orm(column_type = "Text")]
    pub snapshot: String,
    /// The year's projects as they stood (JSON), for the explanation and the export.
    #[sea_orm(column_type = "Text")]
    pub projects: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
