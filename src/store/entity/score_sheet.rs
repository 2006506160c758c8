//! Table `score_sheets`: one scorer's criterion scores for one scoring part of one project.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "score_sheets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    /// Scoring part id in the definition.
    pub part: String,
    pub scorer_user_id: i64,
    /// JSON object: criterion id -> points.
    #[sea_orm(column_type = "Text")]
    pub criteria: String,
    pub total: f64,
    #[sea_orm(column_type = "Text", nullable)]
    pub comment: Option<String>,
    pub submitted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
