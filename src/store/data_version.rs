//! "Has anything been committed since?", for a SQLite file in WAL mode, without a read
//! transaction.
//!
//! Every connection to a database in WAL mode, in any process, shares the wal-index: the
//! `-shm` file beside the database. Its first 96 bytes are two copies of a 48-byte header
//! that the committing connection rewrites at every commit (a change counter, the last
//! committed frame, the WAL's salts), second copy first. SQLite's own readers read both
//! copies and trust them only when they agree; so does [`DataVersion`]. Processes running
//! different SQLite versions share this file, so its layout is fixed (SQLite's
//! documentation of the WAL file format, "the wal-index header").
//!
//! Reading it is one `pread`, where a read transaction costs file locks, a shared-memory lock
//! and a mutex. It is what lets the server keep answers in memory and still see every
//! commit at once, its own and other processes' (`app::project_cache`).
//!
//! The watch keeps a connection of its own open for as long as it lives: SQLite deletes the
//! `-shm` file only when the last connection closes, so the file it reads is always the one
//! in use.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};

/// The committed state of the database, as far as "did it change?" goes: equal versions
/// mean no commit in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataVersion([u8; HEADER]);

const HEADER: usize = 48;

#[cfg(test)]
impl DataVersion {
    /// A version for tests of what keys on versions.
    pub(crate) fn test(n: u8) -> DataVersion {
        DataVersion([n; HEADER])
    }
}

/// Offset of `isInit` in the header: non-zero once the header has been written.
const IS_INIT: usize = 12;

pub struct WalWatch {
    shm: File,
    /// Never used after opening; held so that the `-shm` file stays (see the module text).
    _anchor: Mutex<Connection>,
}

impl std::fmt::Debug for WalWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WalWatch")
    }
}

impl WalWatch {
    /// Watch the database at `path`, which must be in WAL mode.
    pub fn open(path: &Path) -> Result<WalWatch, String> {
        let what = |e: rusqlite::Error| format!("{}: {e}", path.display());
        let anchor = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(what)?;
        // A first read opens the WAL and maps the wal-index.
        let mode: String = anchor
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(what)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!(
                "{}: journal mode is {mode}, not wal",
                path.display()
            ));
        }
        anchor
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(what)?;
        let mut shm_path = path.as_os_str().to_owned();
        shm_path.push("-shm");
        let shm = File::open(&shm_path)
            .map_err(|e| format!("{}: {e}", Path::new(&shm_path).display()))?;
        let watch = WalWatch {
            shm,
            _anchor: Mutex::new(anchor),
        };
        if watch.current().is_none() {
            return Err(format!(
                "{}: the wal-index header is not readable",
                Path::new(&shm_path).display()
            ));
        }
        Ok(watch)
    }

    /// The current version, or `None` while a commit is rewriting the header (the caller
    /// then reads the database as if nothing were known).
    pub fn current(&self) -> Option<DataVersion> {
        let mut buf = [0u8; 2 * HEADER];
        self.shm.read_exact_at(&mut buf, 0).ok()?;
        version_of(&buf)
    }
}

fn version_of(buf: &[u8; 2 * HEADER]) -> Option<DataVersion> {
    let (first, second) = buf.split_at(HEADER);
    if first != second || first[IS_INIT] == 0 {
        return None;
    }
    let mut v = [0u8; HEADER];
    v.copy_from_slice(first);
    Some(DataVersion(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &Path) -> (std::path::PathBuf, Connection) {
        let path = dir.join("t.db");
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "journal_mode", "WAL").unwrap();
        c.execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .unwrap();
        (path, c)
    }

    #[test]
    fn every_commit_changes_the_version_and_reads_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = database(dir.path());
        let watch = WalWatch::open(&path).unwrap();
        let v1 = watch.current().unwrap();

        // Reads, on this and on other connections, leave it alone.
        let reader = Connection::open(&path).unwrap();
        let n: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(watch.current(), Some(v1));

        // A commit on another connection (as another process would make) changes it.
        writer.execute("INSERT INTO t VALUES (2)", []).unwrap();
        let v2 = watch.current().unwrap();
        assert_ne!(v1, v2);

        // So does a commit that changes nothing but a value in place.
        writer
            .execute("UPDATE t SET x = 3 WHERE x = 2", [])
            .unwrap();
        let v3 = watch.current().unwrap();
        assert_ne!(v2, v3);

        // A rolled-back transaction is no commit.
        writer
            .execute_batch("BEGIN; UPDATE t SET x = 4; ROLLBACK;")
            .unwrap();
        assert_eq!(watch.current(), Some(v3));

        // A checkpoint that empties the WAL, then a commit into the restarted WAL: the
        // version moves on and never comes back to an earlier one.
        writer
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        writer.execute("INSERT INTO t VALUES (5)", []).unwrap();
        let v4 = watch.current().unwrap();
        assert!(![v1, v2, v3].contains(&v4));
    }

    #[test]
    fn the_shm_file_outlives_every_other_connection() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = database(dir.path());
        let watch = WalWatch::open(&path).unwrap();
        // The last other connection closing would delete the -shm file, were it not for the
        // watch's own connection; a new writer then shares the same file.
        drop(writer);
        let v1 = watch.current().unwrap();
        let writer = Connection::open(&path).unwrap();
        writer.execute("INSERT INTO t VALUES (2)", []).unwrap();
        assert_ne!(watch.current().unwrap(), v1);
    }

    #[test]
    fn a_torn_or_unwritten_header_is_no_version() {
        let mut buf = [7u8; 2 * HEADER];
        assert!(version_of(&buf).is_some());
        buf[HEADER + 20] = 8;
        assert_eq!(version_of(&buf), None, "copies differ: a commit is writing");
        let mut buf = [7u8; 2 * HEADER];
        buf[IS_INIT] = 0;
        buf[HEADER + IS_INIT] = 0;
        assert_eq!(version_of(&buf), None, "not initialised");
    }

    #[test]
    fn a_database_not_in_wal_mode_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.db");
        let c = Connection::open(&path).unwrap();
        c.execute_batch("CREATE TABLE t (x INTEGER);").unwrap();
        let e = WalWatch::open(&path).unwrap_err();
        assert!(e.contains("not wal"), "{e}");
    }
}
