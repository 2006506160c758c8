//! The SQLite write path for change sets: one rusqlite connection, used in place by the
//! calling tasks with group commit. A task queues its change set and takes the connection;
//! whoever holds it applies everything queued so far in one `BEGIN IMMEDIATE` transaction and
//! answers every waiter. Under load many actions share one commit, so the pages they touch in
//! common (index leaves, table tails) are written to the WAL once instead of once per action.
//!
//! Jobs share the transaction without savepoints (a savepoint copies every page it touches
//! first to a statement journal: a tenth of an action's cost). If any job of a batch fails,
//! the whole transaction is rolled back and every job of the batch runs again in a transaction
//! of its own, so that the failing one fails alone. Jobs are therefore `Fn`: they may run twice,
//! and only the run that commits counts.
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

/// A write to run inside the shared transaction: it reads what it needs and writes. An error
/// rolls the transaction back (see the module's note), so a job that refuses for a reason of
/// its own answers that in `Ok` before it writes anything.
type Job = Box<dyn Fn(&Connection) -> Result<(), ApplyError> + Send>;
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
        SqliteWriter::start_with(path, WAL_LIMIT_FRAMES)
    }

    /// `start`, with the WAL length in frames past which the writer checkpoints itself.
    fn start_with(path: &Path, wal_limit_frames: i64) -> Result<SqliteWriter, String> {
        configure_library();
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
        // back and the fsyncs that go with it were half the cost of a commit. But a passive
        // checkpoint running beside a steady stream of commits never catches up with the last
        // frame, and SQLite starts the WAL afresh only once it has: under sustained load the
        // WAL grew by gigabytes a minute (and every reader's page lookups with it). So the
        // writer still checkpoints itself once the WAL passes `wal_limit_frames`, after a commit;
        // by then the thread has copied most frames back, and the writer finishes the rest.
        conn.pragma_update(None, "wal_autocheckpoint", wal_limit_frames)
            .map_err(|e| e.to_string())?;
        // A WAL that grew in a burst is cut back to this size when it starts afresh.
        conn.pragma_update(None, "journal_size_limit", wal_limit_frames * 4096)
            .map_err(|e| e.to_string())?;
        // A statement that may fail half-way inside a transaction copies the pages it touches
        // to a statement journal: a temporary file unless told otherwise, which cost every
        // action page writes to disk. In memory it is a copy.
        conn.pragma_update(None, "temp_store", "MEMORY")
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

    /// Run `job` in the next group commit; answers what it returned once the transaction
    /// holding it has committed. `job` may run more than once (see the module's note).
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl Fn(&Connection) -> Result<T, ApplyError> + Send + 'static,
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

/// Process-wide SQLite settings, applied once before the first connection opens: no memory
/// statistics. SQLite keeps them under a global mutex taken on every allocation it makes,
/// which showed as a tenth of an action's statement time. Too late once SQLite has started
/// (another part of the process opened a database first): then nothing changes.
pub fn configure_library() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config is called before sqlite3_initialize (or it answers
        // SQLITE_MISUSE and changes nothing), with the argument SQLITE_CONFIG_MEMSTATUS takes.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_config(
                rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
                0 as std::ffi::c_int,
            )
        };
        if rc != rusqlite::ffi::SQLITE_OK {
            tracing::debug!(rc, "SQLite already started; memory statistics stay on");
        }
    });
}

/// Connection settings shared by the writer and the readers: memory-mapped reads, so that
/// statements find their pages without a system call, and a page cache sized for the hot pages.
pub(crate) fn tune(c: &Connection) -> rusqlite::Result<()> {
    // 4 MiB: the hot pages of the write path (index leaves, table tails) fit, and SQLite
    // clears a cache's hash table at every commit at a cost that grows with the cache: 4 MiB
    // gave about 7 % more actions per second than 32 MiB (docs/performance.md).
    c.pragma_update(None, "cache_size", -4_096)?;
    c.pragma_update(None, "mmap_size", 268_435_456)?; // 256 MiB
    Ok(())
}

/// The WAL length (in frames of one page) past which the writer checkpoints itself.
/// 32,768 frames are 128 MiB: under a steady stream of actions (benches/engine.rs) a smaller
/// limit (8,192) cost about 7 % of the throughput in checkpoint stalls.
const WAL_LIMIT_FRAMES: i64 = 32_768;

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
    if batch.len() == 1 {
        return vec![apply_alone(conn, &batch[0])];
    }
    let together = (|| {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for job in &batch {
            if job(&tx).is_err() {
                // Dropping the transaction rolls it back.
                return Ok(false);
            }
        }
        tx.commit().map(|()| true)
    })();
    match together {
        Ok(true) => batch.iter().map(|_| Ok(())).collect(),
        // One job failed, or the commit did: each job again in a transaction of its own.
        Ok(false) | Err(_) => batch.iter().map(|job| apply_alone(conn, job)).collect(),
    }
}

/// Run one job in a transaction of its own: committed if it succeeds, rolled back if not.
fn apply_alone(conn: &mut Connection, job: &Job) -> Result<(), ApplyError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    job(&tx)?;
    Ok(tx.commit()?)
}

/// Close a project's open deadline by key (through the partial index of open deadlines).
pub(crate) const CLOSE_DEADLINE: &str = "UPDATE project_deadlines SET closed_at = ?1 \
     WHERE project_id = ?2 AND deadline_key = ?3 AND closed_at IS NULL";

/// Apply one change set on `c`, inside the caller's transaction.
pub(crate) fn apply_one(c: &Connection, cs: &ChangeSet) -> Result<(), ApplyError> {
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
        })?;
    if changed == 0 {
        let current: Option<i32> = c
            .prepare_cached("SELECT version FROM projects WHERE id = ?1")
            .and_then(|mut s| s.query_row([cs.project_id], |r| r.get(0)).optional())?;
        return Err(ApplyError::Conflict {
            current: current.unwrap_or(cs.expected_version),
        });
    }
    insert_audit(c, cs.project_id, &cs.audit)?;
    for key in &cs.close_deadlines {
        c.prepare_cached(CLOSE_DEADLINE)
            .and_then(|mut s| s.execute(params![ts(cs.at), cs.project_id, key]))?;
    }
    for d in &cs.open_deadlines {
        c.prepare_cached(
            "INSERT INTO project_deadlines (project_id, deadline_key, milestone_id, due_at, opened_at, closed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
        )
        .and_then(|mut s| s.execute(params![cs.project_id, d.deadline_key, d.milestone_id, d.due_at.map(ts), ts(cs.at)]))?;
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
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path, wal_limit: i64) -> SqliteWriter {
        let w = SqliteWriter::start_with(&dir.join("t.db"), wal_limit).unwrap();
        let c = Connection::open(dir.join("t.db")).unwrap();
        c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            .unwrap();
        w
    }

    fn rows(dir: &Path) -> Vec<String> {
        let c = Connection::open(dir.join("t.db")).unwrap();
        let mut s = c.prepare("SELECT v FROM t ORDER BY v").unwrap();
        let v = s.query_map([], |r| r.get(0)).unwrap();
        v.collect::<rusqlite::Result<_>>().unwrap()
    }

    /// Jobs queued while another holds the connection share one transaction; one of them fails
    /// after it has written. It fails alone and leaves nothing; the others are all committed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_job_fails_alone_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let w = open(dir.path(), WAL_LIMIT_FRAMES);
        // Hold the connection so that the next jobs queue up and form one batch.
        let first = {
            let w = w.clone();
            tokio::spawn(async move {
                w.run(|c| {
                    std::thread::sleep(Duration::from_millis(200));
                    c.execute("INSERT INTO t (v) VALUES ('first')", [])
                        .map_err(ApplyError::from)
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..6 {
            let (w, runs) = (w.clone(), runs.clone());
            tasks.push(tokio::spawn(async move {
                w.run(move |c| {
                    runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    c.execute("INSERT INTO t (v) VALUES (?1)", [format!("job{i}")])
                        .map_err(ApplyError::from)?;
                    if i == 3 {
                        return Err(ApplyError::Store("job3 gives up after writing".into()));
                    }
                    Ok(i)
                })
                .await
            }));
        }
        assert!(first.await.unwrap().is_ok());
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Ok(n) => assert_eq!(n, i),
                Err(ApplyError::Store(m)) => {
                    assert_eq!(i, 3);
                    assert!(m.contains("job3"), "{m}");
                }
                Err(e) => panic!("job{i}: {e}"),
            }
        }
        assert_eq!(
            rows(dir.path()),
            ["first", "job0", "job1", "job2", "job4", "job5"]
        );
        // Together up to the failing job3 (four runs), then each of the six alone.
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 10);
    }

    /// The statements of every action find a project's open deadlines through the small
    /// partial index of open ones, not by reading the project's whole deadline history.
    #[tokio::test]
    async fn open_deadlines_are_found_through_their_partial_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.db");
        let db = crate::store::Db::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        let c = Connection::open(&path).unwrap();
        for sql in [CLOSE_DEADLINE, crate::store::action_inputs::OPEN_DEADLINES] {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let args = rusqlite::params_from_iter(std::iter::repeat_n(1, stmt.parameter_count()));
            let plan: Vec<String> = stmt
                .query_map(args, |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert!(
                plan.iter()
                    .any(|p| p.contains("idx_deadlines_open_by_project")),
                "{sql}: {plan:?}"
            );
        }
    }

    /// A steady stream of commits, each adding pages: the WAL must start afresh and stay near
    /// its limit instead of growing with every commit (it grew without bound before).
    #[tokio::test]
    async fn the_wal_stays_bounded_under_a_steady_stream() {
        let dir = tempfile::tempdir().unwrap();
        let limit = 500;
        let w = open(dir.path(), limit);
        let big = "x".repeat(6000); // two or three pages a row
        for i in 0..3000 {
            let v = format!("{i:05}{big}");
            w.run(move |c| {
                c.execute("INSERT INTO t (v) VALUES (?1)", [&v])
                    .map_err(ApplyError::from)
            })
            .await
            .unwrap();
        }
        let wal = std::fs::metadata(dir.path().join("t.db-wal"))
            .unwrap()
            .len();
        let frame = 4096 + 24;
        // Without the limit: at least 6,000 frames (about 25 MB).
        assert!(
            wal <= (2 * limit as u64 + 16) * frame,
            "the WAL has {wal} bytes, over twice the limit of {limit} frames"
        );
        assert_eq!(rows(dir.path()).len(), 3000);
    }
}
