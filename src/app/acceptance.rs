//! Acceptance (自查 + 上考): admins assign reviewers to a project (never one of the project's
//! own organisation), reviewers record their site visits and score, score sheets stay hidden
//! from a reviewer until they have submitted their own, reviewers record manual deductions, and
//! anyone who sees the project can read how its final score was made.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use serde_json::{json, Value};

use super::audit;
use super::projects::{compute_score, load_for_update, save_change};
use super::{App, AppError, AppResult, Principal};
use crate::scoring::Explanation;
use crate::store::entity::{
    attachment, manual_deduction, organisation, project, reviewer_assignment, score_sheet,
    site_visit, user,
};
use crate::store::queries::user_roles;
use crate::workflow::engine::{Reason, Refusal, Relation};
use crate::workflow::model::{DeductionBasis, PartSource, Scope};
use crate::workflow::Workflow;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewerView {
    pub user_id: i64,
    pub name: String,
    pub login: String,
    pub assigned_at: DateTime<Utc>,
    /// Reviewer parts this reviewer has scored.
    pub scored: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SiteVisitView {
    pub id: i64,
    pub reviewer_user_id: i64,
    pub reviewer: String,
    pub visited_on: NaiveDate,
    pub notes: String,
    /// Attachment ids of the photos.
    pub photos: Vec<i64>,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SheetView {
    pub id: i64,
    pub part: String,
    pub scorer_user_id: i64,
    pub scorer: String,
    #[schema(value_type = Object)]
    pub criteria: Value,
    pub total: f64,
    pub comment: Option<String>,
    pub submitted_at: DateTime<Utc>,
}

/// The score sheets a caller may see, and how many are withheld from them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SheetsView {
    pub sheets: Vec<SheetView>,
    /// Sheets of other reviewers not shown, by part: a reviewer sees them only after
    /// submitting their own.
    pub hidden: BTreeMap<String, u32>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeductionView {
    pub id: i64,
    pub deduction: String,
    pub reason: String,
    pub recorded_by: i64,
    pub recorded_at: DateTime<Utc>,
}

/// A project's final score with everything needed to read it: the explanation (every figure
/// traced to its inputs) and the names of the parts, criteria, ratings, deductions, grades and
/// scorers it mentions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScoreReport {
    pub project_id: i64,
    /// True while the project is open: the score as it would be if it closed now.
    pub provisional: bool,
    pub explanation: Explanation,
    /// The grade's name.
    pub grade_name: Option<String>,
    /// Names by id: parts, criteria, ratings, deductions, grades.
    pub labels: BTreeMap<String, String>,
    /// Scorer names by user id (JSON object keys are strings: the ids in decimal).
    #[schema(value_type = BTreeMap<String, String>)]
    pub scorers: BTreeMap<i64, String>,
}

fn forbidden(reason: Reason) -> AppError {
    AppError::Forbidden(Refusal {
        reasons: vec![reason],
    })
}

/// The reviewers part of a workflow (the upper review).
pub fn reviewers_part(w: &Workflow) -> AppResult<&crate::workflow::model::Part> {
    w.definition
        .scoring
        .iter()
        .flat_map(|s| s.parts.iter())
        .find(|p| *p.source.get() == PartSource::Reviewers)
        .ok_or_else(|| AppError::Invalid("this workflow has no upper review part".into()))
}

/// May `who` assign reviewers to `p`? A district user holding one of the part's `assigned_by`
/// roles, or any district role when it names none.
pub fn may_assign(
    w: &Workflow,
    part: &crate::workflow::model::Part,
    who: &Principal,
    p: &project::Model,
) -> AppResult<()> {
    if part.assigned_by.is_empty() {
        return who.may_use_scope(w, p, Scope::District);
    }
    who.may_use(w, p, w.roles(part.assigned_by.iter().map(|a| a.as_str())))
}

fn not_closed(w: &Workflow, p: &project::Model) -> AppResult<()> {
    if w.is_terminal(&p.stage) {
        return Err(AppError::Refused(Refusal {
            reasons: vec![Reason::ProjectClosed {
                stage: p.stage.clone(),
            }],
        }));
    }
    Ok(())
}

/// May `who` record a site visit of `p`: an assigned district user, while the project is open.
fn visit_allowed(
    who: &Principal,
    w: &Workflow,
    p: &project::Model,
    assigned: bool,
) -> AppResult<()> {
    who.may_use_scope(w, p, Scope::District)?;
    if !assigned {
        return Err(forbidden(Reason::NotAssigned));
    }
    not_closed(w, p)
}

pub(crate) async fn is_assigned<C: sea_orm::ConnectionTrait>(
    db: &C,
    project_id: i64,
    user_id: i64,
) -> AppResult<bool> {
    Ok(reviewer_assignment::Entity::find()
        .filter(reviewer_assignment::Column::ProjectId.eq(project_id))
        .filter(reviewer_assignment::Column::ReviewerUserId.eq(user_id))
        .one(db)
        .await?
        .is_some())
}

async fn names<C: sea_orm::ConnectionTrait>(
    db: &C,
    ids: impl IntoIterator<Item = i64>,
) -> AppResult<HashMap<i64, user::Model>> {
    let ids: Vec<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect())
}

impl App {
    /// An organisation's name (empty when it is gone).
    pub async fn organisation_name(&self, id: i64) -> AppResult<String> {
        Ok(self
            .organisation(id)
            .await?
            .map(|o| o.name.clone())
            .unwrap_or_default())
    }

    /// The names of these organisations, in one query.
    pub async fn organisation_names(
        &self,
        ids: impl IntoIterator<Item = i64>,
    ) -> AppResult<std::collections::HashMap<i64, String>> {
        let mut ids: Vec<i64> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let mut out = std::collections::HashMap::new();
        ids.retain(|id| match self.organisations.get(*id) {
            Some(o) => {
                out.insert(o.id, o.name.clone());
                false
            }
            None => true,
        });
        for chunk in ids.chunks(500) {
            for o in organisation::Entity::find()
                .filter(organisation::Column::Id.is_in(chunk.iter().copied()))
                .all(&self.db.read)
                .await?
            {
                out.insert(o.id, o.name.clone());
                self.organisations.put(o);
            }
        }
        Ok(out)
    }

    /// The reviewers assigned to a project, with the parts each has scored.
    pub async fn reviewers(&self, project_id: i64) -> AppResult<Vec<ReviewerView>> {
        let rows = reviewer_assignment::Entity::find()
            .filter(reviewer_assignment::Column::ProjectId.eq(project_id))
            .order_by_asc(reviewer_assignment::Column::Id)
            .all(&self.db.read)
            .await?;
        let sheets = score_sheet::Entity::find()
            .filter(score_sheet::Column::ProjectId.eq(project_id))
            .all(&self.db.read)
            .await?;
        let people = names(&self.db.read, rows.iter().map(|r| r.reviewer_user_id)).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let u = people.get(&r.reviewer_user_id);
                ReviewerView {
                    user_id: r.reviewer_user_id,
                    name: u.map(|u| u.name.clone()).unwrap_or_default(),
                    login: u.map(|u| u.login.clone()).unwrap_or_default(),
                    assigned_at: r.assigned_at,
                    scored: sheets
                        .iter()
                        .filter(|s| s.scorer_user_id == r.reviewer_user_id)
                        .map(|s| s.part.clone())
                        .collect(),
                }
            })
            .collect())
    }

    /// Assign a reviewer to a project. The assigner holds one of the reviewer part's
    /// `assigned_by` roles (any district role when it names none); the reviewer holds a
    /// district role and does not belong to the project's own organisation.
    pub async fn assign_reviewer(
        &self,
        who: &Principal,
        project_id: i64,
        reviewer_user_id: i64,
        now: DateTime<Utc>,
    ) -> AppResult<ReviewerView> {
        let now = audit::normalise_time(now);
        let txn = self.db.begin_write().await?;
        let p = load_for_update(&txn, project_id).await?;
        let w = self.workflow_of(&p).await?;
        let part = reviewers_part(&w)?;
        may_assign(&w, part, who, &p)?;
        not_closed(&w, &p)?;
        let reviewer = user::Entity::find_by_id(reviewer_user_id)
            .one(&txn)
            .await?
            .filter(|u| u.active)
            .ok_or(AppError::NotFound {
                what: "user",
                id: reviewer_user_id.to_string(),
            })?;
        if reviewer.organisation_id == p.organisation_id {
            let organisation = organisation::Entity::find_by_id(p.organisation_id)
                .one(&txn)
                .await?
                .map(|o| o.name)
                .unwrap_or_default();
            return Err(forbidden(Reason::ConflictOfInterest { organisation }));
        }
        let roles: Vec<String> = user_roles(&reviewer).map(str::to_string).collect();
        if Some(reviewer.organisation_id) != p.district_id
            || !w.holds_scope(&roles, Scope::District)
        {
            return Err(forbidden(Reason::NotAReviewer));
        }
        if is_assigned(&txn, p.id, reviewer.id).await? {
            return Err(AppError::Invalid(format!(
                "{} is already assigned to this project",
                reviewer.login
            )));
        }
        let row = reviewer_assignment::ActiveModel {
            project_id: Set(p.id),
            reviewer_user_id: Set(reviewer.id),
            assigned_by: Set(who.user_id),
            assigned_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        save_change(
            &txn,
            &p,
            Default::default(),
            Some(who.user_id),
            "assign_reviewer",
            None,
            json!({"reviewer": reviewer.id, "login": reviewer.login}),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(ReviewerView {
            user_id: reviewer.id,
            name: reviewer.name,
            login: reviewer.login,
            assigned_at: row.assigned_at,
            scored: vec![],
        })
    }

    /// Take a reviewer off a project; refused once they have scored it.
    pub async fn unassign_reviewer(
        &self,
        who: &Principal,
        project_id: i64,
        reviewer_user_id: i64,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let now = audit::normalise_time(now);
        let txn = self.db.begin_write().await?;
        let p = load_for_update(&txn, project_id).await?;
        let w = self.workflow_of(&p).await?;
        let part = reviewers_part(&w)?;
        may_assign(&w, part, who, &p)?;
        not_closed(&w, &p)?;
        let scored = score_sheet::Entity::find()
            .filter(score_sheet::Column::ProjectId.eq(p.id))
            .filter(score_sheet::Column::ScorerUserId.eq(reviewer_user_id))
            .one(&txn)
            .await?;
        if scored.is_some() {
            return Err(AppError::Invalid(
                "this reviewer has already scored the project and stays on it".into(),
            ));
        }
        let res = reviewer_assignment::Entity::delete_many()
            .filter(reviewer_assignment::Column::ProjectId.eq(p.id))
            .filter(reviewer_assignment::Column::ReviewerUserId.eq(reviewer_user_id))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            return Err(AppError::NotFound {
                what: "reviewer assignment",
                id: reviewer_user_id.to_string(),
            });
        }
        save_change(
            &txn,
            &p,
            Default::default(),
            Some(who.user_id),
            "unassign_reviewer",
            None,
            json!({"reviewer": reviewer_user_id}),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// An assigned reviewer records a site visit: the day, notes, and photos uploaded to the
    /// project as attachments beforehand.
    pub async fn record_site_visit(
        &self,
        who: &Principal,
        project_id: i64,
        visited_on: NaiveDate,
        notes: &str,
        photos: &[i64],
        now: DateTime<Utc>,
    ) -> AppResult<SiteVisitView> {
        let now = audit::normalise_time(now);
        let notes = notes.trim();
        if notes.chars().count() > 5000 {
            return Err(AppError::Invalid(
                "notes are longer than 5000 characters".into(),
            ));
        }
        if photos.len() > 50 {
            return Err(AppError::Invalid("at most 50 photos per visit".into()));
        }
        let txn = self.db.begin_write().await?;
        let p = load_for_update(&txn, project_id).await?;
        let w = self.workflow_of(&p).await?;
        visit_allowed(who, &w, &p, is_assigned(&txn, p.id, who.user_id).await?)?;
        let today = now.with_timezone(&w.timezone).date_naive();
        if visited_on > today {
            return Err(AppError::Invalid(format!(
                "visited_on: {visited_on} is in the future"
            )));
        }
        for id in photos {
            let a = attachment::Entity::find_by_id(*id).one(&txn).await?;
            if a.is_none_or(|a| a.project_id != p.id) {
                return Err(AppError::Invalid(format!(
                    "photo {id} is not an attachment of this project"
                )));
            }
        }
        let row = site_visit::ActiveModel {
            project_id: Set(p.id),
            reviewer_user_id: Set(who.user_id),
            visited_on: Set(visited_on),
            notes: Set(notes.to_string()),
            photos: Set(serde_json::to_string(photos).unwrap_or_else(|_| "[]".into())),
            recorded_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        save_change(
            &txn,
            &p,
            Default::default(),
            Some(who.user_id),
            "site_visit",
            None,
            json!({"visited_on": visited_on, "photos": photos}),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(SiteVisitView {
            id: row.id,
            reviewer_user_id: who.user_id,
            reviewer: who.name.clone(),
            visited_on,
            notes: row.notes,
            photos: photos.to_vec(),
            recorded_at: now,
        })
    }

    /// Whether `who` may record a site visit of `p` now (asked before photos are stored).
    pub async fn may_record_visit(&self, who: &Principal, p: &project::Model) -> AppResult<()> {
        let w = self.workflow_of(p).await?;
        visit_allowed(
            who,
            &w,
            p,
            is_assigned(&self.db.read, p.id, who.user_id).await?,
        )
    }

    pub async fn site_visits(&self, project_id: i64) -> AppResult<Vec<SiteVisitView>> {
        let rows = site_visit::Entity::find()
            .filter(site_visit::Column::ProjectId.eq(project_id))
            .order_by_asc(site_visit::Column::Id)
            .all(&self.db.read)
            .await?;
        let people = names(&self.db.read, rows.iter().map(|r| r.reviewer_user_id)).await?;
        Ok(rows
            .into_iter()
            .map(|r| SiteVisitView {
                id: r.id,
                reviewer_user_id: r.reviewer_user_id,
                reviewer: people
                    .get(&r.reviewer_user_id)
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
                visited_on: r.visited_on,
                notes: r.notes,
                photos: serde_json::from_str(&r.photos).unwrap_or_default(),
                recorded_at: r.recorded_at,
            })
            .collect())
    }

    /// The score sheets `who` may see. A reviewer assigned to the project sees other
    /// reviewers' sheets of a part only after submitting their own; the project's own
    /// organisation sees reviewers' sheets once the project has ended; other district users
    /// see them all.
    pub async fn score_sheets(&self, who: &Principal, p: &project::Model) -> AppResult<SheetsView> {
        let w = self.workflow_of(p).await?;
        let rows = score_sheet::Entity::find()
            .filter(score_sheet::Column::ProjectId.eq(p.id))
            .order_by_asc(score_sheet::Column::Id)
            .all(&self.db.read)
            .await?;
        let assigned = is_assigned(&self.db.read, p.id, who.user_id).await?;
        let own_org = who.relation(p.organisation_id, p.district_id) == Relation::Own;
        let ended = w.is_terminal(&p.stage);
        let people = names(&self.db.read, rows.iter().map(|r| r.scorer_user_id)).await?;
        let own_parts: Vec<String> = rows
            .iter()
            .filter(|r| r.scorer_user_id == who.user_id)
            .map(|r| r.part.clone())
            .collect();
        let mut hidden: BTreeMap<String, u32> = BTreeMap::new();
        let mut sheets = Vec::new();
        for r in rows {
            let mine = r.scorer_user_id == who.user_id;
            let reviewers = w
                .part(&r.part)
                .is_some_and(|part| *part.source.get() == PartSource::Reviewers);
            let visible = mine
                || !reviewers
                || if own_org {
                    ended
                } else if assigned {
                    // Submitted their own sheet of this part?
                    own_parts.contains(&r.part)
                } else {
                    true
                };
            if !visible {
                *hidden.entry(r.part.clone()).or_insert(0) += 1;
                continue;
            }
            sheets.push(SheetView {
                id: r.id,
                part: r.part,
                scorer_user_id: r.scorer_user_id,
                scorer: people
                    .get(&r.scorer_user_id)
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
                criteria: serde_json::from_str(&r.criteria).unwrap_or(Value::Null),
                total: r.total,
                comment: r.comment,
                submitted_at: r.submitted_at,
            });
        }
        Ok(SheetsView { sheets, hidden })
    }

    /// A district user records a manual deduction (a deduction of the definition with
    /// `per: manual`), saying why.
    pub async fn record_deduction(
        &self,
        who: &Principal,
        project_id: i64,
        deduction: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> AppResult<DeductionView> {
        let now = audit::normalise_time(now);
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 1000 {
            return Err(AppError::Invalid(
                "reason: say why, in at most 1000 characters".into(),
            ));
        }
        let txn = self.db.begin_write().await?;
        let p = load_for_update(&txn, project_id).await?;
        self.check_not_frozen(&p.definition_key, p.year).await?;
        let w = self.workflow_of(&p).await?;
        who.may_use_scope(&w, &p, Scope::District)?;
        not_closed(&w, &p)?;
        let manual: Vec<&str> = w
            .definition
            .scoring
            .iter()
            .flat_map(|s| s.deductions.iter())
            .filter(|d| *d.per.get() == DeductionBasis::Manual)
            .map(|d| d.id.as_str())
            .collect();
        if !manual.contains(&deduction) {
            return Err(AppError::Invalid(if manual.is_empty() {
                "this workflow has no manual deductions".to_string()
            } else {
                format!(
                    "deduction must be one of {} (the manual deductions of the workflow)",
                    manual.join(", ")
                )
            }));
        }
        let row = manual_deduction::ActiveModel {
            project_id: Set(p.id),
            deduction: Set(deduction.to_string()),
            reason: Set(reason.to_string()),
            recorded_by: Set(who.user_id),
            recorded_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        save_change(
            &txn,
            &p,
            Default::default(),
            Some(who.user_id),
            "deduction",
            Some(reason),
            json!({"deduction": deduction}),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(DeductionView {
            id: row.id,
            deduction: row.deduction,
            reason: row.reason,
            recorded_by: row.recorded_by,
            recorded_at: row.recorded_at,
        })
    }

    pub async fn deductions(&self, project_id: i64) -> AppResult<Vec<DeductionView>> {
        Ok(manual_deduction::Entity::find()
            .filter(manual_deduction::Column::ProjectId.eq(project_id))
            .order_by_asc(manual_deduction::Column::Id)
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(|r| DeductionView {
                id: r.id,
                deduction: r.deduction,
                reason: r.reason,
                recorded_by: r.recorded_by,
                recorded_at: r.recorded_at,
            })
            .collect())
    }

    /// Whether `who` may see every reviewer's sheet of the project now: district users who
    /// are not an assigned reviewer still to score, and everyone once the project has ended.
    pub async fn sees_all_sheets(&self, who: &Principal, p: &project::Model) -> AppResult<bool> {
        let w = self.workflow_of(p).await?;
        if w.is_terminal(&p.stage) {
            return Ok(true);
        }
        if who.relation(p.organisation_id, p.district_id) != Relation::District {
            return Ok(false);
        }
        if !is_assigned(&self.db.read, p.id, who.user_id).await? {
            return Ok(true);
        }
        let parts: Vec<String> = w
            .definition
            .scoring
            .iter()
            .flat_map(|s| s.parts.iter())
            .filter(|p| *p.source.get() == PartSource::Reviewers)
            .map(|p| p.id.to_string())
            .collect();
        let mine = score_sheet::Entity::find()
            .filter(score_sheet::Column::ProjectId.eq(p.id))
            .filter(score_sheet::Column::ScorerUserId.eq(who.user_id))
            .all(&self.db.read)
            .await?;
        Ok(parts
            .iter()
            .all(|part| mine.iter().any(|s| &s.part == part)))
    }

    /// How the project's final score was made: the stored one once computed (at closure),
    /// otherwise as it would be now, for those who may see every reviewer's sheet.
    pub async fn score_report(
        &self,
        who: &Principal,
        p: &project::Model,
        lang: &str,
        now: DateTime<Utc>,
    ) -> AppResult<ScoreReport> {
        if !self.sees_all_sheets(who, p).await? {
            return Err(forbidden(Reason::ScoresHidden));
        }
        let w = self.workflow_of(p).await?;
        let Some(rubric) = &w.definition.scoring else {
            return Err(AppError::Invalid(
                "this workflow has no scoring section".into(),
            ));
        };
        // The stored explanation is what closed the project; recompute only while open.
        let (explanation, provisional) = if p.final_score.is_some() {
            (compute_stored(&self.db.read, &w, p).await?, false)
        } else {
            (compute_score(&self.db.read, &w, p, now).await?, true)
        };
        let mut labels = BTreeMap::new();
        for part in &rubric.parts {
            labels.insert(part.id.to_string(), part.name.get(lang).to_string());
            for c in &part.criteria {
                labels.insert(c.id.to_string(), c.name.get(lang).to_string());
            }
            for r in &part.ratings {
                labels.insert(r.id.to_string(), r.name.get(lang).to_string());
            }
        }
        for d in &rubric.deductions {
            labels.insert(d.id.to_string(), d.name.get(lang).to_string());
        }
        for g in &rubric.grades {
            labels.insert(g.id.to_string(), g.name.get(lang).to_string());
        }
        let scorer_ids: Vec<i64> = explanation
            .parts
            .iter()
            .flat_map(|p| p.sheets.iter().map(|s| s.scorer))
            .collect();
        let scorers = names(&self.db.read, scorer_ids)
            .await?
            .into_iter()
            .map(|(id, u)| (id, u.name))
            .collect();
        let grade_name = explanation
            .grade
            .as_ref()
            .and_then(|g| labels.get(g).cloned());
        Ok(ScoreReport {
            project_id: p.id,
            provisional,
            explanation,
            grade_name,
            labels,
            scorers,
        })
    }
}

/// The explanation stored when the project closed (it is what the final score says).
async fn compute_stored<C: sea_orm::ConnectionTrait>(
    db: &C,
    w: &Workflow,
    p: &project::Model,
) -> AppResult<Explanation> {
    match p
        .score_detail
        .as_deref()
        .and_then(|d| serde_json::from_str::<Explanation>(d).ok())
    {
        Some(e) => Ok(e),
        // Written by an older version without every field: recompute as of the closure.
        None => compute_score(db, w, p, p.stage_entered_at).await,
    }
}
