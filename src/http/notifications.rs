//! `/api/v1/me/notifications` and `/api/v1/outbox` (admin): who was told what, and when.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{app_err, ApiError, Lang, Problem};
use super::extract::{ApiPath, ApiQuery, Auth};
use super::AppState;
use crate::app::notifications::MailView;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Serialize, ToSchema)]
pub struct MailList {
    items: Vec<MailView>,
}

/// The caller's notification history (the latest 200), newest first.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "notifications",
    responses((status = 200, body = MailList), (status = 401, body = Problem)))]
pub async fn mine(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
) -> ApiResult<Json<MailList>> {
    let items = s.app.my_notifications(&who).await.map_err(app_err(lang))?;
    Ok(Json(MailList { items }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// `dead` (default), `queued` or `sent`.
    state: Option<String>,
}

/// Mail to the district's users by state, dead letters by default (admin).
#[utoipa::path(get, path = "/api/v1/outbox", tag = "notifications", params(OutboxQuery),
    responses((status = 200, body = MailList), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn outbox(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> ApiResult<Json<MailList>> {
    let items = s
        .app
        .district_mail(&who, q.state.as_deref().unwrap_or("dead"))
        .await
        .map_err(app_err(lang))?;
    Ok(Json(MailList { items }))
}

/// Send a dead letter again, to the user's current address (admin).
#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", tag = "notifications",
    params(("id" = i64, Path, description = "mail id")),
    responses((status = 200, body = MailView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn retry(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<MailView>> {
    let m = s
        .app
        .retry_mail(&who, id, Utc::now())
        .await
        .map_err(app_err(lang))?;
    Ok(Json(m))
}
