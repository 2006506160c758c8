//! The SQLite write path for change sets: one rusqlite connection, used in place by the
//! calling tasks with group commit. A task queues its change set and takes the connection;
//! whoever holds it applies everything queued so far in one `BEGIN IMMEDIATE` transaction, each
//! change set in its own savepoint (a failed version check rolls back that one alone), and
//! answers every waiter. Under load many actions share one commit, so the pages they touch in
//! common (index leaves, table tails) are written to the WAL once instead of once per action.
//!
//! Running in place rather than on a writer thread: on this class of machine a thread hand-off
//! costs more than the write itself (see docs/performance.md). SQLite is the single-process
//! embedded default; several server processes share a PostgreSQL database instead.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::oneshot;

use super::changeset::{ApplyError, ChangeSet};

/// A write to run inside the shared transaction, in its own savepoint: it reads what it needs
/// and writes, or fails and leaves nothing behind.
type Job = Box<dyn FnOnce(&Connection) -> Result<(), ApplyError> + Send>;
type Waiter = (Job, oneshot::Sender<Result<(), ApplyError>>);

struct Shared {
    queue: Mutex<Vec<Waiter>>,
    conn: tokio::sync::Mutex<Connection>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteWriter")
    }
}

#[derive(Debug, Clone)]
pub struct SqliteWriter {
    shared: Arc<Shared>,
}

/// The text form sqlx gives a `DateTime<Utc>` on SQLite, so both paths write alike.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

impl SqliteWriter {
    /// Open the database file for writing.
    pub fn start(path: &Path) -> Result<SqliteWriter, String> {
        let conn =
            Connection::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| e.to_string())?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| e.to_string())?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(|e| e.to_string())?;
        tune(&conn).map_err(|e| e.to_string())?;
        // Checkpoints run on their own thread (below), not inside a commit: copying the WAL
        // back and the fsyncs that go with it were half the cost of a commit.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(|e| e.to_string())?;
        conn.set_prepared_statement_cache_capacity(64);
        let shared = Arc::new(Shared {
            queue: Mutex::new(Vec::new()),
            conn: tokio::sync::Mutex::new(conn),
        });
        start_checkpointer(path, Arc::downgrade(&shared))?;
        Ok(SqliteWriter { shared })
    }

    /// Apply one change set, possibly together with others queued at the same moment.
    pub async fn apply(&self, cs: ChangeSet) -> Result<(), ApplyError> {
        self.run(move |c| apply_one(c, &cs)).await
    }

    /// Run `job` in the next group commit, in its own savepoint; answers what it returned once
    /// the transaction holding it has committed.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Connection) -> Result<T, ApplyError> + Send + 'static,
    ) -> Result<T, ApplyError> {
        let slot: Arc<Mutex<Option<T>>> = Arc::new(Mutex::new(None));
        let out = slot.clone();
        let job: Job = Box::new(move |c| {
            let v = job(c)?;
            *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(v);
            Ok(())
        });
        self.run_job(job).await?;
        let v = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        v.ok_or_else(|| ApplyError::Store("the write job left no answer".into()))
    }

    async fn run_job(&self, job: Job) -> Result<(), ApplyError> {
        let (tx, mut rx) = oneshot::channel();
        self.queue().push((job, tx));
        let mut conn = self.shared.conn.lock().await;
        // A previous holder may have applied ours already.
        if let Ok(result) = rx.try_recv() {
            return result;
        }
        let batch = std::mem::take(&mut *self.queue());
        let (jobs, replies): (Vec<Job>, Vec<_>) = batch.into_iter().unzip();
        let results = apply_batch(&mut conn, jobs);
        drop(conn);
        for (reply, result) in replies.into_iter().zip(results) {
            let _ = reply.send(result);
        }
        rx.await
            .map_err(|_| ApplyError::Store("the change set was dropped unanswered".into()))?
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Vec<Waiter>> {
        // The queue holds plain data; a panic elsewhere cannot leave it inconsistent.
        self.shared.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Connection settings shared by the writer and the readers: a larger page cache and
/// memory-mapped reads, so that statements find their pages without a system call.
pub(crate) fn tune(c: &Connection) -> rusqlite::Result<()> {
    c.pragma_update(None, "cache_size", -32_768)?; // 32 MiB
    c.pragma_update(None, "mmap_size", 268_435_456)?; // 256 MiB
    Ok(())
}

/// How often the checkpointer looks at the WAL.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// A thread with its own connection that copies the WAL back into the database file with
/// passive checkpoints (they never block the writer or readers). It ends when the writer is
/// dropped.
fn start_checkpointer(path: &Path, alive: std::sync::Weak<Shared>) -> Result<(), String> {
    let conn =
        Connection::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || loop {
            std::thread::sleep(CHECKPOINT_EVERY);
            if alive.strong_count() == 0 {
                // Last words: fold the WAL back so that the file alone holds everything.
                let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
                break;
            }
            if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "SQLite checkpoint failed; will retry");
            }
        })
        .map_err(|e| format!("cannot start the checkpoint thread: {e}"))?;
    Ok(())
}

fn apply_batch(conn: &mut Connection, batch: Vec<Job>) -> Vec<Result<(), ApplyError>> {
    let n = batch.len();
    let all_fail = |e: &rusqlite::Error| {
        (0..n)
            .map(|_| Err(ApplyError::Store(e.to_string())))
            .collect()
    };
    let mut tx = match conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate) {
        Ok(t) => t,
        Err(e) => return all_fail(&e),
    };
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        let outcome = match tx.savepoint() {
            Err(e) => Err(ApplyError::Store(e.to_string())),
            Ok(sp) => match job(&sp) {
                // Dropping the savepoint on error rolls back this change set alone.
                Ok(()) => sp.commit().map_err(|e| ApplyError::Store(e.to_string())),
                Err(e) => Err(e),
            },
        };
        results.push(outcome);
    }
    match tx.commit() {
        Ok(()) => results,
        Err(e) => all_fail(&e),
    }
}

fn apply_one(c: &Connection, cs: &ChangeSet) -> Result<(), ApplyError> {
    let store = |e: rusqlite::Error| ApplyError::Store(e.to_string());
    let p = &cs.project;
    let changed = c
        .prepare_cached(
            "UPDATE projects SET stage = ?1, version = ?2, stage_entered_at = ?3, updated_at = ?4, \
             audit_seq = ?5, audit_head = ?6, final_score = ?7, grade = ?8, score_detail = ?9 \
             WHERE id = ?10 AND version = ?11",
        )
        .and_then(|mut s| {
            s.execute(params![
                p.stage,
                p.version,
                ts(p.stage_entered_at),
                ts(p.updated_at),
                p.audit_seq,
                p.audit_head,
                p.final_score,
                p.grade,
                p.score_detail,
                cs.project_id,
                cs.expected_version
            ])
        })
        .map_err(store)?;
    if changed == 0 {
        let current: Option<i32> = c
            .prepare_cached("SELECT version FROM projects WHERE id = ?1")
            .and_then(|mut s| s.query_row([cs.project_id], |r| r.get(0)).optional())
            .map_err(store)?;
        return Err(ApplyError::Conflict {
            current: current.unwrap_or(cs.expected_version),
        });
    }
    insert_audit(c, cs.project_id, &cs.audit).map_err(store)?;
    for key in &cs.close_deadlines {
        c.prepare_cached(
            "UPDATE project_deadlines SET closed_at = ?1 WHERE project_id = ?2 AND deadline_key = ?3 AND closed_at IS NULL",
        )
        .and_then(|mut s| s.execute(params![ts(cs.at), cs.project_id, key]))
        .map_err(store)?;
    }
    for d in &cs.open_deadlines {
        c.prepare_cached(
            "INSERT INTO project_deadlines (project_id, deadline_key, milestone_id, due_at, opened_at, closed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
        )
        .and_then(|mut s| s.execute(params![cs.project_id, d.deadline_key, d.milestone_id, d.due_at.map(ts), ts(cs.at)]))
        .map_err(store)?;
    }
    for o in &cs.outbox {
        c.prepare_cached(
            "INSERT INTO outbox (unique_key, recipient_user_id, recipient_email, language, template, project_id, \
             payload, created_at, due_at, next_attempt_at, attempts, last_error, sent_at, dead) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, 0, NULL, NULL, 0) ON CONFLICT (unique_key) DO NOTHING",
        )
        .and_then(|mut s| {
            s.execute(params![
                o.unique_key,
                o.recipient_user_id,
                o.recipient_email,
                o.language,
                o.template,
                cs.project_id,
                o.payload,
                ts(cs.at),
                ts(o.due_at)
            ])
        })
        .map_err(store)?;
    }
    Ok(())
}

/// Insert one audit event of `project_id`.
pub(crate) fn insert_audit(
    c: &Connection,
    project_id: i64,
    a: &super::changeset::AuditRow,
) -> rusqlite::Result<usize> {
    c.prepare_cached(
        "INSERT INTO audit_events (project_id, seq, at, actor_user_id, action, comment, from_stage, \
         to_stage, data, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        project_id,
        a.seq,
        ts(a.at),
        a.actor_user_id,
        a.action,
        a.comment,
        a.from_stage,
        a.to_stage,
        a.data,
        a.prev_hash,
        a.hash
    ])
}
