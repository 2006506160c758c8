//! The topic pool (议题库) in the browser: the problems a subdistrict has found, recorded,
//! discussed, dropped or reopened, and promoted into an application. Same use cases and the
//! same scope as the API: a subdistrict sees its own pool, the district every pool of its own.

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::ctx::{done, Page, Posted};
use super::error::{respond, PageError, PageResult};
use crate::app::topics::TopicInput;
use crate::app::{AppError, Principal};
use crate::store::entity::topic;
use crate::workflow::Workflow;

/// The definitions with a topic pool the user may record in.
fn pools(page: &Page, who: &Principal) -> Vec<std::sync::Arc<Workflow>> {
    page.state
        .app
        .registry
        .all_current()
        .iter()
        .map(|v| v.workflow.clone())
        .filter(|w| {
            w.definition.topic_pool.as_ref().is_some_and(|tp| {
                tp.roles
                    .iter()
                    .any(|r| who.roles.iter().any(|h| h == r.as_str()))
            })
        })
        .collect()
}

fn source_name(page: &Page, t: &topic::Model) -> String {
    page.state
        .app
        .registry
        .current(&t.definition_key)
        .and_then(|v| {
            v.workflow.definition.topic_pool.as_ref().and_then(|tp| {
                tp.sources
                    .iter()
                    .find(|s| s.id.as_str() == t.source)
                    .map(|s| s.name.get(page.lang.code()).to_string())
            })
        })
        .unwrap_or_else(|| t.source.clone())
}

fn status_name(page: &Page, status: &str) -> String {
    page.t(&format!("topic.status.{status}"))
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    status: Option<String>,
    done: Option<String>,
}

pub async fn list(page: Page, Query(q): Query<ListQuery>) -> Response {
    let r = list_page(&page, q, None, TopicFields::default(), StatusCode::OK).await;
    respond(&page, r).await
}

#[derive(Deserialize, Default, Clone)]
pub struct TopicFields {
    #[serde(default)]
    definition: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    description: String,
}

async fn list_page(
    page: &Page,
    q: ListQuery,
    error: Option<String>,
    typed: TopicFields,
    status: StatusCode,
) -> PageResult {
    let who = page.require_user()?;
    let lang = page.lang.code();
    let filter = q
        .status
        .as_deref()
        .filter(|s| ["open", "promoted", "dropped"].contains(s));
    let topics = page.state.app.topics(&who, filter).await?;
    let items: Vec<Value> = topics
        .iter()
        .map(|t| {
            json!({
                "id": t.id, "title": t.title, "area": t.area,
                "source": source_name(page, t),
                "status": status_name(page, &t.status),
                "open": t.status == "open",
                "project_id": t.project_id,
                "at": t.created_at.to_rfc3339(),
            })
        })
        .collect();
    let pools: Vec<Value> = pools(page, &who)
        .iter()
        .map(|w| {
            let tp = w.definition.topic_pool.as_ref();
            json!({
                "definition": w.id(),
                "name": w.definition.name.get(lang),
                "sources": tp.map(|tp| tp.sources.iter().map(|s| json!({
                    "id": s.id.as_str(), "name": s.name.get(lang), "selected": s.id.as_str() == typed.source,
                })).collect::<Vec<_>>()).unwrap_or_default(),
            })
        })
        .collect();
    let notice = page.notice(q.done.as_deref());
    let filters: Vec<Value> = [None, Some("open"), Some("promoted"), Some("dropped")]
        .iter()
        .map(|s| {
            json!({
                "href": s.map(|s| format!("/topics?status={s}")).unwrap_or_else(|| "/topics".into()),
                "label": s.map(|s| status_name(page, s)).unwrap_or_else(|| page.t("topic.all")),
                "current": *s == filter,
            })
        })
        .collect();
    Ok(page
        .render(
            status,
            "topics",
            &page.t("topic.pool"),
            json!({
                "items": items,
                "pools": pools,
                "one_pool": pools.len() == 1,
                "filters": filters,
                "errors": error.map(|e| vec![json!({"field": "topic-title", "message": e})]),
                "typed": {"title": typed.title, "area": typed.area, "description": typed.description},
                "notice": notice,
            }),
        )
        .await)
}

pub async fn create(posted: Posted<TopicFields>) -> Response {
    let Posted { page, form } = posted;
    let r = create_topic(&page, form).await;
    respond(&page, r).await
}

async fn create_topic(page: &Page, form: TopicFields) -> PageResult {
    let who = page.require_user()?;
    let definition = if form.definition.is_empty() {
        pools(page, &who)
            .first()
            .map(|w| w.id().to_string())
            .unwrap_or_default()
    } else {
        form.definition.clone()
    };
    let made = page
        .state
        .app
        .create_topic(
            &who,
            &definition,
            TopicInput {
                title: Some(form.title.clone()),
                source: Some(form.source.clone()),
                area: Some(form.area.clone()),
                description: Some(form.description.clone()),
            },
            Utc::now(),
        )
        .await;
    match made {
        Ok(t) => Ok(done(&format!("/topics/{}", t.id), "topic_recorded")),
        Err(AppError::Invalid(why)) => {
            list_page(
                page,
                ListQuery::default(),
                Some(why),
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn show(page: Page, Path(id): Path<i64>, Query(q): Query<ListQuery>) -> Response {
    let r = topic_page(&page, id, q.done, None, StatusCode::OK).await;
    respond(&page, r).await
}

async fn topic_page(
    page: &Page,
    id: i64,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> PageResult {
    let who = page.require_user()?;
    let app = &page.state.app;
    let (t, comments) = app.topic(&who, id).await?;
    let ids: Vec<i64> = comments.iter().map(|c| c.author_user_id).collect();
    let names = super::projects::user_names(page, ids.into_iter().chain([t.author_user_id])).await;
    let comments: Vec<Value> = comments
        .iter()
        .map(|c| json!({"author": names.get(&c.author_user_id).cloned().unwrap_or_default(), "body": c.body, "at": c.at.to_rfc3339()}))
        .collect();
    let may_change = pools(page, &who).iter().any(|w| w.id() == t.definition_key)
        && who.organisation_id == t.organisation_id;
    let year = app
        .registry
        .current(&t.definition_key)
        .map(|v| Utc::now().with_timezone(&v.workflow.timezone).year())
        .unwrap_or_else(|| Utc::now().year());
    let notice = page.notice(notice.as_deref());
    Ok(page
        .render(
            status,
            "topic",
            &t.title,
            json!({
                "topic": {
                    "id": t.id, "title": t.title, "area": t.area, "description": t.description,
                    "source": source_name(page, &t),
                    "status": status_name(page, &t.status),
                    "open": t.status == "open",
                    "dropped": t.status == "dropped",
                    "project_id": t.project_id,
                    "author": names.get(&t.author_user_id).cloned().unwrap_or_default(),
                    "at": t.created_at.to_rfc3339(),
                },
                "comments": comments,
                "may_change": may_change,
                "year": year,
                "errors": error.map(|e| vec![json!({"field": "comment", "message": e})]),
                "notice": notice,
            }),
        )
        .await)
}

#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    body: String,
}

pub async fn comment(Path(id): Path<i64>, posted: Posted<CommentForm>) -> Response {
    let Posted { page, form } = posted;
    let r = add_comment(&page, id, form).await;
    respond(&page, r).await
}

async fn add_comment(page: &Page, id: i64, form: CommentForm) -> PageResult {
    let who = page.require_user()?;
    match page
        .state
        .app
        .comment_topic(&who, id, &form.body, Utc::now())
        .await
    {
        Ok(_) => Ok(done(&format!("/topics/{id}"), "comment_added")),
        Err(AppError::Invalid(_)) => {
            let why = page.t("topic.comment_missing");
            topic_page(page, id, None, Some(why), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
}

pub async fn set_status(Path(id): Path<i64>, posted: Posted<StatusForm>) -> Response {
    let Posted { page, form } = posted;
    let r = change_status(&page, id, form).await;
    respond(&page, r).await
}

async fn change_status(page: &Page, id: i64, form: StatusForm) -> PageResult {
    let who = page.require_user()?;
    if !["open", "dropped"].contains(&form.status.as_str()) {
        return Err(PageError::BadForm("status".into()));
    }
    page.state
        .app
        .update_topic(
            &who,
            id,
            TopicInput::default(),
            Some(form.status.clone()),
            Utc::now(),
        )
        .await?;
    Ok(done(
        &format!("/topics/{id}"),
        &format!("topic_{}", form.status),
    ))
}

#[derive(Deserialize)]
pub struct PromoteForm {
    year: i32,
}

pub async fn promote(Path(id): Path<i64>, posted: Posted<PromoteForm>) -> Response {
    let Posted { page, form } = posted;
    let r = promote_topic(&page, id, form).await;
    respond(&page, r).await
}

async fn promote_topic(page: &Page, id: i64, form: PromoteForm) -> PageResult {
    let who = page.require_user()?;
    if !(2000..=2100).contains(&form.year) {
        return Err(PageError::BadForm("year".into()));
    }
    let (_, p) = page
        .state
        .app
        .promote_topic(&who, id, form.year, Utc::now())
        .await?;
    // Straight on to the application, with the topic's title and description in it.
    Ok(done(&format!("/projects/{}/form", p.id), "promoted"))
}
