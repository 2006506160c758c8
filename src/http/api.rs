//! `/api/v1` handlers: thin, each one use case.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::{ApiError, Lang};
use super::extract::{session_token, ApiJson, ApiPath, ApiQuery, Auth, SESSION_COOKIE};
use super::AppState;
use crate::app::projects::{ActionInput, ListFilter, NewProject, ProjectView};
use crate::app::{AppError, Principal};
use crate::store::entity::project;
use crate::workflow::engine::{Reason, Refusal, Relation};

type ApiResult<T> = Result<T, ApiError>;

fn app_err(lang: Lang) -> impl Fn(AppError) -> ApiError {
    move |e| ApiError::from_app(e, lang, None)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    login: String,
    password: String,
}

pub async fn login(
    State(s): State<AppState>,
    lang: Lang,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    if !s.limiter.allow(&body.login) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            match lang {
                Lang::Zh => "登录尝试过于频繁",
                Lang::En => "Too many login attempts",
            },
            match lang {
                Lang::Zh => "请一分钟后再试",
                Lang::En => "try again in a minute",
            },
        ));
    }
    let session = s
        .app
        .login(&body.login, &body.password, Utc::now())
        .await
        .map_err(app_err(lang))?;
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}",
        session.token,
        crate::app::accounts::SESSION_HOURS * 3600
    );
    let body = json!({
        "token": session.token,
        "expires_at": session.expires_at,
        "user": me_json(&session.user),
    });
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

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
    let cookie = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    Ok(([(header::SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response())
}

fn me_json(p: &Principal) -> Value {
    json!({
        "id": p.user_id,
        "login": p.login,
        "name": p.name,
        "organisation_id": p.organisation_id,
        "roles": p.roles,
        "language": p.language,
    })
}

pub async fn me(Auth(who): Auth) -> Json<Value> {
    Json(me_json(&who))
}

pub async fn definitions(State(s): State<AppState>, _auth: Auth) -> Json<Value> {
    let list: Vec<Value> = s
        .app
        .registry
        .all_current()
        .iter()
        .map(|v| {
            let d = &v.workflow.definition;
            json!({
                "id": v.workflow.id(),
                "version_id": v.id,
                "version": v.number,
                "content_hash": v.workflow.content_hash,
                "name": {"zh": d.name.zh, "en": d.name.en},
                "stages": d.stages.iter().map(|st| json!({"id": st.id.as_str(), "name": {"zh": st.name.zh, "en": st.name.en}})).collect::<Vec<_>>(),
                "roles": d.roles.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({"definitions": list}))
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

async fn visible_project(
    s: &AppState,
    who: &Principal,
    id: i64,
    lang: Lang,
) -> ApiResult<project::Model> {
    let p = s.app.project(id).await.map_err(app_err(lang))?;
    check_visible(who, &p).map_err(app_err(lang))?;
    Ok(p)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    year: Option<i32>,
    organisation: Option<i64>,
    stage: Option<String>,
    offset: Option<u64>,
    limit: Option<u64>,
}

pub async fn list_projects(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
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
    let district_user = s
        .app
        .is_district_org(who.organisation_id)
        .await
        .map_err(app_err(lang))?;
    let filter = ListFilter {
        year: q.year,
        organisation_id: if district_user {
            q.organisation
        } else {
            Some(who.organisation_id)
        },
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
    Ok(Json(
        json!({"total": total, "offset": filter.offset, "limit": limit, "items": items}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    definition: String,
    title: String,
    year: i32,
    organisation_id: Option<i64>,
    #[serde(default)]
    form: Map<String, Value>,
}

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

pub async fn get_project(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<ProjectView>> {
    let p = visible_project(&s, &who, id, lang).await?;
    Ok(Json(ProjectView::from(&p)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    version: i32,
    form: Map<String, Value>,
}

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

pub async fn available_actions(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    let p = visible_project(&s, &who, id, lang).await?;
    let w = s.app.workflow_of(&p).await.map_err(app_err(lang))?;
    let list = s
        .app
        .available_actions(&who, id, Utc::now())
        .await
        .map_err(app_err(lang))?;
    // Add readable names and reasons in the caller's language.
    let items: Vec<Value> = list
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut a| {
            let id = a["action"].as_str().unwrap_or_default().to_string();
            if let Some(t) = w.transition(&id) {
                a["name"] = json!(t.name.get(lang.code()));
                a["comment_required"] =
                    json!(t.comment == crate::workflow::model::CommentRule::Required);
            }
            a
        })
        .collect();
    Ok(Json(
        json!({"version": p.version, "stage": p.stage, "actions": items}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    action: String,
    #[serde(default)]
    comment: Option<String>,
    version: i32,
}

pub async fn take_action(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<ActionBody>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(serde_json::to_value(done).unwrap_or_default()))
}

pub async fn history(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Value>> {
    visible_project(&s, &who, id, lang).await?;
    let events = s.app.history(id).await.map_err(app_err(lang))?;
    let items: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "seq": e.seq, "at": e.at, "actor_user_id": e.actor_user_id, "action": e.action,
                "comment": e.comment, "from_stage": e.from_stage, "to_stage": e.to_stage,
                "data": serde_json::from_str::<Value>(&e.data).unwrap_or(Value::Null), "hash": e.hash,
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

pub async fn healthz(State(s): State<AppState>) -> Response {
    match s.app.db.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "database unreachable"})),
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
