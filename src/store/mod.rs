//! The database: connection set-up for SQLite (embedded default) and PostgreSQL, migrations,
//! and the sea-orm entities. Queries that several use cases share live in `queries`.

pub mod action_inputs;
pub mod appraisal_sql;
pub mod changeset;
pub mod data_version;
pub mod entity;
pub mod files;
pub mod queries;
pub mod review_sql;
pub mod sqlite_writer;

use std::path::Path;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter, Set, TransactionTrait,
};

use changeset::{ApplyError, ChangeSet};
use sqlite_writer::SqliteWriter;

pub use sea_orm::DbErr as StoreError;

/// Where the embedded database lives unless `DATABASE_URL` says otherwise.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/secretary-projects.db?mode=rwc";

/// Two handles on one database. On SQLite, writes go through a single connection (SQLite
/// allows one writer at a time; one connection avoids busy retries between our own writers)
/// while reads use a pool. On PostgreSQL both are the same pool.
#[derive(Clone, Debug)]
pub struct Db {
    pub read: DatabaseConnection,
    pub write: DatabaseConnection,
    /// On a SQLite file: the fast path for change sets (see `sqlite_writer`).
    writer: Option<SqliteWriter>,
    /// On a SQLite file: the fast path for an action's reads (see `action_inputs`).
    readers: Option<action_inputs::SqliteReaders>,
    /// On a SQLite file: whether anything was committed since (see `data_version`).
    wal: Option<std::sync::Arc<data_version::WalWatch>>,
    /// Where attachments are kept unless configured: beside a SQLite file, else ./data/.
    pub default_files_dir: std::path::PathBuf,
}

impl Db {
    pub fn backend(&self) -> DbBackend {
        self.write.get_database_backend()
    }

    /// Open the database named by `url`, creating the SQLite file and its folder if needed.
    pub async fn connect(url: &str) -> Result<Db, DbErr> {
        if url.starts_with("sqlite:") {
            if let Some(dir) = sqlite_path(url).and_then(|p| p.parent().map(Path::to_path_buf)) {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(&dir).map_err(|e| {
                        DbErr::Custom(format!("cannot create folder {}: {e}", dir.display()))
                    })?;
                }
            }
            sqlite_writer::configure_library();
            let write = Database::connect(sqlite_options(url, 1, 1)).await?;
            // Up to four readers: each sqlx SQLite connection is a thread of its own with its
            // own page cache, and the pool keeps the ones it opened (it hands them out in
            // turn, so none stays idle long enough to close). Four keep two cores busy; eight
            // cost 3 MB more at rest for no more throughput (docs/performance.md).
            let read = Database::connect(sqlite_options(url, 1, 4)).await?;
            let (writer, readers, wal) = match sqlite_path(url) {
                Some(path) => (
                    Some(SqliteWriter::start(path).map_err(DbErr::Custom)?),
                    Some(action_inputs::SqliteReaders::new(path)),
                    // Without it answers are simply not kept; the database works the same.
                    match data_version::WalWatch::open(path) {
                        Ok(w) => Some(std::sync::Arc::new(w)),
                        Err(e) => {
                            tracing::warn!("answers are not cached: {e}");
                            None
                        }
                    },
                ),
                None => (None, None, None),
            };
            let default_files_dir = match sqlite_path(url) {
                Some(path) => {
                    let mut name = path.as_os_str().to_owned();
                    name.push("-files");
                    std::path::PathBuf::from(name)
                }
                None => std::path::PathBuf::from("data/attachments"),
            };
            Ok(Db {
                read,
                write,
                writer,
                readers,
                wal,
                default_files_dir,
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let mut opt = ConnectOptions::new(url);
            opt.max_connections(16)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(10))
                .sqlx_logging(false);
            let pool = Database::connect(opt).await?;
            Ok(Db {
                read: pool.clone(),
                write: pool,
                writer: None,
                readers: None,
                wal: None,
                default_files_dir: std::path::PathBuf::from("data/attachments"),
            })
        } else {
            Err(DbErr::Custom(format!(
                "unsupported database URL `{}`: use sqlite://PATH or postgres://...",
                redact(url)
            )))
        }
    }

    /// Apply every pending migration.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.write, None).await
    }

    pub async fn ping(&self) -> Result<(), DbErr> {
        self.read.ping().await
    }

    /// Begin a write transaction. On SQLite the write lock is taken at once (as `BEGIN
    /// IMMEDIATE` would), so that a transaction never fails half-way because the change-set
    /// writer committed after it had started reading; it waits its turn instead.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        let txn = self.write.begin().await?;
        if self.backend() == DbBackend::Sqlite {
            txn.execute_unprepared("UPDATE projects SET id = id WHERE 0")
                .await?;
        }
        Ok(txn)
    }

    /// The committed state of a SQLite file, read without a transaction; `None` on
    /// PostgreSQL (and for a moment while a commit rewrites it). Equal versions mean that
    /// nothing was committed in between, by this process or any other.
    pub fn data_version(&self) -> Option<data_version::DataVersion> {
        self.wal.as_ref()?.current()
    }

    /// On a SQLite file: the group-commit writer, for writes that must read and write in one
    /// short transaction (see `sqlite_writer`).
    pub fn sqlite_writer(&self) -> Option<&SqliteWriter> {
        self.writer.as_ref()
    }

    /// Apply a change set atomically, if the project still has the expected version.
    pub async fn apply(&self, cs: ChangeSet) -> Result<(), ApplyError> {
        match &self.writer {
            Some(w) => w.apply(cs).await,
            None => apply_with_orm(self, cs).await,
        }
    }
}

async fn apply_with_orm(db: &Db, cs: ChangeSet) -> Result<(), ApplyError> {
    use entity::{outbox, project, project_deadline};
    use sea_orm::sea_query::{Expr, OnConflict};
    let store = |e: DbErr| ApplyError::Store(e.to_string());
    let txn = db.begin_write().await.map_err(store)?;
    let p = &cs.project;
    let res = project::Entity::update_many()
        .set(project::ActiveModel {
            stage: Set(p.stage.clone()),
            version: Set(p.version),
            stage_entered_at: Set(p.stage_entered_at),
            updated_at: Set(p.updated_at),
            audit_seq: Set(p.audit_seq),
            audit_head: Set(p.audit_head.clone()),
            final_score: Set(p.final_score),
            grade: Set(p.grade.clone()),
            score_detail: Set(p.score_detail.clone()),
            ..Default::default()
        })
        .filter(project::Column::Id.eq(cs.project_id))
        .filter(project::Column::Version.eq(cs.expected_version))
        .exec(&txn)
        .await
        .map_err(store)?;
    if res.rows_affected == 0 {
        let current = project::Entity::find_by_id(cs.project_id)
            .one(&txn)
            .await
            .map_err(store)?
            .map(|p| p.version)
            .unwrap_or(cs.expected_version);
        return Err(ApplyError::Conflict { current });
    }
    cs.audit
        .active_model(cs.project_id)
        .insert(&txn)
        .await
        .map_err(store)?;
    if !cs.close_deadlines.is_empty() {
        project_deadline::Entity::update_many()
            .col_expr(project_deadline::Column::ClosedAt, Expr::value(cs.at))
            .filter(project_deadline::Column::ProjectId.eq(cs.project_id))
            .filter(project_deadline::Column::DeadlineKey.is_in(cs.close_deadlines.clone()))
            .filter(project_deadline::Column::ClosedAt.is_null())
            .exec(&txn)
            .await
            .map_err(store)?;
    }
    if !cs.open_deadlines.is_empty() {
        let rows = cs
            .open_deadlines
            .iter()
            .map(|d| project_deadline::ActiveModel {
                project_id: Set(cs.project_id),
                deadline_key: Set(d.deadline_key.clone()),
                milestone_id: Set(d.milestone_id),
                due_at: Set(d.due_at),
                opened_at: Set(cs.at),
                closed_at: Set(None),
                ..Default::default()
            });
        project_deadline::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await
            .map_err(store)?;
    }
    if !cs.outbox.is_empty() {
        let rows = cs.outbox.iter().map(|o| outbox::ActiveModel {
            unique_key: Set(o.unique_key.clone()),
            recipient_user_id: Set(o.recipient_user_id),
            recipient_email: Set(o.recipient_email.clone()),
            language: Set(o.language.clone()),
            template: Set(o.template.clone()),
            project_id: Set(Some(cs.project_id)),
            payload: Set(o.payload.clone()),
            created_at: Set(cs.at),
            due_at: Set(o.due_at),
            next_attempt_at: Set(o.due_at),
            attempts: Set(0),
            last_error: Set(None),
            sent_at: Set(None),
            dead: Set(false),
            ..Default::default()
        });
        outbox::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(outbox::Column::UniqueKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(store)?;
    }
    txn.commit().await.map_err(store)
}

fn sqlite_options(url: &str, min: u32, max: u32) -> ConnectOptions {
    let mut opt = ConnectOptions::new(url);
    // Pinging every connection before handing it out doubles the cost of a query on SQLite.
    opt.max_connections(max)
        .min_connections(min)
        .idle_timeout(Duration::from_secs(60))
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
        });
    opt
}

/// The file path of a `sqlite://PATH?...` URL (none for in-memory databases).
fn sqlite_path(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(Path::new(path))
    }
}

/// A URL with any password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***@{}", &url[..s], &url[at + 1..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_redaction() {
        assert_eq!(
            sqlite_path("sqlite://data/x.db?mode=rwc"),
            Some(Path::new("data/x.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
