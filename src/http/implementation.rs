//! The implementation phase over HTTP: milestones and progress reports, the road map, guidance,
//! and the private iCalendar feed.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::api::visible_project;
use super::error::{app_err, ApiError, Lang, Problem};
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use super::AppState;
use crate::app::implementation::{CalendarItem, GuidanceView, MilestoneView, Timeline};

type ApiResult<T> = Result<T, ApiError>;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OnQuery {
    /// The day to compute statuses for (YYYY-MM-DD); default today in the server's time zone.
    on: Option<String>,
}

fn day(s: &AppState, q: &OnQuery, lang: Lang) -> ApiResult<chrono::NaiveDate> {
    match &q.on {
        None => Ok(Utc::now().with_timezone(&s.time_zone).date_naive()),
        Some(text) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            ApiError::bad_request(lang, format!("on: `{text}` is not a date (YYYY-MM-DD)"))
        }),
    }
}

/// A project's road map for a Gantt view: milestones with status, reports, stage changes.
#[utoipa::path(get, path = "/api/v1/projects/{id}/timeline", tag = "implementation",
    params(("id" = i64, Path, description = "project id"), OnQuery),
    responses((status = 200, body = Timeline), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn timeline(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<OnQuery>,
) -> ApiResult<Json<Timeline>> {
    visible_project(&s, &who, id, lang).await?;
    let today = day(&s, &q, lang)?;
    let t = s
        .app
        .timeline(id, today, lang.code())
        .await
        .map_err(app_err(lang))?;
    Ok(Json(t))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressBody {
    /// 0-100; 100 marks the milestone done.
    percent: i32,
    /// What was done, up to 5000 characters.
    #[serde(default)]
    note: String,
    /// Evidence: ids of attachments uploaded to the project beforehand.
    #[serde(default)]
    attachments: Vec<i64>,
}

/// The milestone's owner (or the subdistrict's team) reports progress.
#[utoipa::path(post, path = "/api/v1/milestones/{id}/progress", tag = "implementation", request_body = ProgressBody,
    params(("id" = i64, Path, description = "milestone id")),
    responses((status = 200, body = MilestoneView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn report_progress(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<ProgressBody>,
) -> ApiResult<Json<MilestoneView>> {
    let now = Utc::now();
    let m = s
        .app
        .report_progress_with(&who, id, b.percent, &b.note, &b.attachments, now)
        .await
        .map_err(app_err(lang))?;
    let today = now.with_timezone(&s.time_zone).date_naive();
    Ok(Json(crate::app::implementation::milestone_view(
        &m,
        today,
        Some(now),
        lang.code(),
    )))
}

#[derive(Serialize, ToSchema)]
pub struct GuidanceThread {
    items: Vec<GuidanceView>,
}

/// The guidance thread of a project (指导意见), oldest first.
#[utoipa::path(get, path = "/api/v1/projects/{id}/guidance", tag = "implementation",
    params(("id" = i64, Path, description = "project id")),
    responses((status = 200, body = GuidanceThread), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_guidance(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<GuidanceThread>> {
    visible_project(&s, &who, id, lang).await?;
    let items = s.app.guidance(id).await.map_err(app_err(lang))?;
    Ok(Json(GuidanceThread { items }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuidanceBody {
    /// 1 to 5000 characters.
    #[schema(min_length = 1)]
    body: String,
    /// About one milestone of the project.
    milestone_id: Option<i64>,
    /// The message answered; required when the subdistrict writes.
    reply_to: Option<i64>,
}

/// Reviewers give guidance; the subdistrict answers it.
#[utoipa::path(post, path = "/api/v1/projects/{id}/guidance", tag = "implementation", request_body = GuidanceBody,
    params(("id" = i64, Path, description = "project id")),
    responses((status = 201, body = GuidanceView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn post_guidance(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<GuidanceBody>,
) -> ApiResult<Response> {
    let p = visible_project(&s, &who, id, lang).await?;
    let w = s.app.workflow_of(&p).await.ok();
    let g = s
        .app
        .post_guidance(&who, id, b.milestone_id, b.reply_to, &b.body, Utc::now())
        .await
        .map_err(|e| ApiError::from_app(e, lang, w.as_deref()))?;
    Ok((StatusCode::CREATED, Json(g)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct CalendarLink {
    /// The private address of the feed: subscribe to it in a phone's calendar. Anyone with the
    /// address can read the feed; asking for a new one ends the old one.
    url: String,
}

/// Make (or replace) the caller's private iCalendar feed address.
#[utoipa::path(post, path = "/api/v1/me/calendar", tag = "implementation",
    responses((status = 200, body = CalendarLink), (status = 401, body = Problem)))]
pub async fn new_calendar(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
) -> ApiResult<Json<CalendarLink>> {
    let token = s
        .app
        .new_calendar_token(&who, Utc::now())
        .await
        .map_err(app_err(lang))?;
    Ok(Json(CalendarLink {
        url: format!("{}/calendar/{token}.ics", s.public_url),
    }))
}

/// The iCalendar feed of a private address: every deadline the user owns.
#[utoipa::path(get, path = "/calendar/{file}", tag = "implementation", security(()),
    params(("file" = String, Path, description = "TOKEN.ics")),
    responses((status = 200, content_type = "text/calendar", description = "an iCalendar feed"), (status = 404, body = Problem)))]
pub async fn calendar_feed(
    State(s): State<AppState>,
    lang: Lang,
    ApiPath(file): ApiPath<String>,
) -> ApiResult<Response> {
    let token = file.strip_suffix(".ics").unwrap_or(&file);
    if token.is_empty() || token.len() > 128 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(super::api::not_found(lang).await);
    }
    let (name, items) = s.app.calendar_items(token).await.map_err(app_err(lang))?;
    let body = render_calendar(&name, &items, &s.public_url);
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
        body,
    )
        .into_response())
}

/// An iCalendar document (RFC 5545) of the items.
pub fn render_calendar(owner: &str, items: &[CalendarItem], public_url: &str) -> String {
    use icalendar::{Calendar, Component, Event, EventLike, EventStatus};
    let mut cal = Calendar::new();
    cal.name(&format!("书记项目 · {owner}"));
    for it in items {
        let mut e = Event::new();
        e.uid(&format!("{}@secretary-projects", it.uid))
            .summary(&it.title)
            .url(&format!("{public_url}/projects/{}", it.project_id));
        if !it.description.is_empty() {
            e.description(&it.description);
        }
        if let Some(d) = it.day {
            e.all_day(d);
        } else if let Some(t) = it.at {
            e.starts(t).ends(t);
        }
        if it.done {
            e.status(EventStatus::Confirmed)
                .add_property("X-SP-DONE", "true");
        }
        cal.push(e.done());
    }
    cal.done().to_string()
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DispatchQuery {
    /// The projects' year (2000-2100); default the year of `on`.
    #[param(minimum = 2000, maximum = 2100)]
    year: Option<i32>,
    /// The day to look at (YYYY-MM-DD); default today in the server's time zone.
    on: Option<String>,
}

/// The dispatch view (调度): every live project's progress on a day, most urgent first.
#[utoipa::path(get, path = "/api/v1/dispatch", tag = "implementation", params(DispatchQuery),
    responses((status = 200, body = crate::app::implementation::Dispatch), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn dispatch(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<DispatchQuery>,
) -> ApiResult<Json<crate::app::implementation::Dispatch>> {
    let today = day(&s, &OnQuery { on: q.on }, lang)?;
    let year = q.year.unwrap_or(chrono::Datelike::year(&today));
    if !(2000..=2100).contains(&year) {
        return Err(ApiError::bad_request(
            lang,
            "year must be from 2000 to 2100",
        ));
    }
    let d = s
        .app
        .dispatch(&who, year, today, lang.code())
        .await
        .map_err(app_err(lang))?;
    Ok(Json(d))
}
