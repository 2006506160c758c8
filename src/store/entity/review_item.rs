//! Table `review_items`: the score a reviewer entered for one item of one person's annual
//! review (the latest entry; every entry is also kept in `review_events`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "review_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub definition_key: String,
    pub year: i32,
    pub user_id: i64,
    /// Item id in the definition's `annual_review.items`.
    pub item: String,
    pub score: f64,
    #[sea_orm(column_type = "Text")]
    pub comment: String,
    pub entered_by: i64,
    pub entered_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
