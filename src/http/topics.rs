//! `/api/v1/topics`: the topic pool (议题库).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{app_err, ApiError, Lang, Problem};
use super::extract::{ApiJson, ApiPath, ApiQuery, Auth};
use super::AppState;
use crate::app::projects::ProjectView;
use crate::app::topics::{CommentView, TopicEventView, TopicInput};
use crate::store::entity::topic;

type ApiResult<T> = Result<T, ApiError>;

/// A candidate problem of a subdistrict.
#[derive(Serialize, ToSchema)]
pub struct TopicView {
    id: i64,
    definition: String,
    organisation_id: i64,
    author_user_id: i64,
    title: String,
    /// A source id of the definition's topic pool.
    source: String,
    area: String,
    description: String,
    /// `open`, `promoted` or `dropped`.
    status: String,
    /// The project it became.
    project_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<topic::Model> for TopicView {
    fn from(t: topic::Model) -> Self {
        TopicView {
            id: t.id,
            definition: t.definition_key,
            organisation_id: t.organisation_id,
            author_user_id: t.author_user_id,
            title: t.title,
            source: t.source,
            area: t.area,
            description: t.description,
            status: t.status,
            project_id: t.project_id,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TopicList {
    items: Vec<TopicView>,
}

#[derive(Serialize, ToSchema)]
pub struct TopicWithComments {
    topic: TopicView,
    comments: Vec<CommentView>,
    /// Every change to the topic, oldest first.
    history: Vec<TopicEventView>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TopicQuery {
    /// Only topics in this status: open, promoted or dropped.
    status: Option<String>,
}

/// The pool the caller sees: their subdistrict's, or the whole district's.
#[utoipa::path(get, path = "/api/v1/topics", tag = "topics", params(TopicQuery),
    responses((status = 200, body = TopicList), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_topics(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiQuery(q): ApiQuery<TopicQuery>,
) -> ApiResult<Json<TopicList>> {
    if let Some(st) = &q.status {
        if !matches!(st.as_str(), "open" | "promoted" | "dropped") {
            return Err(ApiError::bad_request(
                lang,
                format!("status `{st}` is not open, promoted or dropped"),
            ));
        }
    }
    let items = s
        .app
        .topics(&who, q.status.as_deref())
        .await
        .map_err(app_err(lang))?;
    Ok(Json(TopicList {
        items: items.into_iter().map(TopicView::from).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTopicBody {
    /// Definition whose pool this is; default `secretary_project`.
    definition: Option<String>,
    #[schema(min_length = 1)]
    title: String,
    /// A source id of the pool, e.g. `resident_request`.
    #[schema(min_length = 1)]
    source: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    description: String,
}

/// Record a candidate problem (a pool role, in a subdistrict).
#[utoipa::path(post, path = "/api/v1/topics", tag = "topics", request_body = NewTopicBody,
    responses((status = 201, body = TopicView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_topic(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiJson(b): ApiJson<NewTopicBody>,
) -> ApiResult<Response> {
    let definition = b.definition.unwrap_or_else(|| "secretary_project".into());
    let t = s
        .app
        .create_topic(
            &who,
            &definition,
            TopicInput {
                title: Some(b.title),
                source: Some(b.source),
                area: Some(b.area),
                description: Some(b.description),
            },
            Utc::now(),
        )
        .await
        .map_err(app_err(lang))?;
    Ok((StatusCode::CREATED, Json(TopicView::from(t))).into_response())
}

/// One topic with its discussion.
#[utoipa::path(get, path = "/api/v1/topics/{id}", tag = "topics",
    params(("id" = i64, Path, description = "topic id")),
    responses((status = 200, body = TopicWithComments), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_topic(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<TopicWithComments>> {
    let (t, comments) = s.app.topic(&who, id).await.map_err(app_err(lang))?;
    let history = s.app.topic_history(id).await.map_err(app_err(lang))?;
    Ok(Json(TopicWithComments {
        topic: TopicView::from(t),
        comments,
        history,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicChangesBody {
    title: Option<String>,
    source: Option<String>,
    area: Option<String>,
    description: Option<String>,
    /// `dropped` to set it aside, `open` to take it up again.
    status: Option<String>,
}

/// Edit, drop or reopen a topic of one's own subdistrict.
#[utoipa::path(patch, path = "/api/v1/topics/{id}", tag = "topics", request_body = TopicChangesBody,
    params(("id" = i64, Path, description = "topic id")),
    responses((status = 200, body = TopicView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_topic(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<TopicChangesBody>,
) -> ApiResult<Json<TopicView>> {
    let t = s
        .app
        .update_topic(
            &who,
            id,
            TopicInput {
                title: b.title,
                source: b.source,
                area: b.area,
                description: b.description,
            },
            b.status,
            Utc::now(),
        )
        .await
        .map_err(app_err(lang))?;
    Ok(Json(TopicView::from(t)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    /// 1 to 5000 characters.
    #[schema(min_length = 1)]
    body: String,
}

/// Discuss a topic (anyone who sees it).
#[utoipa::path(post, path = "/api/v1/topics/{id}/comments", tag = "topics", request_body = CommentBody,
    params(("id" = i64, Path, description = "topic id")),
    responses((status = 201, body = CommentView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn comment_topic(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<CommentBody>,
) -> ApiResult<Response> {
    let c = s
        .app
        .comment_topic(&who, id, &b.body, Utc::now())
        .await
        .map_err(app_err(lang))?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteBody {
    /// The year of the project application.
    year: i32,
}

#[derive(Serialize, ToSchema)]
pub struct Promoted {
    topic: TopicView,
    project: ProjectView,
}

/// Promote an open topic into a project application; its title and description carry over.
#[utoipa::path(post, path = "/api/v1/topics/{id}/promote", tag = "topics", request_body = PromoteBody,
    params(("id" = i64, Path, description = "topic id")),
    responses((status = 201, body = Promoted), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn promote_topic(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(b): ApiJson<PromoteBody>,
) -> ApiResult<Response> {
    let (t, p) = s
        .app
        .promote_topic(&who, id, b.year, Utc::now())
        .await
        .map_err(app_err(lang))?;
    Ok((
        StatusCode::CREATED,
        Json(Promoted {
            topic: TopicView::from(t),
            project: ProjectView::from(&p),
        }),
    )
        .into_response())
}
