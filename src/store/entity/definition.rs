//! Table `definitions`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "definitions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The definition id from the file, e.g. `secretary_project`.
    pub key: String,
    /// Readable version number, 1, 2, ... per key; increases when the content changes.
    pub number: i32,
    /// SHA-256 of the source text.
    pub content_hash: String,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub source: String,
    pub loaded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
