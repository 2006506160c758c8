//! Time-driven work: deadline reminders and escalations. The planning is pure (`plan`); this
//! shell reads the open deadlines that can be due, looks up the recipients, and queues the
//! mails in the outbox under unique keys (recipient, item, kind, due instant), so that a run
//! repeated over the same time queues nothing twice.

pub mod periodic;
pub mod plan;
pub mod runner;
pub mod simulate;
pub mod windows;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use serde_json::json;

use crate::app::{App, AppResult};
use crate::store::entity::{milestone, outbox, project_deadline, scheduler_run, user};
use crate::store::queries::eligible;
pub use plan::{plan, MailKind, OpenDeadline, PlannedMail};

/// The job name under which reminder runs are recorded.
pub const REMINDERS: &str = "reminders";

/// A mail the reminder run queued (or would queue).
#[derive(Debug, Clone, Serialize)]
pub struct Queued {
    pub unique_key: String,
    pub template: String,
    pub kind: String,
    pub project_id: i64,
    pub project_title: String,
    pub recipient_login: String,
    pub recipient_email: String,
    pub at: DateTime<Utc>,
    /// False when the same mail was already in the outbox.
    pub new: bool,
}

/// Run the reminder planner as of `now`, from `since` (default: the last recorded run, or a
/// day back). With `dry_run`, nothing is written. Answers what was (or would be) queued.
pub async fn run_reminders(
    app: &App,
    now: DateTime<Utc>,
    since: Option<DateTime<Utc>>,
    tz: chrono_tz::Tz,
    dry_run: bool,
) -> AppResult<Vec<Queued>> {
    let last = scheduler_run::Entity::find_by_id(REMINDERS.to_string())
        .one(&app.db.read)
        .await?
        .map(|r| r.last_run_at);
    let since = since.or(last).unwrap_or(now - chrono::Duration::days(1));
    if now <= since {
        return Ok(Vec::new());
    }
    // Only deadlines that can yield a mail in (since, now].
    let current = app.registry.all_current();
    let workflows: Vec<&crate::workflow::Workflow> = current.iter().map(|v| &*v.workflow).collect();
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let opened_late = project_deadline::Entity::find()
        .filter(project_deadline::Column::ClosedAt.is_null())
        .filter(project_deadline::Column::OpenedAt.gt(since))
        .filter(project_deadline::Column::OpenedAt.lte(now))
        .filter(project_deadline::Column::DueAt.lte(now));
    let mut reads = vec![opened_late];
    for (lo, hi) in plan::due_ranges(&workflows, since, now) {
        reads.push(
            project_deadline::Entity::find()
                .filter(project_deadline::Column::ClosedAt.is_null())
                .filter(project_deadline::Column::DueAt.gt(lo))
                .filter(project_deadline::Column::DueAt.lte(hi)),
        );
    }
    // Deadlines due in the ranges, and those opened since the last run already past due
    // (their escalation instant may lie before `since`: see `plan`).
    for read in reads {
        for r in read.all(&app.db.read).await? {
            if seen.insert(r.id) {
                rows.push(r);
            }
        }
    }
    let mut by_project: HashMap<i64, Vec<OpenDeadline>> = HashMap::new();
    for r in rows {
        if let Some(due) = r.due_at {
            by_project
                .entry(r.project_id)
                .or_default()
                .push(OpenDeadline {
                    row_id: r.id,
                    project_id: r.project_id,
                    milestone_id: r.milestone_id,
                    deadline: r.deadline_key,
                    due,
                    opened_at: r.opened_at,
                });
        }
    }
    let mut queued = Vec::new();
    let mut rows_out: Vec<outbox::ActiveModel> = Vec::new();
    let mut project_ids: Vec<i64> = by_project.keys().copied().collect();
    project_ids.sort();
    // Everything the mails need, read in a few queries rather than per item.
    let mut projects: HashMap<i64, crate::store::entity::project::Model> = HashMap::new();
    for chunk in project_ids.chunks(5000) {
        for p in crate::store::entity::project::Entity::find()
            .filter(crate::store::entity::project::Column::Id.is_in(chunk.to_vec()))
            .all(&app.db.read)
            .await?
        {
            projects.insert(p.id, p);
        }
    }
    let milestone_ids: Vec<i64> = by_project
        .values()
        .flatten()
        .filter_map(|d| d.milestone_id)
        .collect();
    let mut milestones: HashMap<i64, milestone::Model> = HashMap::new();
    for chunk in milestone_ids.chunks(5000) {
        for m in milestone::Entity::find()
            .filter(milestone::Column::Id.is_in(chunk.to_vec()))
            .all(&app.db.read)
            .await?
        {
            milestones.insert(m.id, m);
        }
    }
    let mut people_of: HashMap<(i64, Option<i64>), Vec<user::Model>> = HashMap::new();
    for pid in project_ids {
        let items = &by_project[&pid];
        let Some(p) = projects.get(&pid) else {
            continue;
        };
        let w = app.workflow_of(p).await?;
        let mails = plan(&w, items, since, now);
        if mails.is_empty() {
            continue;
        }
        let scope = (p.organisation_id, p.district_id);
        if let std::collections::hash_map::Entry::Vacant(slot) = people_of.entry(scope) {
            let found = user::Entity::find()
                .filter(user::Column::OrganisationId.is_in([
                    p.organisation_id,
                    p.district_id.unwrap_or(p.organisation_id),
                ]))
                .filter(user::Column::Active.eq(true))
                .all(&app.db.read)
                .await?;
            slot.insert(found);
        }
        let people = &people_of[&scope];
        for m in mails {
            let roles: Vec<&str> = m.roles.iter().map(String::as_str).collect();
            let mut to = eligible(&w, p, people.clone(), &roles);
            let milestone = m.item.milestone_id.and_then(|mid| milestones.get(&mid));
            // A milestone reported done keeps its deadline row (a later report below 100 %
            // reopens it), but nobody is reminded of, or escalated for, finished work.
            if milestone.is_some_and(|ms| ms.done_at.is_some()) {
                continue;
            }
            if m.owner {
                if let Some(owner) = milestone.as_ref().and_then(|ms| ms.owner_user_id) {
                    if !to.iter().any(|u| u.id == owner) {
                        if let Some(u) = people.iter().find(|u| u.id == owner) {
                            to.push(u.clone());
                        }
                    }
                }
            }
            for u in to {
                let lang = if u.language == "en" { "en" } else { "zh" };
                let deadline_name = match &milestone {
                    Some(ms) => ms.title.clone(),
                    None => w
                        .deadline_index
                        .get(&m.item.deadline)
                        .map(|i| w.definition.deadlines[*i].name.get(lang).to_string())
                        .unwrap_or_else(|| m.item.deadline.clone()),
                };
                let stage_name = w
                    .stage(&p.stage)
                    .map(|s| s.name.get(lang).to_string())
                    .unwrap_or_else(|| p.stage.clone());
                let payload = json!({
                    "definition": w.id(),
                    "project": {"id": p.id, "title": p.title, "year": p.year},
                    "deadline": {"id": m.item.deadline, "name": deadline_name},
                    "stage": {"id": p.stage, "name": stage_name},
                    "due": m.item.due.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
                    "link": format!("/projects/{}", p.id),
                });
                let key = format!(
                    "{}:{}:{}:{}",
                    m.kind.key(),
                    m.item.row_id,
                    m.at.timestamp(),
                    u.id
                );
                queued.push(Queued {
                    unique_key: key.clone(),
                    template: m.template.clone(),
                    kind: m.kind.key(),
                    project_id: p.id,
                    project_title: p.title.clone(),
                    recipient_login: u.login.clone(),
                    recipient_email: u.email.clone(),
                    at: m.at,
                    new: true,
                });
                rows_out.push(outbox_row(
                    key,
                    &u,
                    &m.template,
                    Some(p.id),
                    payload,
                    now,
                    m.at,
                ));
            }
        }
    }
    finish_run(app, REMINDERS, queued, rows_out, now, dry_run).await
}

/// The outbox row of one planned mail to `u`, due at `at` and sendable from `now`: the one
/// builder the reminder, schedule and window runs share.
pub(crate) fn outbox_row(
    key: String,
    u: &user::Model,
    template: &str,
    project_id: Option<i64>,
    payload: serde_json::Value,
    now: DateTime<Utc>,
    at: DateTime<Utc>,
) -> outbox::ActiveModel {
    outbox::ActiveModel {
        unique_key: Set(key),
        recipient_user_id: Set(Some(u.id)),
        recipient_email: Set(u.email.clone()),
        language: Set(u.language.clone()),
        template: Set(template.to_string()),
        project_id: Set(project_id),
        payload: Set(payload.to_string()),
        created_at: Set(now),
        due_at: Set(at),
        next_attempt_at: Set(now),
        attempts: Set(0),
        last_error: Set(None),
        sent_at: Set(None),
        dead: Set(false),
        ..Default::default()
    }
}

/// Mark which mails an earlier run already queued; unless `dry_run`, insert the new ones
/// (the unique key makes a repeated run harmless) and record the run, in one transaction.
pub(crate) async fn finish_run(
    app: &App,
    job: &str,
    mut queued: Vec<Queued>,
    rows: Vec<outbox::ActiveModel>,
    now: DateTime<Utc>,
    dry_run: bool,
) -> AppResult<Vec<Queued>> {
    let keys: Vec<String> = queued.iter().map(|q| q.unique_key.clone()).collect();
    let mut existing = std::collections::HashSet::new();
    for chunk in keys.chunks(5000) {
        for o in outbox::Entity::find()
            .filter(outbox::Column::UniqueKey.is_in(chunk.to_vec()))
            .all(&app.db.read)
            .await?
        {
            existing.insert(o.unique_key);
        }
    }
    for q in &mut queued {
        q.new = !existing.contains(&q.unique_key);
    }
    if dry_run {
        return Ok(queued);
    }
    let txn = app.db.begin_write().await?;
    let mut rows = rows;
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(200));
        outbox::Entity::insert_many(rows)
            .on_conflict_do_nothing_on([outbox::Column::UniqueKey])
            .exec(&txn)
            .await?;
        rows = rest;
    }
    scheduler_run::Entity::insert(scheduler_run::ActiveModel {
        job: Set(job.to_string()),
        last_run_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(scheduler_run::Column::Job)
            .update_column(scheduler_run::Column::LastRunAt)
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    txn.commit().await?;
    for q in queued.iter().filter(|q| q.new) {
        app.metrics.mail_queued(&q.template, 1);
    }
    Ok(queued)
}
