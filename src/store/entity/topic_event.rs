//! Table `topic_events`: the append-only trail of the topic pool.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "topic_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub topic_id: i64,
    pub at: DateTimeUtc,
    pub actor_user_id: i64,
    /// `created`, `edited`, `dropped`, `reopened`, `commented`, `promoted`.
    pub action: String,
    /// JSON: what changed (before/after, comment id, project id).
    #[sea_orm(column_type = "Text")]
    pub data: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
