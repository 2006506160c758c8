//! Projects: create, edit the current stage's form, take an action, read, list, history.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LikeExpr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::audit::{self, NewEvent};
use super::project_cache::CachedProject;
use super::{App, AppError, AppResult, Principal};
use crate::scoring;
use crate::store::action_inputs::{action_inputs, read_inputs, ActionInputs};
use crate::store::changeset::{ApplyError, ChangeSet, DeadlineRow, OutboxRow, ProjectChanges};
use crate::store::entity::{
    appraisal, audit_event, manual_deduction, milestone, organisation, project, project_deadline,
    score_sheet, user,
};
use crate::store::queries::eligible;
use crate::store::sqlite_writer::apply_one;
use crate::workflow::engine::{self, Facts, PlannedEffect, Request};
use crate::workflow::form::{
    attachment_refs, check_attachments, check_form, milestone_plans, FieldProblem,
    FieldProblemKind, ItemProblem, MilestonePlan, StoredAttachment,
};
use crate::workflow::model::FieldType;
use crate::workflow::units::end_of_day;
use crate::workflow::Workflow;

const MAX_TITLE_CHARS: usize = 200;

#[derive(Debug, Clone)]
pub struct NewProject {
    /// The definition id, e.g. `secretary_project`; the current version is used.
    pub definition: String,
    pub title: String,
    pub year: i32,
    /// Defaults to the creator's organisation.
    pub organisation_id: Option<i64>,
    /// Initial form data of the first stage.
    pub form: Map<String, Value>,
}

#[derive(Debug, Clone)]
pub struct ActionInput {
    pub action: String,
    pub comment: Option<String>,
    /// The version the caller last saw; `None` takes whatever is current (CLI, demo).
    pub expected_version: Option<i32>,
}

/// What an action did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActionDone {
    pub project: ProjectView,
    pub from: String,
    pub to: String,
    pub mails_queued: usize,
}

/// A project as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectView {
    pub id: i64,
    pub definition: String,
    pub definition_version: i64,
    pub title: String,
    pub year: i32,
    pub organisation_id: i64,
    pub lead_user_id: i64,
    pub stage: String,
    /// Grows with every change; send it back with edits and actions.
    pub version: i32,
    /// The form data of every stage so far, by field id. Sent as stored (it is JSON already),
    /// so that reading a project does not parse and re-print it.
    #[schema(value_type = Object)]
    pub form: Box<serde_json::value::RawValue>,
    pub milestones_total: i32,
    pub milestones_done: i32,
    pub appraisal_count: i32,
    pub final_score: Option<f64>,
    pub grade: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&project::Model> for ProjectView {
    fn from(p: &project::Model) -> Self {
        ProjectView {
            id: p.id,
            definition: p.definition_key.clone(),
            definition_version: p.definition_id,
            title: p.title.clone(),
            year: p.year,
            organisation_id: p.organisation_id,
            lead_user_id: p.lead_user_id,
            stage: p.stage.clone(),
            version: p.version,
            form: serde_json::value::RawValue::from_string(p.form_data.clone()).unwrap_or_else(
                |_| serde_json::value::RawValue::from_string("null".into()).unwrap_or_default(),
            ),
            milestones_total: p.milestones_total,
            milestones_done: p.milestones_done,
            appraisal_count: p.appraisal_count,
            final_score: p.final_score,
            grade: p.grade.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub year: Option<i32>,
    pub organisation_id: Option<i64>,
    /// Only projects of this district's subdistricts.
    pub district_id: Option<i64>,
    pub stage: Option<String>,
    /// Words that must occur in the title (case-insensitive for Latin letters).
    pub text: Option<String>,
    /// Only projects with an open deadline already past at this moment (`Some`).
    pub overdue_at: Option<DateTime<Utc>>,
    pub offset: u64,
    pub limit: u64,
}

pub(crate) fn parse_form(p: &project::Model) -> AppResult<Map<String, Value>> {
    match serde_json::from_str(&p.form_data) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(AppError::Invalid(format!(
            "project {} has unreadable form data",
            p.id
        ))),
    }
}

/// What the engine needs to know of a project, from its row and parsed columns.
fn facts_of<'a>(
    p: &'a project::Model,
    form: &'a Map<String, Value>,
    counts: &'a [(String, u32)],
    dues: &'a [(String, DateTime<Utc>)],
) -> Facts<'a> {
    Facts {
        stage: &p.stage,
        year: p.year,
        form,
        milestones_total: p.milestones_total.max(0) as u32,
        milestones_done: p.milestones_done.max(0) as u32,
        appraisals: p.appraisal_count.max(0) as u32,
        score_counts: counts,
        deadline_dues: dues,
    }
}

pub(crate) fn parse_counts(p: &project::Model) -> Vec<(String, u32)> {
    serde_json::from_str::<BTreeMap<String, u32>>(&p.score_counts)
        .map(|m| m.into_iter().collect())
        .unwrap_or_default()
}

/// Read the project inside a write transaction. On PostgreSQL the row is locked (`FOR UPDATE`)
/// so concurrent writers of one project queue up and the later one sees the new version; on
/// SQLite the single write connection already serialises writers.
pub(crate) async fn load_for_update(
    txn: &DatabaseTransaction,
    id: i64,
) -> AppResult<project::Model> {
    let mut q = project::Entity::find_by_id(id);
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(txn).await?.ok_or(AppError::NotFound {
        what: "project",
        id: id.to_string(),
    })
}

/// Write the project row only if nobody changed it since `expected` was read.
pub(crate) async fn save_if_unchanged(
    txn: &DatabaseTransaction,
    row: project::ActiveModel,
    id: i64,
    expected: i32,
) -> AppResult<()> {
    let res = project::Entity::update_many()
        .set(row)
        .filter(project::Column::Id.eq(id))
        .filter(project::Column::Version.eq(expected))
        .exec(txn)
        .await?;
    if res.rows_affected == 0 {
        let current = project::Entity::find_by_id(id)
            .one(txn)
            .await?
            .map(|p| p.version)
            .unwrap_or(expected);
        return Err(AppError::Conflict { expected, current });
    }
    Ok(())
}

/// Append an audit event to `p`'s chain; returns the row for `project` fields to update.
#[allow(clippy::too_many_arguments)] // each is one column of the event
pub(crate) async fn append_audit(
    txn: &DatabaseTransaction,
    p: &project::Model,
    actor: Option<i64>,
    action: &str,
    comment: Option<&str>,
    stages: (Option<&str>, Option<&str>),
    data: Value,
    at: DateTime<Utc>,
) -> AppResult<(i64, String)> {
    let seq = p.audit_seq + 1;
    let (row, head) = audit::chained(
        &p.audit_head,
        seq,
        NewEvent {
            project_id: p.id,
            actor_user_id: actor,
            action,
            comment,
            from_stage: stages.0,
            to_stage: stages.1,
            data,
            at,
        },
    );
    audit_event::Entity::insert(row)
        .exec_without_returning(txn)
        .await?;
    Ok((seq, head))
}

/// Save a change made within the project's current stage: `row` holds the changed columns;
/// this appends the audit event, adds the version bump and the new chain head, and writes the
/// row only if nobody changed the project since `p` was read.
#[allow(clippy::too_many_arguments)] // the row plus each column of the audit event
pub(crate) async fn save_change(
    txn: &DatabaseTransaction,
    p: &project::Model,
    mut row: project::ActiveModel,
    actor: Option<i64>,
    action: &str,
    comment: Option<&str>,
    data: Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let stage = Some(p.stage.as_str());
    let (seq, head) =
        append_audit(txn, p, actor, action, comment, (stage, stage), data, now).await?;
    row.version = Set(p.version + 1);
    row.audit_seq = Set(seq);
    row.audit_head = Set(head);
    row.updated_at = Set(now);
    save_if_unchanged(txn, row, p.id, p.version).await
}

impl App {
    pub async fn project(&self, id: i64) -> AppResult<project::Model> {
        crate::store::action_inputs::find_project(&self.db, id)
            .await?
            .ok_or(AppError::NotFound {
                what: "project",
                id: id.to_string(),
            })
    }

    /// The committed project, from memory when nothing was committed since it was last read
    /// (`project_cache`).
    pub async fn project_cached(&self, id: i64) -> AppResult<Arc<CachedProject>> {
        // The version is read before the project: what is filed under it is at least as new.
        let version = self.db.data_version();
        if let Some(v) = version {
            if let Some(hit) = self.projects.get(id, v) {
                return Ok(hit);
            }
        }
        let p = Arc::new(CachedProject::new(self.project(id).await?));
        if let Some(v) = version {
            self.projects.put(v, p.clone());
        }
        Ok(p)
    }

    pub async fn history(&self, id: i64) -> AppResult<Vec<audit_event::Model>> {
        self.project_cached(id).await?;
        self.memo_rows("history", id, || async {
            Ok(audit_event::Entity::find()
                .filter(audit_event::Column::ProjectId.eq(id))
                .order_by_asc(audit_event::Column::Seq)
                .all(&self.db.read)
                .await?)
        })
        .await
    }

    pub async fn list_projects(&self, f: &ListFilter) -> AppResult<(u64, Vec<project::Model>)> {
        // Scoped here: its `max`/`min` would shadow the integer ones elsewhere in the module.
        use sea_orm::sea_query::ExprTrait;
        let mut q = project::Entity::find();
        if let Some(y) = f.year {
            q = q.filter(project::Column::Year.eq(y));
        }
        if let Some(o) = f.organisation_id {
            q = q.filter(project::Column::OrganisationId.eq(o));
        }
        if let Some(d) = f.district_id {
            q = q.filter(project::Column::DistrictId.eq(d));
        }
        if let Some(s) = &f.stage {
            q = q.filter(project::Column::Stage.eq(s.as_str()));
        }
        if let Some(text) = &f.text {
            for word in text.split_whitespace() {
                let pattern = format!("%{}%", like_escape(&word.to_lowercase()));
                q = q.filter(
                    Expr::col(project::Column::TitleFolded)
                        .like(LikeExpr::new(pattern).escape('\\')),
                );
            }
        }
        if let Some(at) = f.overdue_at {
            q = q.filter(
                project::Column::Id.in_subquery(
                    Query::select()
                        .column(project_deadline::Column::ProjectId)
                        .from(project_deadline::Entity)
                        .and_where(project_deadline::Column::ClosedAt.is_null())
                        .and_where(project_deadline::Column::DueAt.lt(at))
                        .to_owned(),
                ),
            );
        }
        let total = q.clone().count(&self.db.read).await?;
        let rows = q
            .order_by_asc(project::Column::Id)
            .offset(f.offset)
            .limit(if f.limit == 0 { 50 } else { f.limit })
            .all(&self.db.read)
            .await?;
        Ok((total, rows))
    }

    /// The organisation a project list of `who` keeps to: their own, or for district users
    /// the one asked for if it is the district or one of its subdistricts (all when none is
    /// asked). Any other organisation asked for is refused, not silently replaced.
    pub async fn list_organisation(
        &self,
        who: &super::Principal,
        district_user: bool,
        asked: Option<i64>,
    ) -> AppResult<Option<i64>> {
        let refuse = |o: i64| {
            AppError::Forbidden(crate::workflow::engine::Refusal {
                reasons: vec![crate::workflow::engine::Reason::OrganisationOutOfScope {
                    organisation: o,
                }],
            })
        };
        match asked {
            None if district_user => Ok(None),
            None => Ok(Some(who.organisation_id)),
            Some(o) if o == who.organisation_id => Ok(Some(o)),
            Some(o) if district_user => {
                let org = organisation::Entity::find_by_id(o)
                    .one(&self.db.read)
                    .await?;
                if org.is_some_and(|x| x.parent_id == Some(who.organisation_id)) {
                    Ok(Some(o))
                } else {
                    Err(refuse(o))
                }
            }
            Some(o) => Err(refuse(o)),
        }
    }

    /// Whether an organisation is a district (has no parent above it).
    pub async fn is_district_org(&self, id: i64) -> AppResult<bool> {
        Ok(self
            .organisation(id)
            .await?
            .is_some_and(|o| o.parent_id.is_none()))
    }

    /// An organisation, from the cache of rows read once (`org_cache`).
    pub async fn organisation(
        &self,
        id: i64,
    ) -> AppResult<Option<std::sync::Arc<organisation::Model>>> {
        if let Some(o) = self.organisations.get(id) {
            return Ok(Some(o));
        }
        Ok(organisation::Entity::find_by_id(id)
            .one(&self.db.read)
            .await?
            .map(|o| self.organisations.put(o)))
    }

    /// The workflow version a project runs on.
    pub async fn workflow_of(&self, p: &project::Model) -> AppResult<std::sync::Arc<Workflow>> {
        self.registry.version(&self.db, p.definition_id).await
    }

    /// Create a project in the definition's initial stage.
    pub async fn create_project(
        &self,
        who: &Principal,
        new: NewProject,
        now: DateTime<Utc>,
    ) -> AppResult<project::Model> {
        let version = self
            .registry
            .current(&new.definition)
            .ok_or(AppError::NotFound {
                what: "workflow definition",
                id: new.definition.clone(),
            })?;
        let w = version.workflow.clone();
        let mut new = new;
        // A form field `title` is the project's name: it holds the title the project is
        // created with, so that the form and the project never disagree.
        if w.initial_stage()
            .form
            .iter()
            .any(|f| f.id.as_str() == "title" && *f.field_type.get() == FieldType::Text)
        {
            new.form
                .insert("title".into(), Value::String(new.title.trim().to_string()));
        }
        let title = new.title.trim().to_string();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            return Err(AppError::Invalid(format!(
                "the title must have 1 to {MAX_TITLE_CHARS} characters"
            )));
        }
        if !(2000..=2100).contains(&new.year) {
            return Err(AppError::Invalid(format!(
                "year {} is out of range 2000-2100",
                new.year
            )));
        }
        let org_id = new.organisation_id.unwrap_or(who.organisation_id);
        let org = organisation::Entity::find_by_id(org_id)
            .one(&self.db.read)
            .await?
            .ok_or(AppError::NotFound {
                what: "organisation",
                id: org_id.to_string(),
            })?;
        let initial = w.initial_stage();
        let actor = crate::workflow::engine::Actor {
            roles: w.roles(who.roles.iter().map(String::as_str)),
            relation: who.relation(org.id, org.parent_id),
        };
        engine::may_edit(&w, initial.id.as_str(), &actor)?;
        let problems = check_form(initial, &new.form, false);
        if !problems.is_empty() {
            return Err(AppError::InvalidForm(problems));
        }
        // No attachment belongs to a project not yet created.
        verify_attachments(&self.db.read, &w, initial, &new.form, None).await?;
        let now = audit::normalise_time(now);
        let txn = self.db.begin_write().await?;
        let row = project::ActiveModel {
            definition_id: Set(version.id),
            definition_key: Set(w.id().to_string()),
            title: Set(title.clone()),
            title_folded: Set(title.to_lowercase()),
            year: Set(new.year),
            organisation_id: Set(org.id),
            district_id: Set(org.parent_id),
            lead_user_id: Set(who.user_id),
            stage: Set(initial.id.to_string()),
            form_data: Set(Value::Object(new.form.clone()).to_string()),
            version: Set(1),
            milestones_total: Set(0),
            milestones_done: Set(0),
            appraisal_count: Set(0),
            score_counts: Set("{}".into()),
            audit_seq: Set(0),
            audit_head: Set(audit::GENESIS.into()),
            final_score: Set(None),
            grade: Set(None),
            score_detail: Set(None),
            stage_entered_at: Set(now),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let p = row.insert(&txn).await?;
        let (total, done) = sync_milestones(&txn, &w, &p, initial, &new.form, now).await?;
        let (seq, head) = append_audit(
            &txn,
            &p,
            Some(who.user_id),
            "create",
            None,
            (None, Some(initial.id.as_str())),
            json!({"title": title, "year": new.year, "form": new.form}),
            now,
        )
        .await?;
        if let Some(d) = &initial.deadline {
            let due = engine::deadline_due(&w, d, p.year, None);
            open_deadline(&txn, &w, &p, d, due, now).await?;
        }
        let mut update: project::ActiveModel = p.clone().into();
        update.audit_seq = Set(seq);
        update.audit_head = Set(head);
        update.milestones_total = Set(total);
        update.milestones_done = Set(done);
        let p = update.update(&txn).await?;
        txn.commit().await?;
        Ok(p)
    }

    /// Change fields of the current stage's form (a `null` removes a value).
    pub async fn edit_form(
        &self,
        who: &Principal,
        id: i64,
        expected_version: i32,
        patch: Map<String, Value>,
        now: DateTime<Utc>,
    ) -> AppResult<project::Model> {
        let p = self.project(id).await?;
        if p.version != expected_version {
            return Err(AppError::Conflict {
                expected: expected_version,
                current: p.version,
            });
        }
        self.check_not_frozen(&p.definition_key, p.year).await?;
        let w = self.workflow_of(&p).await?;
        let stage = w.stage(&p.stage).ok_or_else(|| {
            AppError::Definition(format!(
                "stage `{}` is not in the project's workflow",
                p.stage
            ))
        })?;
        engine::may_edit(&w, &p.stage, &who.actor(&w, &p))?;
        let mut form = parse_form(&p)?;
        let before: Map<String, Value> = patch
            .keys()
            .filter_map(|k| form.get(k).map(|v| (k.clone(), v.clone())))
            .collect();
        // Only this stage's fields may change here.
        let mut problems: Vec<FieldProblem> = patch
            .keys()
            .filter(|k| !stage.form.iter().any(|f| f.id.as_str() == k.as_str()))
            .map(|k| FieldProblem {
                field: k.clone(),
                kind: FieldProblemKind::UnknownField,
            })
            .collect();
        for (k, v) in &patch {
            if v.is_null() {
                form.remove(k);
            } else {
                form.insert(k.clone(), v.clone());
            }
        }
        let own: Map<String, Value> = stage
            .form
            .iter()
            .filter_map(|f| {
                form.get(f.id.as_str())
                    .map(|v| (f.id.to_string(), v.clone()))
            })
            .collect();
        problems.extend(check_form(stage, &own, false));
        if !problems.is_empty() {
            return Err(AppError::InvalidForm(problems));
        }
        let now = audit::normalise_time(now);
        let txn = self.db.begin_write().await?;
        let current = load_for_update(&txn, id).await?;
        if current.version != expected_version {
            return Err(AppError::Conflict {
                expected: expected_version,
                current: current.version,
            });
        }
        verify_attachments(&txn, &w, stage, &patch, Some(current.id)).await?;
        let touches_milestones = patch.keys().any(|k| {
            w.field(k)
                .is_some_and(|f| *f.field_type.get() == FieldType::Milestones)
        });
        let counts = if touches_milestones {
            Some(sync_milestones(&txn, &w, &current, stage, &form, now).await?)
        } else {
            None
        };
        let mut row = project::ActiveModel {
            form_data: Set(Value::Object(form).to_string()),
            ..Default::default()
        };
        if let Some((total, done)) = counts {
            row.milestones_total = Set(total);
            row.milestones_done = Set(done);
        }
        // A form field `title` is the project's name: renaming it there renames the project.
        if let Some(title) = form_title(&patch) {
            row.title = Set(title.clone());
            row.title_folded = Set(title.to_lowercase());
        }
        let data = json!({"before": before, "after": patch});
        save_change(
            &txn,
            &current,
            row,
            Some(who.user_id),
            "edit",
            None,
            data,
            now,
        )
        .await?;
        txn.commit().await?;
        self.project(id).await
    }

    /// Take a workflow action on a project: read, decide with the engine, then apply the
    /// resulting change set (state, audit event, deadlines, outbox) in one version-checked write.
    ///
    /// On a SQLite file the whole action (reads, decision, writes) runs as one job of the
    /// group-commit writer, on its connection and inside its transaction: no read transaction of
    /// its own, no hand-off to another thread, and no lost race with a concurrent writer. An
    /// action that must compute a score, or whose definition version is not in memory yet,
    /// takes the general path instead.
    pub async fn take_action(
        &self,
        who: &Principal,
        id: i64,
        input: ActionInput,
        now: DateTime<Utc>,
    ) -> AppResult<ActionDone> {
        let now = audit::normalise_time(now);
        if let Some(writer) = self.db.sqlite_writer() {
            // Loads the frozen years once, so that the writer's closure can ask them.
            self.frozen_at("", 0).await?;
            let registry = self.registry.clone();
            let frozen = self.frozen_years.clone();
            let (who2, input2) = (who.clone(), input.clone());
            let step = writer
                .run(move |c| {
                    let Some(inputs) = read_inputs(c, id)? else {
                        return Ok(Err(AppError::NotFound {
                            what: "project",
                            id: id.to_string(),
                        }));
                    };
                    let p = &inputs.project;
                    if let Some(refusal) = frozen.refusal(&p.definition_key, p.year) {
                        return Ok(Err(refusal));
                    }
                    let Some(w) = registry.cached(inputs.project.definition_id) else {
                        return Ok(Ok(None));
                    };
                    let planned = match plan_action(&w, inputs, &who2, &input2, now, None) {
                        Ok(Some(planned)) => planned,
                        other => return Ok(other),
                    };
                    apply_one(c, &planned.cs)?;
                    Ok(Ok(Some(planned)))
                })
                .await
                .map_err(|e| apply_err(e, input.expected_version.unwrap_or_default()))?;
            if let Some(planned) = step? {
                return Ok(self.taken(planned));
            }
        }
        let inputs = action_inputs(&self.db, id)
            .await?
            .ok_or(AppError::NotFound {
                what: "project",
                id: id.to_string(),
            })?;
        self.check_not_frozen(&inputs.project.definition_key, inputs.project.year)
            .await?;
        let w = self.workflow_of(&inputs.project).await?;
        let planned = match plan_action(&w, inputs.clone(), who, &input, now, None)? {
            Some(planned) => planned,
            None => {
                // The action computes the final score: read what it needs, then plan again.
                let score = compute_score(&self.db.read, &w, &inputs.project, now).await?;
                plan_action(&w, inputs, who, &input, now, Some(score))?.ok_or_else(|| {
                    AppError::Store(sea_orm::DbErr::Custom("score computed but not used".into()))
                })?
            }
        };
        let expected = planned.cs.expected_version;
        self.db
            .apply(planned.cs.clone())
            .await
            .map_err(|e| apply_err(e, expected))?;
        Ok(self.taken(planned))
    }

    /// Count what an applied action did and answer it.
    fn taken(&self, planned: PlannedAction) -> ActionDone {
        self.metrics
            .action_taken(&planned.definition, &planned.cs.audit.action);
        for o in &planned.cs.outbox {
            self.metrics.mail_queued(&o.template, 1);
        }
        ActionDone {
            project: ProjectView::from(&planned.after),
            from: planned.from,
            to: planned.to,
            mails_queued: planned.mails_queued,
        }
    }

    /// The actions the user could take now, each with the reasons it is refused, if it is.
    pub async fn available_actions(
        &self,
        who: &Principal,
        id: i64,
        now: DateTime<Utc>,
    ) -> AppResult<(
        project::Model,
        std::sync::Arc<Workflow>,
        Vec<AvailableAction>,
    )> {
        let p = self.project(id).await?;
        let w = self.workflow_of(&p).await?;
        let dues = open_deadline_dues(&self.db.read, id).await?;
        let list = actions_on(&w, &p, &dues, who, now)?;
        Ok((p, w, list))
    }

    /// [`App::available_actions`] for many projects already read, with one query for all
    /// their open deadlines (a home page's inbox): each project's id and its actions.
    pub async fn available_actions_of(
        &self,
        who: &Principal,
        projects: &[project::Model],
        now: DateTime<Utc>,
    ) -> AppResult<Vec<(i64, Vec<AvailableAction>)>> {
        let mut dues: HashMap<i64, Vec<(String, DateTime<Utc>)>> = HashMap::new();
        for chunk in projects.chunks(500) {
            let rows = project_deadline::Entity::find()
                .filter(project_deadline::Column::ProjectId.is_in(chunk.iter().map(|p| p.id)))
                .filter(project_deadline::Column::ClosedAt.is_null())
                .all(&self.db.read)
                .await?;
            for d in rows {
                if let Some(due) = d.due_at {
                    dues.entry(d.project_id)
                        .or_default()
                        .push((d.deadline_key, due));
                }
            }
        }
        let mut out = Vec::with_capacity(projects.len());
        for p in projects {
            let w = self.workflow_of(p).await?;
            let open = dues.get(&p.id).map(Vec::as_slice).unwrap_or(&[]);
            out.push((p.id, actions_on(&w, p, open, who, now)?));
        }
        Ok(out)
    }
}

/// The engine's answer for every action out of the project's stage: pure, from what was read.
fn actions_on(
    w: &Workflow,
    p: &project::Model,
    dues: &[(String, DateTime<Utc>)],
    who: &Principal,
    now: DateTime<Utc>,
) -> AppResult<Vec<AvailableAction>> {
    let form = parse_form(p)?;
    let counts = parse_counts(p);
    let facts = facts_of(p, &form, &counts, dues);
    Ok(engine::available(w, &facts, &who.actor(w, p), now)
        .into_iter()
        .map(|a| AvailableAction {
            action: a.action.to_string(),
            to: a.to.to_string(),
            allowed: a.allowed,
            reasons: a.reasons,
        })
        .collect())
}

/// An action decided and turned into writes: the change set, and the project as it will be once
/// the change set is applied (the answer is built from it after the write, outside the
/// writer's lock).
#[derive(Debug)]
struct PlannedAction {
    definition: String,
    cs: ChangeSet,
    after: project::Model,
    from: String,
    to: String,
    mails_queued: usize,
}

fn apply_err(e: ApplyError, expected: i32) -> AppError {
    match e {
        ApplyError::Conflict { current } => AppError::Conflict { expected, current },
        ApplyError::Store(msg) => AppError::Store(sea_orm::DbErr::Custom(msg)),
    }
}

/// Decide `input` on the project of `inputs` and build the change set it makes: pure.
/// `Ok(None)` when the action computes the final score and `score` was not given.
fn plan_action(
    w: &Workflow,
    inputs: ActionInputs,
    who: &Principal,
    input: &ActionInput,
    now: DateTime<Utc>,
    score: Option<scoring::Explanation>,
) -> AppResult<Option<PlannedAction>> {
    let p = &inputs.project;
    let expected = input.expected_version.unwrap_or(p.version);
    if expected != p.version {
        return Err(AppError::Conflict {
            expected,
            current: p.version,
        });
    }
    let form = parse_form(p)?;
    let counts = parse_counts(p);
    let dues = &inputs.open_deadlines;
    let facts = facts_of(p, &form, &counts, dues);
    let request = Request {
        action: &input.action,
        comment: input.comment.as_deref(),
        now,
    };
    let outcome = engine::decide(w, &facts, &who.actor(w, p), &request)?;
    let computes_score = outcome
        .effects
        .iter()
        .any(|e| matches!(e, PlannedEffect::ComputeScore));
    if computes_score && score.is_none() {
        return Ok(None);
    }

    let mut changes = ProjectChanges {
        stage: outcome.to.to_string(),
        version: p.version + 1,
        stage_entered_at: if outcome.to != outcome.from {
            now
        } else {
            p.stage_entered_at
        },
        updated_at: now,
        audit_seq: p.audit_seq + 1,
        audit_head: String::new(),
        final_score: p.final_score,
        grade: p.grade.clone(),
        score_detail: p.score_detail.clone(),
    };
    let mut outbox_rows = Vec::new();
    let mut close = Vec::new();
    let mut open: Vec<DeadlineRow> = Vec::new();
    let mut effect_log = Vec::new();
    let mut final_score = None;
    for effect in &outcome.effects {
        match effect {
            PlannedEffect::Notify { roles, template } => {
                let people = eligible(w, p, inputs.people.clone(), roles);
                let rows = notifications(
                    w,
                    p,
                    &people,
                    template,
                    &input.action,
                    who,
                    input.comment.as_deref(),
                    now,
                );
                effect_log.push(json!({"notify": template, "recipients": rows.len()}));
                outbox_rows.extend(rows);
            }
            PlannedEffect::OpenDeadline { deadline, due } => {
                // Re-opening replaces an open one (e.g. a second round of corrections).
                close.push(deadline.to_string());
                open.retain(|d| d.deadline_key != *deadline);
                open.extend(deadline_rows(w, &inputs.open_milestones, deadline, *due));
                effect_log.push(json!({"open_deadline": deadline, "due": due}));
            }
            PlannedEffect::CloseDeadline { deadline } => {
                close.push(deadline.to_string());
                open.retain(|d| d.deadline_key != *deadline);
                effect_log.push(json!({"close_deadline": deadline}));
            }
            PlannedEffect::ComputeScore => {
                if let Some(e) = &score {
                    changes.final_score = Some(e.final_score);
                    changes.grade = e.grade.clone();
                    changes.score_detail = Some(serde_json::to_string(e).unwrap_or_default());
                    effect_log.push(json!({"compute_score": e.final_score, "grade": e.grade}));
                    final_score = Some(e.final_score);
                }
            }
        }
    }
    let (audit_row, head) = audit::chained_row(
        &p.audit_head,
        changes.audit_seq,
        NewEvent {
            project_id: p.id,
            actor_user_id: Some(who.user_id),
            action: &input.action,
            comment: input.comment.as_deref(),
            from_stage: Some(outcome.from),
            to_stage: Some(outcome.to),
            data: json!({"effects": effect_log, "score": final_score}),
            at: now,
        },
    );
    changes.audit_head = head;
    let mails_queued = outbox_rows.len();
    let (from, to) = (outcome.from.to_string(), outcome.to.to_string());
    let cs = ChangeSet {
        project_id: p.id,
        expected_version: p.version,
        at: now,
        project: changes.clone(),
        audit: audit_row,
        close_deadlines: close,
        open_deadlines: open,
        outbox: outbox_rows,
    };
    let after = project::Model {
        stage: changes.stage,
        version: changes.version,
        stage_entered_at: changes.stage_entered_at,
        updated_at: changes.updated_at,
        audit_seq: changes.audit_seq,
        audit_head: changes.audit_head,
        final_score: changes.final_score,
        grade: changes.grade,
        score_detail: changes.score_detail,
        ..inputs.project
    };
    Ok(Some(PlannedAction {
        definition: w.id().to_string(),
        cs,
        after,
        from,
        to,
        mails_queued,
    }))
}

/// An action the user holds a role for, and whether the guards let it through now.
#[derive(Debug, Clone)]
pub struct AvailableAction {
    pub action: String,
    pub to: String,
    pub allowed: bool,
    pub reasons: Vec<engine::Reason>,
}

/// The project's new name from a form edit: a non-empty `title` within the title's limit (an
/// emptied or over-long one leaves the name as it was; the form's own rules report it).
fn form_title(patch: &Map<String, Value>) -> Option<String> {
    let t = patch.get("title")?.as_str()?.trim();
    (!t.is_empty() && t.chars().count() <= MAX_TITLE_CHARS).then(|| t.to_string())
}

async fn open_deadline_dues<C: ConnectionTrait>(
    db: &C,
    id: i64,
) -> AppResult<Vec<(String, DateTime<Utc>)>> {
    Ok(project_deadline::Entity::find()
        .filter(project_deadline::Column::ProjectId.eq(id))
        .filter(project_deadline::Column::ClosedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .filter_map(|d| Some((d.deadline_key, d.due_at?)))
        .collect())
}

/// Escape LIKE's wildcards so that user text matches literally.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The rows that start tracking a deadline: one per open milestone for per-milestone deadlines.
fn deadline_rows(
    w: &Workflow,
    open_milestones: &[milestone::Model],
    deadline: &str,
    due: Option<DateTime<Utc>>,
) -> Vec<DeadlineRow> {
    let per_milestone = w.deadline_index.get(deadline).is_some_and(|i| {
        matches!(
            w.deadlines[*i].due,
            crate::workflow::compile::CompiledDue::MilestoneDue
        )
    });
    let mut rows = Vec::new();
    if per_milestone {
        rows.extend(open_milestones.iter().map(|m| DeadlineRow {
            deadline_key: deadline.to_string(),
            milestone_id: Some(m.id),
            due_at: end_of_day(m.due_date, w.timezone),
        }));
    }
    if !per_milestone || rows.is_empty() {
        rows.push(DeadlineRow {
            deadline_key: deadline.to_string(),
            milestone_id: None,
            due_at: due,
        });
    }
    rows
}

/// One mail per recipient; the unique key makes a repeated event queue nothing twice.
#[allow(clippy::too_many_arguments)]
fn notifications(
    w: &Workflow,
    p: &project::Model,
    users: &[user::Model],
    template: &str,
    action: &str,
    who: &Principal,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<OutboxRow> {
    let seq = p.audit_seq + 1;
    let payload = json!({
        "definition": w.id(),
        "project": {"id": p.id, "title": p.title, "year": p.year},
        "action": action,
        "actor": {"name": who.name, "login": who.login},
        "comment": comment,
        "link": format!("/projects/{}", p.id),
    })
    .to_string();
    users
        .iter()
        .map(|u| OutboxRow {
            // Time first: keys of mails queued together sort together, so a group commit
            // adds them to one or two pages of the unique index instead of one page each.
            unique_key: format!(
                "event:{:013}:{}:{}:{}:{}",
                now.timestamp_millis(),
                p.id,
                seq,
                u.id,
                template
            ),
            recipient_user_id: Some(u.id),
            recipient_email: u.email.clone(),
            language: u.language.clone(),
            template: template.to_string(),
            payload: payload.clone(),
            due_at: now,
        })
        .collect()
}

/// Start tracking a deadline inside a sea-orm transaction (project creation).
async fn open_deadline(
    txn: &DatabaseTransaction,
    w: &Workflow,
    p: &project::Model,
    deadline: &str,
    due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let open_milestones = milestone::Entity::find()
        .filter(milestone::Column::ProjectId.eq(p.id))
        .filter(milestone::Column::DoneAt.is_null())
        .all(txn)
        .await?;
    let rows: Vec<project_deadline::ActiveModel> =
        deadline_rows(w, &open_milestones, deadline, due)
            .into_iter()
            .map(|d| project_deadline::ActiveModel {
                project_id: Set(p.id),
                deadline_key: Set(d.deadline_key),
                milestone_id: Set(d.milestone_id),
                due_at: Set(d.due_at),
                opened_at: Set(now),
                closed_at: Set(None),
                ..Default::default()
            })
            .collect();
    project_deadline::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// The attachments named by the fields of `stage` present in `values` must be attachments of
/// this project (none exist before it is created), of a type and size the field takes. Run on
/// every save inside the save's transaction, so that a guard never counts a foreign or
/// missing file as present.
pub(crate) async fn verify_attachments<C: sea_orm::ConnectionTrait>(
    conn: &C,
    w: &Workflow,
    stage: &crate::workflow::model::Stage,
    values: &Map<String, Value>,
    project_id: Option<i64>,
) -> AppResult<()> {
    let fields: Vec<(&crate::workflow::model::Field, &Value)> = stage
        .form
        .iter()
        .filter_map(|f| values.get(f.id.as_str()).map(|v| (f, v)))
        .filter(|(f, _)| {
            matches!(
                f.field_type.get(),
                FieldType::Attachments | FieldType::GoalReview
            )
        })
        .collect();
    let ids: Vec<i64> = fields
        .iter()
        .flat_map(|(f, v)| attachment_refs(f, v))
        .filter_map(|(_, id)| id.parse::<i64>().ok())
        .collect();
    let stored: HashMap<String, StoredAttachment> = match project_id {
        Some(pid) if !ids.is_empty() => crate::store::entity::attachment::Entity::find()
            .filter(crate::store::entity::attachment::Column::Id.is_in(ids))
            .filter(crate::store::entity::attachment::Column::ProjectId.eq(pid))
            .all(conn)
            .await?
            .into_iter()
            .map(|a| {
                (
                    a.id.to_string(),
                    StoredAttachment {
                        file_name: a.file_name,
                        size_bytes: a.size_bytes.max(0) as u64,
                    },
                )
            })
            .collect(),
        _ => HashMap::new(),
    };
    let problems: Vec<FieldProblem> = fields
        .iter()
        .flat_map(|(f, v)| {
            let max = w.attachment_limits.get(f.id.as_str()).copied();
            check_attachments(f, v, &stored, max)
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AppError::InvalidForm(problems))
    }
}

/// Replace the project's milestones by the plan in its form, keeping progress by position.
/// Returns (total, done). Owners must be users of the project's organisation.
pub(crate) async fn sync_milestones(
    txn: &DatabaseTransaction,
    w: &Workflow,
    p: &project::Model,
    stage: &crate::workflow::model::Stage,
    form: &Map<String, Value>,
    now: DateTime<Utc>,
) -> AppResult<(i32, i32)> {
    let _ = w;
    let has_field = stage
        .form
        .iter()
        .any(|f| *f.field_type.get() == FieldType::Milestones);
    if !has_field {
        return Ok((p.milestones_total, p.milestones_done));
    }
    let plans: Vec<MilestonePlan> = milestone_plans(stage, form);
    let logins: Vec<String> = plans.iter().map(|m| m.owner.clone()).collect();
    let owners: HashMap<String, user::Model> = user::Entity::find()
        .filter(user::Column::Login.is_in(logins))
        .all(txn)
        .await?
        .into_iter()
        .map(|u| (u.login.clone(), u))
        .collect();
    let field_id = stage
        .form
        .iter()
        .find(|f| *f.field_type.get() == FieldType::Milestones)
        .map(|f| f.id.to_string())
        .unwrap_or_default();
    let mut problems = Vec::new();
    for (i, m) in plans.iter().enumerate() {
        match owners.get(&m.owner) {
            Some(u) if u.organisation_id == p.organisation_id => {}
            Some(_) => problems.push(FieldProblem {
                field: field_id.clone(),
                kind: FieldProblemKind::BadItem {
                    index: i,
                    detail: ItemProblem::NotAMember(m.owner.clone()),
                },
            }),
            None => problems.push(FieldProblem {
                field: field_id.clone(),
                kind: FieldProblemKind::BadItem {
                    index: i,
                    detail: ItemProblem::NoSuchUser(m.owner.clone()),
                },
            }),
        }
    }
    if !problems.is_empty() {
        return Err(AppError::InvalidForm(problems));
    }
    let existing = milestone::Entity::find()
        .filter(milestone::Column::ProjectId.eq(p.id))
        .all(txn)
        .await?;
    let by_pos: HashMap<i32, milestone::Model> =
        existing.into_iter().map(|m| (m.position, m)).collect();
    let mut done = 0;
    for (i, plan) in plans.iter().enumerate() {
        let pos = i as i32;
        let owner = owners.get(&plan.owner).map(|u| u.id);
        match by_pos.get(&pos) {
            Some(m) => {
                if m.done_at.is_some() {
                    done += 1;
                }
                let mut a: milestone::ActiveModel = m.clone().into();
                a.title = Set(plan.title.clone());
                a.goal = Set(plan.goal.clone());
                a.owner_login = Set(plan.owner.clone());
                a.owner_user_id = Set(owner);
                a.start_date = Set(plan.start);
                a.due_date = Set(plan.due);
                a.weight = Set(plan.weight);
                a.updated_at = Set(now);
                a.update(txn).await?;
            }
            None => {
                milestone::ActiveModel {
                    project_id: Set(p.id),
                    position: Set(pos),
                    title: Set(plan.title.clone()),
                    goal: Set(plan.goal.clone()),
                    owner_login: Set(plan.owner.clone()),
                    owner_user_id: Set(owner),
                    start_date: Set(plan.start),
                    due_date: Set(plan.due),
                    weight: Set(plan.weight),
                    percent: Set(0),
                    done_at: Set(None),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(txn)
                .await?;
            }
        }
    }
    milestone::Entity::delete_many()
        .filter(milestone::Column::ProjectId.eq(p.id))
        .filter(milestone::Column::Position.gte(plans.len() as i32))
        .exec(txn)
        .await?;
    Ok((plans.len() as i32, done))
}

/// Gather the inputs of the final score and compute it, as of `now`: a milestone still open
/// past its due date counts as overdue, and so does a deadline still open past its due time.
pub(crate) async fn compute_score<C: ConnectionTrait>(
    txn: &C,
    w: &Workflow,
    p: &project::Model,
    now: DateTime<Utc>,
) -> AppResult<scoring::Explanation> {
    let Some(rubric) = &w.definition.scoring else {
        return Err(AppError::Definition(
            "the workflow has no scoring section".into(),
        ));
    };
    let sheets = score_sheet::Entity::find()
        .filter(score_sheet::Column::ProjectId.eq(p.id))
        .all(txn)
        .await?
        .into_iter()
        .map(|s| scoring::Sheet {
            part: s.part,
            scorer: s.scorer_user_id,
            criteria: serde_json::from_str(&s.criteria).unwrap_or_default(),
        })
        .collect();
    let mut appraisals = BTreeMap::new();
    for a in appraisal::Entity::find()
        .filter(appraisal::Column::ProjectId.eq(p.id))
        .all(txn)
        .await?
    {
        *appraisals.entry(a.rating).or_insert(0u32) += 1;
    }
    let mut milestones = milestone::Entity::find()
        .filter(milestone::Column::ProjectId.eq(p.id))
        .all(txn)
        .await?;
    milestones.sort_by_key(|m| m.position);
    let day = |t: DateTime<Utc>| t.with_timezone(&w.timezone).format("%Y-%m-%d").to_string();
    let overdue: Vec<String> = milestones
        .iter()
        .filter_map(|m| {
            let due = end_of_day(m.due_date, w.timezone).unwrap_or(now);
            match m.done_at {
                Some(done) if done > due => Some(format!(
                    "{} (due {}, done {})",
                    m.title,
                    m.due_date,
                    day(done)
                )),
                None if now > due => Some(format!("{} (due {}, not done)", m.title, m.due_date)),
                _ => None,
            }
        })
        .collect();
    let deadlines = project_deadline::Entity::find()
        .filter(project_deadline::Column::ProjectId.eq(p.id))
        .filter(project_deadline::Column::MilestoneId.is_null())
        .all(txn)
        .await?;
    // A missed deadline costs points only when its definition names a deduction for it.
    let mut missed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in &deadlines {
        let Some(due) = d.due_at else { continue };
        let late = d.closed_at.map(|c| c > due).unwrap_or(now > due);
        let definition = w
            .deadline_index
            .get(&d.deadline_key)
            .map(|i| &w.definition.deadlines[*i]);
        if let (true, Some(dl)) = (late, definition) {
            if let Some(ded) = &dl.deduction {
                let when = match d.closed_at {
                    Some(c) => format!("due {}, met {}", day(due), day(c)),
                    None => format!("due {}, still open", day(due)),
                };
                missed
                    .entry(ded.to_string())
                    .or_default()
                    .push(format!("{} ({when})", dl.id));
            }
        }
    }
    let mut manual: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in manual_deduction::Entity::find()
        .filter(manual_deduction::Column::ProjectId.eq(p.id))
        .order_by_asc(manual_deduction::Column::Id)
        .all(txn)
        .await?
    {
        manual.entry(m.deduction).or_default().push(m.reason);
    }
    let inputs = scoring::Inputs {
        sheets,
        appraisals,
        overdue_milestones: overdue,
        missed_deadlines: missed,
        manual,
    };
    Ok(scoring::final_score(rubric, &inputs))
}
