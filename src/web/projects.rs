//! The project list, the project page (stage bar, the actions one may take now and why others
//! are not possible, milestones, history) and taking an action from it.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::ctx::{done, Page, Posted};
use super::error::{respond, PageError, PageResult};
use crate::app::projects::ActionInput;
use crate::store::entity::project;
use crate::workflow::model::StageKind;
use crate::workflow::Workflow;

/// Projects as rows of a table (title, stage in the reader's language, organisation,
/// milestones done, score): the organisations' names read in one query.
pub async fn project_rows<'a>(
    page: &Page,
    projects: impl IntoIterator<Item = &'a project::Model>,
) -> Vec<Value> {
    let projects: Vec<&project::Model> = projects.into_iter().collect();
    let lang = page.lang.code();
    let orgs = page
        .state
        .app
        .organisation_names(projects.iter().map(|p| p.organisation_id))
        .await
        .unwrap_or_default();
    let mut rows = Vec::with_capacity(projects.len());
    for p in projects {
        let stage = match page.state.app.workflow_of(p).await {
            Ok(w) => w
                .stage(&p.stage)
                .map(|s| s.name.get(lang).to_string())
                .unwrap_or_else(|| p.stage.clone()),
            Err(_) => p.stage.clone(),
        };
        rows.push(json!({
            "id": p.id,
            "title": p.title,
            "year": p.year,
            "stage": stage,
            "stage_id": p.stage,
            "organisation": orgs.get(&p.organisation_id).cloned().unwrap_or_default(),
            "milestones": format!("{}/{}", p.milestones_done, p.milestones_total),
            "final_score": p.final_score,
            "grade": p.grade,
        }));
    }
    rows
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    year: Option<i32>,
    page: Option<u64>,
}

const PER_PAGE: u64 = 50;

pub async fn list(page: Page, Query(q): Query<ListQuery>) -> Response {
    let r = list_page(&page, q).await;
    respond(&page, r).await
}

async fn list_page(page: &Page, q: ListQuery) -> PageResult {
    let who = page.require_user()?;
    let mut filter = page.state.app.visible_filter(&who).await?;
    let text = q
        .q
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.chars().count() <= 200 && !t.chars().any(char::is_control))
        .map(str::to_string);
    filter.text = text.clone();
    filter.year = q.year.filter(|y| (2000..=2100).contains(y));
    let n = q.page.unwrap_or(1).clamp(1, 100_000);
    filter.offset = (n - 1) * PER_PAGE;
    filter.limit = PER_PAGE;
    let (total, rows) = page.state.app.list_projects(&filter).await?;
    let items = project_rows(page, &rows).await;
    let pages = total.div_ceil(PER_PAGE).max(1);
    let link = |k: u64| {
        let mut s = format!("/projects?page={k}");
        if let Some(t) = &text {
            s.push_str("&q=");
            s.push_str(
                &percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC)
                    .to_string(),
            );
        }
        if let Some(y) = filter.year {
            s.push_str(&format!("&year={y}"));
        }
        s
    };
    let may_start = may_start_application(page, &who);
    Ok(page
        .render(
            StatusCode::OK,
            "projects",
            &page.t("projects.title"),
            json!({
                "items": items,
                "may_start": may_start,
                "total": total,
                "q": text,
                "year": filter.year,
                "page": n,
                "pages": pages,
                "prev": (n > 1).then(|| link(n - 1)),
                "next": (n < pages).then(|| link(n + 1)),
            }),
        )
        .await)
}

/// Whether the user may start an application of some current definition.
pub fn may_start_application(page: &Page, who: &crate::app::Principal) -> bool {
    page.state
        .app
        .registry
        .all_current()
        .iter()
        .any(|v| super::edit::may_start(&v.workflow, who).is_ok())
}

/// The stages as a bar: the declared order of the ordinary stages, then the end the project
/// reached (or the one its last ordinary stage leads to).
pub fn stage_bar(w: &Workflow, current: &str, lang: &str) -> Vec<Value> {
    let stages = &w.definition.stages;
    let cur = w.stage_index.get(current).copied();
    let mut shown: Vec<usize> = (0..stages.len())
        .filter(|i| *stages[*i].kind.get() != StageKind::Terminal)
        .collect();
    let end = match cur {
        Some(c) if *stages[c].kind.get() == StageKind::Terminal => Some(c),
        _ => shown.last().and_then(|last| {
            w.outgoing[*last]
                .iter()
                .map(|t| w.transitions[*t].to)
                .find(|to| *stages[*to].kind.get() == StageKind::Terminal)
        }),
    };
    shown.extend(end);
    let pos = cur.and_then(|c| shown.iter().position(|s| *s == c));
    shown
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let state = match pos {
                Some(p) if k < p => "done",
                Some(p) if k == p => "current",
                _ => "upcoming",
            };
            json!({
                "n": k + 1,
                "name": stages[*i].name.get(lang),
                "state": state,
                "current": state == "current",
            })
        })
        .collect()
}

pub async fn show(page: Page, Path(id): Path<i64>, Query(q): Query<DoneQuery>) -> Response {
    let r = project_page(&page, id, q.done.as_deref(), None).await;
    respond(&page, r).await
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

/// What was wrong with a form posted from the project page: the form (`at`, the id its inputs
/// start with), the input to go to, and the messages shown beside it.
pub struct FormProblem {
    pub at: String,
    pub field: String,
    pub messages: Vec<String>,
    /// The answer's status: 422 for what was typed, the use case's own (403, 409…) for a
    /// refusal.
    pub status: StatusCode,
}

impl FormProblem {
    pub fn new(at: &str, field: &str, messages: Vec<String>) -> FormProblem {
        FormProblem {
            at: at.to_string(),
            field: field.to_string(),
            messages,
            status: StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// A use case's refusal shown beside the form it came from, with its status.
    pub fn refused(at: &str, field: &str, x: super::error::Explained) -> FormProblem {
        FormProblem {
            status: x.status,
            ..FormProblem::new(at, field, x.lines())
        }
    }
}

/// The project page again with the words of `key` beside the input `field` of the form `at`
/// (what was typed is wrong: 422).
pub async fn mistyped(page: &Page, id: i64, at: &str, field: &str, key: &str) -> PageResult {
    let msg = page.t(key);
    project_page(page, id, None, Some(FormProblem::new(at, field, vec![msg]))).await
}

/// The project page again with a use case's refusal beside the form `at`, at the refusal's
/// status.
pub async fn refused_beside(
    page: &Page,
    p: &project::Model,
    at: &str,
    field: &str,
    e: crate::app::AppError,
) -> PageResult {
    let w = page.state.app.workflow_of(p).await.ok();
    let x = super::error::explain(e, page.lang, w.as_deref());
    project_page(page, p.id, None, Some(FormProblem::refused(at, field, x))).await
}

/// The project page; with a problem, the page again at 422 with the form's messages beside it
/// and in the error summary.
pub async fn project_page(
    page: &Page,
    id: i64,
    notice: Option<&str>,
    problem: Option<FormProblem>,
) -> PageResult {
    project_page_with(page, id, notice, problem, None).await
}

/// The actions one may take now and those one may not (with the engine's reasons), as the
/// pages show them. `checks`: the action submits the stage's form, so the pages lead to the
/// answers to check first.
pub fn action_views(
    w: &Workflow,
    stage: &str,
    actions: &[crate::app::projects::AvailableAction],
    lang: &str,
) -> (Vec<Value>, Vec<Value>) {
    let view = |a: &crate::app::projects::AvailableAction| {
        let t = w.transition(&a.action);
        json!({
            "id": a.action,
            "name": t.map(|t| t.name.get(lang).to_string()).unwrap_or_else(|| a.action.clone()),
            "to": w.stage(&a.to).map(|s| s.name.get(lang).to_string()).unwrap_or_default(),
            "comment_required": t.is_some_and(|t| matches!(t.comment, crate::workflow::model::CommentRule::Required)),
            "reasons": a.reasons.iter().map(|r| r.message(w, lang)).collect::<Vec<_>>(),
            "checks": t.is_some_and(|t| t.submits_form(stage)),
        })
    };
    let (allowed, refused): (Vec<_>, Vec<_>) = actions.iter().partition(|a| a.allowed);
    (
        allowed.into_iter().map(view).collect(),
        refused.into_iter().map(view).collect(),
    )
}

/// The project page, with a score sheet's problems shown in its form.
pub async fn project_page_with(
    page: &Page,
    id: i64,
    notice: Option<&str>,
    problem: Option<FormProblem>,
    sheet: Option<super::acceptance::SheetProblem>,
) -> PageResult {
    let who = page.require_user()?;
    let s = &page.state;
    let lang = page.lang.code();
    let cached = s.app.project_for(&who, id).await?;
    let (p, w, actions) = s.app.available_actions(&who, id, Utc::now()).await?;
    let _ = cached;
    let stage = w.stage(&p.stage);
    let can_edit = stage.is_some_and(|s| !s.form.is_empty())
        && crate::workflow::engine::may_edit(&w, &p.stage, &who.actor(&w, &p)).is_ok();
    let (allowed, refused) = action_views(&w, &p.stage, &actions, lang);
    let implementation =
        super::implementation::section(page, &who, &p, &w, problem.as_ref()).await?;
    let acceptance =
        super::acceptance::section(page, &who, &p, &w, problem.as_ref(), sheet.as_ref()).await?;
    let mut errors: Vec<Value> = problem
        .iter()
        .flat_map(|x| {
            x.messages
                .iter()
                .map(|m| json!({"field": format!("{}-{}", x.at, x.field), "message": m}))
        })
        .collect();
    if let Some(sh) = &sheet {
        for (c, m) in &sh.problems {
            errors.push(json!({"field": format!("sheet-{}-{c}", sh.part), "message": m}));
        }
        for m in &sh.other {
            errors.push(json!({"field": format!("sheet-{}", sh.part), "message": m}));
        }
    }
    let failed = match (&problem, &sheet) {
        (Some(x), _) => Some(x.status),
        (None, Some(sh)) => Some(sh.status),
        (None, None) => None,
    };
    let prints: Vec<Value> = super::print::printable(&w, &p)
        .into_iter()
        .map(
            |st| json!({"stage": st.id.as_str(), "title": super::print::print_title(page, &w, st)}),
        )
        .collect();
    let history = s.app.history(id).await?;
    let names = user_names(page, history.iter().filter_map(|e| e.actor_user_id)).await;
    let history: Vec<Value> = history
        .iter()
        .rev()
        .map(|e| {
            let action = w
                .transition(&e.action)
                .map(|t| t.name.get(lang).to_string())
                .unwrap_or_else(|| page.t(&format!("event.{}", e.action)));
            json!({
                "at": e.at.to_rfc3339(),
                "actor": e.actor_user_id.and_then(|u| names.get(&u).cloned()).unwrap_or_else(|| page.t("history.system")),
                "action": action,
                "comment": e.comment,
                "to": e.to_stage.as_deref().and_then(|t| w.stage(t)).map(|s| s.name.get(lang).to_string()),
            })
        })
        .collect();
    let org = s
        .app
        .organisation_name(p.organisation_id)
        .await
        .unwrap_or_default();
    let notice = page.notice(notice);
    let status = failed.unwrap_or(StatusCode::OK);
    Ok(page
        .render(
            status,
            "project",
            &p.title,
            json!({
                "project": {
                    "id": p.id, "title": p.title, "year": p.year, "version": p.version,
                    "organisation": org,
                    "stage": stage.map(|s| s.name.get(lang).to_string()).unwrap_or_else(|| p.stage.clone()),
                    "stage_description": stage.and_then(|s| s.description.as_ref()).map(|d| d.get(lang).to_string()),
                    "final_score": p.final_score, "grade": p.grade,
                    "milestones_done": p.milestones_done, "milestones_total": p.milestones_total,
                    "appraisal_count": p.appraisal_count,
                },
                "stages": stage_bar(&w, &p.stage, lang),
                "can_edit": can_edit,
                "allowed": allowed,
                "refused": refused,
                "work": implementation,
                "scripts": if acceptance["parts"].as_array().is_some_and(|ps| ps.iter().any(|p| !p["form"].is_null())) { json!(["score.js"]) } else { json!([]) },
                "acc": acceptance,
                "errors": errors,
                "history": history,
                "prints": prints,
                "notice": notice,
            }),
        )
        .await)
}

pub(crate) async fn user_names(
    page: &Page,
    ids: impl Iterator<Item = i64>,
) -> std::collections::HashMap<i64, String> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let ids: Vec<i64> = ids.collect();
    crate::store::entity::user::Entity::find()
        .filter(crate::store::entity::user::Column::Id.is_in(ids))
        .all(&page.state.app.db.read)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect()
}

#[derive(Deserialize)]
pub struct ActionForm {
    action: String,
    version: i32,
    #[serde(default)]
    comment: String,
}

pub async fn act(Path(id): Path<i64>, posted: Posted<ActionForm>) -> Response {
    let Posted { page, form } = posted;
    let r = take(&page, id, form).await;
    respond(&page, r).await
}

async fn take(page: &Page, id: i64, form: ActionForm) -> PageResult {
    let who = page.require_user()?;
    let s = &page.state;
    let p = s.app.project_for(&who, id).await?;
    let w = s.app.workflow_of(&p).await.ok();
    let comment = Some(form.comment.trim().to_string()).filter(|c| !c.is_empty());
    s.app
        .take_action(
            &who,
            id,
            ActionInput {
                action: form.action,
                comment,
                expected_version: Some(form.version),
            },
            Utc::now(),
        )
        .await
        .map_err(|e| PageError::with_workflow(e, w))?;
    Ok(done(&format!("/projects/{id}"), "action_taken"))
}
