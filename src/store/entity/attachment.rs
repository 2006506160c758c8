//! Table `attachments`: files stored by the server (see `store::files`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub milestone_id: Option<i64>,
    /// The progress report it is evidence for.
    pub report_id: Option<i64>,
    pub uploader_user_id: i64,
    /// The name the uploader gave, checked: no folders, no control characters.
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Where the bytes are: the file store's name for them.
    pub sha256: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
