//! Organisations read once and kept. An organisation row is never changed once created (the
//! directory only adds them: `App::add_organisation`, the CLI, the demo), so a row read once
//! is the row for good, on every instance; one created elsewhere is simply not here yet and
//! read on first use. Pages name the user's organisation and ask whether it is the district
//! on every request; this keeps those reads off the database.
//!
//! If organisations ever become editable, the edit must call [`OrgCache::forget`] (and other
//! instances need the same signal as the project cache's data version).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::store::entity::organisation;

/// Far more than a province has; past it the cache starts again.
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Default)]
pub struct OrgCache {
    rows: RwLock<HashMap<i64, Arc<organisation::Model>>>,
}

impl OrgCache {
    pub fn get(&self, id: i64) -> Option<Arc<organisation::Model>> {
        self.rows.read().ok()?.get(&id).cloned()
    }

    pub fn put(&self, row: organisation::Model) -> Arc<organisation::Model> {
        let row = Arc::new(row);
        if let Ok(mut rows) = self.rows.write() {
            if rows.len() >= MAX_ENTRIES {
                rows.clear();
            }
            rows.insert(row.id, row.clone());
        }
        row
    }

    pub fn forget(&self, id: i64) {
        if let Ok(mut rows) = self.rows.write() {
            rows.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_read_once_is_kept_until_forgotten() {
        let c = OrgCache::default();
        assert!(c.get(1).is_none());
        c.put(organisation::Model {
            id: 1,
            name: "东湖街道".into(),
            parent_id: Some(9),
            kind: "subdistrict".into(),
            created_at: chrono::Utc::now(),
        });
        assert_eq!(c.get(1).unwrap().name, "东湖街道");
        c.forget(1);
        assert!(c.get(1).is_none());
    }
}
