//! Score sheets (self-check and reviewers) and resident appraisals, as inputs of the final score.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{json, Map, Value};

use super::projects::{load_for_update, parse_counts, save_change};
use super::{audit, App, AppError, AppResult, Principal};
use crate::scoring;
use crate::store::entity::{appraisal, project, score_sheet};
use crate::workflow::engine::{Reason, Refusal, Relation};
use crate::workflow::model::{PartSource, Scope};

fn forbidden(reason: Reason) -> AppError {
    AppError::Forbidden(Refusal {
        reasons: vec![reason],
    })
}

fn bump(counts: Vec<(String, u32)>, part: &str) -> String {
    let mut m: BTreeMap<String, u32> = counts.into_iter().collect();
    *m.entry(part.to_string()).or_insert(0) += 1;
    serde_json::to_string(&m).unwrap_or_else(|_| "{}".into())
}

impl App {
    /// Submit one scorer's sheet for a part: the project's own organisation for a self-check,
    /// a district user (never one of the project's own organisation) for reviewer parts.
    pub async fn submit_score(
        &self,
        who: &Principal,
        project_id: i64,
        part_id: &str,
        criteria: &Map<String, Value>,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<score_sheet::Model> {
        let now = audit::normalise_time(now);
        let txn = self.db.begin_write().await?;
        let p = load_for_update(&txn, project_id).await?;
        let w = self.workflow_of(&p).await?;
        let part = w.part(part_id).ok_or_else(|| {
            AppError::Invalid(format!(
                "`{part_id}` is not a scoring part of this workflow"
            ))
        })?;
        let relation = who.relation(p.organisation_id, p.district_id);
        let has_scope = |scope: Scope| {
            who.roles.iter().any(|r| {
                w.role_index
                    .get(r)
                    .is_some_and(|i| *w.role(*i).scope.get() == scope)
            })
        };
        match part.source.get() {
            PartSource::SelfCheck => {
                if relation != Relation::Own || !has_scope(Scope::Organisation) {
                    return Err(forbidden(Reason::OutOfScope));
                }
            }
            PartSource::Reviewers => {
                if relation != Relation::District || !has_scope(Scope::District) {
                    return Err(forbidden(Reason::OutOfScope));
                }
            }
            PartSource::Appraisal => {
                return Err(AppError::Invalid(format!(
                    "part `{part_id}` is rated by residents, not scored"
                )));
            }
        }
        if w.is_terminal(&p.stage) {
            return Err(AppError::Refused(Refusal {
                reasons: vec![Reason::ProjectClosed {
                    stage: p.stage.clone(),
                }],
            }));
        }
        let values = scoring::check_sheet(part, criteria)
            .map_err(|problems| AppError::Invalid(problems.join("; ")))?;
        let exists = score_sheet::Entity::find()
            .filter(score_sheet::Column::ProjectId.eq(p.id))
            .filter(score_sheet::Column::Part.eq(part_id))
            .filter(score_sheet::Column::ScorerUserId.eq(who.user_id))
            .one(&txn)
            .await?;
        if exists.is_some() {
            return Err(AppError::Invalid(format!(
                "you have already submitted a score for `{part_id}`"
            )));
        }
        let total: f64 = values.values().sum();
        let sheet = score_sheet::ActiveModel {
            project_id: Set(p.id),
            part: Set(part_id.to_string()),
            scorer_user_id: Set(who.user_id),
            criteria: Set(serde_json::to_string(&values).unwrap_or_default()),
            total: Set(total),
            comment: Set(comment.map(str::to_string)),
            submitted_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let row = project::ActiveModel {
            score_counts: Set(bump(parse_counts(&p), part_id)),
            ..Default::default()
        };
        let data = json!({"part": part_id, "criteria": values, "total": total});
        save_change(
            &txn,
            &p,
            row,
            Some(who.user_id),
            "score",
            comment,
            data,
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(sheet)
    }

    /// Record one resident appraisal. (Token issuing and checking sit in front of this.)
    pub async fn record_appraisal(
        &self,
        project_id: i64,
        rating: &str,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> AppResult<appraisal::Model> {
        let now = audit::normalise_time(now);
        // Appraisals do not carry a version; retry when another writer got in between.
        for _ in 0..5 {
            let txn = self.db.begin_write().await?;
            let p = load_for_update(&txn, project_id).await?;
            let w = self.workflow_of(&p).await?;
            let part = w
                .definition
                .scoring
                .as_ref()
                .and_then(|s| {
                    s.parts
                        .iter()
                        .find(|p| *p.source.get() == PartSource::Appraisal)
                })
                .ok_or_else(|| {
                    AppError::Invalid("this workflow has no resident appraisal".into())
                })?;
            if !part.ratings.iter().any(|r| r.id.as_str() == rating) {
                let options: Vec<&str> = part.ratings.iter().map(|r| r.id.as_str()).collect();
                return Err(AppError::Invalid(format!(
                    "rating must be one of {}",
                    options.join(", ")
                )));
            }
            if comment.is_some_and(|c| c.chars().count() > 2000) {
                return Err(AppError::Invalid(
                    "the comment is longer than 2000 characters".into(),
                ));
            }
            let row = appraisal::ActiveModel {
                project_id: Set(p.id),
                rating: Set(rating.to_string()),
                comment: Set(comment.map(str::to_string)),
                submitted_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            let update = project::ActiveModel {
                appraisal_count: Set(p.appraisal_count + 1),
                score_counts: Set(bump(parse_counts(&p), part.id.as_str())),
                ..Default::default()
            };
            let data = json!({"rating": rating});
            match save_change(&txn, &p, update, None, "appraisal", comment, data, now).await {
                Ok(()) => {
                    txn.commit().await?;
                    return Ok(row);
                }
                Err(AppError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AppError::Invalid(
            "the project is too busy; try again".into(),
        ))
    }
}
