//! The database: connection set-up for SQLite (embedded default) and PostgreSQL, migrations,
//! and the sea-orm entities. Queries that several use cases share live in `queries`.

pub mod entity;
pub mod queries;

use std::path::Path;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr};

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
            let write = Database::connect(sqlite_options(url, 1)).await?;
            let read = Database::connect(sqlite_options(url, 8)).await?;
            Ok(Db { read, write })
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
}

fn sqlite_options(url: &str, connections: u32) -> ConnectOptions {
    let mut opt = ConnectOptions::new(url);
    opt.max_connections(connections)
        .min_connections(1)
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
