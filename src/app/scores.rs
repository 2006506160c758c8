//! Score sheets (self-check and reviewers), as inputs of the final score. Resident appraisals
//! come in through one-time tokens (`appraisals`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{json, Map, Value};

use super::projects::{load_for_update, parse_counts, save_change};
use super::{audit, App, AppError, AppResult, Principal};
use crate::scoring;
use crate::store::entity::{project, score_sheet};
use crate::workflow::engine::{Reason, Refusal};
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

/// May `who` file a sheet for `part` of `p` now (`assigned`: they are one of its reviewers)?
/// The project's own organisation for a self-check, an assigned district user for reviewer
/// parts; while the project is open, in a stage whose way out needs the part. Pure.
pub fn may_score(
    who: &Principal,
    w: &crate::workflow::Workflow,
    p: &project::Model,
    part: &crate::workflow::model::Part,
    assigned: bool,
) -> AppResult<()> {
    match part.source.get() {
        PartSource::SelfCheck => {
            who.may_use_scope(w, p, Scope::Organisation)?;
        }
        PartSource::Reviewers => {
            who.may_use_scope(w, p, Scope::District)?;
            if !assigned {
                return Err(forbidden(Reason::NotAssigned));
            }
        }
        PartSource::Appraisal => {
            return Err(AppError::Invalid(format!(
                "part `{}` is rated by residents, not scored",
                part.id
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
    // Sheets are taken in the stages whose way out needs them (`score_present`).
    let stages = w.scoring_stages(&part.id);
    if !stages.contains(&p.stage.as_str()) {
        return Err(AppError::Refused(Refusal {
            reasons: vec![Reason::WrongStage {
                stage: p.stage.clone(),
                allowed_from: stages.iter().map(|s| s.to_string()).collect(),
            }],
        }));
    }
    Ok(())
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
        self.check_not_frozen(&p.definition_key, p.year).await?;
        let w = self.workflow_of(&p).await?;
        let part = w.part(part_id).ok_or_else(|| {
            AppError::Invalid(format!(
                "`{part_id}` is not a scoring part of this workflow"
            ))
        })?;
        let assigned = super::acceptance::is_assigned(&txn, p.id, who.user_id).await?;
        may_score(who, &w, &p, part, assigned)?;
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
}
