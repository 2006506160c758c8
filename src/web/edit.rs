//! Filling in a project's form in the browser: the application (a new project, from the initial
//! stage's form) and the form of the stage a project is in, generated from the definition. A
//! save that breaks the form's rules shows the page again with an error summary and each
//! message beside its field, keeping what was typed; a save over someone else's newer version
//! shows both versions side by side instead of losing either.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::ctx::{done, Page, Posted};
use super::error::{respond, PageError, PageResult};
use super::forms::{field_views, labelled, read_posted, readable, FileChoice, FormContext, Person};
use crate::app::projects::NewProject;
use crate::app::{AppError, Principal};
use crate::store::entity::project;
use crate::workflow::form::FieldProblem;
use crate::workflow::model::{Field, Stage};
use crate::workflow::Workflow;

/// Who can be named and which files can be chosen on a project's form.
pub(super) async fn context(
    page: &Page,
    organisation_id: i64,
    p: Option<&project::Model>,
) -> FormContext {
    let app = &page.state.app;
    let people = app
        .organisation_members(organisation_id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| Person {
            login: u.login,
            name: u.name,
        })
        .collect();
    let (files, whole) = match p {
        Some(p) => (
            app.attachments(p.id)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|a| FileChoice {
                    id: a.id,
                    name: a.file_name,
                })
                .collect(),
            serde_json::from_str(&p.form_data).unwrap_or_default(),
        ),
        None => (Vec::new(), Map::new()),
    };
    FormContext {
        people,
        files,
        whole,
    }
}

fn summary(problems: &[FieldProblem], fields: &[Field], lang: &str) -> Vec<Value> {
    problems
        .iter()
        .map(|p| json!({"field": format!("f-{}", p.field), "message": labelled(p, fields, lang)}))
        .collect()
}

/// A long form's task list (the GOV.UK pattern): each field with a link to it and whether it
/// is answered, still to do (required) or optional; what is saved, or what was just typed when
/// a save was refused. A form of a few fields needs none.
fn task_list(
    page: &Page,
    fields: &[Field],
    values: &Map<String, Value>,
    ctx: &FormContext,
) -> Option<Value> {
    const LONG_FORM: usize = 5;
    if fields.len() < LONG_FORM {
        return None;
    }
    let answers = super::answers::answer_views(fields, values, ctx, page.lang.code());
    let items: Vec<Value> = answers
        .iter()
        .map(|a| {
            let (state, key) = match (a["empty"] == true, a["required"] == true) {
                (false, _) => ("done", "tasks.done"),
                (true, true) => ("todo", "tasks.todo"),
                (true, false) => ("optional", "tasks.optional"),
            };
            json!({"label": a["label"], "anchor": a["anchor"], "state": state, "status": page.t(key)})
        })
        .collect();
    let done = items.iter().filter(|i| i["state"] == "done").count();
    Some(json!({"items": items, "done": done, "total": items.len()}))
}

struct FormPage<'a> {
    status: StatusCode,
    title: String,
    action: String,
    stage: &'a Stage,
    values: &'a Map<String, Value>,
    problems: &'a [FieldProblem],
    ctx: FormContext,
    version: Option<i32>,
    extra: Value,
    /// A refusal that belongs to no one field (shown at the top, linked to the first field).
    general: Option<String>,
}

async fn render_form(page: &Page, f: FormPage<'_>) -> Response {
    let lang = page.lang.code();
    let mut errors = summary(f.problems, &f.stage.form, lang);
    if let Some(g) = &f.general {
        let first = f
            .stage
            .form
            .first()
            .map(|x| format!("f-{}", x.id))
            .unwrap_or_default();
        errors.insert(0, json!({"field": first, "message": g}));
    }
    let mut data = json!({
        "action": f.action,
        "stage": f.stage.name.get(lang),
        "stage_description": f.stage.description.as_ref().map(|d| d.get(lang).to_string()),
        "fields": field_views(&f.stage.form, f.values, f.problems, &f.ctx, lang),
        "tasks": task_list(page, &f.stage.form, f.values, &f.ctx),
        "errors": errors,
        "version": f.version,
    });
    if let (Value::Object(d), Value::Object(x)) = (&mut data, f.extra) {
        d.extend(x);
    }
    page.render(f.status, "form", &f.title, data).await
}

// --- the form of a project's current stage ------------------------------------------------

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn edit_page(page: Page, Path(id): Path<i64>, Query(q): Query<DoneQuery>) -> Response {
    let notice = page.notice(q.done.as_deref());
    let r = edit_view(&page, id, notice).await;
    respond(&page, r).await
}

async fn editable(
    page: &Page,
    who: &Principal,
    id: i64,
) -> Result<(project::Model, std::sync::Arc<Workflow>), PageError> {
    let s = &page.state;
    let cached = s.app.project_for(who, id).await?;
    let p = s.app.project(cached.id).await?;
    let w = s.app.workflow_of(&p).await?;
    crate::workflow::engine::may_edit(&w, &p.stage, &who.actor(&w, &p))
        .map_err(|r| PageError::with_workflow(AppError::Forbidden(r), Some(w.clone())))?;
    Ok((p, w))
}

async fn edit_view(page: &Page, id: i64, notice: Option<String>) -> PageResult {
    let who = page.require_user()?;
    let (p, w) = editable(page, &who, id).await?;
    let stage = w.stage(&p.stage).ok_or(PageError::NotFound)?.clone();
    let values: Map<String, Value> = serde_json::from_str(&p.form_data).unwrap_or_default();
    let ctx = context(page, p.organisation_id, Some(&p)).await;
    Ok(render_form(
        page,
        FormPage {
            status: StatusCode::OK,
            title: format!("{} · {}", p.title, stage.name.get(page.lang.code())),
            action: format!("/projects/{id}/form"),
            stage: &stage,
            values: &values,
            problems: &[],
            ctx,
            version: Some(p.version),
            extra: json!({"project": {"id": p.id, "title": p.title}, "notice": notice}),
            general: None,
        },
    )
    .await)
}

pub async fn save(Path(id): Path<i64>, posted: Posted<Vec<(String, String)>>) -> Response {
    let Posted { page, form } = posted;
    let r = save_form(&page, id, form).await;
    respond(&page, r).await
}

async fn save_form(page: &Page, id: i64, pairs: Vec<(String, String)>) -> PageResult {
    let who = page.require_user()?;
    let (p, w) = editable(page, &who, id).await?;
    let stage = w.stage(&p.stage).ok_or(PageError::NotFound)?.clone();
    let version: i32 = pairs
        .iter()
        .find(|(k, _)| k == "version")
        .and_then(|(_, v)| v.parse().ok())
        .ok_or_else(|| PageError::BadForm("version".into()))?;
    let values = read_posted(&stage.form, &pairs);
    let lang = page.lang.code();
    match page
        .state
        .app
        .edit_form(&who, id, version, values.clone(), Utc::now())
        .await
    {
        Ok(_) => Ok(done(&after_save(id, &pairs), "form_saved")),
        Err(AppError::InvalidForm(problems)) => {
            let mut shown: Map<String, Value> =
                serde_json::from_str(&p.form_data).unwrap_or_default();
            shown.extend(values);
            let ctx = context(page, p.organisation_id, Some(&p)).await;
            Ok(render_form(
                page,
                FormPage {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    title: format!("{} · {}", p.title, stage.name.get(lang)),
                    action: format!("/projects/{id}/form"),
                    stage: &stage,
                    values: &shown,
                    problems: &problems,
                    ctx,
                    version: Some(version),
                    extra: json!({"project": {"id": p.id, "title": p.title}}),
                    general: None,
                },
            )
            .await)
        }
        Err(AppError::Conflict { current, .. }) => {
            Ok(conflict_page(page, &p, &stage, &values, &pairs, current).await)
        }
        Err(e) => Err(PageError::with_workflow(e, Some(w))),
    }
}

/// Where a saved form leads: the answers to check when the user asked for them ("save and
/// check", the step before a submission), else the project page.
fn after_save(id: i64, pairs: &[(String, String)]) -> String {
    if pairs.iter().any(|(k, v)| k == "then" && v == "check") {
        format!("/projects/{id}/check")
    } else {
        format!("/projects/{id}")
    }
}

/// "Someone else changed this": each field whose stored value differs from what was sent, both
/// shown; one button saves the sent values over the newer version, a link drops them.
async fn conflict_page(
    page: &Page,
    p: &project::Model,
    stage: &Stage,
    mine: &Map<String, Value>,
    pairs: &[(String, String)],
    current: i32,
) -> Response {
    let lang = page.lang.code();
    let theirs: Map<String, Value> = serde_json::from_str(&p.form_data).unwrap_or_default();
    let differences: Vec<Value> = stage
        .form
        .iter()
        .filter(|f| norm(mine.get(f.id.as_str())) != norm(theirs.get(f.id.as_str())))
        .map(|f: &Field| {
            json!({
                "label": f.label.get(lang),
                "theirs": readable(f, theirs.get(f.id.as_str()), lang),
                "mine": readable(f, mine.get(f.id.as_str()), lang),
            })
        })
        .collect();
    let resend: Vec<Value> = pairs
        .iter()
        .filter(|(k, _)| k.starts_with("f."))
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    page.render(
        StatusCode::CONFLICT,
        "conflict",
        &page.t("conflict.title"),
        json!({
            "project": {"id": p.id, "title": p.title},
            "differences": differences,
            "resend": resend,
            "version": current,
        }),
    )
    .await
}

fn norm(v: Option<&Value>) -> Value {
    match v {
        None => Value::Null,
        Some(v) => v.clone(),
    }
}

// --- a new application --------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct NewQuery {
    definition: Option<String>,
}

/// Whether `who` may start an application of `w`: edit its initial stage's form as their own
/// organisation.
pub fn may_start(w: &Workflow, who: &Principal) -> Result<(), crate::workflow::engine::Refusal> {
    let actor = crate::workflow::engine::Actor {
        roles: w.roles(who.roles.iter().map(String::as_str)),
        relation: crate::workflow::engine::Relation::Own,
    };
    crate::workflow::engine::may_edit(w, w.initial_stage().id.as_str(), &actor)
}

/// The definition a new application follows, and whether the user may start one.
fn definition_for(
    page: &Page,
    who: &Principal,
    wanted: Option<&str>,
) -> Result<std::sync::Arc<Workflow>, PageError> {
    let all = page.state.app.registry.all_current();
    let may_start = |w: &Workflow| may_start(w, who);
    // The definition asked for, or else the first one this user may start.
    let pick = match wanted {
        Some(id) => all.iter().find(|v| v.workflow.id() == id),
        None => all
            .iter()
            .find(|v| may_start(&v.workflow).is_ok())
            .or(all.first()),
    }
    .ok_or(PageError::NotFound)?;
    let w = pick.workflow.clone();
    may_start(&w).map_err(|r| PageError::with_workflow(AppError::Forbidden(r), Some(w.clone())))?;
    Ok(w)
}

pub async fn new_page(page: Page, Query(q): Query<NewQuery>) -> Response {
    let r = new_view(&page, q).await;
    respond(&page, r).await
}

async fn new_view(page: &Page, q: NewQuery) -> PageResult {
    let who = page.require_user()?;
    let w = definition_for(page, &who, q.definition.as_deref())?;
    let stage = w.initial_stage().clone();
    let ctx = context(page, who.organisation_id, None).await;
    let year = Utc::now().with_timezone(&w.timezone).year();
    Ok(render_new(
        page,
        NewForm {
            w: &w,
            stage: &stage,
            values: &Map::new(),
            problems: &[],
            general: None,
            ctx,
            status: StatusCode::OK,
            year,
            title: "",
        },
    )
    .await)
}

struct NewForm<'a> {
    w: &'a Workflow,
    stage: &'a Stage,
    values: &'a Map<String, Value>,
    problems: &'a [FieldProblem],
    general: Option<String>,
    ctx: FormContext,
    status: StatusCode,
    year: i32,
    title: &'a str,
}

async fn render_new(page: &Page, n: NewForm<'_>) -> Response {
    let NewForm {
        w,
        stage,
        values,
        problems,
        general,
        ctx,
        status,
        year,
        title,
    } = n;
    let lang = page.lang.code();
    let has_title = stage.form.iter().any(|f| f.id.as_str() == "title");
    render_form(
        page,
        FormPage {
            status,
            title: page.t("new.title"),
            action: format!("/projects/new?definition={}", w.id()),
            stage,
            values,
            problems,
            ctx,
            version: None,
            extra: json!({
                "new": true,
                "definition": w.id(),
                "definition_name": w.definition.name.get(lang),
                "year": year,
                "own_title": !has_title,
                "title_value": title,
            }),
            general,
        },
    )
    .await
}

pub async fn create(Query(q): Query<NewQuery>, posted: Posted<Vec<(String, String)>>) -> Response {
    let Posted { page, form } = posted;
    let r = create_project(&page, q, form).await;
    respond(&page, r).await
}

async fn create_project(page: &Page, q: NewQuery, pairs: Vec<(String, String)>) -> PageResult {
    let who = page.require_user()?;
    let w = definition_for(page, &who, q.definition.as_deref())?;
    let stage = w.initial_stage().clone();
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
    };
    let this_year = Utc::now().with_timezone(&w.timezone).year();
    let year = get("year")
        .and_then(|y| y.parse::<i32>().ok())
        .filter(|y| (2000..=2100).contains(y))
        .unwrap_or(this_year);
    let mut values = read_posted(&stage.form, &pairs);
    // Empty values are not part of a new form.
    values.retain(|_, v| !v.is_null());
    let title = values
        .get("title")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| get("title"))
        .unwrap_or_default();
    let made = page
        .state
        .app
        .create_project(
            &who,
            NewProject {
                definition: w.id().to_string(),
                title: title.clone(),
                year,
                organisation_id: None,
                form: values.clone(),
            },
            Utc::now(),
        )
        .await;
    match made {
        Ok(p) => Ok(done(&after_save(p.id, &pairs), "created")),
        Err(e @ (AppError::InvalidForm(_) | AppError::Invalid(_))) => {
            let (problems, general) = match e {
                AppError::InvalidForm(ps) => (ps, None),
                // A rule of the project itself (the title's length, say).
                AppError::Invalid(msg) => (Vec::new(), Some(msg)),
                _ => (Vec::new(), None),
            };
            let ctx = context(page, who.organisation_id, None).await;
            Ok(render_new(
                page,
                NewForm {
                    w: &w,
                    stage: &stage,
                    values: &values,
                    problems: &problems,
                    general,
                    ctx,
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    year,
                    title: &title,
                },
            )
            .await)
        }
        Err(e) => Err(PageError::with_workflow(e, Some(w))),
    }
}
