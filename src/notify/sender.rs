//! The outbox sender: claims due mail, renders and delivers it, and records the outcome.
//!
//! Claiming sets a lease (the row's next attempt moves into the future and its attempt count
//! grows) in one transaction; on PostgreSQL the rows are selected `FOR UPDATE SKIP LOCKED`, so
//! several server processes never claim the same mail. A sender that dies mid-batch leaves its
//! unsent rows to come due again when the lease ends: nothing is lost. Up to `concurrency`
//! mails are in flight at once, and each is marked sent right after the server accepted it;
//! the Message-ID is derived from the outbox key so that a receiver can recognise the
//! duplicate a crash in that instant could cause (at most one per mail then in flight).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::render::Mailer;
use super::transport::Transport;
use crate::app::{App, AppResult};
use crate::store::entity::{outbox, project, user};

#[derive(Debug, Clone)]
pub struct SenderSettings {
    pub from: String,
    pub public_url: String,
    pub max_attempts: u32,
    pub batch: u64,
    /// How long a claim lasts before an unsent mail comes due again.
    pub lease: Duration,
    /// Mails delivered at once (each on its own SMTP connection). Keep it at or below the
    /// transport's connections, and below what the SMTP server serves at once.
    pub concurrency: usize,
}

impl Default for SenderSettings {
    fn default() -> Self {
        SenderSettings {
            from: "书记项目 <noreply@secretary-projects.invalid>".into(),
            public_url: "http://127.0.0.1:8080".into(),
            max_attempts: 8,
            batch: 50,
            lease: Duration::minutes(5),
            concurrency: super::transport::DEFAULT_CONNECTIONS,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
}

/// The wait before try `attempts + 1`: 30 s, 1 min, 2 min, ... at most 6 hours.
pub fn backoff(attempts: u32) -> Duration {
    let shift = Ord::min(attempts.saturating_sub(1), 20);
    let secs = 30i64.saturating_mul(1i64 << shift);
    Duration::seconds(Ord::min(secs, 6 * 3600))
}

enum Outcome {
    Sent,
    Retry,
    Dead,
}

pub struct Sender {
    app: App,
    transport: Arc<Transport>,
    mailer: Arc<Mailer>,
    settings: SenderSettings,
}

impl Sender {
    pub fn new(app: App, transport: Transport, settings: SenderSettings) -> Sender {
        Sender {
            app,
            transport: Arc::new(transport),
            mailer: Arc::new(Mailer::new()),
            settings,
        }
    }

    /// Claim up to one batch of due mail, leasing it: until the lease ends no sender takes it.
    /// (`run_once` claims and delivers; a claim alone is what a sender that died leaves.)
    pub async fn claim(&self, now: DateTime<Utc>) -> AppResult<Vec<outbox::Model>> {
        let txn = self.app.db.begin_write().await?;
        let mut q = outbox::Entity::find()
            .filter(outbox::Column::SentAt.is_null())
            .filter(outbox::Column::Dead.eq(false))
            .filter(outbox::Column::NextAttemptAt.lte(now))
            .order_by_asc(outbox::Column::NextAttemptAt)
            .order_by_asc(outbox::Column::Id)
            .limit(self.settings.batch);
        if txn.get_database_backend() == DbBackend::Postgres {
            q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let rows = q.all(&txn).await?;
        if !rows.is_empty() {
            outbox::Entity::update_many()
                .col_expr(
                    outbox::Column::NextAttemptAt,
                    Expr::value(now + self.settings.lease),
                )
                .col_expr(
                    outbox::Column::Attempts,
                    Expr::col(outbox::Column::Attempts).add(1),
                )
                .filter(outbox::Column::Id.is_in(rows.iter().map(|r| r.id)))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(rows)
    }

    /// One pass: claim, deliver, record. Answers what happened. Up to `concurrency` mails are
    /// in flight at once; each is recorded as soon as its own delivery ends, so a sender that
    /// dies mid-batch leaves only the mails it had not yet seen accepted.
    pub async fn run_once(&self, now: DateTime<Utc>) -> AppResult<RunReport> {
        use futures_util::stream::{self, StreamExt};
        let rows = self.claim(now).await?;
        let outcomes: Vec<AppResult<Outcome>> = stream::iter(rows)
            .map(|row| async move {
                let result = self.deliver(&row).await;
                self.record(&row, result, now).await
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;
        let mut report = RunReport::default();
        for outcome in outcomes {
            match outcome? {
                Outcome::Sent => report.sent += 1,
                Outcome::Retry => report.retried += 1,
                Outcome::Dead => report.dead += 1,
            }
        }
        Ok(report)
    }

    async fn record(
        &self,
        row: &outbox::Model,
        result: Result<(), (bool, String)>,
        now: DateTime<Utc>,
    ) -> AppResult<Outcome> {
        let attempts = row.attempts as u32 + 1;
        match result {
            Ok(()) => {
                outbox::Entity::update_many()
                    .col_expr(outbox::Column::SentAt, Expr::value(now))
                    .col_expr(
                        outbox::Column::LastError,
                        Expr::value(Option::<String>::None),
                    )
                    .filter(outbox::Column::Id.eq(row.id))
                    .filter(outbox::Column::SentAt.is_null())
                    .exec(&self.app.db.write)
                    .await?;
                self.app.metrics.mail_outcome("sent", 1);
                Ok(Outcome::Sent)
            }
            Err((permanent, message)) => {
                let dead = permanent || attempts >= self.settings.max_attempts;
                tracing::warn!(outbox = row.id, attempts, dead, error = %message, "mail not delivered");
                outbox::Entity::update_many()
                    .col_expr(outbox::Column::LastError, Expr::value(Some(message)))
                    .col_expr(outbox::Column::Dead, Expr::value(dead))
                    .col_expr(
                        outbox::Column::NextAttemptAt,
                        Expr::value(now + backoff(attempts)),
                    )
                    .filter(outbox::Column::Id.eq(row.id))
                    .exec(&self.app.db.write)
                    .await?;
                if dead {
                    self.app.metrics.mail_outcome("dead", 1);
                    Ok(Outcome::Dead)
                } else {
                    self.app.metrics.mail_outcome("retry", 1);
                    Ok(Outcome::Retry)
                }
            }
        }
    }

    /// Render and hand one mail to the transport. Err((permanent, why)).
    async fn deliver(&self, row: &outbox::Model) -> Result<(), (bool, String)> {
        let payload: Value = serde_json::from_str(&row.payload)
            .map_err(|e| (true, format!("unreadable payload: {e}")))?;
        // The template comes from the project's own definition version, else the current one.
        let w = match row.project_id {
            Some(pid) => match project::Entity::find_by_id(pid)
                .one(&self.app.db.read)
                .await
            {
                Ok(Some(p)) => self.app.workflow_of(&p).await.ok(),
                Ok(None) => None,
                Err(e) => return Err((false, e.to_string())),
            },
            None => None,
        }
        .or_else(|| {
            payload["definition"]
                .as_str()
                .and_then(|d| self.app.registry.current(d))
                .map(|v| v.workflow)
        })
        .ok_or((true, "no definition to render the mail with".to_string()))?;
        let name = match row.recipient_user_id {
            Some(uid) => user::Entity::find_by_id(uid)
                .one(&self.app.db.read)
                .await
                .map_err(|e| (false, e.to_string()))?
                .map(|u| u.name)
                .unwrap_or_default(),
            None => String::new(),
        };
        let rendered = self
            .mailer
            .render(
                &w,
                &row.template,
                &row.language,
                &payload,
                &name,
                &self.settings.public_url,
            )
            .map_err(|e| (true, e.to_string()))?;
        let from: Mailbox = self
            .settings
            .from
            .parse()
            .map_err(|e| (true, format!("sender address: {e}")))?;
        let to: Mailbox = row
            .recipient_email
            .parse()
            .map_err(|e| (true, format!("recipient `{}`: {e}", row.recipient_email)))?;
        let id = hex::encode(&Sha256::digest(row.unique_key.as_bytes())[..16]);
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(rendered.subject)
            .message_id(Some(format!("<{id}@secretary-projects>")))
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|e| (true, format!("cannot build the mail: {e}")))?;
        let file_name = format!(
            "{}-{:06}-{}",
            row.created_at.format("%Y%m%d-%H%M%S"),
            row.id,
            row.template
        );
        self.transport
            .send(message, &file_name)
            .await
            .map_err(|e| (e.permanent, e.message))
    }

    /// Run until `shutdown` resolves: a pass every `every`, and at once after a busy pass.
    pub async fn run(
        self,
        every: std::time::Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        tracing::info!("{}", self.transport.describe());
        loop {
            let busy = match self.run_once(Utc::now()).await {
                Ok(r) => {
                    if r != RunReport::default() {
                        tracing::info!(
                            sent = r.sent,
                            retried = r.retried,
                            dead = r.dead,
                            "outbox pass"
                        );
                    }
                    r.sent + r.retried + r.dead > 0
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox pass failed; will retry");
                    false
                }
            };
            if !busy {
                self.transport
                    .close_idle(std::time::Duration::from_secs(30))
                    .await;
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = shutdown.changed() => break,
                }
            }
            if *shutdown.borrow() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(3), Duration::seconds(120));
        assert_eq!(backoff(40), Duration::hours(6));
        assert!(backoff(0) >= Duration::seconds(30));
    }
}
