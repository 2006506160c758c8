//! Everything an action may need to read, loaded in one go: the project, the people a
//! notification can reach, its open milestones and open deadlines.
//!
//! On a SQLite file this runs in place over a small pool of rusqlite connections (four indexed
//! reads of a few microseconds, instead of four sqlx round trips of ~100 µs each); elsewhere
//! through sea-orm.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use super::entity::{milestone, project, project_deadline, user};
use super::queries::project_people;
use super::Db;

#[derive(Debug, Clone)]
pub struct ActionInputs {
    pub project: project::Model,
    pub people: Vec<user::Model>,
    pub open_milestones: Vec<milestone::Model>,
    /// (deadline id, due) of the project's open deadlines with a known due time.
    pub open_deadlines: Vec<(String, DateTime<Utc>)>,
}

#[derive(Debug, Clone)]
pub struct SqliteReaders {
    path: PathBuf,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl SqliteReaders {
    pub fn new(path: &Path) -> SqliteReaders {
        SqliteReaders {
            path: path.to_path_buf(),
            idle: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn take(&self) -> Result<Connection, DbErr> {
        if let Some(c) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(c);
        }
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| DbErr::Custom(e.to_string()))?;
        c.busy_timeout(Duration::from_secs(10))
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        super::sqlite_writer::tune(&c).map_err(|e| DbErr::Custom(e.to_string()))?;
        Ok(c)
    }

    fn give_back(&self, c: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < 16 {
            idle.push(c);
        }
    }

    pub async fn action_inputs(&self, id: i64) -> Result<Option<ActionInputs>, DbErr> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let c = me.take()?;
            let result = read_inputs(&c, id)
                .map_err(|e| DbErr::Custom(format!("reading project {id}: {e}")));
            me.give_back(c);
            result
        })
        .await
        .map_err(|e| DbErr::Custom(e.to_string()))?
    }
}

impl SqliteReaders {
    /// One project row, read in place: an indexed read from the memory-mapped file takes a
    /// few microseconds, less than handing it to another thread would.
    pub fn project(&self, id: i64) -> Result<Option<project::Model>, DbErr> {
        let c = self.take()?;
        let result =
            read_project(&c, id).map_err(|e| DbErr::Custom(format!("reading project {id}: {e}")));
        self.give_back(c);
        result
    }
}

/// One project by id: in place through rusqlite on a SQLite file, else through sea-orm.
pub async fn find_project(db: &Db, id: i64) -> Result<Option<project::Model>, DbErr> {
    match &db.readers {
        Some(r) => r.project(id),
        None => project::Entity::find_by_id(id).one(&db.read).await,
    }
}

pub async fn action_inputs(db: &Db, id: i64) -> Result<Option<ActionInputs>, DbErr> {
    if let Some(r) = &db.readers {
        return r.action_inputs(id).await;
    }
    let Some(project) = project::Entity::find_by_id(id).one(&db.read).await? else {
        return Ok(None);
    };
    let people = project_people(&db.read, &project).await?;
    let open_milestones = milestone::Entity::find()
        .filter(milestone::Column::ProjectId.eq(id))
        .filter(milestone::Column::DoneAt.is_null())
        .all(&db.read)
        .await?;
    let open_deadlines = project_deadline::Entity::find()
        .filter(project_deadline::Column::ProjectId.eq(id))
        .filter(project_deadline::Column::ClosedAt.is_null())
        .all(&db.read)
        .await?
        .into_iter()
        .filter_map(|d| Some((d.deadline_key, d.due_at?)))
        .collect();
    Ok(Some(ActionInputs {
        project,
        people,
        open_milestones,
        open_deadlines,
    }))
}

pub(crate) fn time(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

fn date(s: &str) -> rusqlite::Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The columns of `projects`, in the order `read_project` takes them by position (a lookup by
/// name compares every column name, and showed in profiles of the read path).
const SELECT_PROJECT: &str = "SELECT id, definition_id, definition_key, title, title_folded, year, organisation_id, district_id, lead_user_id, stage, form_data, version, milestones_total, milestones_done, appraisal_count, score_counts, audit_seq, audit_head, final_score, grade, score_detail, stage_entered_at, created_at, updated_at FROM projects WHERE id = ?1";

fn read_project(c: &Connection, id: i64) -> rusqlite::Result<Option<project::Model>> {
    c.prepare_cached(SELECT_PROJECT)?
        .query_row([id], |r| {
            Ok(project::Model {
                id: r.get(0)?,
                definition_id: r.get(1)?,
                definition_key: r.get(2)?,
                title: r.get(3)?,
                title_folded: r.get(4)?,
                year: r.get(5)?,
                organisation_id: r.get(6)?,
                district_id: r.get(7)?,
                lead_user_id: r.get(8)?,
                stage: r.get(9)?,
                form_data: r.get(10)?,
                version: r.get(11)?,
                milestones_total: r.get(12)?,
                milestones_done: r.get(13)?,
                appraisal_count: r.get(14)?,
                score_counts: r.get(15)?,
                audit_seq: r.get(16)?,
                audit_head: r.get(17)?,
                final_score: r.get(18)?,
                grade: r.get(19)?,
                score_detail: r.get(20)?,
                stage_entered_at: time(&r.get::<_, String>(21)?)?,
                created_at: time(&r.get::<_, String>(22)?)?,
                updated_at: time(&r.get::<_, String>(23)?)?,
            })
        })
        .optional()
}

/// A project's open deadlines with a known due time.
pub(crate) const OPEN_DEADLINES: &str = "SELECT deadline_key, due_at FROM project_deadlines \
     WHERE project_id = ?1 AND closed_at IS NULL AND due_at IS NOT NULL";

/// Everything an action reads, on `c` (a reader, or the writer inside its transaction).
pub(crate) fn read_inputs(c: &Connection, id: i64) -> rusqlite::Result<Option<ActionInputs>> {
    let Some(project) = read_project(c, id)? else {
        return Ok(None);
    };
    // One indexed query per organisation (the project's subdistrict and its district): an
    // `IN (?1, ?2)` list makes SQLite build a temporary table for every call.
    let mut people = Vec::new();
    let mut orgs = vec![project.organisation_id];
    orgs.extend(
        project
            .district_id
            .filter(|d| *d != project.organisation_id),
    );
    let mut stmt = c.prepare_cached(
        "SELECT id, login, name, email, organisation_id, roles, password_hash, language, \
         active, created_at FROM users WHERE organisation_id = ?1 AND active",
    )?;
    for org in orgs {
        let rows = stmt.query_map([org], |r| {
            Ok(user::Model {
                id: r.get(0)?,
                login: r.get(1)?,
                name: r.get(2)?,
                email: r.get(3)?,
                organisation_id: r.get(4)?,
                roles: r.get(5)?,
                password_hash: r.get(6)?,
                language: r.get(7)?,
                active: r.get(8)?,
                created_at: time(&r.get::<_, String>(9)?)?,
            })
        })?;
        for u in rows {
            people.push(u?);
        }
    }
    drop(stmt);
    let open_milestones = c
        .prepare_cached(
            "SELECT id, project_id, position, title, goal, owner_login, owner_user_id, start_date, \
             due_date, weight, percent, done_at, updated_at FROM milestones \
             WHERE project_id = ?1 AND done_at IS NULL ORDER BY position",
        )?
        .query_map([id], |r| {
            Ok(milestone::Model {
                id: r.get(0)?,
                project_id: r.get(1)?,
                position: r.get(2)?,
                title: r.get(3)?,
                goal: r.get(4)?,
                owner_login: r.get(5)?,
                owner_user_id: r.get(6)?,
                start_date: r
                    .get::<_, Option<String>>(7)?
                    .and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()),
                due_date: date(&r.get::<_, String>(8)?)?,
                weight: r.get(9)?,
                percent: r.get(10)?,
                done_at: r.get::<_, Option<String>>(11)?.map(|s| time(&s)).transpose()?,
                updated_at: time(&r.get::<_, String>(12)?)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let open_deadlines = c
        .prepare_cached(OPEN_DEADLINES)?
        .query_map([id], |r| {
            Ok((r.get::<_, String>(0)?, time(&r.get::<_, String>(1)?)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(ActionInputs {
        project,
        people,
        open_milestones,
        open_deadlines,
    }))
}
