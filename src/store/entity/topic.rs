//! Table `topics`: the topic pool (议题库).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "topics")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The definition whose topic pool this belongs to.
    pub definition_key: String,
    pub organisation_id: i64,
    pub district_id: Option<i64>,
    pub author_user_id: i64,
    pub title: String,
    /// A source id of the definition's topic pool (field visit, resident request, ...).
    pub source: String,
    /// The area (community, street) the problem is in.
    pub area: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    /// `open`, `promoted` or `dropped`.
    pub status: String,
    /// The project it became, once promoted.
    pub project_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
