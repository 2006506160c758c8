//! `/api/v1/reviews/{definition}/{year}`: the annual review (述职评议) of a year, the
//! district's year in figures, item entries, freezing and unfreezing, and the review's history.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{app_err, ApiError, Lang, Problem};
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use super::AppState;
use crate::app::review::{Explanation, HistoryEvent, ItemEntry, YearFigures, YearReview};
use crate::store::review_sql::OverdueMilestone;

type ApiResult<T> = Result<T, ApiError>;

/// The review of a year: the frozen snapshot, or computed now.
#[utoipa::path(get, path = "/api/v1/reviews/{definition}/{year}", tag = "reviews",
    params(("definition" = String, Path, description = "definition key, e.g. secretary_project"),
           ("year" = i32, Path, minimum = 2000, maximum = 2100, description = "the year reviewed")),
    responses((status = 200, body = YearReview), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_review(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath((key, year)): ApiPath<(String, i32)>,
) -> ApiResult<Json<YearReview>> {
    let r = s
        .app
        .annual_review(&who, &key, year, Utc::now())
        .await
        .map_err(app_err(lang))?;
    Ok(Json(r))
}

/// One person's figure explained: their line, projects (each with its outcome and what it
/// counts), the item entries and the history about them.
#[utoipa::path(get, path = "/api/v1/reviews/{definition}/{year}/people/{user_id}", tag = "reviews",
    params(("definition" = String, Path, description = "definition key"),
           ("year" = i32, Path, minimum = 2000, maximum = 2100, description = "the year reviewed"),
           ("user_id" = i64, Path, description = "the person reviewed")),
    responses((status = 200, body = Explanation), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn explain(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath((key, year, user_id)): ApiPath<(String, i32, i64)>,
) -> ApiResult<Json<Explanation>> {
    let e = s
        .app
        .explain_review(&who, &key, year, user_id, Utc::now())
        .await
        .map_err(app_err(lang))?;
    Ok(Json(e))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    /// 0 to 100.
    score: f64,
    /// Why this score (required, at most 2000 characters).
    #[schema(min_length = 1)]
    comment: String,
}

/// Enter (or correct) an item's score for one person: a holder of the item's `entered_by`.
#[utoipa::path(put, path = "/api/v1/reviews/{definition}/{year}/people/{user_id}/items/{item}", tag = "reviews",
    request_body = ItemBody,
    params(("definition" = String, Path, description = "definition key"),
           ("year" = i32, Path, minimum = 2000, maximum = 2100, description = "the year reviewed"),
           ("user_id" = i64, Path, description = "the person reviewed"),
           ("item" = String, Path, description = "review item id")),
    responses((status = 200, body = ItemEntry), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn enter_item(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath((key, year, user_id, item)): ApiPath<(String, i32, i64, String)>,
    ApiJson(b): ApiJson<ItemBody>,
) -> ApiResult<Json<ItemEntry>> {
    let e = s
        .app
        .enter_review_item(
            &who,
            &key,
            year,
            user_id,
            &item,
            b.score,
            &b.comment,
            Utc::now(),
        )
        .await
        .map_err(app_err(lang))?;
    Ok(Json(e))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeBody {
    /// What the approval says (optional).
    #[serde(default)]
    comment: String,
}

/// Approve and freeze the year's review as it stands (a holder of `managed_by`).
#[utoipa::path(post, path = "/api/v1/reviews/{definition}/{year}/freeze", tag = "reviews",
    request_body = FreezeBody,
    params(("definition" = String, Path, description = "definition key"),
           ("year" = i32, Path, minimum = 2000, maximum = 2100, description = "the year reviewed")),
    responses((status = 200, body = YearReview), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn freeze(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath((key, year)): ApiPath<(String, i32)>,
    ApiJson(b): ApiJson<FreezeBody>,
) -> ApiResult<Json<YearReview>> {
    let r = s
        .app
        .freeze_review(&who, &key, year, &b.comment, Utc::now())
        .await
        .map_err(app_err(lang))?;
    Ok(Json(r))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnfreezeBody {
    /// Why the approved review is reopened (required, kept in the history).
    #[schema(min_length = 1)]
    reason: String,
}

/// Unfreeze the year's review, with a reason.
#[utoipa::path(post, path = "/api/v1/reviews/{definition}/{year}/unfreeze", tag = "reviews",
    request_body = UnfreezeBody,
    params(("definition" = String, Path, description = "definition key"),
           ("year" = i32, Path, minimum = 2000, maximum = 2100, description = "the year reviewed")),
    responses((status = 204, description = "unfrozen"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn unfreeze(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath((key, year)): ApiPath<(String, i32)>,
    ApiJson(b): ApiJson<UnfreezeBody>,
) -> ApiResult<StatusCode> {
    s.app
        .unfreeze_review(&who, &key, year, &b.reason, Utc::now())
        .await
        .map_err(app_err(lang))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct HistoryList {
    items: Vec<HistoryEvent>,
}

/// The review's history of the year: every item entered, freeze and unfreeze (district users).
#[utoipa::path(get, path = "/api/v1/reviews/{definition}/{year}/history", tag = "reviews",
    params(("definition" = String, Path, description = "definition key"),
           ("year" = i32, Path, minimum = 2000, maximum = 2100, description = "the year reviewed")),
    responses((status = 200, body = HistoryList), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn history(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath((key, year)): ApiPath<(String, i32)>,
) -> ApiResult<Json<HistoryList>> {
    let items = s
        .app
        .review_history(&who, &key, year)
        .await
        .map_err(app_err(lang))?;
    Ok(Json(HistoryList { items }))
}

/// The district's year in figures (per subdistrict, in total, and the year before).
#[utoipa::path(get, path = "/api/v1/reviews/{definition}/{year}/figures", tag = "reviews",
    params(("definition" = String, Path, description = "definition key"),
           ("year" = i32, Path, minimum = 2000, maximum = 2100, description = "the year")),
    responses((status = 200, body = YearFigures), (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn figures(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath((key, year)): ApiPath<(String, i32)>,
) -> ApiResult<Json<YearFigures>> {
    let f = s
        .app
        .year_figures(&who, &key, year, Utc::now())
        .await
        .map_err(app_err(lang))?;
    Ok(Json(f))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverdueQuery {
    /// At most this many (1-500, default 50).
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct OverdueList {
    items: Vec<OverdueMilestone>,
}

/// Milestones overdue now in projects under way, the longest overdue first.
#[utoipa::path(get, path = "/api/v1/reviews/{definition}/{year}/overdue", tag = "reviews",
    params(("definition" = String, Path, description = "definition key"),
           ("year" = i32, Path, minimum = 2000, maximum = 2100, description = "the year"), OverdueQuery),
    responses((status = 200, body = OverdueList), (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn overdue(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath((key, year)): ApiPath<(String, i32)>,
    ApiQuery(q): ApiQuery<OverdueQuery>,
) -> ApiResult<Json<OverdueList>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            lang,
            format!("limit: {limit} is not from 1 to 500"),
        ));
    }
    let items = s
        .app
        .overdue_list(&who, &key, year, Utc::now(), limit)
        .await
        .map_err(app_err(lang))?;
    Ok(Json(OverdueList { items }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `xlsx` (a workbook: summary, projects, items, the year in figures) or `csv` (the
    /// summary, UTF-8 with a byte-order mark).
    format: String,
}

/// The review as a file to file: a workbook or CSV, in the caller's language.
#[utoipa::path(get, path = "/api/v1/reviews/{definition}/{year}/export", tag = "reviews",
    params(("definition" = String, Path, description = "definition key"),
           ("year" = i32, Path, minimum = 2000, maximum = 2100, description = "the year reviewed"), ExportQuery),
    responses((status = 200, description = "the file: a workbook, or CSV with a byte-order mark",
               content((Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (String = "text/csv"))),
              (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn export(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath((key, year)): ApiPath<(String, i32)>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<axum::response::Response> {
    let format = crate::export::Format::parse(&q.format)
        .map_err(|e| ApiError::bad_request(lang, format!("format: {e}")))?;
    let f = s
        .app
        .export_review(&who, &key, year, format, lang.code())
        .await
        .map_err(app_err(lang))?;
    Ok(file_response(f))
}

/// A file as an attachment (the API's and the pages' downloads).
pub fn file_response(f: crate::app::review::ReviewFile) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, f.content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", f.file_name),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        f.bytes,
    )
        .into_response()
}
