//! Projects read recently, with their JSON answer, kept while nothing is committed.
//!
//! An entry is filed under the database's data version read *before* the project was read,
//! and is handed out only while the current version is still that one. Any commit, by this
//! process or another, changes the version (`store::data_version`), so a hit is always the
//! committed state: never stale, not even for a moment. A commit empties the whole cache at
//! the next lookup; reads far outnumber writes, and this keeps the rule simple.
//!
//! On PostgreSQL there is no cheap version, and nothing is kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;

use super::projects::ProjectView;
use crate::store::data_version::DataVersion;
use crate::store::entity::project;

/// At most this many projects are kept (a few hundred bytes to a few kilobytes each).
const MAX_ENTRIES: usize = 4_096;

/// A project as read, and its API answer, made once on first use.
#[derive(Debug)]
pub struct CachedProject {
    model: project::Model,
    json: OnceLock<Bytes>,
}

impl CachedProject {
    pub fn new(model: project::Model) -> CachedProject {
        CachedProject {
            model,
            json: OnceLock::new(),
        }
    }

    /// The project as `GET /api/v1/projects/{id}` shows it (a `ProjectView`, serialized).
    pub fn json(&self) -> Bytes {
        self.json
            .get_or_init(
                || match serde_json::to_vec(&ProjectView::from(&self.model)) {
                    Ok(v) => Bytes::from(v),
                    // A view of plain fields and stored JSON always serializes.
                    Err(_) => Bytes::from_static(b"null"),
                },
            )
            .clone()
    }

    pub fn into_model(self: Arc<Self>) -> project::Model {
        Arc::try_unwrap(self)
            .map(|c| c.model)
            .unwrap_or_else(|shared| shared.model.clone())
    }
}

impl std::ops::Deref for CachedProject {
    type Target = project::Model;
    fn deref(&self) -> &project::Model {
        &self.model
    }
}

#[derive(Default)]
pub struct ProjectCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The version every entry was filed under.
    version: Option<DataVersion>,
    entries: HashMap<i64, Arc<CachedProject>>,
}

impl ProjectCache {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Plain data: a panic elsewhere cannot leave it inconsistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The project, if it was filed under `current`, the version just read.
    pub fn get(&self, id: i64, current: DataVersion) -> Option<Arc<CachedProject>> {
        let inner = self.inner();
        if inner.version != Some(current) {
            return None;
        }
        inner.entries.get(&id).cloned()
    }

    /// File a project read after `version` was read. Entries of any other version go.
    pub fn put(&self, version: DataVersion, project: Arc<CachedProject>) {
        let mut inner = self.inner();
        if inner.version != Some(version) {
            inner.entries.clear();
            inner.version = Some(version);
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(project.id, project);
    }

    pub fn len(&self) -> usize {
        self.inner().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn project(id: i64, title: &str) -> Arc<CachedProject> {
        let now = Utc::now();
        Arc::new(CachedProject::new(project::Model {
            id,
            definition_id: 1,
            definition_key: "d".into(),
            title: title.into(),
            title_folded: title.to_lowercase(),
            year: 2026,
            organisation_id: 2,
            district_id: Some(1),
            lead_user_id: 3,
            stage: "drafting".into(),
            form_data: r#"{"a":1}"#.into(),
            version: 1,
            milestones_total: 0,
            milestones_done: 0,
            appraisal_count: 0,
            score_counts: "{}".into(),
            audit_seq: 0,
            audit_head: String::new(),
            final_score: None,
            grade: None,
            score_detail: None,
            stage_entered_at: now,
            created_at: now,
            updated_at: now,
        }))
    }

    #[test]
    fn an_entry_lives_only_as_long_as_its_version() {
        let cache = ProjectCache::default();
        let (v1, v2) = (DataVersion::test(1), DataVersion::test(2));
        assert!(cache.get(7, v1).is_none());
        cache.put(v1, project(7, "a"));
        cache.put(v1, project(8, "b"));
        assert_eq!(cache.get(7, v1).map(|p| p.title.clone()), Some("a".into()));
        assert_eq!(cache.len(), 2);
        // After a commit nothing filed before it is handed out, and filing anew drops it all.
        assert!(cache.get(7, v2).is_none());
        cache.put(v2, project(8, "b2"));
        assert_eq!(cache.len(), 1);
        assert!(
            cache.get(8, v1).is_none(),
            "an older version never comes back"
        );
        assert_eq!(cache.get(8, v2).map(|p| p.title.clone()), Some("b2".into()));
    }

    #[test]
    fn the_answer_is_the_project_view_made_once() {
        let p = project(7, "标题");
        let json = p.json();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["title"], "标题");
        assert_eq!(v["form"], serde_json::json!({"a": 1}));
        assert_eq!(v["id"], 7);
        assert_eq!(json.as_ptr(), p.json().as_ptr(), "made once, shared after");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = ProjectCache::default();
        let v = DataVersion::test(1);
        for id in 0..(MAX_ENTRIES as i64 + 10) {
            cache.put(v, project(id, "x"));
        }
        assert!(cache.len() <= MAX_ENTRIES);
    }
}
