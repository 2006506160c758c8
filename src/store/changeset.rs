//! The writes of one workflow action as plain data, applied atomically with a version check.
//!
//! A use case reads what it needs, decides with the pure core, and hands the resulting
//! `ChangeSet` to the store. On PostgreSQL (and in-memory SQLite) it is applied through sea-orm;
//! on a SQLite file through the dedicated writer thread (`sqlite_writer`), which batches many
//! change sets into one commit. Either way: all of it, or none of it.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct ProjectChanges {
    pub stage: String,
    pub version: i32,
    pub stage_entered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub audit_seq: i64,
    pub audit_head: String,
    pub final_score: Option<f64>,
    pub grade: Option<String>,
    pub score_detail: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AuditRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub comment: Option<String>,
    pub from_stage: Option<String>,
    pub to_stage: Option<String>,
    pub data: String,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone)]
pub struct DeadlineRow {
    pub deadline_key: String,
    pub milestone_id: Option<i64>,
    pub due_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub unique_key: String,
    pub recipient_user_id: Option<i64>,
    pub recipient_email: String,
    pub language: String,
    pub template: String,
    pub payload: String,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ChangeSet {
    pub project_id: i64,
    /// Applied only if the project still has this version.
    pub expected_version: i32,
    pub at: DateTime<Utc>,
    pub project: ProjectChanges,
    pub audit: AuditRow,
    /// Deadline ids to close (closing one that is not open does nothing).
    pub close_deadlines: Vec<String>,
    /// Opened after the closes, so re-opening replaces.
    pub open_deadlines: Vec<DeadlineRow>,
    pub outbox: Vec<OutboxRow>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the project changed (it is now at version {current})")]
    Conflict { current: i32 },
    #[error("database: {0}")]
    Store(String),
}
