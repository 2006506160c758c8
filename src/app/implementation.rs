//! The implementation phase: a project's road map (milestones with derived status, progress
//! reports, stage changes), guidance threads between reviewers and the subdistrict, and each
//! user's private calendar feed of the deadlines they own.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::projects::{load_for_update, save_change};
use super::{audit, App, AppError, AppResult, Principal};
use crate::store::entity::{
    calendar_feed, guidance, milestone, progress_report, project, project_deadline,
};
use crate::workflow::model::Scope;
use crate::workflow::progress::{self, MilestoneFacts, MilestoneStatus};

pub const MAX_GUIDANCE_CHARS: usize = 5000;

/// A milestone on the road map, with its status on the day asked about.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MilestoneView {
    pub id: i64,
    pub position: i32,
    pub title: String,
    pub goal: String,
    pub owner_login: String,
    pub owner_user_id: Option<i64>,
    pub start_date: Option<NaiveDate>,
    pub due_date: NaiveDate,
    pub weight: f64,
    pub percent: i32,
    pub status: MilestoneStatus,
    /// Status in the caller's language.
    pub status_label: String,
    /// What a straight-line plan expects done by the day asked about.
    pub expected_percent: i32,
    pub behind_schedule: bool,
    pub done_at: Option<DateTime<Utc>>,
    pub last_report_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub id: i64,
    pub milestone_id: i64,
    pub author_user_id: i64,
    pub percent: i32,
    pub note: String,
    pub at: DateTime<Utc>,
    /// Ids of the attachments filed as evidence with the report.
    pub attachments: Vec<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StageChange {
    pub at: DateTime<Utc>,
    pub action: String,
    pub from_stage: Option<String>,
    pub to_stage: Option<String>,
    pub actor_user_id: Option<i64>,
}

/// Everything a Gantt view needs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Timeline {
    pub project_id: i64,
    pub stage: String,
    /// The day the statuses are computed for.
    pub on: NaiveDate,
    /// Weighted completion of the milestones, 0-100.
    pub percent: f64,
    pub milestones: Vec<MilestoneView>,
    pub reports: Vec<ReportView>,
    pub stage_changes: Vec<StageChange>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GuidanceView {
    pub id: i64,
    pub project_id: i64,
    pub milestone_id: Option<i64>,
    pub reply_to: Option<i64>,
    pub author_user_id: i64,
    pub author_name: String,
    pub body: String,
    pub at: DateTime<Utc>,
}

fn facts(m: &milestone::Model) -> MilestoneFacts {
    MilestoneFacts {
        start: m.start_date,
        due: m.due_date,
        percent: m.percent,
        done: m.done_at.is_some(),
    }
}

pub fn milestone_view(
    m: &milestone::Model,
    today: NaiveDate,
    last_report_at: Option<DateTime<Utc>>,
    lang: &str,
) -> MilestoneView {
    let f = facts(m);
    let status = progress::status(&f, today);
    MilestoneView {
        id: m.id,
        position: m.position,
        title: m.title.clone(),
        goal: m.goal.clone(),
        owner_login: m.owner_login.clone(),
        owner_user_id: m.owner_user_id,
        start_date: m.start_date,
        due_date: m.due_date,
        weight: m.weight,
        percent: m.percent,
        status,
        status_label: status.label(lang).to_string(),
        expected_percent: progress::expected_percent(&f, today),
        behind_schedule: progress::behind_schedule(&f, today),
        done_at: m.done_at,
        last_report_at,
    }
}

impl App {
    /// The project's road map as of `today`.
    pub async fn timeline(&self, id: i64, today: NaiveDate, lang: &str) -> AppResult<Timeline> {
        let p = self.project_cached(id).await?;
        let ms = self.milestones(id).await?;
        let reports = progress_report::Entity::find()
            .filter(progress_report::Column::ProjectId.eq(id))
            .order_by_asc(progress_report::Column::CreatedAt)
            .order_by_asc(progress_report::Column::Id)
            .all(&self.db.read)
            .await?;
        let changes = self
            .history(id)
            .await?
            .into_iter()
            .filter(|e| e.from_stage != e.to_stage || e.seq == 1)
            .map(|e| StageChange {
                at: e.at,
                action: e.action,
                from_stage: e.from_stage,
                to_stage: e.to_stage,
                actor_user_id: e.actor_user_id,
            })
            .collect();
        let evidence = crate::store::entity::attachment::Entity::find()
            .filter(crate::store::entity::attachment::Column::ProjectId.eq(id))
            .filter(crate::store::entity::attachment::Column::ReportId.is_not_null())
            .all(&self.db.read)
            .await?;
        let last = |mid: i64| {
            reports
                .iter()
                .rev()
                .find(|r| r.milestone_id == mid)
                .map(|r| r.created_at)
        };
        let milestones: Vec<MilestoneView> = ms
            .iter()
            .map(|m| milestone_view(m, today, last(m.id), lang))
            .collect();
        let percent = progress::weighted_percent(
            &ms.iter()
                .map(|m| (m.weight, m.percent, m.done_at.is_some()))
                .collect::<Vec<_>>(),
        );
        Ok(Timeline {
            project_id: p.id,
            stage: p.stage.clone(),
            on: today,
            percent,
            milestones,
            reports: reports
                .into_iter()
                .map(|r| ReportView {
                    id: r.id,
                    milestone_id: r.milestone_id,
                    author_user_id: r.author_user_id,
                    percent: r.percent,
                    note: r.note,
                    at: r.created_at,
                    attachments: evidence
                        .iter()
                        .filter(|a| a.report_id == Some(r.id))
                        .map(|a| a.id)
                        .collect(),
                })
                .collect(),
            stage_changes: changes,
        })
    }

    /// The guidance thread of a project, oldest first.
    pub async fn guidance(&self, project_id: i64) -> AppResult<Vec<GuidanceView>> {
        let rows = guidance::Entity::find()
            .filter(guidance::Column::ProjectId.eq(project_id))
            .order_by_asc(guidance::Column::CreatedAt)
            .order_by_asc(guidance::Column::Id)
            .all(&self.db.read)
            .await?;
        let names = self
            .user_names(rows.iter().map(|g| g.author_user_id))
            .await?;
        Ok(rows
            .into_iter()
            .map(|g| GuidanceView {
                author_name: names.get(&g.author_user_id).cloned().unwrap_or_default(),
                id: g.id,
                project_id: g.project_id,
                milestone_id: g.milestone_id,
                reply_to: g.reply_to,
                author_user_id: g.author_user_id,
                body: g.body,
                at: g.created_at,
            })
            .collect())
    }

    /// The names of these users (the authors of a thread), in one query.
    pub(crate) async fn user_names(
        &self,
        ids: impl Iterator<Item = i64>,
    ) -> AppResult<std::collections::HashMap<i64, String>> {
        use crate::store::entity::user;
        let mut ids: Vec<i64> = ids.collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(user::Entity::find()
            .filter(user::Column::Id.is_in(ids))
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect())
    }

    /// A district user with a district-scope role gives guidance on a project (or one of its
    /// milestones); users of the project's own subdistrict answer it (`reply_to` set). Each
    /// message is an audit event of the project.
    pub async fn post_guidance(
        &self,
        who: &Principal,
        project_id: i64,
        milestone_id: Option<i64>,
        reply_to: Option<i64>,
        body: &str,
        now: DateTime<Utc>,
    ) -> AppResult<GuidanceView> {
        let body = body.trim();
        if body.is_empty() || body.chars().count() > MAX_GUIDANCE_CHARS {
            return Err(AppError::Invalid(format!(
                "guidance has 1 to {MAX_GUIDANCE_CHARS} characters"
            )));
        }
        let now = audit::normalise_time(now);
        let txn = self.db.begin_write().await?;
        let p = load_for_update(&txn, project_id).await?;
        let w = self.workflow_of(&p).await?;
        let may_guide = who.may_use_scope(&w, &p, Scope::District).is_ok();
        let may_answer = who.may_use_scope(&w, &p, Scope::Organisation).is_ok();
        if !may_guide && !may_answer {
            who.may_use_any_scope(&w, &p)?;
        }
        if !may_guide && reply_to.is_none() {
            return Err(AppError::Invalid(
                "the subdistrict answers guidance: name the message answered (reply_to)".into(),
            ));
        }
        if let Some(mid) = milestone_id {
            let m = milestone::Entity::find_by_id(mid).one(&txn).await?;
            if m.is_none_or(|m| m.project_id != p.id) {
                return Err(AppError::NotFound {
                    what: "milestone of this project",
                    id: mid.to_string(),
                });
            }
        }
        if let Some(rid) = reply_to {
            let r = guidance::Entity::find_by_id(rid).one(&txn).await?;
            if r.is_none_or(|r| r.project_id != p.id) {
                return Err(AppError::NotFound {
                    what: "guidance message of this project",
                    id: rid.to_string(),
                });
            }
        }
        let row = guidance::ActiveModel {
            project_id: Set(p.id),
            milestone_id: Set(milestone_id),
            reply_to: Set(reply_to),
            author_user_id: Set(who.user_id),
            body: Set(body.to_string()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let data = json!({"guidance": row.id, "milestone": milestone_id, "reply_to": reply_to});
        save_change(
            &txn,
            &p,
            project::ActiveModel {
                ..Default::default()
            },
            Some(who.user_id),
            if reply_to.is_some() && !may_guide {
                "guidance_answer"
            } else {
                "guidance"
            },
            Some(body),
            data,
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(GuidanceView {
            id: row.id,
            project_id: row.project_id,
            milestone_id: row.milestone_id,
            reply_to: row.reply_to,
            author_user_id: row.author_user_id,
            author_name: who.name.clone(),
            body: row.body,
            at: row.created_at,
        })
    }

    /// Give the user a new private calendar URL token (any earlier one stops working).
    pub async fn new_calendar_token(
        &self,
        who: &Principal,
        now: DateTime<Utc>,
    ) -> AppResult<String> {
        let token = hex::encode(rand::random::<[u8; 24]>());
        let hash = hex::encode(Sha256::digest(token.as_bytes()));
        let txn = self.db.begin_write().await?;
        calendar_feed::Entity::delete_many()
            .filter(calendar_feed::Column::UserId.eq(who.user_id))
            .exec(&txn)
            .await?;
        calendar_feed::ActiveModel {
            user_id: Set(who.user_id),
            token_hash: Set(hash),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        Ok(token)
    }

    /// The deadlines a calendar token's user owns: their milestones on live projects, and the
    /// open deadlines of the projects they lead.
    pub async fn calendar_items(&self, token: &str) -> AppResult<(String, Vec<CalendarItem>)> {
        use crate::store::entity::user;
        let hash = hex::encode(Sha256::digest(token.as_bytes()));
        let feed = calendar_feed::Entity::find()
            .filter(calendar_feed::Column::TokenHash.eq(hash))
            .one(&self.db.read)
            .await?
            .ok_or(AppError::NotFound {
                what: "calendar",
                id: "(token)".into(),
            })?;
        let u = user::Entity::find_by_id(feed.user_id)
            .one(&self.db.read)
            .await?
            .filter(|u| u.active)
            .ok_or(AppError::NotFound {
                what: "calendar",
                id: "(token)".into(),
            })?;
        let mut items = Vec::new();
        let owned = milestone::Entity::find()
            .filter(milestone::Column::OwnerUserId.eq(u.id))
            .all(&self.db.read)
            .await?;
        for m in owned {
            let p = self.project(m.project_id).await?;
            let w = self.workflow_of(&p).await?;
            if w.is_terminal(&p.stage) {
                continue;
            }
            items.push(CalendarItem {
                uid: format!("milestone-{}", m.id),
                title: format!("{}：{}", p.title, m.title),
                description: m.goal.clone(),
                day: Some(m.due_date),
                at: None,
                done: m.done_at.is_some(),
                project_id: p.id,
            });
        }
        let led = project::Entity::find()
            .filter(project::Column::LeadUserId.eq(u.id))
            .all(&self.db.read)
            .await?;
        for p in led {
            let w = self.workflow_of(&p).await?;
            let open = project_deadline::Entity::find()
                .filter(project_deadline::Column::ProjectId.eq(p.id))
                .filter(project_deadline::Column::ClosedAt.is_null())
                .filter(project_deadline::Column::MilestoneId.is_null())
                .all(&self.db.read)
                .await?;
            for d in open {
                let Some(due) = d.due_at else { continue };
                let name = w
                    .deadline_index
                    .get(&d.deadline_key)
                    .and_then(|i| w.definition.deadlines.get(*i))
                    .map(|d| d.name.get(&u.language).to_string())
                    .unwrap_or_else(|| d.deadline_key.clone());
                items.push(CalendarItem {
                    uid: format!("deadline-{}", d.id),
                    title: format!("{}：{}", p.title, name),
                    description: String::new(),
                    day: None,
                    at: Some(due),
                    done: false,
                    project_id: p.id,
                });
            }
        }
        Ok((u.name, items))
    }
}

/// One entry of a calendar feed: an all-day date or a moment.
#[derive(Debug, Clone)]
pub struct CalendarItem {
    pub uid: String,
    pub title: String,
    pub description: String,
    pub day: Option<NaiveDate>,
    pub at: Option<DateTime<Utc>>,
    pub done: bool,
    pub project_id: i64,
}

/// One project in the district's dispatch view (调度): where it stands on a day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DispatchRow {
    pub project_id: i64,
    pub title: String,
    pub organisation_id: i64,
    pub organisation: String,
    pub lead_user_id: i64,
    pub stage: String,
    /// Weighted completion of the milestones, 0-100.
    pub percent: f64,
    pub milestones: usize,
    pub milestones_done: usize,
    pub overdue: Vec<MilestoneView>,
    /// Milestones behind the straight-line plan but not yet overdue.
    pub behind: Vec<MilestoneView>,
    /// The first milestone not yet done and not yet overdue (the next one due).
    pub next_due: Option<MilestoneView>,
    pub last_report_at: Option<DateTime<Utc>>,
    /// Overdue or behind.
    pub behind_schedule: bool,
}

/// The dispatch view: every live project the caller sees, most urgent first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Dispatch {
    pub on: NaiveDate,
    pub projects: usize,
    pub behind_schedule: usize,
    pub overdue_milestones: usize,
    pub rows: Vec<DispatchRow>,
}

/// Build the dispatch rows from loaded data: pure, the day passed in.
pub fn dispatch_rows(
    projects: &[(project::Model, String)],
    milestones: &[milestone::Model],
    reports: &[(i64, i64, DateTime<Utc>)],
    today: NaiveDate,
    lang: &str,
) -> Dispatch {
    let mut rows: Vec<DispatchRow> = projects
        .iter()
        .map(|(p, org)| {
            let ms: Vec<&milestone::Model> =
                milestones.iter().filter(|m| m.project_id == p.id).collect();
            let last_of = |mid: i64| {
                reports
                    .iter()
                    .filter(|(_, m, _)| *m == mid)
                    .map(|(_, _, t)| *t)
                    .max()
            };
            let views: Vec<MilestoneView> = ms
                .iter()
                .map(|m| milestone_view(m, today, last_of(m.id), lang))
                .collect();
            let overdue: Vec<MilestoneView> = views
                .iter()
                .filter(|v| v.status == MilestoneStatus::Overdue)
                .cloned()
                .collect();
            let behind: Vec<MilestoneView> = views
                .iter()
                .filter(|v| v.behind_schedule && v.status != MilestoneStatus::Overdue)
                .cloned()
                .collect();
            let next_due = views
                .iter()
                .filter(|v| v.done_at.is_none() && v.status != MilestoneStatus::Overdue)
                .min_by_key(|v| (v.due_date, v.position))
                .cloned();
            DispatchRow {
                next_due,
                project_id: p.id,
                title: p.title.clone(),
                organisation_id: p.organisation_id,
                organisation: org.clone(),
                lead_user_id: p.lead_user_id,
                stage: p.stage.clone(),
                percent: progress::weighted_percent(
                    &ms.iter()
                        .map(|m| (m.weight, m.percent, m.done_at.is_some()))
                        .collect::<Vec<_>>(),
                ),
                milestones: ms.len(),
                milestones_done: ms.iter().filter(|m| m.done_at.is_some()).count(),
                behind_schedule: !overdue.is_empty() || !behind.is_empty(),
                overdue,
                behind,
                last_report_at: reports
                    .iter()
                    .filter(|(pid, _, _)| *pid == p.id)
                    .map(|(_, _, t)| *t)
                    .max(),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.overdue
            .len()
            .cmp(&a.overdue.len())
            .then(b.behind.len().cmp(&a.behind.len()))
            .then(a.percent.total_cmp(&b.percent))
            .then(a.project_id.cmp(&b.project_id))
    });
    Dispatch {
        on: today,
        projects: rows.len(),
        behind_schedule: rows.iter().filter(|r| r.behind_schedule).count(),
        overdue_milestones: rows.iter().map(|r| r.overdue.len()).sum(),
        rows,
    }
}

impl App {
    /// The dispatch view of `year` as of `today`: the live projects (not in a terminal stage)
    /// of the caller's subdistrict, or of the whole district for district users.
    pub async fn dispatch(
        &self,
        who: &Principal,
        year: i32,
        today: NaiveDate,
        lang: &str,
    ) -> AppResult<Dispatch> {
        use crate::store::entity::organisation;
        let district_user = self.is_district_org(who.organisation_id).await?;
        let mut q = project::Entity::find().filter(project::Column::Year.eq(year));
        q = if district_user {
            q.filter(project::Column::DistrictId.eq(who.organisation_id))
        } else {
            q.filter(project::Column::OrganisationId.eq(who.organisation_id))
        };
        let all = q.all(&self.db.read).await?;
        let orgs: std::collections::HashMap<i64, String> = organisation::Entity::find()
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect();
        let mut live = Vec::new();
        for p in all {
            let w = self.workflow_of(&p).await?;
            if !w.is_terminal(&p.stage) {
                let org = orgs.get(&p.organisation_id).cloned().unwrap_or_default();
                live.push((p, org));
            }
        }
        let ids: Vec<i64> = live.iter().map(|(p, _)| p.id).collect();
        let milestones = milestone::Entity::find()
            .filter(milestone::Column::ProjectId.is_in(ids.clone()))
            .order_by_asc(milestone::Column::Position)
            .all(&self.db.read)
            .await?;
        let reports: Vec<(i64, i64, DateTime<Utc>)> = progress_report::Entity::find()
            .filter(progress_report::Column::ProjectId.is_in(ids))
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(|r| (r.project_id, r.milestone_id, r.created_at))
            .collect();
        Ok(dispatch_rows(&live, &milestones, &reports, today, lang))
    }

    /// The dispatch view for the district's own users only (the page `/dispatch`): a
    /// subdistrict user is refused as out of scope, where [`App::dispatch`] would answer
    /// their own projects.
    pub async fn district_dispatch(
        &self,
        who: &Principal,
        year: i32,
        today: NaiveDate,
        lang: &str,
    ) -> AppResult<Dispatch> {
        if !self.is_district_org(who.organisation_id).await? {
            return Err(AppError::Forbidden(crate::workflow::engine::Refusal {
                reasons: vec![crate::workflow::engine::Reason::OutOfScope],
            }));
        }
        self.dispatch(who, year, today, lang).await
    }
}
