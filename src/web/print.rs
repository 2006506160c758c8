//! Printable forms on A4: the project charter (立项书, the initial stage's application with
//! its milestones and team) and the report of any later stage with a form (the self-check
//! report, the mid-term evaluation), each with the record of decisions and signature lines
//! to sign and stamp. Plain HTML with print CSS: the browser's own print makes the paper or
//! the PDF that is filed. Anyone who may see the project may print it.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde_json::{json, Map, Value};

use super::answers::answer_views;
use super::ctx::Page;
use super::error::{respond, PageError, PageResult};
use super::projects::user_names;
use crate::store::entity::project;
use crate::workflow::model::Stage;
use crate::workflow::Workflow;

/// The printed title of a stage's form: the charter for the application, else its report.
pub fn print_title(page: &Page, w: &Workflow, stage: &Stage) -> String {
    if stage.id.as_str() == w.initial_stage().id.as_str() {
        page.t("print.charter")
    } else {
        page.t("print.report")
            .replace("{stage}", stage.name.get(page.lang.code()))
    }
}

/// The stages of `p` whose form has at least one answer, in the definition's order: what can
/// be printed (the charter always, once the project exists).
pub fn printable<'a>(w: &'a Workflow, p: &project::Model) -> Vec<&'a Stage> {
    let values: Map<String, Value> = serde_json::from_str(&p.form_data).unwrap_or_default();
    let initial = w.initial_stage().id.as_str();
    w.definition
        .stages
        .iter()
        .filter(|s| !s.form.is_empty())
        .filter(|s| {
            s.id.as_str() == initial
                || s.form
                    .iter()
                    .any(|f| values.get(f.id.as_str()).is_some_and(|v| !v.is_null()))
        })
        .collect()
}

pub async fn print_form(page: Page, Path((id, stage)): Path<(i64, String)>) -> Response {
    let r = print_view(&page, id, &stage).await;
    respond(&page, r).await
}

async fn print_view(page: &Page, id: i64, stage_id: &str) -> PageResult {
    let who = page.require_user()?;
    let app = &page.state.app;
    let lang = page.lang.code();
    let cached = app.project_for(&who, id).await?;
    let p = app.project(cached.id).await?;
    let w = app.workflow_of(&p).await?;
    let stage = w
        .stage(stage_id)
        .filter(|s| !s.form.is_empty())
        .ok_or(PageError::NotFound)?;
    let values: Map<String, Value> = serde_json::from_str(&p.form_data).unwrap_or_default();
    let ctx = super::edit::context(page, p.organisation_id, Some(&p)).await;
    let answers = answer_views(&stage.form, &values, &ctx, lang);
    // The record: every decision (an action of the definition), oldest first.
    let history = app.history(id).await?;
    let names = user_names(page, history.iter().filter_map(|e| e.actor_user_id)).await;
    let record: Vec<Value> = history
        .iter()
        .filter_map(|e| {
            let t = w.transition(&e.action)?;
            Some(json!({
                "at": e.at.to_rfc3339(),
                "actor": e.actor_user_id.and_then(|u| names.get(&u).cloned()).unwrap_or_else(|| page.t("history.system")),
                "action": t.name.get(lang),
                "comment": e.comment,
            }))
        })
        .collect();
    let charter = stage.id.as_str() == w.initial_stage().id.as_str();
    let title = print_title(page, &w, stage);
    let organisation = app
        .organisation_name(p.organisation_id)
        .await
        .unwrap_or_default();
    let signatures: Vec<String> = if charter {
        ["print.sign_lead", "print.sign_party", "print.sign_district"]
    } else {
        [
            "print.sign_filer",
            "print.sign_party",
            "print.sign_reviewer",
        ]
    }
    .iter()
    .map(|k| page.t(k))
    .collect();
    Ok(page
        .render(
            StatusCode::OK,
            "print_form",
            &format!("{title} · {}", p.title),
            json!({
                "doc_title": title,
                "definition_name": w.definition.name.get(lang),
                "project": {
                    "id": p.id, "title": p.title, "year": p.year,
                    "organisation": organisation,
                    "stage": w.stage(&p.stage).map(|s| s.name.get(lang).to_string()).unwrap_or_else(|| p.stage.clone()),
                },
                "answers": answers,
                "record": record,
                "signatures": signatures,
                "printed": Utc::now().with_timezone(&w.timezone).format("%Y-%m-%d").to_string(),
            }),
        )
        .await)
}
