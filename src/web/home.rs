//! The home page: one page whose sections follow what the user holds (see `app::home`).

use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde_json::{json, Value};

use super::ctx::Page;
use super::error::{respond, PageResult};
use super::projects::project_rows;

pub async fn home(page: Page) -> Response {
    let r = build(&page).await;
    respond(&page, r).await
}

async fn build(page: &Page) -> PageResult {
    let who = page.require_user()?;
    let s = &page.state;
    let now = Utc::now();
    let h = s.app.home(&who, now).await?;
    let lang = page.lang.code();
    let own = project_rows(page, &h.own_projects).await;
    let mut waiting = project_rows(page, h.waiting.iter().map(|w| &w.project)).await;
    for (row, w) in waiting.iter_mut().zip(&h.waiting) {
        let wf = s.app.workflow_of(&w.project).await?;
        let actions: Vec<String> = w
            .actions
            .iter()
            .filter_map(|a| wf.transition(a).map(|t| t.name.get(lang).to_string()))
            .collect();
        row["actions"] = json!(actions.join("、"));
    }
    let mut deadlines = Vec::new();
    for d in &h.deadlines {
        let wf = s.app.workflow_of(&d.project).await?;
        let name = wf
            .deadline_index
            .get(d.deadline_key.as_str())
            .map(|i| wf.definition.deadlines[*i].name.get(lang).to_string())
            .unwrap_or_else(|| d.deadline_key.clone());
        deadlines.push(json!({
            "project_id": d.project.id,
            "project": d.project.title,
            "name": name,
            "milestone": d.milestone,
            "due": d.due_at.to_rfc3339(),
            "overdue": d.due_at < now,
        }));
    }
    let today = now.with_timezone(&s.time_zone).date_naive();
    let milestones: Vec<Value> = h
        .milestones
        .iter()
        .map(|(m, p)| {
            json!({
                "id": m.id,
                "title": m.title,
                "project_id": p.id,
                "project": p.title,
                "due": m.due_date.to_string(),
                "percent": m.percent,
                "overdue": m.due_date < today,
            })
        })
        .collect();
    let to_review = project_rows(page, &h.to_review).await;
    let glance = match &h.glance {
        Some(g) => {
            let mut stages = Vec::new();
            for (stage, n) in &g.by_stage {
                let name = page.stage_name(stage);
                stages.push(json!({"stage": stage, "name": name, "count": n}));
            }
            json!({"year": g.year, "total": g.total, "stages": stages,
                   "dead_letters": g.dead_letters, "users": g.users})
        }
        None => Value::Null,
    };
    Ok(page
        .render(
            StatusCode::OK,
            "home",
            &page.t("home.title"),
            json!({
                "may_start": super::projects::may_start_application(page, &who),
                "district_user": h.district_user,
                "own": own,
                "waiting": waiting,
                "deadlines": deadlines,
                "milestones": milestones,
                "to_review": to_review,
                "open_topics": h.open_topics,
                "glance": glance,
            }),
        )
        .await)
}
