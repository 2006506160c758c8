//! Table `audit_events`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub seq: i64,
    pub at: DateTimeUtc,
    pub actor_user_id: Option<i64>,
    pub action: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub comment: Option<String>,
    pub from_stage: Option<String>,
    pub to_stage: Option<String>,
    /// JSON: what changed (before/after) and the effects carried out.
    #[sea_orm(column_type = "Text")]
    pub data: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
