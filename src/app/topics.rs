//! The topic pool (议题库): a subdistrict records candidate problems (from field visits, resident
//! requests, demand lists...), discusses them, and promotes one into a project application with
//! its text carried over. District users see the pool of the whole district.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::projects::NewProject;
use super::{App, AppError, AppResult, Principal};
use crate::store::entity::{organisation, topic, topic_comment, topic_event};
use crate::workflow::engine::{Reason, Refusal, Relation};
use crate::workflow::Workflow;

const MAX_TITLE: usize = 200;
const MAX_AREA: usize = 100;
const MAX_TEXT: usize = 5000;

#[derive(Debug, Clone, Default)]
pub struct TopicInput {
    pub title: Option<String>,
    pub source: Option<String>,
    pub area: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommentView {
    pub id: i64,
    pub author_user_id: i64,
    pub body: String,
    pub at: DateTime<Utc>,
}

/// Append to the topic's trail, inside the caller's transaction.
async fn record<C: sea_orm::ConnectionTrait>(
    db: &C,
    topic_id: i64,
    actor: i64,
    action: &str,
    data: Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    topic_event::ActiveModel {
        topic_id: Set(topic_id),
        at: Set(now),
        actor_user_id: Set(actor),
        action: Set(action.to_string()),
        data: Set(data.to_string()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One change in a topic's trail.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TopicEventView {
    pub at: DateTime<Utc>,
    pub actor_user_id: i64,
    pub action: String,
    #[schema(value_type = Object)]
    pub data: Value,
}

fn forbidden(reason: Reason) -> AppError {
    AppError::Forbidden(Refusal {
        reasons: vec![reason],
    })
}

fn text(name: &str, value: &str, max: usize, required: bool) -> AppResult<String> {
    let v = value.trim();
    if (required && v.is_empty()) || v.chars().count() > max {
        return Err(AppError::Invalid(format!(
            "{name} has {} to {max} characters",
            if required { 1 } else { 0 }
        )));
    }
    Ok(v.to_string())
}

impl App {
    /// The definition whose topic pool is used (the one named, which must declare a pool).
    fn pool_workflow(&self, definition: &str) -> AppResult<std::sync::Arc<Workflow>> {
        let v = self
            .registry
            .current(definition)
            .ok_or(AppError::NotFound {
                what: "workflow definition",
                id: definition.to_string(),
            })?;
        if v.workflow.definition.topic_pool.is_none() {
            return Err(AppError::Invalid(format!(
                "definition `{definition}` declares no topic pool"
            )));
        }
        Ok(v.workflow)
    }

    /// May `who` record and promote topics of this pool (a pool role, in a subdistrict)?
    fn require_pool_role(&self, w: &Workflow, who: &Principal) -> AppResult<()> {
        let tp = w
            .definition
            .topic_pool
            .as_ref()
            .ok_or_else(|| AppError::Invalid("no topic pool".into()))?;
        let allowed: Vec<String> = tp.roles.iter().map(|r| r.as_str().to_string()).collect();
        if !who.roles.iter().any(|r| allowed.contains(r)) {
            return Err(forbidden(Reason::RoleNotAllowed { allowed }));
        }
        Ok(())
    }

    fn check_source(w: &Workflow, source: &str) -> AppResult<()> {
        let tp = w.definition.topic_pool.as_ref();
        let ids: Vec<&str> = tp
            .map(|t| t.sources.iter().map(|s| s.id.as_str()).collect())
            .unwrap_or_default();
        if !ids.contains(&source) {
            return Err(AppError::Invalid(format!(
                "source `{source}` is not one of: {}",
                ids.join(", ")
            )));
        }
        Ok(())
    }

    pub async fn create_topic(
        &self,
        who: &Principal,
        definition: &str,
        input: TopicInput,
        now: DateTime<Utc>,
    ) -> AppResult<topic::Model> {
        let w = self.pool_workflow(definition)?;
        self.require_pool_role(&w, who)?;
        let org = organisation::Entity::find_by_id(who.organisation_id)
            .one(&self.db.read)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if org.parent_id.is_none() {
            return Err(AppError::Invalid(
                "topics belong to a subdistrict; district users read the pool".into(),
            ));
        }
        let title = text(
            "title",
            input.title.as_deref().unwrap_or(""),
            MAX_TITLE,
            true,
        )?;
        let source = input.source.unwrap_or_default();
        Self::check_source(&w, &source)?;
        let area = text("area", input.area.as_deref().unwrap_or(""), MAX_AREA, false)?;
        let description = text(
            "description",
            input.description.as_deref().unwrap_or(""),
            MAX_TEXT,
            false,
        )?;
        let txn = self.db.begin_write().await?;
        let t = topic::ActiveModel {
            definition_key: Set(w.id().to_string()),
            organisation_id: Set(org.id),
            district_id: Set(org.parent_id),
            author_user_id: Set(who.user_id),
            title: Set(title),
            source: Set(source),
            area: Set(area),
            description: Set(description),
            status: Set("open".into()),
            project_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        record(
            &txn,
            t.id,
            who.user_id,
            "created",
            json!({"title": t.title, "source": t.source, "area": t.area}),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(t)
    }

    /// The pool the caller sees: their subdistrict's, or the whole district's.
    pub async fn topics(
        &self,
        who: &Principal,
        status: Option<&str>,
    ) -> AppResult<Vec<topic::Model>> {
        let district_user = self.is_district_org(who.organisation_id).await?;
        let mut q = topic::Entity::find();
        q = if district_user {
            q.filter(topic::Column::DistrictId.eq(who.organisation_id))
        } else {
            q.filter(topic::Column::OrganisationId.eq(who.organisation_id))
        };
        if let Some(s) = status {
            q = q.filter(topic::Column::Status.eq(s));
        }
        Ok(q.order_by_desc(topic::Column::Id)
            .all(&self.db.read)
            .await?)
    }

    /// A topic's trail, oldest first.
    pub async fn topic_history(&self, id: i64) -> AppResult<Vec<TopicEventView>> {
        Ok(topic_event::Entity::find()
            .filter(topic_event::Column::TopicId.eq(id))
            .order_by_asc(topic_event::Column::Id)
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(|e| TopicEventView {
                at: e.at,
                actor_user_id: e.actor_user_id,
                action: e.action,
                data: serde_json::from_str(&e.data).unwrap_or(Value::Null),
            })
            .collect())
    }

    /// One topic the caller may see, with its discussion.
    pub async fn topic(
        &self,
        who: &Principal,
        id: i64,
    ) -> AppResult<(topic::Model, Vec<CommentView>)> {
        let t = self.visible_topic(who, id).await?;
        let comments = topic_comment::Entity::find()
            .filter(topic_comment::Column::TopicId.eq(id))
            .order_by_asc(topic_comment::Column::Id)
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(|c| CommentView {
                id: c.id,
                author_user_id: c.author_user_id,
                body: c.body,
                at: c.created_at,
            })
            .collect();
        Ok((t, comments))
    }

    async fn visible_topic(&self, who: &Principal, id: i64) -> AppResult<topic::Model> {
        let t = topic::Entity::find_by_id(id)
            .one(&self.db.read)
            .await?
            .ok_or(AppError::NotFound {
                what: "topic",
                id: id.to_string(),
            })?;
        if who.relation(t.organisation_id, t.district_id) == Relation::Outside {
            return Err(forbidden(Reason::OutOfScope));
        }
        Ok(t)
    }

    /// Anyone who sees the topic may discuss it.
    pub async fn comment_topic(
        &self,
        who: &Principal,
        id: i64,
        body: &str,
        now: DateTime<Utc>,
    ) -> AppResult<CommentView> {
        self.visible_topic(who, id).await?;
        let body = text("the comment", body, MAX_TEXT, true)?;
        let txn = self.db.begin_write().await?;
        let c = topic_comment::ActiveModel {
            topic_id: Set(id),
            author_user_id: Set(who.user_id),
            body: Set(body),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        record(
            &txn,
            id,
            who.user_id,
            "commented",
            json!({"comment": c.id}),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(CommentView {
            id: c.id,
            author_user_id: c.author_user_id,
            body: c.body,
            at: c.created_at,
        })
    }

    /// Edit an open topic of one's own subdistrict, or drop it (`status: dropped`) or reopen it.
    pub async fn update_topic(
        &self,
        who: &Principal,
        id: i64,
        input: TopicInput,
        status: Option<String>,
        now: DateTime<Utc>,
    ) -> AppResult<topic::Model> {
        let t = self.visible_topic(who, id).await?;
        let w = self.pool_workflow(&t.definition_key)?;
        self.require_pool_role(&w, who)?;
        if who.organisation_id != t.organisation_id {
            return Err(forbidden(Reason::OutOfScope));
        }
        if t.status == "promoted" {
            return Err(AppError::Invalid(format!(
                "the topic became project {} and no longer changes",
                t.project_id.unwrap_or_default()
            )));
        }
        let before = t.clone();
        let mut a: topic::ActiveModel = t.into();
        if let Some(v) = &input.title {
            a.title = Set(text("title", v, MAX_TITLE, true)?);
        }
        if let Some(v) = &input.source {
            Self::check_source(&w, v)?;
            a.source = Set(v.clone());
        }
        if let Some(v) = &input.area {
            a.area = Set(text("area", v, MAX_AREA, false)?);
        }
        if let Some(v) = &input.description {
            a.description = Set(text("description", v, MAX_TEXT, false)?);
        }
        if let Some(s) = status {
            if !matches!(s.as_str(), "open" | "dropped") {
                return Err(AppError::Invalid(format!(
                    "status `{s}` cannot be set (open or dropped; promote to make a project)"
                )));
            }
            a.status = Set(s);
        }
        a.updated_at = Set(now);
        let txn = self.db.begin_write().await?;
        let after = a.update(&txn).await?;
        let action = match (before.status.as_str(), after.status.as_str()) {
            ("open", "dropped") => "dropped",
            ("dropped", "open") => "reopened",
            _ => "edited",
        };
        let changed: Map<String, Value> = [
            ("title", &before.title, &after.title),
            ("source", &before.source, &after.source),
            ("area", &before.area, &after.area),
            ("description", &before.description, &after.description),
            ("status", &before.status, &after.status),
        ]
        .into_iter()
        .filter(|(_, b, a)| b != a)
        .map(|(k, b, a)| (k.to_string(), json!({"before": b, "after": a})))
        .collect();
        record(
            &txn,
            after.id,
            who.user_id,
            action,
            Value::Object(changed),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(after)
    }

    /// Promote an open topic into a project application of `year`: the title carries over, and
    /// the description fills the form field the pool names.
    pub async fn promote_topic(
        &self,
        who: &Principal,
        id: i64,
        year: i32,
        now: DateTime<Utc>,
    ) -> AppResult<(topic::Model, crate::store::entity::project::Model)> {
        let t = self.visible_topic(who, id).await?;
        let w = self.pool_workflow(&t.definition_key)?;
        self.require_pool_role(&w, who)?;
        if who.organisation_id != t.organisation_id {
            return Err(forbidden(Reason::OutOfScope));
        }
        // Claim the topic first, so that two promotions cannot both make a project.
        let claimed = topic::Entity::update_many()
            .col_expr(topic::Column::Status, Expr::value("promoting"))
            .filter(topic::Column::Id.eq(id))
            .filter(topic::Column::Status.eq("open"))
            .exec(&self.db.write)
            .await?;
        if claimed.rows_affected == 0 {
            return Err(AppError::Invalid(format!(
                "only an open topic can be promoted; this one is {}",
                t.status
            )));
        }
        let mut form = Map::new();
        if let Some(field) = w
            .definition
            .topic_pool
            .as_ref()
            .and_then(|p| p.description_field.as_ref())
        {
            if !t.description.is_empty() {
                form.insert(
                    field.as_str().to_string(),
                    Value::String(t.description.clone()),
                );
            }
        }
        let created = self
            .create_project(
                who,
                NewProject {
                    definition: t.definition_key.clone(),
                    title: t.title.clone(),
                    year,
                    organisation_id: Some(t.organisation_id),
                    form,
                },
                now,
            )
            .await;
        let project = match created {
            Ok(p) => p,
            Err(e) => {
                // Give the topic back.
                topic::Entity::update_many()
                    .col_expr(topic::Column::Status, Expr::value("open"))
                    .filter(topic::Column::Id.eq(id))
                    .exec(&self.db.write)
                    .await?;
                return Err(e);
            }
        };
        let mut a: topic::ActiveModel = t.into();
        a.status = Set("promoted".into());
        a.project_id = Set(Some(project.id));
        a.updated_at = Set(now);
        let txn = self.db.begin_write().await?;
        let t = a.update(&txn).await?;
        record(
            &txn,
            t.id,
            who.user_id,
            "promoted",
            json!({"project": project.id, "year": year}),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok((t, project))
    }
}
