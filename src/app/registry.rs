//! Definition versions: each loaded file is stored with its content hash and a readable number;
//! projects point at the version they were created with, which never changes under them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

use super::error::{AppError, AppResult};
use crate::store::entity::definition;
use crate::store::Db;
use crate::workflow::{self, Workflow};

/// A definition version as stored.
#[derive(Debug, Clone)]
pub struct Version {
    pub id: i64,
    pub number: i32,
    pub workflow: Arc<Workflow>,
}

#[derive(Default)]
pub struct Registry {
    by_id: RwLock<HashMap<i64, Arc<Workflow>>>,
    current: RwLock<HashMap<String, Version>>,
}

impl Registry {
    /// Store `workflows` as versions (new content gets the next number) and make them current.
    pub async fn register(
        &self,
        db: &Db,
        workflows: Vec<Workflow>,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<Version>> {
        let mut out = Vec::new();
        for w in workflows {
            let key = w.id().to_string();
            let existing = definition::Entity::find()
                .filter(definition::Column::Key.eq(&key))
                .filter(definition::Column::ContentHash.eq(&w.content_hash))
                .one(&db.write)
                .await?;
            let row = match existing {
                Some(row) => row,
                None => {
                    let last = definition::Entity::find()
                        .filter(definition::Column::Key.eq(&key))
                        .order_by_desc(definition::Column::Number)
                        .one(&db.write)
                        .await?;
                    definition::ActiveModel {
                        key: Set(key.clone()),
                        number: Set(last.map(|l| l.number + 1).unwrap_or(1)),
                        content_hash: Set(w.content_hash.clone()),
                        name: Set(w.definition.name.zh.clone()),
                        source: Set(w.source.clone()),
                        loaded_at: Set(now),
                        ..Default::default()
                    }
                    .insert(&db.write)
                    .await?
                }
            };
            let workflow = Arc::new(w);
            let version = Version {
                id: row.id,
                number: row.number,
                workflow: workflow.clone(),
            };
            write(&self.by_id).insert(row.id, workflow);
            write(&self.current).insert(key, version.clone());
            out.push(version);
        }
        Ok(out)
    }

    /// The current version of a definition.
    pub fn current(&self, key: &str) -> Option<Version> {
        read(&self.current).get(key).cloned()
    }

    pub fn all_current(&self) -> Vec<Version> {
        let mut v: Vec<Version> = read(&self.current).values().cloned().collect();
        v.sort_by(|a, b| a.workflow.id().cmp(b.workflow.id()));
        v
    }

    /// The workflow of a stored version if it is already loaded.
    pub fn cached(&self, id: i64) -> Option<Arc<Workflow>> {
        read(&self.by_id).get(&id).cloned()
    }

    /// The workflow of a stored version, read back from the database the first time.
    pub async fn version(&self, db: &Db, id: i64) -> AppResult<Arc<Workflow>> {
        if let Some(w) = read(&self.by_id).get(&id) {
            return Ok(w.clone());
        }
        let row = definition::Entity::find_by_id(id)
            .one(&db.read)
            .await?
            .ok_or(AppError::NotFound {
                what: "definition version",
                id: id.to_string(),
            })?;
        let file = format!("{} (stored version {})", row.key, row.number);
        let w = workflow::load_str(&file, &row.source).map_err(|problems| {
            AppError::Definition(
                problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let w = Arc::new(w);
        write(&self.by_id).insert(id, w.clone());
        Ok(w)
    }
}

// A poisoned lock only means another thread panicked while holding it; the maps stay usable.
fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}
fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
