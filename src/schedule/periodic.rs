//! The definitions' periodic schedules (月更新 per project, 周调度 digests): each schedule's
//! cron instant that fell in `(since, now]` (the latest one only, after downtime) queues its
//! mails under unique keys, like the reminders.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::Queued;
use crate::app::{App, AppResult};
use crate::store::entity::{milestone, project, scheduler_run, user};
use crate::store::queries::eligible;
use crate::workflow::model::ScheduleKind;
use crate::workflow::progress::{self, MilestoneFacts, MilestoneStatus};

/// The job name under which schedule runs are recorded.
pub const SCHEDULES: &str = "schedules";

/// The latest instant of `cron` in `(since, now]`, in the time zone `tz`. Pure.
pub fn latest_instant(
    cron: &croner::Cron,
    tz: chrono_tz::Tz,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut from = since.with_timezone(&tz);
    // A very frequent schedule after a long downtime: only the recent past matters.
    if now - since > chrono::Duration::days(400) {
        from = (now - chrono::Duration::days(400)).with_timezone(&tz);
    }
    let mut latest = None;
    for _ in 0..100_000 {
        match cron.find_next_occurrence(&from, false) {
            Ok(next) if next.with_timezone(&Utc) <= now => {
                latest = Some(next.with_timezone(&Utc));
                from = next;
            }
            _ => break,
        }
    }
    latest
}

/// Run every current definition's schedules as of `now`, from `since` (default: the last
/// recorded run, or a day back).
pub async fn run_schedules(
    app: &App,
    now: DateTime<Utc>,
    since: Option<DateTime<Utc>>,
    tz: chrono_tz::Tz,
    dry_run: bool,
) -> AppResult<Vec<Queued>> {
    let last = scheduler_run::Entity::find_by_id(SCHEDULES.to_string())
        .one(&app.db.read)
        .await?
        .map(|r| r.last_run_at);
    let since = since.or(last).unwrap_or(now - chrono::Duration::days(1));
    let mut queued = Vec::new();
    let mut rows = Vec::new();
    if now > since {
        for v in app.registry.all_current() {
            let w = &v.workflow;
            for (i, s) in w.definition.schedules.iter().enumerate() {
                let Some(cron) = w.schedules.get(i) else {
                    continue;
                };
                let Some(at) = latest_instant(cron, tz, since, now) else {
                    continue;
                };
                let stages: Vec<&str> = s.stages.iter().map(|x| x.as_str()).collect();
                let projects: Vec<project::Model> = project::Entity::find()
                    .filter(project::Column::DefinitionKey.eq(w.id()))
                    .filter(project::Column::Stage.is_in(stages.iter().copied()))
                    .all(&app.db.read)
                    .await?;
                if projects.is_empty() {
                    continue;
                }
                let roles: Vec<&str> = s.notify.iter().map(|r| r.as_str()).collect();
                // Only the people of the projects' organisations and districts: those are all
                // a mail about these projects can reach (as in the reminder run).
                let mut org_ids: Vec<i64> = projects
                    .iter()
                    .flat_map(|p| [Some(p.organisation_id), p.district_id])
                    .flatten()
                    .collect();
                org_ids.sort();
                org_ids.dedup();
                let mut people_of: HashMap<i64, Vec<user::Model>> = HashMap::new();
                for chunk in org_ids.chunks(5000) {
                    for u in user::Entity::find()
                        .filter(user::Column::OrganisationId.is_in(chunk.to_vec()))
                        .filter(user::Column::Active.eq(true))
                        .all(&app.db.read)
                        .await?
                    {
                        people_of.entry(u.organisation_id).or_default().push(u);
                    }
                }
                let people_of_project = |p: &project::Model| -> Vec<user::Model> {
                    let mut v = people_of
                        .get(&p.organisation_id)
                        .cloned()
                        .unwrap_or_default();
                    if let Some(d) = p.district_id.filter(|d| *d != p.organisation_id) {
                        v.extend(people_of.get(&d).cloned().unwrap_or_default());
                    }
                    v
                };
                let stage_name = |id: &str, lang: &str| {
                    w.stage(id)
                        .map(|st| st.name.get(lang).to_string())
                        .unwrap_or_else(|| id.to_string())
                };
                match s.kind.get() {
                    ScheduleKind::PerProject => {
                        for p in &projects {
                            for u in eligible(w, p, people_of_project(p), &roles) {
                                let lang = if u.language == "en" { "en" } else { "zh" };
                                let key = format!(
                                    "schedule:{}:{}:{}:{}",
                                    s.id,
                                    at.timestamp(),
                                    p.id,
                                    u.id
                                );
                                let payload = json!({
                                    "definition": w.id(),
                                    "project": {"id": p.id, "title": p.title, "year": p.year},
                                    "stage": {"id": p.stage, "name": stage_name(&p.stage, lang)},
                                    "link": format!("/projects/{}", p.id),
                                });
                                queued.push(Queued {
                                    unique_key: key.clone(),
                                    template: s.template.as_str().to_string(),
                                    kind: format!("schedule:{}", s.id),
                                    project_id: p.id,
                                    project_title: p.title.clone(),
                                    recipient_login: u.login.clone(),
                                    recipient_email: u.email.clone(),
                                    at,
                                    new: true,
                                });
                                rows.push(super::outbox_row(
                                    key,
                                    &u,
                                    s.template.as_str(),
                                    Some(p.id),
                                    payload,
                                    now,
                                    at,
                                ));
                            }
                        }
                    }
                    ScheduleKind::Digest => {
                        // The dispatch figures of each project on that day: completion,
                        // overdue and behind-schedule milestones (the 周调度 round-up).
                        let today = at.with_timezone(&tz).date_naive();
                        let ids: Vec<i64> = projects.iter().map(|p| p.id).collect();
                        let mut figures: HashMap<i64, (f64, usize, usize)> = HashMap::new();
                        let mut ms_of: HashMap<i64, Vec<milestone::Model>> = HashMap::new();
                        for chunk in ids.chunks(5000) {
                            for m in milestone::Entity::find()
                                .filter(milestone::Column::ProjectId.is_in(chunk.to_vec()))
                                .all(&app.db.read)
                                .await?
                            {
                                ms_of.entry(m.project_id).or_default().push(m);
                            }
                        }
                        for (pid, ms) in &ms_of {
                            let facts: Vec<MilestoneFacts> = ms
                                .iter()
                                .map(|m| MilestoneFacts {
                                    start: m.start_date,
                                    due: m.due_date,
                                    percent: m.percent,
                                    done: m.done_at.is_some(),
                                })
                                .collect();
                            let overdue = facts
                                .iter()
                                .filter(|f| progress::status(f, today) == MilestoneStatus::Overdue)
                                .count();
                            let behind = facts
                                .iter()
                                .filter(|f| progress::behind_schedule(f, today))
                                .count();
                            let percent = progress::weighted_percent(
                                &ms.iter()
                                    .map(|m| (m.weight, m.percent, m.done_at.is_some()))
                                    .collect::<Vec<_>>(),
                            );
                            figures.insert(*pid, (percent, overdue, behind));
                        }
                        // One digest per recipient, of the projects they may see.
                        let mut per_user: HashMap<i64, (user::Model, Vec<&project::Model>)> =
                            HashMap::new();
                        for p in &projects {
                            for u in eligible(w, p, people_of_project(p), &roles) {
                                per_user
                                    .entry(u.id)
                                    .or_insert_with(|| (u.clone(), Vec::new()))
                                    .1
                                    .push(p);
                            }
                        }
                        let mut users: Vec<i64> = per_user.keys().copied().collect();
                        users.sort();
                        for uid in users {
                            let (u, ps) = &per_user[&uid];
                            let lang = if u.language == "en" { "en" } else { "zh" };
                            let key = format!("schedule:{}:{}:{}", s.id, at.timestamp(), u.id);
                            let list: Vec<_> = ps
                                .iter()
                                .map(|p| {
                                    let (percent, overdue, behind) =
                                        figures.get(&p.id).copied().unwrap_or((0.0, 0, 0));
                                    json!({
                                        "id": p.id, "title": p.title,
                                        "stage": stage_name(&p.stage, lang),
                                        "percent": percent.round() as i64, "overdue": overdue, "behind": behind,
                                        "link": format!("/projects/{}", p.id),
                                    })
                                })
                                .collect();
                            let payload = json!({
                                "definition": w.id(),
                                "projects": list,
                                "link": "/dispatch",
                            });
                            queued.push(Queued {
                                unique_key: key.clone(),
                                template: s.template.as_str().to_string(),
                                kind: format!("schedule:{}", s.id),
                                project_id: 0,
                                project_title: format!("{} projects", ps.len()),
                                recipient_login: u.login.clone(),
                                recipient_email: u.email.clone(),
                                at,
                                new: true,
                            });
                            rows.push(super::outbox_row(
                                key,
                                u,
                                s.template.as_str(),
                                None,
                                payload,
                                now,
                                at,
                            ));
                        }
                    }
                }
            }
        }
    }
    super::finish_run(app, SCHEDULES, queued, rows, now, dry_run).await
}
