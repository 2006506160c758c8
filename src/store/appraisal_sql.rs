//! The rows a resident appraisal reads and writes, in SQL for the SQLite file's group-commit
//! writer (`sqlite_writer::run`). The same rows are written through sea-orm elsewhere
//! (`app::appraisals`).

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::action_inputs::time;
use super::changeset::AuditRow;
use super::sqlite_writer::ts;

/// A token as stored.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: i64,
    pub project_id: i64,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The project columns an appraisal reads and advances.
#[derive(Debug, Clone)]
pub struct ProjectHead {
    pub id: i64,
    pub definition_id: i64,
    pub stage: String,
    pub version: i32,
    pub audit_seq: i64,
    pub audit_head: String,
    pub appraisal_count: i32,
    pub score_counts: String,
}

/// Everything one accepted appraisal writes.
#[derive(Debug, Clone)]
pub struct AppraisalWrite {
    pub token_id: i64,
    pub rating: String,
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
    pub audit: AuditRow,
    /// The project after the appraisal (`version` is the new one).
    pub project: ProjectHead,
    pub expected_version: i32,
}

fn opt_time(s: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    s.map(|s| time(&s)).transpose()
}

pub fn token_by_code(c: &Connection, code: &str) -> rusqlite::Result<Option<TokenRow>> {
    c.prepare_cached(
        "SELECT id, project_id, expires_at, used_at, revoked_at FROM appraisal_tokens WHERE code = ?1",
    )?
    .query_row([code], |r| {
        Ok(TokenRow {
            id: r.get(0)?,
            project_id: r.get(1)?,
            expires_at: time(&r.get::<_, String>(2)?)?,
            used_at: opt_time(r.get(3)?)?,
            revoked_at: opt_time(r.get(4)?)?,
        })
    })
    .optional()
}

pub fn project_head(c: &Connection, id: i64) -> rusqlite::Result<Option<ProjectHead>> {
    c.prepare_cached(
        "SELECT id, definition_id, stage, version, audit_seq, audit_head, appraisal_count, score_counts \
         FROM projects WHERE id = ?1",
    )?
    .query_row([id], |r| {
        Ok(ProjectHead {
            id: r.get(0)?,
            definition_id: r.get(1)?,
            stage: r.get(2)?,
            version: r.get(3)?,
            audit_seq: r.get(4)?,
            audit_head: r.get(5)?,
            appraisal_count: r.get(6)?,
            score_counts: r.get(7)?,
        })
    })
    .optional()
}

/// Write an accepted appraisal. Fails (and the caller's transaction rolls back) if the token was
/// used or the project changed in between, which cannot happen under the writer's lock but is
/// checked all the same.
pub fn write(c: &Connection, w: &AppraisalWrite) -> rusqlite::Result<bool> {
    let used = c
        .prepare_cached(
            "UPDATE appraisal_tokens SET used_at = ?1 WHERE id = ?2 AND used_at IS NULL AND revoked_at IS NULL",
        )?
        .execute(params![ts(w.at), w.token_id])?;
    if used != 1 {
        return Ok(false);
    }
    let p = &w.project;
    let moved = c
        .prepare_cached(
            "UPDATE projects SET version = ?1, audit_seq = ?2, audit_head = ?3, appraisal_count = ?4, \
             score_counts = ?5, updated_at = ?6 WHERE id = ?7 AND version = ?8",
        )?
        .execute(params![
            p.version,
            p.audit_seq,
            p.audit_head,
            p.appraisal_count,
            p.score_counts,
            ts(w.at),
            p.id,
            w.expected_version
        ])?;
    if moved != 1 {
        return Err(rusqlite::Error::StatementChangedRows(moved));
    }
    c.prepare_cached(
        "INSERT INTO appraisals (project_id, rating, comment, submitted_at, token_id) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![p.id, w.rating, w.comment, ts(w.at), w.token_id])?;
    super::sqlite_writer::insert_audit(c, p.id, &w.audit)?;
    Ok(true)
}
