//! What a page reads about a project (its milestones, attachments, history), kept while
//! nothing is committed: the rule of `project_cache`, for any read. An entry is filed under
//! the database's data version read *before* the rows were read, and handed out only while
//! the current version is still that one; any commit, by this process or another, changes
//! the version, so a hit is always the committed state. A commit empties the whole cache at
//! the next lookup. On PostgreSQL there is no cheap version, and nothing is kept.
//!
//! A project page reads a dozen such lists; a person opening it again, or a district opening
//! the same project, reads them from here.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use super::error::AppResult;
use crate::store::data_version::DataVersion;

/// At most this many lists are kept.
const MAX_ENTRIES: usize = 8_192;

type Entry = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
pub struct ReadCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    version: Option<DataVersion>,
    entries: HashMap<(&'static str, i64), Entry>,
}

impl ReadCache {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Plain data: a panic elsewhere cannot leave it inconsistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get<T: Send + Sync + 'static>(
        &self,
        kind: &'static str,
        id: i64,
        current: DataVersion,
    ) -> Option<Arc<T>> {
        let inner = self.inner();
        if inner.version != Some(current) {
            return None;
        }
        inner.entries.get(&(kind, id))?.clone().downcast::<T>().ok()
    }

    fn put(&self, kind: &'static str, id: i64, version: DataVersion, value: Entry) {
        let mut inner = self.inner();
        if inner.version != Some(version) {
            inner.entries.clear();
            inner.version = Some(version);
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert((kind, id), value);
    }

    /// `read()`'s answer for (`kind`, `id`), from memory when nothing was committed since it
    /// was last read. `version` is the data version read just before (None: keep nothing).
    /// Each `kind` holds one type.
    pub async fn memo<T, F, Fut>(
        &self,
        version: Option<DataVersion>,
        kind: &'static str,
        id: i64,
        read: F,
    ) -> AppResult<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<T>>,
    {
        if let Some(v) = version {
            if let Some(hit) = self.get::<T>(kind, id, v) {
                return Ok(hit);
            }
        }
        let value = Arc::new(read().await?);
        if let Some(v) = version {
            self.put(kind, id, v, value.clone());
        }
        Ok(value)
    }
}

impl super::App {
    /// `read()`'s rows for (`kind`, `id`), from the read cache while nothing was committed.
    pub(crate) async fn memo_rows<T, F, Fut>(
        &self,
        kind: &'static str,
        id: i64,
        read: F,
    ) -> AppResult<T>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = AppResult<T>>,
    {
        // The version is read before the rows: what is filed under it is at least as new.
        let version = self.db.data_version();
        Ok(self
            .reads
            .memo(version, kind, id, read)
            .await?
            .as_ref()
            .clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_list_is_read_again_only_after_a_commit() {
        let c = ReadCache::default();
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let read = || async {
            reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(vec![1, 2, 3])
        };
        let v1 = Some(DataVersion::test(1));
        assert_eq!(*c.memo(v1, "m", 7, read).await.unwrap(), vec![1, 2, 3]);
        c.memo(v1, "m", 7, read).await.unwrap();
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Another project, another read.
        c.memo(v1, "m", 8, read).await.unwrap();
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
        // A commit: read again.
        c.memo(Some(DataVersion::test(2)), "m", 7, read)
            .await
            .unwrap();
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 3);
        // No version (PostgreSQL): always read.
        c.memo(None, "m", 7, read).await.unwrap();
        c.memo(None, "m", 7, read).await.unwrap();
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 5);
    }
}
