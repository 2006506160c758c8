//! Table `users`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub login: String,
    pub name: String,
    pub email: String,
    pub organisation_id: i64,
    /// Role ids of the workflow definitions, comma separated.
    pub roles: String,
    pub password_hash: Option<String>,
    /// Preferred language of mail and pages: `zh` or `en`.
    pub language: String,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
