//! Table `projects`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The definition version (row of `definitions`) the project runs on, for its whole life.
    pub definition_id: i64,
    pub definition_key: String,
    pub title: String,
    /// The title lower-cased by the application, for case-insensitive search.
    pub title_folded: String,
    pub year: i32,
    pub organisation_id: i64,
    /// The district above `organisation_id`, kept here so access checks need no join.
    pub district_id: Option<i64>,
    pub lead_user_id: i64,
    pub stage: String,
    /// Form data of every stage, a JSON object keyed by field id.
    #[sea_orm(column_type = "Text")]
    pub form_data: String,
    /// Optimistic concurrency: every change increments it; a writer names the version it saw.
    pub version: i32,
    pub milestones_total: i32,
    pub milestones_done: i32,
    pub appraisal_count: i32,
    /// JSON object: scoring part id -> number of submissions.
    #[sea_orm(column_type = "Text")]
    pub score_counts: String,
    /// Sequence number of the last audit event.
    pub audit_seq: i64,
    /// Hash of the last audit event (the head of the hash chain).
    pub audit_head: String,
    /// Set when the score is computed (the `compute_score` effect).
    pub final_score: Option<f64>,
    /// Grade band id.
    pub grade: Option<String>,
    /// JSON explanation of the final score.
    #[sea_orm(column_type = "Text", nullable)]
    pub score_detail: Option<String>,
    pub stage_entered_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
