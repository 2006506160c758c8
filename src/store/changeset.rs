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

/// The SQLite fast paths (`sqlite_writer`, `action_inputs`) answer rusqlite errors.
impl From<rusqlite::Error> for ApplyError {
    fn from(e: rusqlite::Error) -> ApplyError {
        ApplyError::Store(e.to_string())
    }
}

impl AuditRow {
    /// The row as sea-orm inserts it, for project `project_id`.
    pub fn active_model(&self, project_id: i64) -> super::entity::audit_event::ActiveModel {
        use sea_orm::Set;
        super::entity::audit_event::ActiveModel {
            project_id: Set(project_id),
            seq: Set(self.seq),
            at: Set(self.at),
            actor_user_id: Set(self.actor_user_id),
            action: Set(self.action.clone()),
            comment: Set(self.comment.clone()),
            from_stage: Set(self.from_stage.clone()),
            to_stage: Set(self.to_stage.clone()),
            data: Set(self.data.clone()),
            prev_hash: Set(self.prev_hash.clone()),
            hash: Set(self.hash.clone()),
            ..Default::default()
        }
    }
}
