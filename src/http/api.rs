//! `/api/v1` handlers: thin, each one use case.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::error::{app_err, ApiError, Lang, Problem, ProblemReason};
use super::extract::{session_token, ApiJson, ApiPath, ApiQuery, Auth};
use super::AppState;
use crate::app::project_cache::CachedProject;
use crate::app::projects::{ActionDone, ActionInput, ListFilter, NewProject, ProjectView};
use crate::app::{AppError, Principal};
use crate::store::entity::project;
use crate::workflow::engine::{Reason, Refusal, Relation};

type ApiResult<T> = Result<T, ApiError>;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    #[schema(min_length = 1)]
    login: String,
    #[schema(min_length = 1)]
    password: String,
}

/// A new session: the bearer token for API clients (the same session is also set as an
/// HttpOnly cookie for pages).
#[derive(Serialize, ToSchema)]
pub struct LoginAnswer {
    token: String,
    expires_at: chrono::DateTime<Utc>,
    user: MeView,
}

/// Log in; answers a bearer token and sets the session cookie. Rate limited per login.
#[utoipa::path(post, path = "/api/v1/login", tag = "accounts", request_body = LoginBody, security(()),
    responses((status = 200, body = LoginAnswer), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn login(
    State(s): State<AppState>,
    lang: Lang,
    peer: super::extract::Peer,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    let session = sign_in(&s, &body.login, &body.password, peer)
        .await
        .map_err(app_err(lang))?;
    let cookie = super::cookies::session(&s, &session.token);
    let body = LoginAnswer {
        token: session.token,
        expires_at: session.expires_at,
        user: MeView::from(&session.user),
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Sign in with the limits every sign-in obeys (API and pages): the login parsed once, at most
/// so many attempts per account and failed ones per client address, refused before any hashing.
pub(crate) async fn sign_in(
    s: &AppState,
    login: &str,
    password: &str,
    peer: super::extract::Peer,
) -> Result<crate::app::accounts::NewSession, AppError> {
    let name = crate::app::accounts::LoginName::parse(login)?;
    let address = format!("ip:{}", super::acceptance::client_key(peer));
    // The address counts failed attempts only, so that many people behind one address can
    // still sign in.
    if s.address_limiter.exhausted(&address) || !s.limiter.allow(&name.key()) {
        return Err(AppError::RateLimited(s.limiter.window().as_secs()));
    }
    match s.app.login(&name, password, Utc::now()).await {
        Ok(x) => Ok(x),
        Err(e) => {
            if matches!(e, AppError::Unauthorized) {
                s.address_limiter.allow(&address);
            }
            Err(e)
        }
    }
}

/// End the caller's session (the bearer token or the cookie); answers 204 even without one.
#[utoipa::path(post, path = "/api/v1/logout", tag = "accounts", responses((status = 204)))]
pub async fn logout(
    State(s): State<AppState>,
    lang: Lang,
    parts: axum::http::request::Parts,
) -> ApiResult<Response> {
    if let Some(token) = session_token(&parts) {
        s.app
            .logout(&token, Utc::now())
            .await
            .map_err(app_err(lang))?;
    }
    let cookie = super::cookies::session_cleared(&s);
    Ok(([(header::SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response())
}

/// The signed-in user.
#[derive(Serialize, ToSchema)]
pub struct MeView {
    id: i64,
    login: String,
    name: String,
    organisation_id: i64,
    roles: Vec<String>,
    language: String,
}

impl From<&Principal> for MeView {
    fn from(p: &Principal) -> Self {
        MeView {
            id: p.user_id,
            login: p.login.clone(),
            name: p.name.clone(),
            organisation_id: p.organisation_id,
            roles: p.roles.clone(),
            language: p.language.clone(),
        }
    }
}

/// Who am I.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = MeView), (status = 401, body = Problem)))]
pub async fn me(Auth(who): Auth) -> Json<MeView> {
    Json(MeView::from(&*who))
}

/// A text in both interface languages.
#[derive(Serialize, ToSchema)]
pub struct Label {
    zh: String,
    en: String,
}

#[derive(Serialize, ToSchema)]
pub struct StageView {
    id: String,
    name: Label,
    /// `initial`, `normal` or `terminal`.
    kind: String,
}

#[derive(Serialize, ToSchema)]
pub struct DefinitionView {
    /// The definition's id, used to create projects.
    id: String,
    /// Database id of the current version.
    version_id: i64,
    /// Readable version number; grows when the file's content changes.
    version: i32,
    content_hash: String,
    name: Label,
    stages: Vec<StageView>,
    roles: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DefinitionList {
    definitions: Vec<DefinitionView>,
}

/// The workflow definitions in force, each at its current version.
#[utoipa::path(get, path = "/api/v1/definitions", tag = "definitions",
    responses((status = 200, body = DefinitionList), (status = 401, body = Problem)))]
pub async fn definitions(State(s): State<AppState>, _auth: Auth) -> Json<DefinitionList> {
    let label = |l: &crate::workflow::model::Label| Label {
        zh: l.zh.to_string(),
        en: l.en.to_string(),
    };
    let definitions = s
        .app
        .registry
        .all_current()
        .iter()
        .map(|v| {
            let d = &v.workflow.definition;
            DefinitionView {
                id: v.workflow.id().to_string(),
                version_id: v.id,
                version: v.number,
                content_hash: v.workflow.content_hash.clone(),
                name: label(&d.name),
                stages: d
                    .stages
                    .iter()
                    .map(|st| StageView {
                        id: st.id.as_str().to_string(),
                        name: label(&st.name),
                        kind: serde_json::to_value(&st.kind)
                            .ok()
                            .and_then(|k| k.as_str().map(str::to_string))
                            .unwrap_or_default(),
                    })
                    .collect(),
                roles: d.roles.iter().map(|r| r.id.as_str().to_string()).collect(),
            }
        })
        .collect();
    Json(DefinitionList { definitions })
}

/// Whether `who` may see `p`: their own organisation's projects, or, for district users, every
/// project of their district.
fn check_visible(who: &Principal, p: &project::Model) -> Result<(), AppError> {
    match who.relation(p.organisation_id, p.district_id) {
        Relation::Own | Relation::District => Ok(()),
        Relation::Outside => Err(AppError::Forbidden(Refusal {
            reasons: vec![Reason::OutOfScope],
        })),
    }
}

pub(crate) async fn visible_project(
    s: &AppState,
    who: &Principal,
    id: i64,
    lang: Lang,
) -> ApiResult<Arc<CachedProject>> {
    let p = s.app.project_cached(id).await.map_err(app_err(lang))?;
    if let Err(e) = check_visible(who, &p) {
        // With the workflow, so that the reason reads as a sentence.
        let w = s.app.workflow_of(&p).await.ok();
        return Err(ApiError::from_app(e, lang, w.as_deref()));
    }
    Ok(p)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this year's projects (2000-2100).
    #[param(minimum = 2000, maximum = 2100)]
    year: Option<i32>,
    /// Only this organisation's projects: one's own, or for district users one of the district;
    /// any other organisation is refused with 403 (`organisation_out_of_scope`).
    organisation: Option<i64>,
    /// Only projects in this stage.
    stage: Option<String>,
    /// Words that must all occur in the title.
    q: Option<String>,
    /// Only projects with an open deadline already past.
    overdue: Option<bool>,
    /// Skip this many (default 0).
    offset: Option<u64>,
    /// At most this many, 1-500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

/// One page of projects.
#[derive(Serialize, ToSchema)]
pub struct ProjectPage {
    /// How many projects match, over all pages.
    total: u64,
    offset: u64,
    limit: u64,
    items: Vec<ProjectView>,
}

/// Projects the caller may see: their own subdistrict's, or the whole district's for district
/// users; filtered and paged.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(ListQuery),
    responses((status = 200, body = ProjectPage), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_projects(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<ProjectPage>> {
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > 500 {
        return Err(ApiError::bad_request(lang, "limit must be from 1 to 500"));
    }
    if q.year.is_some_and(|y| !(2000..=2100).contains(&y)) {
        return Err(ApiError::bad_request(
            lang,
            "year must be from 2000 to 2100",
        ));
    }
    if q.q.as_ref().is_some_and(|t| t.chars().count() > 200) {
        return Err(ApiError::bad_request(
            lang,
            "q (search text) must be at most 200 characters",
        ));
    }
    if q.q
        .as_ref()
        .is_some_and(|t| t.chars().any(char::is_control))
    {
        return Err(ApiError::bad_request(
            lang,
            lang.pick(
                "q（搜索文字）不能含有控制字符",
                "q (search text) must not contain control characters",
            ),
        ));
    }
    if q.offset.is_some_and(|o| o > 1_000_000_000) {
        return Err(ApiError::bad_request(lang, "offset is too large"));
    }
    let district_user = s
        .app
        .is_district_org(who.organisation_id)
        .await
        .map_err(app_err(lang))?;
    let filter = ListFilter {
        text: q.q.filter(|t| !t.trim().is_empty()),
        overdue_at: q.overdue.unwrap_or(false).then(Utc::now),
        year: q.year,
        organisation_id: s
            .app
            .list_organisation(&who, district_user, q.organisation)
            .await
            .map_err(app_err(lang))?,
        district_id: if district_user {
            Some(who.organisation_id)
        } else {
            None
        },
        stage: q.stage,
        offset: q.offset.unwrap_or(0),
        limit,
    };
    let (total, rows) = s.app.list_projects(&filter).await.map_err(app_err(lang))?;
    let items: Vec<ProjectView> = rows.iter().map(ProjectView::from).collect();
    Ok(Json(ProjectPage {
        total,
        offset: filter.offset,
        limit,
        items,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Definition id (see `/definitions`).
    #[schema(min_length = 1)]
    definition: String,
    #[schema(min_length = 1)]
    title: String,
    year: i32,
    /// The subdistrict; default: the caller's own.
    organisation_id: Option<i64>,
    /// The initial stage's form fields, by field id.
    #[serde(default)]
    #[schema(value_type = Object)]
    form: Map<String, Value>,
}

/// Create a project in the definition's initial stage.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = CreateBody,
    responses((status = 201, body = ProjectView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_project(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiJson(b): ApiJson<CreateBody>,
) -> ApiResult<Response> {
    let w = s.app.registry.current(&b.definition).map(|v| v.workflow);
    let new = NewProject {
        definition: b.definition,
        title: b.title,
        year: b.year,
        organisation_id: b.organisation_id,
        form: b.form,
    };
    let p = s
        .app
        .create_project(&who, new, Utc::now())
        .await
        .map_err(|e| ApiError::from_app(e, lang, w.as_deref()))?;
    Ok((StatusCode::CREATED, Json(ProjectView::from(&p))).into_response())
}

/// One project.
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = i64, Path, description = "project id")),
    responses((status = 200, body = ProjectView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_project(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let p = visible_project(&s, &who, id, lang).await?;
    // The answer is made once per committed state of the project (`project_cache`).
    Ok(([(header::CONTENT_TYPE, "application/json")], p.json()).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    /// The project version the caller last saw; a stale one answers 409.
    version: i32,
    /// Fields of the current stage's form to set, by field id (`null` clears one).
    #[schema(value_type = Object)]
    form: Map<String, Value>,
}

/// Edit the current stage's form.
#[utoipa::path(patch, path = "/api/v1/projects/{id}/form", tag = "projects", request_body = EditBody,
    params(("id" = i64, Path, description = "project id")),
    responses((status = 200, body = ProjectView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn edit_form(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<EditBody>,
) -> ApiResult<Json<ProjectView>> {
    let p = visible_project(&s, &who, id, lang).await?;
    let w = s.app.workflow_of(&p).await.ok();
    let p = s
        .app
        .edit_form(&who, id, b.version, b.form, Utc::now())
        .await
        .map_err(|e| ApiError::from_app(e, lang, w.as_deref()))?;
    Ok(Json(ProjectView::from(&p)))
}

/// An action leaving the current stage that the caller holds a role for.
#[derive(Serialize, ToSchema)]
pub struct AvailableActionView {
    action: String,
    /// The action's label in the caller's language.
    name: String,
    /// The stage it leads to.
    to: String,
    /// Whether it may be taken now; if not, `reasons` says why.
    allowed: bool,
    comment_required: bool,
    reasons: Vec<ProblemReason>,
}

#[derive(Serialize, ToSchema)]
pub struct AvailableActions {
    /// The project version to send back with the action.
    version: i32,
    stage: String,
    actions: Vec<AvailableActionView>,
}

/// The actions the caller may take now, and why the others are refused.
#[utoipa::path(get, path = "/api/v1/projects/{id}/actions", tag = "projects",
    params(("id" = i64, Path, description = "project id")),
    responses((status = 200, body = AvailableActions), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn available_actions(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AvailableActions>> {
    visible_project(&s, &who, id, lang).await?;
    let (p, w, list) = s
        .app
        .available_actions(&who, id, Utc::now())
        .await
        .map_err(app_err(lang))?;
    let actions = list
        .into_iter()
        .map(|a| {
            let t = w.transition(&a.action);
            AvailableActionView {
                name: t
                    .map(|t| t.name.get(lang.code()).to_string())
                    .unwrap_or_else(|| a.action.clone()),
                comment_required: t
                    .is_some_and(|t| t.comment == crate::workflow::model::CommentRule::Required),
                reasons: a
                    .reasons
                    .iter()
                    .map(|r| ProblemReason {
                        code: r.code().to_string(),
                        message: r.message(&w, lang.code()),
                    })
                    .collect(),
                action: a.action,
                to: a.to,
                allowed: a.allowed,
            }
        })
        .collect();
    Ok(Json(AvailableActions {
        version: p.version,
        stage: p.stage,
        actions,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// The action id (see `/projects/{id}/actions`).
    #[schema(min_length = 1)]
    action: String,
    /// Up to 5000 characters; some actions require one.
    #[serde(default)]
    comment: Option<String>,
    /// The project version the caller last saw; a stale one answers 409.
    version: i32,
}

/// Take an action: 409 on a stale version, 403 for a role or scope the caller lacks, 422 when a
/// guard refuses, listing every reason.
#[utoipa::path(post, path = "/api/v1/projects/{id}/actions", tag = "projects", request_body = ActionBody,
    params(("id" = i64, Path, description = "project id")),
    responses((status = 200, body = ActionDone), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn take_action(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<ActionBody>,
) -> ApiResult<Json<ActionDone>> {
    let p = visible_project(&s, &who, id, lang).await?;
    let w = s.app.workflow_of(&p).await.map_err(app_err(lang))?;
    if b.comment.as_ref().is_some_and(|c| c.chars().count() > 5000) {
        return Err(ApiError::bad_request(
            lang,
            "the comment is longer than 5000 characters",
        ));
    }
    let done = s
        .app
        .take_action(
            &who,
            id,
            ActionInput {
                action: b.action,
                comment: b.comment,
                expected_version: Some(b.version),
            },
            Utc::now(),
        )
        .await
        .map_err(|e| ApiError::from_app(e, lang, Some(&w)))?;
    Ok(Json(done))
}

/// One audit event of a project: who did what when, chained by hash.
#[derive(Serialize, ToSchema)]
pub struct HistoryEvent {
    seq: i64,
    at: chrono::DateTime<Utc>,
    actor_user_id: Option<i64>,
    action: String,
    comment: Option<String>,
    from_stage: Option<String>,
    to_stage: Option<String>,
    /// What changed (fields, effects, scores), by event kind.
    #[schema(value_type = Object)]
    data: Value,
    hash: String,
}

#[derive(Serialize, ToSchema)]
pub struct History {
    items: Vec<HistoryEvent>,
}

/// The project's audit history, oldest first.
#[utoipa::path(get, path = "/api/v1/projects/{id}/history", tag = "projects",
    params(("id" = i64, Path, description = "project id")),
    responses((status = 200, body = History), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn history(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<History>> {
    visible_project(&s, &who, id, lang).await?;
    let events = s.app.history(id).await.map_err(app_err(lang))?;
    let items = events
        .into_iter()
        .map(|e| HistoryEvent {
            seq: e.seq,
            at: e.at,
            actor_user_id: e.actor_user_id,
            data: serde_json::from_str::<Value>(&e.data).unwrap_or(Value::Null),
            action: e.action,
            comment: e.comment,
            from_stage: e.from_stage,
            to_stage: e.to_stage,
            hash: e.hash,
        })
        .collect();
    Ok(Json(History { items }))
}

/// Whether the server and its database answer (no login needed).
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "database reachable"), (status = 503, body = Problem, description = "database unreachable")))]
pub async fn healthz(State(s): State<AppState>, lang: Lang) -> Response {
    match s.app.db.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            // An error like every other: problem+json.
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database",
                lang.pick("数据库不可达", "Database unreachable"),
                lang.pick("健康检查失败", "the health check failed"),
            )
            .into_response()
        }
    }
}

pub async fn not_found(lang: Lang) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        match lang {
            Lang::Zh => "未找到",
            Lang::En => "Not found",
        },
        "no such endpoint",
    )
}

/// A route that exists, asked with a method it does not have (axum adds the `Allow` header).
pub async fn method_not_allowed(lang: Lang, method: axum::http::Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        lang.pick("不支持该请求方法", "Method not allowed"),
        match lang {
            Lang::Zh => format!("此地址不接受 {method} 请求"),
            Lang::En => format!("this address does not take {method}"),
        },
    )
}
