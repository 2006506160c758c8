//! Table `milestones`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "milestones")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub position: i32,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub goal: String,
    pub owner_login: String,
    pub owner_user_id: Option<i64>,
    pub start_date: Option<Date>,
    pub due_date: Date,
    pub weight: f64,
    pub percent: i32,
    pub done_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
