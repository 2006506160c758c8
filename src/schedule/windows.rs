//! Window notices: when a window of the year (applications, self-check, appraisal) opens and
//! before it closes, every active user holding the window's roles in the district is told,
//! whether or not they have a project yet (a secretary who has not applied is exactly who the
//! application window's notice is for).
//!
//! Planning is pure (`plan_windows`): the notice instants that fell in `(since, now]`. A run
//! after downtime catches up once: the opening notice while the window is still open, and of
//! the missed closing notices only the latest, while the window is still open. The shell
//! (`run_windows`) looks up the recipients and queues the mails under unique keys (definition,
//! window, kind, instant, recipient), like the reminders.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::Queued;
use crate::app::{App, AppResult};
use crate::store::entity::{organisation, scheduler_run, user};
use crate::store::queries::user_roles;
use crate::workflow::model::Scope;
use crate::workflow::units::MonthDay;
use crate::workflow::Workflow;

/// The job name under which window runs are recorded.
pub const WINDOWS: &str = "windows";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeKind {
    Opened,
    /// `before` ahead of the closing instant.
    Closing {
        before: Duration,
    },
}

impl NoticeKind {
    /// A stable name for the unique key: `opened` or `closing-604800s`.
    pub fn key(&self) -> String {
        match self {
            NoticeKind::Opened => "opened".into(),
            NoticeKind::Closing { before } => format!("closing-{}s", before.num_seconds()),
        }
    }
}

/// A notice the planner wants sent, before its recipients are looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedNotice {
    /// Index into the definition's `windows`.
    pub window: usize,
    pub kind: NoticeKind,
    /// The instant the notice was due (part of its unique key).
    pub at: DateTime<Utc>,
    pub opens: DateTime<Utc>,
    pub closes: DateTime<Utc>,
    pub template: String,
    pub roles: Vec<String>,
}

fn start_of_day(md: MonthDay, year: i32, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    // 02-29 falls on 02-28 outside leap years, as deadlines do.
    let date = NaiveDate::from_ymd_opt(year, md.month, md.day)
        .or_else(|| NaiveDate::from_ymd_opt(year, md.month, md.day - 1))?;
    tz.from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// When window `i` of `w` opens (00:00 of its first day) and closes (the end of its
/// deadline's day) in `year`, in the definition's time zone.
pub fn window_span(w: &Workflow, i: usize, year: i32) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let c = w.windows.get(i)?;
    Some((
        start_of_day(c.opens, year, w.timezone)?,
        c.closes.end_of_day(year, w.timezone)?,
    ))
}

/// The window notices of `w` due in `(since, now]`.
pub fn plan_windows(w: &Workflow, since: DateTime<Utc>, now: DateTime<Utc>) -> Vec<PlannedNotice> {
    let mut out = Vec::new();
    if now <= since {
        return out;
    }
    let last = now.with_timezone(&w.timezone).year();
    // After a longer downtime only this year's and last year's windows can still be open.
    let first = since.with_timezone(&w.timezone).year().max(last - 1);
    for year in first..=last {
        for (i, def) in w.definition.windows.iter().enumerate() {
            let Some((opens, closes)) = window_span(w, i, year) else {
                continue;
            };
            // A closed window is not announced late.
            if now >= closes {
                continue;
            }
            let roles: Vec<String> = def.notify.iter().map(|r| r.as_str().to_string()).collect();
            if opens > since && opens <= now {
                out.push(PlannedNotice {
                    window: i,
                    kind: NoticeKind::Opened,
                    at: opens,
                    opens,
                    closes,
                    template: def.open_template.as_str().to_string(),
                    roles: roles.clone(),
                });
            }
            if let Some(template) = &def.closing_template {
                let latest = w.windows[i]
                    .closing_before
                    .iter()
                    .map(|before| (*before, closes - *before))
                    .filter(|(_, at)| *at > since && *at <= now && *at >= opens)
                    .max_by_key(|(_, at)| *at);
                if let Some((before, at)) = latest {
                    out.push(PlannedNotice {
                        window: i,
                        kind: NoticeKind::Closing { before },
                        at,
                        opens,
                        closes,
                        template: template.as_str().to_string(),
                        roles,
                    });
                }
            }
        }
    }
    out.sort_by_key(|n| n.at);
    out
}

/// The active users a notice for `roles` reaches: a role with `scope: district` reaches its
/// holders in a district organisation (one without a parent); `scope: organisation`, its
/// holders in every subdistrict.
pub fn recipients<'a>(
    w: &Workflow,
    roles: &[String],
    people: &'a [user::Model],
    organisations: &HashMap<i64, organisation::Model>,
) -> Vec<&'a user::Model> {
    people
        .iter()
        .filter(|u| u.active)
        .filter(|u| {
            let Some(org) = organisations.get(&u.organisation_id) else {
                return false;
            };
            user_roles(u).any(|r| {
                roles.iter().any(|x| x == r)
                    && w.role_index
                        .get(r)
                        .is_some_and(|i| match w.role(*i).scope.get() {
                            Scope::District => org.parent_id.is_none(),
                            Scope::Organisation => org.parent_id.is_some(),
                            Scope::Public => false,
                        })
            })
        })
        .collect()
}

/// Run every current definition's window notices as of `now`, from `since` (default: the last
/// recorded run, or a day back). With `dry_run`, nothing is written.
pub async fn run_windows(
    app: &App,
    now: DateTime<Utc>,
    since: Option<DateTime<Utc>>,
    tz: chrono_tz::Tz,
    dry_run: bool,
) -> AppResult<Vec<Queued>> {
    let last = scheduler_run::Entity::find_by_id(WINDOWS.to_string())
        .one(&app.db.read)
        .await?
        .map(|r| r.last_run_at);
    let since = since.or(last).unwrap_or(now - Duration::days(1));
    let mut queued = Vec::new();
    let mut rows = Vec::new();
    // Read only when some notice is due: a quiet minute costs no query beyond the one above.
    let mut directory: Option<(Vec<user::Model>, HashMap<i64, organisation::Model>)> = None;
    for v in app.registry.all_current() {
        let w = &v.workflow;
        let notices = plan_windows(w, since, now);
        if notices.is_empty() {
            continue;
        }
        if directory.is_none() {
            let people = user::Entity::find()
                .filter(user::Column::Active.eq(true))
                .all(&app.db.read)
                .await?;
            let orgs = organisation::Entity::find()
                .all(&app.db.read)
                .await?
                .into_iter()
                .map(|o| (o.id, o))
                .collect();
            directory = Some((people, orgs));
        }
        let Some((people, orgs)) = &directory else {
            continue;
        };
        for n in notices {
            let def = &w.definition.windows[n.window];
            for u in recipients(w, &n.roles, people, orgs) {
                let lang = if u.language == "en" { "en" } else { "zh" };
                let key = format!(
                    "window:{}:{}:{}:{}:{}",
                    w.id(),
                    def.id,
                    n.kind.key(),
                    n.at.timestamp(),
                    u.id
                );
                let payload = json!({
                    "definition": w.id(),
                    "window": {"id": def.id.as_str(), "name": def.name.get(lang)},
                    "opens": n.opens.with_timezone(&tz).format("%Y-%m-%d").to_string(),
                    "closes": n.closes.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
                    "link": "/projects",
                });
                queued.push(Queued {
                    unique_key: key.clone(),
                    template: n.template.clone(),
                    kind: format!("window:{}:{}", def.id, n.kind.key()),
                    project_id: 0,
                    project_title: def.name.get(lang).to_string(),
                    recipient_login: u.login.clone(),
                    recipient_email: u.email.clone(),
                    at: n.at,
                    new: true,
                });
                rows.push(super::outbox_row(
                    key,
                    u,
                    &n.template,
                    None,
                    payload,
                    now,
                    n.at,
                ));
            }
        }
    }
    super::finish_run(app, WINDOWS, queued, rows, now, dry_run).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w() -> Workflow {
        crate::workflow::default_workflow()
    }

    /// Beijing wall time in 2026.
    fn bj(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2026, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn describe(w: &Workflow, n: &PlannedNotice) -> (String, String, DateTime<Utc>) {
        (
            w.definition.windows[n.window].id.to_string(),
            n.kind.key(),
            n.at,
        )
    }

    #[test]
    fn a_year_of_notices_run_hour_by_hour_comes_out_once_each() {
        let w = w();
        let mut got = Vec::new();
        let mut since = bj(1, 1, 0, 0);
        while since < bj(12, 31, 23, 0) {
            let now = since + Duration::hours(1);
            got.extend(plan_windows(&w, since, now).iter().map(|n| describe(&w, n)));
            since = now;
        }
        let e = |id: &str, k: &str, at| (id.to_string(), k.to_string(), at);
        assert_eq!(
            got,
            vec![
                e("applications", "opened", bj(2, 1, 0, 0)),
                e(
                    "applications",
                    "closing-604800s",
                    bj(3, 24, 23, 59) + Duration::seconds(59)
                ),
                e("self_check", "opened", bj(11, 1, 0, 0)),
                e(
                    "self_check",
                    "closing-604800s",
                    bj(11, 23, 23, 59) + Duration::seconds(59)
                ),
                e("appraisal", "opened", bj(12, 1, 0, 0)),
                e(
                    "appraisal",
                    "closing-259200s",
                    bj(12, 12, 23, 59) + Duration::seconds(59)
                ),
            ]
        );
    }

    #[test]
    fn downtime_catches_up_once_and_closed_windows_stay_quiet() {
        let w = w();
        // Down from January to March 25th: the opening notice, late, and the closing notice.
        let late = plan_windows(&w, bj(1, 15, 0, 0), bj(3, 25, 9, 0));
        let kinds: Vec<_> = late.iter().map(|n| n.kind.key()).collect();
        assert_eq!(kinds, vec!["opened", "closing-604800s"]);
        // Down across the whole window: nothing about a window that has closed.
        assert!(plan_windows(&w, bj(1, 15, 0, 0), bj(4, 2, 0, 0)).is_empty());
        // Empty or backwards spans plan nothing.
        assert!(plan_windows(&w, bj(2, 1, 0, 0), bj(2, 1, 0, 0)).is_empty());
        assert!(plan_windows(&w, bj(3, 1, 0, 0), bj(2, 1, 0, 0)).is_empty());
    }
}
