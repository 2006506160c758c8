//! The dispatch page (调度) for the district: every live project's progress on a day, the most
//! urgent first, over the same use case as `GET /api/v1/dispatch` (the page is the district's:
//! `app::district_dispatch` refuses a subdistrict's users).

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::ctx::Page;
use super::error::{respond, PageResult};
use crate::app::implementation::MilestoneView;

#[derive(Deserialize, Default)]
pub struct DispatchQuery {
    on: Option<String>,
}

pub async fn dispatch(page: Page, Query(q): Query<DispatchQuery>) -> Response {
    let r = dispatch_page(&page, q).await;
    respond(&page, r).await
}

fn milestone_json(m: &MilestoneView) -> Value {
    json!({
        "title": m.title,
        "due": m.due_date.to_string(),
        "percent": m.percent,
        "owner": m.owner_login,
    })
}

async fn dispatch_page(page: &Page, q: DispatchQuery) -> PageResult {
    let who = page.require_user()?;
    let s = &page.state;
    let today = Utc::now().with_timezone(&s.time_zone).date_naive();
    let typed = q.on.clone().unwrap_or_default();
    let (on, errors) = match q.on.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => (today, Value::Null),
        Some(text) => match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) if (2000..=2100).contains(&d.year()) => (d, Value::Null),
            _ => (
                today,
                json!([{"field": "on", "message": page.t("dispatch.bad_date")}]),
            ),
        },
    };
    let d = s
        .app
        .district_dispatch(&who, on.year(), on, page.lang.code())
        .await?;
    let rows: Vec<Value> = d
        .rows
        .iter()
        .map(|r| {
            json!({
                "id": r.project_id,
                "title": r.title,
                "organisation": r.organisation,
                "stage": page.stage_name(&r.stage),
                "done": r.milestones_done,
                "total": r.milestones,
                "percent": r.percent,
                "next": r.next_due.as_ref().map(milestone_json),
                "overdue": r.overdue.iter().map(milestone_json).collect::<Vec<_>>(),
                "behind": r.behind.len(),
                "late": !r.overdue.is_empty(),
            })
        })
        .collect();
    let status = if errors.is_null() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(page
        .render(
            status,
            "dispatch",
            &page.t("dispatch.title"),
            json!({
                "on": on.to_string(),
                "typed_on": if errors.is_null() { on.to_string() } else { typed },
                "year": on.year(),
                "rows": rows,
                "projects": d.projects,
                "behind_schedule": d.behind_schedule,
                "overdue_milestones": d.overdue_milestones,
                "errors": errors,
            }),
        )
        .await)
}
