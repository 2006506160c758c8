//! Table `site_visits`: a reviewer's on-site visit of a project (date, notes, photos).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "site_visits")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub reviewer_user_id: i64,
    pub visited_on: Date,
    #[sea_orm(column_type = "Text")]
    pub notes: String,
    /// JSON array of attachment ids (photos uploaded to the project).
    #[sea_orm(column_type = "Text")]
    pub photos: String,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
