//! "Check your answers" (the GOV.UK pattern): before an action that submits a stage's form,
//! the answers as they will be filed, each with a link back to its field, then the action
//! itself with its comment box. An action the engine refuses is shown with its reasons.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde_json::{json, Map, Value};

use super::answers::answer_views;
use super::ctx::Page;
use super::error::{respond, PageError, PageResult};
use super::projects::action_views;

pub async fn check(page: Page, Path(id): Path<i64>) -> Response {
    let r = check_view(&page, id).await;
    respond(&page, r).await
}

async fn check_view(page: &Page, id: i64) -> PageResult {
    let who = page.require_user()?;
    let app = &page.state.app;
    let lang = page.lang.code();
    // The scope check first: another subdistrict's project is not found.
    app.project_for(&who, id).await?;
    let (p, w, actions) = app.available_actions(&who, id, Utc::now()).await?;
    let stage = w.stage(&p.stage).ok_or(PageError::NotFound)?;
    let can_edit = !stage.form.is_empty()
        && crate::workflow::engine::may_edit(&w, &p.stage, &who.actor(&w, &p)).is_ok();
    let (allowed, refused) = action_views(&w, &p.stage, &actions, lang);
    let submits = |v: &Value| v["checks"] == true;
    let allowed: Vec<Value> = allowed.into_iter().filter(submits).collect();
    let refused: Vec<Value> = refused.into_iter().filter(submits).collect();
    let values: Map<String, Value> = serde_json::from_str(&p.form_data).unwrap_or_default();
    let ctx = super::edit::context(page, p.organisation_id, Some(&p)).await;
    let answers = answer_views(&stage.form, &values, &ctx, lang);
    Ok(page
        .render(
            StatusCode::OK,
            "check",
            &format!("{} · {}", page.t("check.title"), p.title),
            json!({
                "project": {"id": p.id, "title": p.title, "version": p.version},
                "stage": stage.name.get(lang),
                "answers": answers,
                "can_edit": can_edit,
                "allowed": allowed,
                "refused": refused,
            }),
        )
        .await)
}
