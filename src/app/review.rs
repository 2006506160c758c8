//! The annual review (述职评议) and the district's year in figures, as use cases: read the
//! year's groups from the database (`store::review_sql`), fold and score them with the pure
//! core (`scoring::figures`, `scoring::annual`), and keep what people add: the items reviewers
//! enter, the freeze that approves a year, and the unfreeze with its reason, each in the
//! review's own history (`review_events`).
//!
//! A frozen year is answered from its snapshot: later changes to its projects or items do not
//! move it, and the use cases that would change them refuse with `review_frozen`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::RwLock;

use chrono::{DateTime, NaiveDate, Offset, TimeZone, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use super::{App, AppError, AppResult, Principal};
use crate::scoring::annual::{self, CountRules, Line, Person};
use crate::scoring::figures::{self, Figures};
use crate::store::entity::{review_event, review_freeze, review_item, user};
use crate::store::queries::user_roles;
use crate::store::review_sql::{self, OverdueMilestone, ProjectRow};
use crate::workflow::engine::{Reason, Refusal};
use crate::workflow::model::ItemSource;
use crate::workflow::review::StageClass;
use crate::workflow::Workflow;

/// Longest comment of an item entry, a freeze or an unfreeze.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// The years of the lowest and highest review asked for.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

fn refused(reason: Reason) -> AppError {
    AppError::from(Refusal {
        reasons: vec![reason],
    })
}

/// A person reviewed: who, and their subdistrict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reviewed {
    pub user_id: i64,
    pub login: String,
    pub name: String,
    pub organisation_id: i64,
    pub organisation: String,
}

/// One line of the review: the person and their figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewRow {
    pub person: Reviewed,
    #[serde(flatten)]
    pub line: Line,
}

/// An item's entry: the score, the comment, who entered it and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemEntry {
    pub user_id: i64,
    pub item: String,
    pub score: f64,
    pub comment: String,
    pub entered_by: i64,
    pub entered_by_name: String,
    pub entered_at: DateTime<Utc>,
}

/// Who froze the year, when, and what they said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Freeze {
    pub frozen_at: DateTime<Utc>,
    pub frozen_by: i64,
    pub frozen_by_name: String,
    pub comment: String,
}

/// One subdistrict's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrgFigures {
    pub organisation_id: i64,
    pub organisation: String,
    pub figures: Figures,
    /// The same subdistrict's previous year (None when it had no project then).
    pub previous: Option<Figures>,
}

/// The district's year in figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct YearFigures {
    pub year: i32,
    pub by_organisation: Vec<OrgFigures>,
    pub total: Figures,
    pub previous_total: Figures,
    /// Projects by stage id.
    pub by_stage: BTreeMap<String, i64>,
}

/// The review of a year, as computed now or as frozen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct YearReview {
    pub definition: String,
    pub year: i32,
    pub computed_at: DateTime<Utc>,
    pub frozen: Option<Freeze>,
    /// Best first (by rank, then subdistrict and name); those without a total last.
    pub rows: Vec<ReviewRow>,
    pub entries: Vec<ItemEntry>,
    pub figures: YearFigures,
}

/// What a person's figure is made of: their projects (each with its outcome and what it
/// counts) and each item's entry and history.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = ReviewExplanation)]
pub struct Explanation {
    pub row: ReviewRow,
    pub projects: Vec<ExplainedProject>,
    pub entries: Vec<ItemEntry>,
    pub history: Vec<HistoryEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExplainedProject {
    #[serde(flatten)]
    pub project: ProjectRow,
    pub outcome: annual::Outcome,
    /// What it contributes to the project part (None: left out).
    pub counted: Option<f64>,
}

/// An event of the review's history.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = ReviewHistoryEvent)]
pub struct HistoryEvent {
    pub at: DateTime<Utc>,
    pub actor_user_id: i64,
    pub actor: String,
    pub action: String,
    pub subject_user_id: Option<i64>,
    pub item: Option<String>,
    pub score: Option<f64>,
    pub comment: String,
}

/// The years whose review is frozen, read once per process and kept by freeze and unfreeze;
/// the write paths ask it before changing a project.
#[derive(Default)]
pub struct FrozenYears {
    years: RwLock<Option<FrozenMap>>,
}

/// (definition key, year) -> when it was frozen.
type FrozenMap = HashMap<(String, i32), DateTime<Utc>>;

impl FrozenYears {
    fn get(&self, key: &str, year: i32) -> Option<Option<DateTime<Utc>>> {
        let g = self.years.read().unwrap_or_else(|e| e.into_inner());
        g.as_ref().map(|m| m.get(&(key.to_string(), year)).copied())
    }

    /// The refusal of a change to a project of `key`'s `year`, when the year is known to be
    /// frozen (for the write paths that cannot wait on the database: load it first with
    /// [`App::frozen_at`]).
    pub fn refusal(&self, key: &str, year: i32) -> Option<AppError> {
        match self.get(key, year) {
            Some(Some(frozen_at)) => Some(refused(Reason::ReviewFrozen { year, frozen_at })),
            _ => None,
        }
    }

    fn set(&self, all: FrozenMap) {
        *self.years.write().unwrap_or_else(|e| e.into_inner()) = Some(all);
    }

    fn mark(&self, key: &str, year: i32, at: Option<DateTime<Utc>>) {
        let mut g = self.years.write().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = g.as_mut() {
            match at {
                Some(t) => m.insert((key.to_string(), year), t),
                None => m.remove(&(key.to_string(), year)),
            };
        }
    }
}

/// The zone's offset from UTC in the middle of `year`, in seconds.
fn offset_secs(w: &Workflow, year: i32) -> i32 {
    let mid = NaiveDate::from_ymd_opt(year, 7, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    w.timezone
        .offset_from_utc_datetime(&mid)
        .fix()
        .local_minus_utc()
}

/// A row of the review's history, about the year as a whole until [`EventRow::about`] names
/// a person and item.
fn event(key: &str, year: i32, at: DateTime<Utc>, who: &Principal, action: &str) -> EventRow {
    EventRow(review_event::ActiveModel {
        definition_key: Set(key.to_string()),
        year: Set(year),
        at: Set(at),
        actor_user_id: Set(who.user_id),
        action: Set(action.to_string()),
        subject_user_id: Set(None),
        item: Set(None),
        score: Set(None),
        comment: Set(String::new()),
        ..Default::default()
    })
}

struct EventRow(review_event::ActiveModel);

impl EventRow {
    fn about(mut self, subject: Option<i64>, item: Option<String>, score: Option<f64>) -> Self {
        self.0.subject_user_id = Set(subject);
        self.0.item = Set(item);
        self.0.score = Set(score);
        self
    }

    fn saying(mut self, comment: String) -> review_event::ActiveModel {
        self.0.comment = Set(comment);
        self.0
    }
}

fn clean_comment(text: &str, required: bool) -> AppResult<String> {
    let t = text.trim();
    if required && t.is_empty() {
        return Err(refused(Reason::CommentRequired));
    }
    if t.chars().count() > MAX_COMMENT_CHARS {
        return Err(AppError::Invalid(format!(
            "the comment has {} characters; at most {MAX_COMMENT_CHARS}",
            t.chars().count()
        )));
    }
    Ok(t.to_string())
}

/// What the caller may do in the review: approve and freeze (or unfreeze) it, and which
/// items they enter.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReviewPowers {
    pub manage: bool,
    pub enter: Vec<String>,
}

impl App {
    /// What `who` may do in the review of `key` (for the pages to offer it; the use cases
    /// check again).
    pub fn review_powers(&self, who: &Principal, key: &str) -> ReviewPowers {
        let Ok(w) = self.review_workflow(key) else {
            return ReviewPowers::default();
        };
        let held = w.roles(who.roles.iter().map(String::as_str));
        let enter = w
            .annual_review()
            .map(|r| {
                r.items
                    .iter()
                    .filter(|i| held.0 & w.item_enterers(i).0 != 0)
                    .map(|i| i.id.to_string())
                    .collect()
            })
            .unwrap_or_default();
        ReviewPowers {
            manage: held.0 & w.review_managers().0 != 0,
            enter,
        }
    }

    /// The definitions that have an annual review, by key.
    pub fn review_definitions(&self) -> Vec<std::sync::Arc<Workflow>> {
        let mut v: Vec<_> = self
            .registry
            .all_current()
            .into_iter()
            .map(|v| v.workflow)
            .filter(|w| w.annual_review().is_some())
            .collect();
        v.sort_by(|a, b| a.id().cmp(b.id()));
        v
    }

    /// The definition of `key` that has an annual review.
    pub fn review_workflow(&self, key: &str) -> AppResult<std::sync::Arc<Workflow>> {
        let v = self.registry.current(key).ok_or(AppError::NotFound {
            what: "workflow",
            id: key.to_string(),
        })?;
        if v.workflow.annual_review().is_none() {
            return Err(AppError::NotFound {
                what: "annual review of workflow",
                id: key.to_string(),
            });
        }
        Ok(v.workflow)
    }

    fn check_year(year: i32) -> AppResult<()> {
        if YEARS.contains(&year) {
            Ok(())
        } else {
            Err(AppError::Invalid(format!(
                "year {year} is outside {}-{}",
                YEARS.start(),
                YEARS.end()
            )))
        }
    }

    /// The caller's district (their own organisation if it is the district).
    async fn district_id_of(&self, who: &Principal) -> AppResult<i64> {
        Ok(self.district_of(who.organisation_id).await?.id)
    }

    /// When the review of `key`'s `year` was frozen, if it is.
    ///
    /// On the embedded SQLite file (one server process) the frozen years are kept in memory,
    /// read once and changed by this process's freezes; where several processes may share the
    /// database (PostgreSQL) the row is read every time, so that a freeze made by another
    /// instance holds at once.
    pub async fn frozen_at(&self, key: &str, year: i32) -> AppResult<Option<DateTime<Utc>>> {
        if self.db.data_version().is_none() {
            return Ok(self.frozen_row(key, year).await?.map(|f| f.frozen_at));
        }
        if let Some(known) = self.frozen_years.get(key, year) {
            return Ok(known);
        }
        let all = review_freeze::Entity::find()
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(|f| ((f.definition_key, f.year), f.frozen_at))
            .collect::<HashMap<_, _>>();
        let at = all.get(&(key.to_string(), year)).copied();
        self.frozen_years.set(all);
        Ok(at)
    }

    /// Refuse a change to a project of a frozen year.
    pub async fn check_not_frozen(&self, key: &str, year: i32) -> AppResult<()> {
        match self.frozen_at(key, year).await? {
            Some(frozen_at) => Err(refused(Reason::ReviewFrozen { year, frozen_at })),
            None => Ok(()),
        }
    }

    /// The people `w`'s review covers in `district`: the holders of the `reviewed` role in
    /// its subdistricts and every lead of a project of the year.
    async fn reviewed_people(
        &self,
        w: &Workflow,
        district: i64,
        leads: impl IntoIterator<Item = i64>,
    ) -> AppResult<Vec<Reviewed>> {
        let role = w
            .annual_review()
            .and_then(|r| r.reviewed.as_ref())
            .map(|r| r.to_string());
        let leads: HashSet<i64> = leads.into_iter().collect();
        let orgs = self.district_organisations(district).await?;
        let users = user::Entity::find()
            .filter(user::Column::OrganisationId.is_in(orgs.keys().copied()))
            .all(&self.db.read)
            .await?;
        let mut out: Vec<Reviewed> = users
            .into_iter()
            .filter(|u| {
                leads.contains(&u.id)
                    || (u.active
                        && u.organisation_id != district
                        && role
                            .as_deref()
                            .is_some_and(|r| user_roles(u).any(|x| x == r)))
            })
            .map(|u| Reviewed {
                organisation: orgs.get(&u.organisation_id).cloned().unwrap_or_default(),
                user_id: u.id,
                login: u.login,
                name: u.name,
                organisation_id: u.organisation_id,
            })
            .collect();
        out.sort_by(|a, b| {
            (a.organisation_id, &a.name, a.user_id).cmp(&(b.organisation_id, &b.name, b.user_id))
        });
        Ok(out)
    }

    /// The district and its subdistricts, by id with their names.
    async fn district_organisations(&self, district: i64) -> AppResult<BTreeMap<i64, String>> {
        use crate::store::entity::organisation;
        Ok(organisation::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(organisation::Column::Id.eq(district))
                    .add(organisation::Column::ParentId.eq(district)),
            )
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(|o| (o.id, o.name))
            .collect())
    }

    async fn item_entries(&self, key: &str, year: i32) -> AppResult<Vec<ItemEntry>> {
        let rows = review_item::Entity::find()
            .filter(review_item::Column::DefinitionKey.eq(key))
            .filter(review_item::Column::Year.eq(year))
            .order_by_asc(review_item::Column::Id)
            .all(&self.db.read)
            .await?;
        let names = self.user_names(rows.iter().map(|r| r.entered_by)).await?;
        Ok(rows
            .into_iter()
            .map(|r| ItemEntry {
                entered_by_name: names.get(&r.entered_by).cloned().unwrap_or_default(),
                user_id: r.user_id,
                item: r.item,
                score: r.score,
                comment: r.comment,
                entered_by: r.entered_by,
                entered_at: r.entered_at,
            })
            .collect())
    }

    /// The year in figures for `district`, with the previous year beside it.
    async fn figures_of(
        &self,
        w: &Workflow,
        key: &str,
        year: i32,
        district: i64,
        now: DateTime<Utc>,
    ) -> AppResult<(YearFigures, figures::Year)> {
        let off = offset_secs(w, year);
        let groups = review_sql::year_groups(&self.db.read, key, year, district, off, now).await?;
        let this = figures::fold(w, &groups);
        let before = review_sql::year_groups(
            &self.db.read,
            key,
            year - 1,
            district,
            offset_secs(w, year - 1),
            now,
        )
        .await?;
        let last = figures::fold(w, &before);
        let orgs = self.district_organisations(district).await?;
        let by_organisation = orgs
            .iter()
            .filter(|(id, _)| **id != district || this.by_organisation.contains_key(id))
            .map(|(id, name)| OrgFigures {
                organisation_id: *id,
                organisation: name.clone(),
                figures: this.by_organisation.get(id).cloned().unwrap_or_default(),
                previous: last.by_organisation.get(id).cloned(),
            })
            .collect();
        Ok((
            YearFigures {
                year,
                by_organisation,
                total: this.total.clone(),
                previous_total: last.total,
                by_stage: this.by_stage.clone(),
            },
            this,
        ))
    }

    /// The review of `year` computed from the data as it is now.
    async fn compute_review(
        &self,
        w: &Workflow,
        key: &str,
        year: i32,
        district: i64,
        now: DateTime<Utc>,
    ) -> AppResult<YearReview> {
        let r = w.annual_review().ok_or(AppError::NotFound {
            what: "annual review of workflow",
            id: key.to_string(),
        })?;
        let (figures, year_data) = self.figures_of(w, key, year, district, now).await?;
        let entries = self.item_entries(key, year).await?;
        let people = self
            .reviewed_people(w, district, year_data.leads.keys().copied())
            .await?;
        let inputs: Vec<Person> = people
            .iter()
            .map(|p| {
                let data = year_data.leads.get(&p.user_id).cloned().unwrap_or_default();
                let items = r
                    .items
                    .iter()
                    .filter_map(|i| {
                        let score = match i.source.get() {
                            ItemSource::Entered => entries
                                .iter()
                                .find(|e| e.user_id == p.user_id && e.item == i.id.as_str())
                                .map(|e| e.score),
                            ItemSource::ResidentSatisfaction => data.resident_satisfaction(),
                            ItemSource::MilestonesOnTime => data.milestones_on_time(),
                        };
                        score.map(|s| (i.id.to_string(), s))
                    })
                    .collect();
                Person {
                    user_id: p.user_id,
                    projects: data.tally,
                    items,
                }
            })
            .collect();
        let lines = annual::review(r, &CountRules::from(&r.counts), &inputs);
        let mut rows: Vec<ReviewRow> = people
            .into_iter()
            .zip(lines)
            .map(|(person, line)| ReviewRow { person, line })
            .collect();
        rows.sort_by_key(|r| (r.line.rank.is_none(), r.line.rank));
        let visible: HashSet<i64> = rows.iter().map(|r| r.person.user_id).collect();
        Ok(YearReview {
            definition: key.to_string(),
            year,
            computed_at: now,
            frozen: None,
            rows,
            entries: entries
                .into_iter()
                .filter(|e| visible.contains(&e.user_id))
                .collect(),
            figures,
        })
    }

    /// The review of `key`'s `year` in the caller's district: the frozen snapshot, or as of
    /// `now`. A subdistrict's user sees the ranking and the figures of their own subdistrict
    /// and the district's total, and the item entries about their own subdistrict only.
    pub async fn annual_review(
        &self,
        who: &Principal,
        key: &str,
        year: i32,
        now: DateTime<Utc>,
    ) -> AppResult<YearReview> {
        Self::check_year(year)?;
        let w = self.review_workflow(key)?;
        let district = self.district_id_of(who).await?;
        let mut review = match self.frozen_row(key, year).await? {
            Some(f) => {
                let mut r: YearReview = serde_json::from_str(&f.snapshot).map_err(|e| {
                    AppError::Definition(format!("the frozen review of {year} cannot be read: {e}"))
                })?;
                let by = self.user_names([f.frozen_by].into_iter()).await?;
                r.frozen = Some(Freeze {
                    frozen_at: f.frozen_at,
                    frozen_by: f.frozen_by,
                    frozen_by_name: by.get(&f.frozen_by).cloned().unwrap_or_default(),
                    comment: f.comment,
                });
                r
            }
            None => self.compute_review(&w, key, year, district, now).await?,
        };
        if who.organisation_id != district {
            let own = who.organisation_id;
            review.entries.retain(|e| {
                review
                    .rows
                    .iter()
                    .any(|r| r.person.user_id == e.user_id && r.person.organisation_id == own)
            });
            review
                .figures
                .by_organisation
                .retain(|o| o.organisation_id == own);
        }
        Ok(review)
    }

    async fn frozen_row(&self, key: &str, year: i32) -> AppResult<Option<review_freeze::Model>> {
        Ok(review_freeze::Entity::find()
            .filter(review_freeze::Column::DefinitionKey.eq(key))
            .filter(review_freeze::Column::Year.eq(year))
            .one(&self.db.read)
            .await?)
    }

    /// The year in figures for the caller's district (a subdistrict's user: their own and
    /// the total), live even where the review is frozen.
    pub async fn year_figures(
        &self,
        who: &Principal,
        key: &str,
        year: i32,
        now: DateTime<Utc>,
    ) -> AppResult<YearFigures> {
        Self::check_year(year)?;
        let w = self.review_workflow(key)?;
        let district = self.district_id_of(who).await?;
        let (mut f, _) = self.figures_of(&w, key, year, district, now).await?;
        if who.organisation_id != district {
            f.by_organisation
                .retain(|o| o.organisation_id == who.organisation_id);
        }
        Ok(f)
    }

    /// The milestones overdue now in projects under way, the longest overdue first (the
    /// caller's subdistrict only for a subdistrict's user).
    pub async fn overdue_list(
        &self,
        who: &Principal,
        key: &str,
        year: i32,
        now: DateTime<Utc>,
        limit: u32,
    ) -> AppResult<Vec<OverdueMilestone>> {
        Self::check_year(year)?;
        let w = self.review_workflow(key)?;
        let district = self.district_id_of(who).await?;
        let stages: Vec<String> = w
            .definition
            .stages
            .iter()
            .filter(|s| w.stage_class(s.id.as_str()) == StageClass::Approved)
            .map(|s| s.id.to_string())
            .collect();
        let mut rows = review_sql::overdue_milestones(
            &self.db.read,
            key,
            year,
            district,
            offset_secs(&w, year),
            now,
            &stages,
            limit,
        )
        .await?;
        if who.organisation_id != district {
            rows.retain(|r| r.organisation_id == who.organisation_id);
        }
        Ok(rows)
    }

    /// The year's projects with their outcome and what each counts, for the export and the
    /// explanation (of one lead where given); a frozen year's as they stood.
    pub async fn review_projects(
        &self,
        who: &Principal,
        key: &str,
        year: i32,
        lead: Option<i64>,
    ) -> AppResult<Vec<ExplainedProject>> {
        Self::check_year(year)?;
        let w = self.review_workflow(key)?;
        let district = self.district_id_of(who).await?;
        let mut all: Vec<ExplainedProject> = match self.frozen_row(key, year).await? {
            Some(f) => serde_json::from_str::<Vec<ExplainedProject>>(&f.projects)
                .map_err(|e| {
                    AppError::Definition(format!(
                        "the frozen projects of {year} cannot be read: {e}"
                    ))
                })?
                .into_iter()
                .filter(|p| lead.is_none_or(|l| p.project.lead_user_id == l))
                .collect(),
            None => self.explain_projects(&w, key, year, district, lead).await?,
        };
        if who.organisation_id != district {
            all.retain(|p| p.project.organisation_id == who.organisation_id);
        }
        Ok(all)
    }

    async fn explain_projects(
        &self,
        w: &Workflow,
        key: &str,
        year: i32,
        district: i64,
        lead: Option<i64>,
    ) -> AppResult<Vec<ExplainedProject>> {
        let rules = w
            .annual_review()
            .map(|r| CountRules::from(&r.counts))
            .unwrap_or_default();
        Ok(
            review_sql::year_projects(&self.db.read, key, year, district, lead)
                .await?
                .into_iter()
                .map(|p| {
                    let outcome = figures::outcome(w, &p.stage, p.final_score);
                    ExplainedProject {
                        counted: rules.counted(outcome),
                        outcome,
                        project: p,
                    }
                })
                .collect(),
        )
    }

    /// One person's figure explained: their line, projects, item entries and the history.
    pub async fn explain_review(
        &self,
        who: &Principal,
        key: &str,
        year: i32,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> AppResult<Explanation> {
        let review = self.annual_review(who, key, year, now).await?;
        let row = review
            .rows
            .iter()
            .find(|r| r.person.user_id == user_id)
            .cloned()
            .ok_or(AppError::NotFound {
                what: "person in the review",
                id: user_id.to_string(),
            })?;
        let district = self.district_id_of(who).await?;
        if who.organisation_id != district && row.person.organisation_id != who.organisation_id {
            return Err(refused(Reason::OutOfScope));
        }
        let projects = self.review_projects(who, key, year, Some(user_id)).await?;
        let entries = review
            .entries
            .iter()
            .filter(|e| e.user_id == user_id)
            .cloned()
            .collect();
        let events = review_event::Entity::find()
            .filter(review_event::Column::DefinitionKey.eq(key))
            .filter(review_event::Column::Year.eq(year))
            .filter(
                sea_orm::Condition::any()
                    .add(review_event::Column::SubjectUserId.eq(user_id))
                    .add(review_event::Column::SubjectUserId.is_null()),
            )
            .order_by_asc(review_event::Column::Id)
            .all(&self.db.read)
            .await?;
        Ok(Explanation {
            row,
            projects,
            entries,
            history: self.history_events(events).await?,
        })
    }

    async fn history_events(
        &self,
        events: Vec<review_event::Model>,
    ) -> AppResult<Vec<HistoryEvent>> {
        let names = self
            .user_names(events.iter().map(|e| e.actor_user_id))
            .await?;
        Ok(events
            .into_iter()
            .map(|e| HistoryEvent {
                actor: names.get(&e.actor_user_id).cloned().unwrap_or_default(),
                at: e.at,
                actor_user_id: e.actor_user_id,
                action: e.action,
                subject_user_id: e.subject_user_id,
                item: e.item,
                score: e.score,
                comment: e.comment,
            })
            .collect())
    }

    /// The review's whole history for the year (district users).
    pub async fn review_history(
        &self,
        who: &Principal,
        key: &str,
        year: i32,
    ) -> AppResult<Vec<HistoryEvent>> {
        Self::check_year(year)?;
        self.review_workflow(key)?;
        let district = self.district_id_of(who).await?;
        if who.organisation_id != district {
            return Err(refused(Reason::OutOfScope));
        }
        let events = review_event::Entity::find()
            .filter(review_event::Column::DefinitionKey.eq(key))
            .filter(review_event::Column::Year.eq(year))
            .order_by_asc(review_event::Column::Id)
            .all(&self.db.read)
            .await?;
        self.history_events(events).await
    }

    fn require_roles(
        w: &Workflow,
        who: &Principal,
        allowed: crate::workflow::RoleSet,
    ) -> AppResult<()> {
        let held = w.roles(who.roles.iter().map(String::as_str));
        if held.0 & allowed.0 == 0 {
            return Err(refused(Reason::RoleNotAllowed {
                allowed: w.role_ids(allowed),
            }));
        }
        Ok(())
    }

    /// Enter (or correct) one item's score 0-100 with a comment for one person of the year.
    #[allow(clippy::too_many_arguments)]
    pub async fn enter_review_item(
        &self,
        who: &Principal,
        key: &str,
        year: i32,
        user_id: i64,
        item: &str,
        score: f64,
        comment: &str,
        now: DateTime<Utc>,
    ) -> AppResult<ItemEntry> {
        Self::check_year(year)?;
        let w = self.review_workflow(key)?;
        let r = w.annual_review().ok_or(AppError::NotFound {
            what: "annual review of workflow",
            id: key.to_string(),
        })?;
        let Some(def) = r
            .items
            .iter()
            .find(|i| i.id.as_str() == item && *i.source.get() == ItemSource::Entered)
        else {
            return Err(refused(Reason::ItemNotEntered {
                item: item.to_string(),
            }));
        };
        Self::require_roles(&w, who, w.item_enterers(def))?;
        let district = self.district_id_of(who).await?;
        if !score.is_finite() || !(0.0..=100.0).contains(&score) {
            return Err(AppError::Invalid(format!(
                "score: {score} is not a score from 0 to 100"
            )));
        }
        let comment = clean_comment(comment, true)?;
        self.check_not_frozen(key, year).await?;
        let subject = user::Entity::find_by_id(user_id)
            .one(&self.db.read)
            .await?
            .ok_or(AppError::NotFound {
                what: "user",
                id: user_id.to_string(),
            })?;
        let leads = review_sql::year_leads(&self.db.read, key, year, district).await?;
        let people = self.reviewed_people(&w, district, leads).await?;
        if !people.iter().any(|p| p.user_id == subject.id) {
            return Err(refused(Reason::NotReviewed));
        }
        if subject.organisation_id == who.organisation_id {
            return Err(refused(Reason::OwnOrganisation));
        }
        let at = super::audit::normalise_time(now);
        let score = crate::scoring::round2(score);
        let txn = self.db.write.begin().await?;
        let existing = review_item::Entity::find()
            .filter(review_item::Column::DefinitionKey.eq(key))
            .filter(review_item::Column::Year.eq(year))
            .filter(review_item::Column::UserId.eq(user_id))
            .filter(review_item::Column::Item.eq(item))
            .one(&txn)
            .await?;
        match existing {
            Some(row) => {
                let mut a: review_item::ActiveModel = row.into();
                a.score = Set(score);
                a.comment = Set(comment.clone());
                a.entered_by = Set(who.user_id);
                a.entered_at = Set(at);
                a.update(&txn).await?;
            }
            None => {
                review_item::ActiveModel {
                    definition_key: Set(key.to_string()),
                    year: Set(year),
                    user_id: Set(user_id),
                    item: Set(item.to_string()),
                    score: Set(score),
                    comment: Set(comment.clone()),
                    entered_by: Set(who.user_id),
                    entered_at: Set(at),
                    ..Default::default()
                }
                .insert(&txn)
                .await?;
            }
        }
        event(key, year, at, who, "enter_item")
            .about(Some(user_id), Some(item.to_string()), Some(score))
            .saying(comment.clone())
            .insert(&txn)
            .await?;
        // A freeze committed meanwhile wins: the entry is not written.
        if review_freeze::Entity::find()
            .filter(review_freeze::Column::DefinitionKey.eq(key))
            .filter(review_freeze::Column::Year.eq(year))
            .one(&txn)
            .await?
            .is_some()
        {
            txn.rollback().await?;
            return Err(self
                .check_not_frozen(key, year)
                .await
                .err()
                .unwrap_or(refused(Reason::ReviewFrozen {
                    year,
                    frozen_at: at,
                })));
        }
        txn.commit().await?;
        Ok(ItemEntry {
            user_id,
            item: item.to_string(),
            score,
            comment,
            entered_by: who.user_id,
            entered_by_name: who.name.clone(),
            entered_at: at,
        })
    }

    /// Approve and freeze the year's review as it stands now.
    pub async fn freeze_review(
        &self,
        who: &Principal,
        key: &str,
        year: i32,
        comment: &str,
        now: DateTime<Utc>,
    ) -> AppResult<YearReview> {
        Self::check_year(year)?;
        let w = self.review_workflow(key)?;
        Self::require_roles(&w, who, w.review_managers())?;
        let district = self.district_id_of(who).await?;
        if who.organisation_id != district {
            return Err(refused(Reason::OutOfScope));
        }
        let comment = clean_comment(comment, false)?;
        if let Some(frozen_at) = self.frozen_row(key, year).await?.map(|f| f.frozen_at) {
            return Err(refused(Reason::ReviewFrozen { year, frozen_at }));
        }
        let at = super::audit::normalise_time(now);
        let review = self.compute_review(&w, key, year, district, at).await?;
        let projects = self.explain_projects(&w, key, year, district, None).await?;
        let snapshot = serde_json::to_string(&review)
            .map_err(|e| AppError::Definition(format!("the review cannot be written: {e}")))?;
        let projects = serde_json::to_string(&projects)
            .map_err(|e| AppError::Definition(format!("the projects cannot be written: {e}")))?;
        let txn = self.db.write.begin().await?;
        let inserted = review_freeze::ActiveModel {
            definition_key: Set(key.to_string()),
            year: Set(year),
            frozen_at: Set(at),
            frozen_by: Set(who.user_id),
            comment: Set(comment.clone()),
            snapshot: Set(snapshot),
            projects: Set(projects),
            ..Default::default()
        }
        .insert(&txn)
        .await;
        if let Err(e) = inserted {
            // Another freeze of the same year won the unique index.
            txn.rollback().await.ok();
            if let Some(f) = self.frozen_row(key, year).await? {
                return Err(refused(Reason::ReviewFrozen {
                    year,
                    frozen_at: f.frozen_at,
                }));
            }
            return Err(e.into());
        }
        event(key, year, at, who, "freeze")
            .saying(comment.clone())
            .insert(&txn)
            .await?;
        txn.commit().await?;
        self.frozen_years.mark(key, year, Some(at));
        self.annual_review(who, key, year, now).await
    }

    /// Unfreeze the year's review: a reason is required and kept in the history.
    pub async fn unfreeze_review(
        &self,
        who: &Principal,
        key: &str,
        year: i32,
        reason: &str,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        Self::check_year(year)?;
        let w = self.review_workflow(key)?;
        Self::require_roles(&w, who, w.review_managers())?;
        let district = self.district_id_of(who).await?;
        if who.organisation_id != district {
            return Err(refused(Reason::OutOfScope));
        }
        let reason = clean_comment(reason, true)?;
        let at = super::audit::normalise_time(now);
        let txn = self.db.write.begin().await?;
        let gone = review_freeze::Entity::delete_many()
            .filter(review_freeze::Column::DefinitionKey.eq(key))
            .filter(review_freeze::Column::Year.eq(year))
            .exec(&txn)
            .await?;
        if gone.rows_affected == 0 {
            txn.rollback().await?;
            return Err(refused(Reason::ReviewNotFrozen { year }));
        }
        event(key, year, at, who, "unfreeze")
            .saying(reason)
            .insert(&txn)
            .await?;
        txn.commit().await?;
        self.frozen_years.mark(key, year, None);
        Ok(())
    }
}

/// The outcome's words for people.
pub fn outcome_name(o: &annual::Outcome, lang: &str) -> &'static str {
    let en = lang.starts_with("en");
    match (o, en) {
        (annual::Outcome::Closed(_), false) => "已结题",
        (annual::Outcome::Closed(_), true) => "Closed",
        (annual::Outcome::Running, false) => "进行中",
        (annual::Outcome::Running, true) => "Under way",
        (annual::Outcome::Terminated, false) => "已终止",
        (annual::Outcome::Terminated, true) => "Terminated",
        (annual::Outcome::Rejected, false) => "已驳回",
        (annual::Outcome::Rejected, true) => "Rejected",
        (annual::Outcome::Withdrawn, false) => "已撤回",
        (annual::Outcome::Withdrawn, true) => "Withdrawn",
    }
}

/// A file of the review, ready to be served or written.
#[derive(Debug, Clone)]
pub struct ReviewFile {
    pub bytes: Vec<u8>,
    pub file_name: String,
    pub content_type: &'static str,
}

impl App {
    /// The review of `year` as a workbook (summary, projects, items, the year in figures) or
    /// as CSV (the summary), in `lang`: what the caller may see of it, frozen or live.
    pub async fn export_review(
        &self,
        who: &Principal,
        key: &str,
        year: i32,
        format: crate::export::Format,
        lang: &str,
    ) -> AppResult<ReviewFile> {
        use crate::export::Format;
        let w = self.review_workflow(key)?;
        let review = self.annual_review(who, key, year, Utc::now()).await?;
        let projects = match format {
            Format::Xlsx => self.review_projects(who, key, year, None).await?,
            Format::Csv => Vec::new(),
        };
        let lang = lang.to_string();
        let bytes = tokio::task::spawn_blocking(move || match format {
            Format::Xlsx => {
                crate::export::review_xlsx::review_workbook(&w, &review, &projects, &lang)
            }
            Format::Csv => Ok(crate::export::review_csv::review_csv(&w, &review, &lang)),
        })
        .await
        .map_err(|e| AppError::Definition(format!("the export stopped: {e}")))?
        .map_err(|e| AppError::Definition(e.to_string()))?;
        Ok(ReviewFile {
            bytes,
            file_name: crate::export::file_name(key, year, format),
            content_type: format.content_type(),
        })
    }
}
