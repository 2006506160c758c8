//! What a user's home page shows, whatever the definition calls its roles: the projects of
//! their own organisation, what waits for them (every action they may take now), their open
//! deadlines in date order, the milestones they own, the projects they are to review, and for
//! district administrators the year at a glance. Scope is decided here, once.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::projects::ListFilter;
use super::{App, AppResult, Principal};
use crate::store::entity::{
    milestone, outbox, project, project_deadline, reviewer_assignment, topic, user,
};

/// At most this many live projects are looked at for "waiting for me".
const SCAN: u64 = 500;

#[derive(Debug, Clone)]
pub struct Waiting {
    pub project: project::Model,
    /// (action id, allowed now).
    pub actions: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct OpenDeadline {
    pub project: project::Model,
    pub deadline_key: String,
    pub milestone: Option<String>,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct YearAtAGlance {
    pub year: i32,
    pub by_stage: Vec<(String, u64)>,
    pub total: u64,
    pub dead_letters: u64,
    pub users: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Home {
    pub district_user: bool,
    pub own_projects: Vec<project::Model>,
    pub waiting: Vec<Waiting>,
    pub deadlines: Vec<OpenDeadline>,
    pub milestones: Vec<(milestone::Model, project::Model)>,
    pub to_review: Vec<project::Model>,
    pub open_topics: u64,
    pub glance: Option<YearAtAGlance>,
}

impl App {
    /// The filter of every project a user may see: their own organisation's, or for a district
    /// user the whole district's.
    pub async fn visible_filter(&self, who: &Principal) -> AppResult<ListFilter> {
        let district = self.is_district_org(who.organisation_id).await?;
        Ok(ListFilter {
            organisation_id: (!district).then_some(who.organisation_id),
            district_id: district.then_some(who.organisation_id),
            ..ListFilter::default()
        })
    }

    pub async fn home(&self, who: &Principal, now: DateTime<Utc>) -> AppResult<Home> {
        let district_user = self.is_district_org(who.organisation_id).await?;
        let mut home = Home {
            district_user,
            ..Home::default()
        };
        let mut filter = self.visible_filter(who).await?;
        filter.limit = SCAN;
        let (_, visible) = self.list_projects(&filter).await?;
        let mut live = Vec::new();
        for p in visible {
            let Ok(w) = self.workflow_of(&p).await else {
                continue;
            };
            if w.is_terminal(&p.stage) {
                if !district_user {
                    home.own_projects.push(p);
                }
                continue;
            }
            // Only projects with a way out that one of the user's roles may take.
            let roles = w.roles(who.roles.iter().map(String::as_str));
            let stage = w.stage_index.get(p.stage.as_str()).copied();
            let may = stage.is_some_and(|s| {
                w.outgoing[s]
                    .iter()
                    .any(|t| w.transitions[*t].roles.intersects(roles))
            });
            if !district_user {
                home.own_projects.push(p.clone());
            }
            if may {
                live.push(p);
            }
        }
        home.own_projects
            .sort_by(|a, b| b.year.cmp(&a.year).then(b.id.cmp(&a.id)));
        let decided = self.available_actions_of(who, &live, now).await?;
        for (p, (_, actions)) in live.into_iter().zip(decided) {
            let allowed: Vec<String> = actions
                .into_iter()
                .filter(|a| a.allowed)
                .map(|a| a.action)
                .collect();
            if !allowed.is_empty() {
                home.waiting.push(Waiting {
                    project: p,
                    actions: allowed,
                });
            }
        }
        if !district_user {
            let ids: Vec<i64> = home.own_projects.iter().map(|p| p.id).collect();
            let by_id: HashMap<i64, &project::Model> =
                home.own_projects.iter().map(|p| (p.id, p)).collect();
            let rows = project_deadline::Entity::find()
                .filter(project_deadline::Column::ProjectId.is_in(ids))
                .filter(project_deadline::Column::ClosedAt.is_null())
                .filter(project_deadline::Column::DueAt.is_not_null())
                .order_by_asc(project_deadline::Column::DueAt)
                .limit(50)
                .all(&self.db.read)
                .await?;
            let titles: HashMap<i64, String> = milestone::Entity::find()
                .filter(
                    milestone::Column::Id.is_in(
                        rows.iter()
                            .filter_map(|r| r.milestone_id)
                            .collect::<Vec<_>>(),
                    ),
                )
                .all(&self.db.read)
                .await?
                .into_iter()
                .map(|m| (m.id, m.title))
                .collect();
            for r in rows {
                let (Some(p), Some(due)) = (by_id.get(&r.project_id), r.due_at) else {
                    continue;
                };
                home.deadlines.push(OpenDeadline {
                    project: (*p).clone(),
                    milestone: r.milestone_id.and_then(|m| titles.get(&m).cloned()),
                    deadline_key: r.deadline_key,
                    due_at: due,
                });
            }
            home.open_topics = topic::Entity::find()
                .filter(topic::Column::OrganisationId.eq(who.organisation_id))
                .filter(topic::Column::Status.eq("open"))
                .count(&self.db.read)
                .await?;
        }
        let mine = milestone::Entity::find()
            .filter(milestone::Column::OwnerUserId.eq(who.user_id))
            .filter(milestone::Column::DoneAt.is_null())
            .order_by_asc(milestone::Column::DueDate)
            .limit(50)
            .all(&self.db.read)
            .await?;
        let assigned = reviewer_assignment::Entity::find()
            .filter(reviewer_assignment::Column::ReviewerUserId.eq(who.user_id))
            .all(&self.db.read)
            .await?;
        // The projects of both lists in one query.
        let ids: Vec<i64> = mine
            .iter()
            .map(|m| m.project_id)
            .chain(assigned.iter().map(|a| a.project_id))
            .collect();
        let mut projects: HashMap<i64, project::Model> = HashMap::new();
        for chunk in ids.chunks(500) {
            for p in project::Entity::find()
                .filter(project::Column::Id.is_in(chunk.iter().copied()))
                .all(&self.db.read)
                .await?
            {
                projects.insert(p.id, p);
            }
        }
        let mut live = HashMap::new();
        for p in projects.values() {
            let w = self.workflow_of(p).await?;
            live.insert(p.id, !w.is_terminal(&p.stage));
        }
        let live_project = |id: i64| {
            projects
                .get(&id)
                .filter(|_| live.get(&id) == Some(&true))
                .cloned()
        };
        for m in mine {
            if let Some(p) = live_project(m.project_id) {
                home.milestones.push((m, p));
            }
        }
        for a in assigned {
            if let Some(p) = live_project(a.project_id) {
                home.to_review.push(p);
            }
        }
        if district_user && who.roles.iter().any(|r| r == "admin") {
            let year = now.with_timezone(&chrono_tz::Asia::Shanghai).year();
            let rows = project::Entity::find()
                .filter(project::Column::DistrictId.eq(who.organisation_id))
                .filter(project::Column::Year.eq(year))
                .all(&self.db.read)
                .await?;
            let mut by_stage: Vec<(String, u64)> = Vec::new();
            for p in &rows {
                match by_stage.iter_mut().find(|(s, _)| *s == p.stage) {
                    Some((_, n)) => *n += 1,
                    None => by_stage.push((p.stage.clone(), 1)),
                }
            }
            let users: Vec<i64> = user::Entity::find()
                .filter(
                    user::Column::OrganisationId
                        .is_in(self.district_org_ids(who.organisation_id).await?),
                )
                .all(&self.db.read)
                .await?
                .into_iter()
                .map(|u| u.id)
                .collect();
            let dead_letters = outbox::Entity::find()
                .filter(outbox::Column::Dead.eq(true))
                .filter(outbox::Column::RecipientUserId.is_in(users.clone()))
                .count(&self.db.read)
                .await?;
            home.glance = Some(YearAtAGlance {
                year,
                total: rows.len() as u64,
                by_stage,
                dead_letters,
                users: users.len() as u64,
            });
        }
        Ok(home)
    }

    /// The district and its subdistricts.
    async fn district_org_ids(&self, district: i64) -> AppResult<Vec<i64>> {
        use crate::store::entity::organisation;
        let mut ids: Vec<i64> = organisation::Entity::find()
            .filter(organisation::Column::ParentId.eq(district))
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(|o| o.id)
            .collect();
        ids.push(district);
        Ok(ids)
    }
}

impl App {
    /// A project the user may see (their organisation's, or their district's), or the refusal.
    pub async fn project_for(
        &self,
        who: &Principal,
        id: i64,
    ) -> AppResult<std::sync::Arc<super::project_cache::CachedProject>> {
        use crate::workflow::engine::{Reason, Refusal, Relation};
        let p = self.project_cached(id).await?;
        match who.relation(p.organisation_id, p.district_id) {
            Relation::Own | Relation::District => Ok(p),
            Relation::Outside => Err(super::AppError::Forbidden(Refusal {
                reasons: vec![Reason::OutOfScope],
            })),
        }
    }
}
