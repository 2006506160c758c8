//! What the outbox shows to people: each user's own notification history, and to the
//! district's administrators the mail of their district, dead letters first, with a retry.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;

use super::directory::ADMIN_ROLE;
use super::{App, AppError, AppResult, Principal};
use crate::store::entity::{outbox, project, user};
use crate::workflow::engine::{Reason, Refusal};

/// One mail as people see it (never its rendered body: that is made when it is sent).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MailView {
    pub id: i64,
    pub template: String,
    pub recipient_user_id: Option<i64>,
    pub recipient_email: String,
    pub language: String,
    pub project_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// `queued`, `sent` or `dead`.
    pub state: String,
    pub attempts: i32,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl From<outbox::Model> for MailView {
    fn from(o: outbox::Model) -> Self {
        MailView {
            state: if o.sent_at.is_some() {
                "sent"
            } else if o.dead {
                "dead"
            } else {
                "queued"
            }
            .into(),
            id: o.id,
            template: o.template,
            recipient_user_id: o.recipient_user_id,
            recipient_email: o.recipient_email,
            language: o.language,
            project_id: o.project_id,
            created_at: o.created_at,
            due_at: o.due_at,
            attempts: o.attempts,
            sent_at: o.sent_at,
            last_error: o.last_error,
        }
    }
}

const PAGE: u64 = 200;

/// One of a user's notifications as their page lists it: the mail, its subject in the
/// reader's language, and the local page it is about.
#[derive(Debug, Clone)]
pub struct Notification {
    pub mail: MailView,
    pub subject: String,
    pub link: Option<String>,
}

/// The page a mail's payload links to, when it is a path of this site.
fn local_link(payload: &serde_json::Value, project_id: Option<i64>) -> Option<String> {
    payload["link"]
        .as_str()
        .filter(|l| l.starts_with('/') && !l.starts_with("//") && !l.contains('\\'))
        .map(str::to_string)
        .or_else(|| project_id.map(|p| format!("/projects/{p}")))
}

impl App {
    /// The caller's own mail, newest first.
    pub async fn my_notifications(&self, who: &Principal) -> AppResult<Vec<MailView>> {
        Ok(outbox::Entity::find()
            .filter(outbox::Column::RecipientUserId.eq(who.user_id))
            .order_by_desc(outbox::Column::Id)
            .limit(PAGE)
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(MailView::from)
            .collect())
    }

    /// The caller's own mail, newest first, with subjects rendered in `lang` (the template's
    /// id when it cannot be rendered).
    pub async fn my_notification_list(
        &self,
        who: &Principal,
        lang: &str,
    ) -> AppResult<Vec<Notification>> {
        // Newest by when it was queued: a replayed or back-dated run queues out of id order.
        let rows = outbox::Entity::find()
            .filter(outbox::Column::RecipientUserId.eq(who.user_id))
            .order_by_desc(outbox::Column::CreatedAt)
            .order_by_desc(outbox::Column::Id)
            .limit(PAGE)
            .all(&self.db.read)
            .await?;
        let mut workflows = std::collections::HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for o in rows {
            let payload: serde_json::Value =
                serde_json::from_str(&o.payload).unwrap_or(serde_json::Value::Null);
            let w = match o.project_id {
                Some(pid) => match workflows.get(&pid) {
                    Some(w) => Some(std::sync::Arc::clone(w)),
                    None => {
                        let w = match project::Entity::find_by_id(pid).one(&self.db.read).await? {
                            Some(p) => self.workflow_of(&p).await.ok(),
                            None => None,
                        };
                        if let Some(w) = &w {
                            workflows.insert(pid, std::sync::Arc::clone(w));
                        }
                        w
                    }
                },
                None => None,
            }
            .or_else(|| {
                payload["definition"]
                    .as_str()
                    .and_then(|d| self.registry.current(d))
                    .map(|v| v.workflow)
            });
            let subject = w
                .and_then(|w| crate::notify::render::subject(&w, &o.template, lang, &payload))
                .unwrap_or_else(|| o.template.clone());
            let link = local_link(&payload, o.project_id);
            out.push(Notification {
                mail: MailView::from(o),
                subject,
                link,
            });
        }
        Ok(out)
    }

    /// Mail to the users of the administrator's district, in a state (`queued`, `sent`,
    /// `dead`), newest first.
    pub async fn district_mail(&self, who: &Principal, state: &str) -> AppResult<Vec<MailView>> {
        let users: Vec<i64> = self
            .district_users(who)
            .await?
            .into_iter()
            .map(|u: user::Model| u.id)
            .collect();
        let mut q = outbox::Entity::find().filter(outbox::Column::RecipientUserId.is_in(users));
        q = match state {
            "sent" => q.filter(outbox::Column::SentAt.is_not_null()),
            "dead" => q.filter(outbox::Column::Dead.eq(true)),
            "queued" => q
                .filter(outbox::Column::SentAt.is_null())
                .filter(outbox::Column::Dead.eq(false)),
            other => {
                return Err(AppError::Invalid(format!(
                    "state `{other}` is not queued, sent or dead"
                )))
            }
        };
        Ok(q.order_by_desc(outbox::Column::Id)
            .limit(PAGE)
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(MailView::from)
            .collect())
    }

    /// An administrator sends a dead letter again (after fixing an address, say).
    pub async fn retry_mail(
        &self,
        who: &Principal,
        id: i64,
        now: DateTime<Utc>,
    ) -> AppResult<MailView> {
        if !who.roles.iter().any(|r| r == ADMIN_ROLE) {
            return Err(AppError::Forbidden(Refusal {
                reasons: vec![Reason::RoleNotAllowed {
                    allowed: vec![ADMIN_ROLE.to_string()],
                }],
            }));
        }
        let o = outbox::Entity::find_by_id(id)
            .one(&self.db.read)
            .await?
            .ok_or(AppError::NotFound {
                what: "mail",
                id: id.to_string(),
            })?;
        let in_district = self
            .district_users(who)
            .await?
            .iter()
            .any(|u| Some(u.id) == o.recipient_user_id);
        if !in_district {
            return Err(AppError::Forbidden(Refusal {
                reasons: vec![Reason::OutOfScope],
            }));
        }
        if !o.dead {
            return Err(AppError::Invalid(
                "only a dead letter can be retried".into(),
            ));
        }
        // The address may have been corrected since: take the user's current one.
        let email = match o.recipient_user_id {
            Some(uid) => user::Entity::find_by_id(uid)
                .one(&self.db.read)
                .await?
                .map(|u| u.email)
                .unwrap_or(o.recipient_email.clone()),
            None => o.recipient_email.clone(),
        };
        outbox::Entity::update_many()
            .col_expr(outbox::Column::Dead, Expr::value(false))
            .col_expr(outbox::Column::Attempts, Expr::value(0))
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(now))
            .col_expr(outbox::Column::RecipientEmail, Expr::value(email))
            .filter(outbox::Column::Id.eq(id))
            .exec(&self.db.write)
            .await?;
        let o = outbox::Entity::find_by_id(id)
            .one(&self.db.read)
            .await?
            .ok_or(AppError::NotFound {
                what: "mail",
                id: id.to_string(),
            })?;
        Ok(MailView::from(o))
    }
}
