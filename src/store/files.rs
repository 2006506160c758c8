//! Stored files (attachments): content-addressed by SHA-256 under one folder, written to a
//! temporary name and renamed into place, so that a file is either whole or absent.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    pub fn new(dir: impl Into<PathBuf>) -> FileStore {
        FileStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, sha256: &str) -> Option<PathBuf> {
        // Only our own names: 64 lowercase hex digits, never a path.
        (sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| self.dir.join(&sha256[..2]).join(sha256))
    }

    /// Store the bytes; answers their SHA-256 (hex), the name to fetch them by.
    pub fn put(&self, bytes: &[u8]) -> std::io::Result<String> {
        let sha = hex::encode(Sha256::digest(bytes));
        let Some(path) = self.path(&sha) else {
            return Err(std::io::Error::other("bad digest"));
        };
        if path.exists() {
            return Ok(sha);
        }
        let folder = path.parent().unwrap_or(&self.dir).to_path_buf();
        std::fs::create_dir_all(&folder)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&folder)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(sha)
    }

    pub fn get(&self, sha256: &str) -> std::io::Result<Vec<u8>> {
        match self.path(sha256) {
            Some(p) => std::fs::read(p),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "bad name",
            )),
        }
    }
}
