//! Table `review_events`: the annual review's append-only history: each item entered, each
//! freeze and unfreeze, who, when and why.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "review_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub definition_key: String,
    pub year: i32,
    pub at: DateTimeUtc,
    pub actor_user_id: i64,
    /// `enter_item`, `freeze` or `unfreeze`.
    pub action: String,
    pub subject_user_id: Option<i64>,
    pub item: Option<String>,
    pub score: Option<f64>,
    /// The entry's comment, or the reason of a freeze or unfreeze.
    #[sea_orm(column_type = "Text")]
    pub comment: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
