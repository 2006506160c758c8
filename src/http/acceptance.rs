//! Acceptance over HTTP: reviewers assigned to a project, site visits, score sheets, manual
//! deductions, the explanation of the final score, and the resident appraisal tokens (issue,
//! list, withdraw) with the public JSON endpoint residents' clients post to.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::api::visible_project;
use super::error::{app_err, ApiError, Lang, Problem};
use super::extract::{ApiJson, ApiPath, Auth, Peer};
use super::AppState;
use crate::app::acceptance::{DeductionView, ReviewerView, ScoreReport, SheetsView, SiteVisitView};
use crate::app::appraisals::{BatchSummary, IssuedBatch};

type ApiResult<T> = Result<T, ApiError>;

/// Errors with the project's workflow, so that refusals read as sentences.
async fn with_workflow(
    s: &AppState,
    p: &crate::store::entity::project::Model,
    lang: Lang,
) -> impl Fn(crate::app::AppError) -> ApiError {
    let w = s.app.workflow_of(p).await.ok();
    move |e| ApiError::from_app(e, lang, w.as_deref())
}

#[derive(Serialize, ToSchema)]
pub struct Reviewers {
    items: Vec<ReviewerView>,
}

/// The reviewers assigned to the project's upper review.
#[utoipa::path(get, path = "/api/v1/projects/{id}/reviewers", tag = "acceptance",
    params(("id" = i64, Path, description = "project id")),
    responses((status = 200, body = Reviewers), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_reviewers(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Reviewers>> {
    visible_project(&s, &who, id, lang).await?;
    let items = s.app.reviewers(id).await.map_err(app_err(lang))?;
    Ok(Json(Reviewers { items }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The reviewer's user id: a district user, not of the project's own organisation.
    user_id: i64,
}

/// Assign a reviewer (admins). A reviewer of the project's own organisation is refused
/// (conflict of interest), with the reason.
#[utoipa::path(post, path = "/api/v1/projects/{id}/reviewers", tag = "acceptance", request_body = AssignBody,
    params(("id" = i64, Path, description = "project id")),
    responses((status = 201, body = ReviewerView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn assign_reviewer(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<AssignBody>,
) -> ApiResult<Response> {
    let p = visible_project(&s, &who, id, lang).await?;
    let err = with_workflow(&s, &p, lang).await;
    let r = s
        .app
        .assign_reviewer(&who, id, b.user_id, Utc::now())
        .await
        .map_err(err)?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

/// Take a reviewer off the project (admins), before they have scored.
#[utoipa::path(delete, path = "/api/v1/projects/{id}/reviewers/{user_id}", tag = "acceptance",
    params(("id" = i64, Path, description = "project id"), ("user_id" = i64, Path, description = "reviewer")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn unassign_reviewer(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath((id, user_id)): ApiPath<(i64, i64)>,
) -> ApiResult<StatusCode> {
    let p = visible_project(&s, &who, id, lang).await?;
    let err = with_workflow(&s, &p, lang).await;
    s.app
        .unassign_reviewer(&who, id, user_id, Utc::now())
        .await
        .map_err(err)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct SiteVisits {
    items: Vec<SiteVisitView>,
}

/// The site visits recorded for the project.
#[utoipa::path(get, path = "/api/v1/projects/{id}/site-visits", tag = "acceptance",
    params(("id" = i64, Path, description = "project id")),
    responses((status = 200, body = SiteVisits), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_site_visits(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<SiteVisits>> {
    visible_project(&s, &who, id, lang).await?;
    let items = s.app.site_visits(id).await.map_err(app_err(lang))?;
    Ok(Json(SiteVisits { items }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiteVisitBody {
    /// The day of the visit, YYYY-MM-DD, not in the future.
    #[schema(min_length = 1)]
    visited_on: String,
    /// What was seen, up to 5000 characters.
    #[serde(default)]
    notes: String,
    /// Photos: attachment ids uploaded to the project beforehand.
    #[serde(default)]
    photos: Vec<i64>,
}

/// An assigned reviewer records a site visit.
#[utoipa::path(post, path = "/api/v1/projects/{id}/site-visits", tag = "acceptance", request_body = SiteVisitBody,
    params(("id" = i64, Path, description = "project id")),
    responses((status = 201, body = SiteVisitView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn record_site_visit(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<SiteVisitBody>,
) -> ApiResult<Response> {
    let p = visible_project(&s, &who, id, lang).await?;
    let day = NaiveDate::parse_from_str(&b.visited_on, "%Y-%m-%d").map_err(|_| {
        ApiError::bad_request(
            lang,
            format!("visited_on: `{}` is not a date (YYYY-MM-DD)", b.visited_on),
        )
    })?;
    let err = with_workflow(&s, &p, lang).await;
    let v = s
        .app
        .record_site_visit(&who, id, day, &b.notes, &b.photos, Utc::now())
        .await
        .map_err(err)?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// The score sheets the caller may see: a reviewer sees other reviewers' sheets only after
/// submitting their own (`hidden` counts the rest).
#[utoipa::path(get, path = "/api/v1/projects/{id}/scores", tag = "acceptance",
    params(("id" = i64, Path, description = "project id")),
    responses((status = 200, body = SheetsView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_scores(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<SheetsView>> {
    let p = visible_project(&s, &who, id, lang).await?;
    let v = s.app.score_sheets(&who, &p).await.map_err(app_err(lang))?;
    Ok(Json(v))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreBody {
    /// The scoring part: the self-check (the project's secretary) or the upper review (an
    /// assigned reviewer).
    #[schema(min_length = 1)]
    part: String,
    /// Points per criterion of the part, each from 0 to its maximum; every criterion once.
    #[schema(value_type = Object)]
    criteria: Map<String, Value>,
    comment: Option<String>,
}

/// Submit one's score sheet for a part.
#[utoipa::path(post, path = "/api/v1/projects/{id}/scores", tag = "acceptance", request_body = ScoreBody,
    params(("id" = i64, Path, description = "project id")),
    responses((status = 201, description = "the sheet was recorded"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn submit_score(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<ScoreBody>,
) -> ApiResult<Response> {
    let p = visible_project(&s, &who, id, lang).await?;
    if b.comment.as_ref().is_some_and(|c| c.chars().count() > 3000) {
        return Err(ApiError::from_app(
            crate::app::AppError::Invalid("comment is longer than 3000 characters".into()),
            lang,
            None,
        ));
    }
    let err = with_workflow(&s, &p, lang).await;
    let sheet = s
        .app
        .submit_score(
            &who,
            id,
            &b.part,
            &b.criteria,
            b.comment.as_deref(),
            Utc::now(),
        )
        .await
        .map_err(err)?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "id": sheet.id,
            "part": sheet.part,
            "total": sheet.total,
            "criteria": serde_json::from_str::<Value>(&sheet.criteria).unwrap_or(Value::Null),
        })),
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct Deductions {
    items: Vec<DeductionView>,
}

/// The manual deductions recorded for the project.
#[utoipa::path(get, path = "/api/v1/projects/{id}/deductions", tag = "acceptance",
    params(("id" = i64, Path, description = "project id")),
    responses((status = 200, body = Deductions), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_deductions(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Deductions>> {
    visible_project(&s, &who, id, lang).await?;
    let items = s.app.deductions(id).await.map_err(app_err(lang))?;
    Ok(Json(Deductions { items }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeductionBody {
    /// A deduction of the workflow with `per: manual`.
    #[schema(min_length = 1)]
    deduction: String,
    /// Why, 1 to 1000 characters.
    #[schema(min_length = 1)]
    reason: String,
}

/// A district user records a manual deduction with its reason.
#[utoipa::path(post, path = "/api/v1/projects/{id}/deductions", tag = "acceptance", request_body = DeductionBody,
    params(("id" = i64, Path, description = "project id")),
    responses((status = 201, body = DeductionView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn record_deduction(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<DeductionBody>,
) -> ApiResult<Response> {
    let p = visible_project(&s, &who, id, lang).await?;
    let err = with_workflow(&s, &p, lang).await;
    let d = s
        .app
        .record_deduction(&who, id, &b.deduction, &b.reason, Utc::now())
        .await
        .map_err(err)?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

/// How the final score was made: every reviewer's criterion scores, the appraisal counts and
/// their points, each deduction and why, each weight, down to the final number. Provisional
/// (as if the project closed now) until the project is closed.
#[utoipa::path(get, path = "/api/v1/projects/{id}/score", tag = "acceptance",
    params(("id" = i64, Path, description = "project id")),
    responses((status = 200, body = ScoreReport), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn score(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ScoreReport>> {
    let p = visible_project(&s, &who, id, lang).await?;
    let r = s
        .app
        .score_report(&who, &p, lang.code(), Utc::now())
        .await
        .map_err(app_err(lang))?;
    Ok(Json(r))
}

#[derive(Serialize, ToSchema)]
pub struct TokenBatches {
    items: Vec<BatchSummary>,
}

/// The appraisal token batches issued for the project (district users).
#[utoipa::path(get, path = "/api/v1/projects/{id}/appraisal-tokens", tag = "acceptance",
    params(("id" = i64, Path, description = "project id")),
    responses((status = 200, body = TokenBatches), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list_token_batches(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<TokenBatches>> {
    let p = visible_project(&s, &who, id, lang).await?;
    district_only(&s, &who, &p, lang).await?;
    let items = s
        .app
        .token_batches(id, Utc::now())
        .await
        .map_err(app_err(lang))?;
    Ok(Json(TokenBatches { items }))
}

/// Codes are the residents' ballots: only district users see them.
pub(crate) async fn district_only(
    s: &AppState,
    who: &crate::app::Principal,
    p: &crate::store::entity::project::Model,
    lang: Lang,
) -> ApiResult<()> {
    s.app
        .may_see_codes(who, p)
        .await
        .map_err(|e| ApiError::from_app(e, lang, None))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    /// How many one-time tokens, 1 to 2000.
    #[schema(minimum = 1, maximum = 2000)]
    count: u32,
}

/// Issue a batch of one-time appraisal tokens (reviewers and admins). The answer holds the
/// codes; `/print/projects/{id}/tokens/{batch}` prints them as QR codes and short links.
#[utoipa::path(post, path = "/api/v1/projects/{id}/appraisal-tokens", tag = "acceptance", request_body = IssueBody,
    params(("id" = i64, Path, description = "project id")),
    responses((status = 201, body = IssuedBatch), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn issue_tokens(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<IssueBody>,
) -> ApiResult<Response> {
    let p = visible_project(&s, &who, id, lang).await?;
    let err = with_workflow(&s, &p, lang).await;
    let batch = s
        .app
        .issue_tokens(&who, id, b.count, Utc::now())
        .await
        .map_err(err)?;
    Ok((StatusCode::CREATED, Json(batch)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct Revoked {
    revoked: u64,
}

/// Withdraw the unused tokens of a batch.
#[utoipa::path(post, path = "/api/v1/projects/{id}/appraisal-tokens/{batch}/revoke", tag = "acceptance",
    params(("id" = i64, Path, description = "project id"), ("batch" = String, Path, description = "batch id")),
    responses((status = 200, body = Revoked), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_batch(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath((id, batch)): ApiPath<(i64, String)>,
) -> ApiResult<Json<Revoked>> {
    let p = visible_project(&s, &who, id, lang).await?;
    let err = with_workflow(&s, &p, lang).await;
    let revoked = s
        .app
        .revoke_batch(&who, id, &batch, Utc::now())
        .await
        .map_err(err)?;
    Ok(Json(Revoked { revoked }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppraisalBody {
    /// The one-time code printed on the sheet.
    #[schema(min_length = 1)]
    token: String,
    /// One of the ratings the workflow declares (e.g. satisfied).
    #[schema(min_length = 1)]
    rating: String,
    /// Up to 500 characters.
    comment: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    accepted: bool,
}

/// A resident's appraisal, without an account: the token counts once, for its own project.
/// Refused tokens (unknown, used, expired, revoked, another project's, window closed) answer
/// with the reason; too many refusals from one address are rate limited.
#[utoipa::path(post, path = "/api/v1/projects/{id}/appraisals", tag = "acceptance", security(()), request_body = AppraisalBody,
    params(("id" = i64, Path, description = "project id")),
    responses((status = 201, body = Accepted), (status = 404, body = Problem), (status = 409, body = Problem), (status = 410, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn appraise(
    State(s): State<AppState>,
    lang: Lang,
    peer: Peer,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<AppraisalBody>,
) -> ApiResult<Response> {
    let client = client_key(peer);
    if s.appraisal_limiter.exhausted(&client) {
        return Err(too_many(lang));
    }
    match s
        .app
        .appraise(
            &b.token,
            Some(id),
            &b.rating,
            b.comment.as_deref(),
            Utc::now(),
        )
        .await
    {
        Ok(_) => Ok((StatusCode::CREATED, Json(Accepted { accepted: true })).into_response()),
        Err(e) => {
            if matches!(
                e,
                crate::app::AppError::Token(crate::scoring::appraisal::TokenRefusal::Unknown)
            ) {
                s.appraisal_limiter.allow(&client);
            }
            Err(ApiError::from_app(e, lang, None))
        }
    }
}

/// The key the public endpoints are limited by: the peer's address.
pub(crate) fn client_key(peer: Peer) -> String {
    peer.0
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub(crate) fn too_many(lang: Lang) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        lang.pick("请求过于频繁", "Too many requests"),
        lang.pick(
            "无效的评价码过多，请一分钟后再试",
            "too many refused appraisal codes; try again in a minute",
        ),
    )
}
