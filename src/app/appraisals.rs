//! Resident appraisal (下评): reviewers issue batches of one-time tokens for a project, print
//! them as QR codes and short links, and withdraw what is left; a resident opens a link and
//! rates the project once, without an account.
//!
//! An appraisal is written in one short transaction that reads the token and the project,
//! decides with the pure rules (`scoring::appraisal`), and writes the appraisal, the used token,
//! the audit event (chained like every change) and the project's counters. On a SQLite file the
//! group-commit writer runs it, so that a burst of residents shares commits.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rand::Rng;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::json;

use super::audit::{self, NewEvent};
use super::projects::{load_for_update, save_change};
use super::{App, AppError, AppResult, Principal, Registry};
use crate::scoring::appraisal::{check_answer, check_token, TokenRefusal, TokenState};
use crate::store::appraisal_sql::{self, AppraisalWrite, ProjectHead};
use crate::store::changeset::ApplyError;
use crate::store::entity::{appraisal, appraisal_token, organisation, project};
use crate::workflow::engine::{Reason, Refusal};
use crate::workflow::model::Scope;

/// Most tokens in one batch.
pub const MAX_BATCH: u32 = 2000;
/// Letters of a code: no 0/O, 1/I/L, so that a code read aloud or typed from paper is right.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const CODE_LEN: usize = 10;

/// One batch of tokens as issued.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedBatch {
    pub batch: String,
    pub project_id: i64,
    pub expires_at: DateTime<Utc>,
    pub codes: Vec<String>,
}

/// How a batch stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchSummary {
    pub batch: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub issued: u32,
    pub used: u32,
    pub revoked: u32,
    pub expired: u32,
}

/// What a resident sees before rating.
#[derive(Debug, Clone, Serialize)]
pub struct AppraisalPage {
    pub project_id: i64,
    pub title: String,
    pub organisation: String,
    pub year: i32,
    /// The problem the project took on and its goals, from the application.
    pub summary: Vec<(String, String)>,
    /// (rating id, label) in the definition's order.
    pub ratings: Vec<(String, String)>,
}

/// Where one decision left an appraisal.
enum Step {
    /// The project's definition version is not loaded yet: load it and ask again.
    NeedWorkflow(i64),
    Refused(TokenRefusal),
    Write(Box<AppraisalWrite>),
}

fn new_code(rng: &mut impl Rng) -> String {
    (0..CODE_LEN)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Is `code` shaped like one of ours? (Refuses junk before it reaches the database.)
pub fn plausible_code(code: &str) -> bool {
    code.len() == CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))
}

fn to_state(t: &appraisal_sql::TokenRow) -> TokenState {
    TokenState {
        id: t.id,
        project_id: t.project_id,
        expires_at: t.expires_at,
        used_at: t.used_at,
        revoked_at: t.revoked_at,
    }
}

/// Decide one appraisal from what was read. Pure but for the registry's cache lookup.
fn decide(
    registry: &Registry,
    token: Option<&appraisal_sql::TokenRow>,
    head: Option<ProjectHead>,
    expected_project: Option<i64>,
    rating: &str,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> Step {
    let state = token.map(to_state);
    let (Some(t), Some(head)) = (token, head) else {
        return Step::Refused(
            check_token(state.as_ref(), expected_project, false, now)
                .err()
                .unwrap_or(TokenRefusal::Unknown),
        );
    };
    let Some(w) = registry.cached(head.definition_id) else {
        return Step::NeedWorkflow(head.definition_id);
    };
    let window = w.appraisal_open_in(&head.stage);
    if let Err(r) = check_token(state.as_ref(), expected_project, window, now) {
        return Step::Refused(r);
    }
    let Some(part) = w.appraisal_part() else {
        return Step::Refused(TokenRefusal::WindowClosed);
    };
    let comment = match check_answer(part, rating, comment) {
        Ok(c) => c,
        Err(r) => return Step::Refused(r),
    };
    let mut counts: BTreeMap<String, u32> =
        serde_json::from_str(&head.score_counts).unwrap_or_default();
    *counts.entry(part.id.to_string()).or_insert(0) += 1;
    let at = audit::normalise_time(now);
    let seq = head.audit_seq + 1;
    let (row, hash) = audit::chained_row(
        &head.audit_head,
        seq,
        NewEvent {
            project_id: head.id,
            actor_user_id: None,
            action: "appraisal",
            comment: comment.as_deref(),
            from_stage: Some(&head.stage),
            to_stage: Some(&head.stage),
            data: json!({"rating": rating, "token": t.id}),
            at,
        },
    );
    let expected_version = head.version;
    Step::Write(Box::new(AppraisalWrite {
        token_id: t.id,
        rating: rating.to_string(),
        comment,
        at,
        audit: row,
        project: ProjectHead {
            version: head.version + 1,
            audit_seq: seq,
            audit_head: hash,
            appraisal_count: head.appraisal_count + 1,
            score_counts: serde_json::to_string(&counts).unwrap_or_else(|_| "{}".into()),
            ..head
        },
        expected_version,
    }))
}

fn store_err(e: ApplyError) -> AppError {
    AppError::Store(sea_orm::DbErr::Custom(e.to_string()))
}

impl App {
    fn may_issue(
        &self,
        who: &Principal,
        p: &project::Model,
        w: &crate::workflow::Workflow,
    ) -> AppResult<()> {
        who.may_use_scope(w, p, Scope::District)
    }

    /// Whether `who` may see a project's appraisal codes: the residents' ballots are for the
    /// district roles that issue them.
    pub async fn may_see_codes(&self, who: &Principal, p: &project::Model) -> AppResult<()> {
        let w = self.workflow_of(p).await?;
        self.may_issue(who, p, &w)
    }

    /// Issue `count` one-time tokens for a project (reviewers and admins of the district).
    pub async fn issue_tokens(
        &self,
        who: &Principal,
        project_id: i64,
        count: u32,
        now: DateTime<Utc>,
    ) -> AppResult<IssuedBatch> {
        if count == 0 || count > MAX_BATCH {
            return Err(AppError::Invalid(format!(
                "count must be from 1 to {MAX_BATCH}, not {count}"
            )));
        }
        let now = audit::normalise_time(now);
        let txn = self.db.begin_write().await?;
        let p = load_for_update(&txn, project_id).await?;
        let w = self.workflow_of(&p).await?;
        self.may_issue(who, &p, &w)?;
        if w.appraisal_part().is_none() {
            return Err(AppError::Invalid(
                "this workflow has no resident appraisal".into(),
            ));
        }
        if w.is_terminal(&p.stage) {
            return Err(AppError::Refused(Refusal {
                reasons: vec![Reason::ProjectClosed {
                    stage: p.stage.clone(),
                }],
            }));
        }
        let expires_at = now + w.token_valid_for();
        let (batch, codes) = {
            let mut rng = rand::rng();
            let batch = format!("{}-{}", now.format("%Y%m%d%H%M%S"), new_code(&mut rng));
            let codes: Vec<String> = (0..count).map(|_| new_code(&mut rng)).collect();
            (batch, codes)
        };
        for chunk in codes.chunks(500) {
            let rows = chunk.iter().map(|code| appraisal_token::ActiveModel {
                project_id: Set(p.id),
                code: Set(code.clone()),
                batch: Set(batch.clone()),
                issued_by: Set(who.user_id),
                issued_at: Set(now),
                expires_at: Set(expires_at),
                used_at: Set(None),
                revoked_at: Set(None),
                ..Default::default()
            });
            appraisal_token::Entity::insert_many(rows)
                .exec_without_returning(&txn)
                .await?;
        }
        let data = json!({"batch": batch, "count": count, "expires_at": expires_at});
        save_change(
            &txn,
            &p,
            Default::default(),
            Some(who.user_id),
            "issue_tokens",
            None,
            data,
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(IssuedBatch {
            batch,
            project_id: p.id,
            expires_at,
            codes,
        })
    }

    /// The batches issued for a project, with how many tokens were used, revoked, expired.
    pub async fn token_batches(
        &self,
        project_id: i64,
        now: DateTime<Utc>,
    ) -> AppResult<Vec<BatchSummary>> {
        let rows = appraisal_token::Entity::find()
            .filter(appraisal_token::Column::ProjectId.eq(project_id))
            .order_by_asc(appraisal_token::Column::Id)
            .all(&self.db.read)
            .await?;
        let mut out: Vec<BatchSummary> = Vec::new();
        for t in rows {
            if out.last().is_none_or(|b| b.batch != t.batch) {
                out.push(BatchSummary {
                    batch: t.batch.clone(),
                    issued_at: t.issued_at,
                    expires_at: t.expires_at,
                    issued: 0,
                    used: 0,
                    revoked: 0,
                    expired: 0,
                });
            }
            if let Some(b) = out.last_mut() {
                b.issued += 1;
                if t.used_at.is_some() {
                    b.used += 1;
                } else if t.revoked_at.is_some() {
                    b.revoked += 1;
                } else if now >= t.expires_at {
                    b.expired += 1;
                }
            }
        }
        Ok(out)
    }

    /// The tokens of one batch (for printing it again).
    pub async fn batch_tokens(
        &self,
        project_id: i64,
        batch: &str,
    ) -> AppResult<Vec<appraisal_token::Model>> {
        let rows = appraisal_token::Entity::find()
            .filter(appraisal_token::Column::ProjectId.eq(project_id))
            .filter(appraisal_token::Column::Batch.eq(batch))
            .order_by_asc(appraisal_token::Column::Id)
            .all(&self.db.read)
            .await?;
        if rows.is_empty() {
            return Err(AppError::NotFound {
                what: "token batch",
                id: batch.to_string(),
            });
        }
        Ok(rows)
    }

    /// Withdraw the unused tokens of a batch; answers how many.
    pub async fn revoke_batch(
        &self,
        who: &Principal,
        project_id: i64,
        batch: &str,
        now: DateTime<Utc>,
    ) -> AppResult<u64> {
        let now = audit::normalise_time(now);
        let txn = self.db.begin_write().await?;
        let p = load_for_update(&txn, project_id).await?;
        let w = self.workflow_of(&p).await?;
        self.may_issue(who, &p, &w)?;
        let exists = appraisal_token::Entity::find()
            .filter(appraisal_token::Column::ProjectId.eq(p.id))
            .filter(appraisal_token::Column::Batch.eq(batch))
            .limit(1)
            .one(&txn)
            .await?;
        if exists.is_none() {
            return Err(AppError::NotFound {
                what: "token batch",
                id: batch.to_string(),
            });
        }
        let res = appraisal_token::Entity::update_many()
            .col_expr(
                appraisal_token::Column::RevokedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(appraisal_token::Column::ProjectId.eq(p.id))
            .filter(appraisal_token::Column::Batch.eq(batch))
            .filter(appraisal_token::Column::UsedAt.is_null())
            .filter(appraisal_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        let data = json!({"batch": batch, "revoked": res.rows_affected});
        save_change(
            &txn,
            &p,
            Default::default(),
            Some(who.user_id),
            "revoke_tokens",
            None,
            data,
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(res.rows_affected)
    }

    /// What a resident sees when opening `code`, or why the code cannot be used now.
    pub async fn appraisal_page(
        &self,
        code: &str,
        lang: &str,
        now: DateTime<Utc>,
    ) -> AppResult<AppraisalPage> {
        if !plausible_code(code) {
            return Err(AppError::Token(TokenRefusal::Unknown));
        }
        let t = appraisal_token::Entity::find()
            .filter(appraisal_token::Column::Code.eq(code))
            .one(&self.db.read)
            .await?
            .ok_or(AppError::Token(TokenRefusal::Unknown))?;
        let p = self.project(t.project_id).await?;
        let w = self.workflow_of(&p).await?;
        let state = TokenState {
            id: t.id,
            project_id: t.project_id,
            expires_at: t.expires_at,
            used_at: t.used_at,
            revoked_at: t.revoked_at,
        };
        check_token(Some(&state), None, w.appraisal_open_in(&p.stage), now)
            .map_err(AppError::Token)?;
        let part = w
            .appraisal_part()
            .ok_or(AppError::Token(TokenRefusal::WindowClosed))?;
        let organisation = organisation::Entity::find_by_id(p.organisation_id)
            .one(&self.db.read)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        let form = super::projects::parse_form(&p).unwrap_or_default();
        // The application's long texts, in the order the form declares them: what the
        // project set out to do, in the secretary's words.
        let summary = w
            .initial_stage()
            .form
            .iter()
            .filter(|f| *f.field_type.get() == crate::workflow::model::FieldType::LongText)
            .filter_map(|f| {
                let text = form.get(f.id.as_str())?.as_str()?.trim();
                (!text.is_empty()).then(|| {
                    let short: String = text.chars().take(300).collect();
                    (f.label.get(lang).to_string(), short)
                })
            })
            .take(3)
            .collect();
        Ok(AppraisalPage {
            project_id: p.id,
            title: p.title.clone(),
            organisation,
            year: p.year,
            summary,
            ratings: part
                .ratings
                .iter()
                .map(|r| (r.id.to_string(), r.name.get(lang).to_string()))
                .collect(),
        })
    }

    /// A resident's appraisal with one-time token `code`; `project` when the client names the
    /// project it means (a token of another project is then refused).
    pub async fn appraise(
        &self,
        code: &str,
        project: Option<i64>,
        rating: &str,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<i64> {
        if !plausible_code(code) {
            return Err(AppError::Token(TokenRefusal::Unknown));
        }
        for _ in 0..3 {
            let step = match self.db.sqlite_writer() {
                Some(writer) => {
                    let registry = self.registry.clone();
                    let (code, rating) = (code.to_string(), rating.to_string());
                    let comment = comment.map(str::to_string);
                    writer
                        .run(move |c| {
                            let token = appraisal_sql::token_by_code(c, &code)?;
                            let head = match &token {
                                Some(t) => appraisal_sql::project_head(c, t.project_id)?,
                                None => None,
                            };
                            let step = decide(
                                &registry,
                                token.as_ref(),
                                head,
                                project,
                                &rating,
                                comment.as_deref(),
                                now,
                            );
                            if let Step::Write(w) = &step {
                                if !appraisal_sql::write(c, w)? {
                                    return Ok(Step::Refused(TokenRefusal::Used));
                                }
                            }
                            Ok(step)
                        })
                        .await
                        .map_err(store_err)?
                }
                None => {
                    self.appraise_orm(code, project, rating, comment, now)
                        .await?
                }
            };
            match step {
                Step::Write(w) => {
                    self.metrics.appraisals.inc();
                    return Ok(w.project.id);
                }
                Step::Refused(r) => return Err(AppError::Token(r)),
                Step::NeedWorkflow(id) => {
                    self.registry.version(&self.db, id).await?;
                }
            }
        }
        Err(AppError::Definition(
            "the project's workflow version could not be loaded".into(),
        ))
    }

    /// The same appraisal through sea-orm (PostgreSQL, in-memory SQLite), with group commit:
    /// appraisals arriving together are decided in order and written in one transaction, so a
    /// burst of residents shares the round trips and the WAL flush. Token and project rows are
    /// locked (`FOR UPDATE`, in id order) so that a token counts once however many servers
    /// share the database.
    async fn appraise_orm(
        &self,
        code: &str,
        project: Option<i64>,
        rating: &str,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<Step> {
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        self.appraisal_queue.push(Pending {
            ask: Ask {
                code: code.to_string(),
                project,
                rating: rating.to_string(),
                comment: comment.map(str::to_string),
                now,
            },
            reply: tx,
        });
        let leader = self.appraisal_queue.leader.lock().await;
        if let Ok(result) = rx.try_recv() {
            return result;
        }
        let batch = self.appraisal_queue.take();
        let (items, replies): (Vec<Ask>, Vec<_>) =
            batch.into_iter().map(|p| (p.ask, p.reply)).unzip();
        match self.write_appraisals(&items).await {
            Ok(steps) => {
                for (reply, step) in replies.into_iter().zip(steps) {
                    let _ = reply.send(Ok(step));
                }
            }
            Err(e) => {
                let text = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(AppError::Store(sea_orm::DbErr::Custom(text.clone()))));
                }
            }
        }
        drop(leader);
        rx.await.map_err(|_| {
            AppError::Store(sea_orm::DbErr::Custom(
                "the appraisal was dropped unanswered".into(),
            ))
        })?
    }

    /// Decide and write a batch of appraisals in one transaction; one step per item.
    async fn write_appraisals(&self, items: &[Ask]) -> AppResult<Vec<Step>> {
        use sea_orm::sea_query::{Expr, Query};
        let txn = self.db.begin_write().await?;
        let pg = txn.get_database_backend() == sea_orm::DbBackend::Postgres;
        let codes: Vec<String> = items.iter().map(|i| i.code.clone()).collect();
        let mut q = appraisal_token::Entity::find()
            .filter(appraisal_token::Column::Code.is_in(codes))
            .order_by_asc(appraisal_token::Column::Id);
        if pg {
            q = q.lock_exclusive();
        }
        let mut tokens: BTreeMap<String, appraisal_sql::TokenRow> = q
            .all(&txn)
            .await?
            .into_iter()
            .map(|t| {
                (
                    t.code.clone(),
                    appraisal_sql::TokenRow {
                        id: t.id,
                        project_id: t.project_id,
                        expires_at: t.expires_at,
                        used_at: t.used_at,
                        revoked_at: t.revoked_at,
                    },
                )
            })
            .collect();
        let ids: Vec<i64> = tokens.values().map(|t| t.project_id).collect();
        let mut q = project::Entity::find()
            .filter(project::Column::Id.is_in(ids))
            .order_by_asc(project::Column::Id);
        if pg {
            q = q.lock_exclusive();
        }
        let mut heads: BTreeMap<i64, (i32, ProjectHead)> = q
            .all(&txn)
            .await?
            .into_iter()
            .map(|p| {
                (
                    p.id,
                    (
                        p.version,
                        ProjectHead {
                            id: p.id,
                            definition_id: p.definition_id,
                            stage: p.stage,
                            version: p.version,
                            audit_seq: p.audit_seq,
                            audit_head: p.audit_head,
                            appraisal_count: p.appraisal_count,
                            score_counts: p.score_counts,
                        },
                    ),
                )
            })
            .collect();
        let mut steps = Vec::with_capacity(items.len());
        let mut appraisals = Vec::new();
        let mut events = Vec::new();
        let mut used: Vec<(i64, DateTime<Utc>)> = Vec::new();
        let mut last_at: BTreeMap<i64, DateTime<Utc>> = BTreeMap::new();
        for Ask {
            code,
            project,
            rating,
            comment,
            now,
        } in items
        {
            let token = tokens.get(code).cloned();
            let head = token
                .as_ref()
                .and_then(|t| heads.get(&t.project_id))
                .map(|(_, h)| h.clone());
            let step = decide(
                &self.registry,
                token.as_ref(),
                head,
                *project,
                rating,
                comment.as_deref(),
                *now,
            );
            if let Step::Write(w) = &step {
                // Later items of the batch see this one: the token used, the project moved on.
                if let Some(t) = tokens.get_mut(code) {
                    t.used_at = Some(w.at);
                }
                if let Some(entry) = heads.get_mut(&w.project.id) {
                    entry.1 = w.project.clone();
                }
                used.push((w.token_id, w.at));
                last_at.insert(w.project.id, w.at);
                appraisals.push(appraisal::ActiveModel {
                    project_id: Set(w.project.id),
                    rating: Set(w.rating.clone()),
                    comment: Set(w.comment.clone()),
                    submitted_at: Set(w.at),
                    token_id: Set(Some(w.token_id)),
                    ..Default::default()
                });
                events.push(w.audit.active_model(w.project.id));
            }
            steps.push(step);
        }
        if used.is_empty() {
            return Ok(steps);
        }
        // The tokens: one statement, each with its own instant.
        let mut case = Expr::case(
            appraisal_token::Column::Id.eq(used[0].0),
            Expr::value(used[0].1),
        );
        for (id, at) in &used[1..] {
            case = case.case(appraisal_token::Column::Id.eq(*id), Expr::value(*at));
        }
        let update = Query::update()
            .table(appraisal_token::Entity)
            .value(appraisal_token::Column::UsedAt, case)
            .and_where(appraisal_token::Column::Id.is_in(used.iter().map(|u| u.0)))
            .and_where(appraisal_token::Column::UsedAt.is_null())
            .to_owned();
        let res = txn.execute(&update).await?;
        if res.rows_affected() != used.len() as u64 {
            return Err(AppError::Store(sea_orm::DbErr::Custom(
                "a token was used by someone else in between".into(),
            )));
        }
        appraisal::Entity::insert_many(appraisals)
            .exec_without_returning(&txn)
            .await?;
        crate::store::entity::audit_event::Entity::insert_many(events)
            .exec_without_returning(&txn)
            .await?;
        for (expected, h) in heads.values() {
            if h.version == *expected {
                continue;
            }
            let moved = project::Entity::update_many()
                .set(project::ActiveModel {
                    version: Set(h.version),
                    audit_seq: Set(h.audit_seq),
                    audit_head: Set(h.audit_head.clone()),
                    appraisal_count: Set(h.appraisal_count),
                    score_counts: Set(h.score_counts.clone()),
                    updated_at: Set(last_at.get(&h.id).copied().unwrap_or_else(Utc::now)),
                    ..Default::default()
                })
                .filter(project::Column::Id.eq(h.id))
                .filter(project::Column::Version.eq(*expected))
                .exec(&txn)
                .await?;
            if moved.rows_affected != 1 {
                return Err(AppError::Conflict {
                    expected: *expected,
                    current: expected + 1,
                });
            }
        }
        txn.commit().await?;
        Ok(steps)
    }
}

/// Appraisals waiting for the next group commit (sea-orm path).
#[derive(Default)]
pub struct AppraisalQueue {
    queue: std::sync::Mutex<Vec<Pending>>,
    leader: tokio::sync::Mutex<()>,
}

/// One resident's appraisal as asked.
struct Ask {
    code: String,
    project: Option<i64>,
    rating: String,
    comment: Option<String>,
    now: DateTime<Utc>,
}

struct Pending {
    ask: Ask,
    reply: tokio::sync::oneshot::Sender<AppResult<Step>>,
}

impl AppraisalQueue {
    fn push(&self, p: Pending) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push(p);
    }
    fn take(&self) -> Vec<Pending> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
