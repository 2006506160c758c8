//! Milestone progress reports.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::json;

use super::attachments::check_upload;
use super::projects::{load_for_update, save_change};
use super::{audit, App, AppError, AppResult, Principal};
use crate::store::entity::{attachment, milestone, progress_report, project};

/// A file sent with a report.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub name: String,
    pub bytes: Vec<u8>,
}
use crate::workflow::engine::{Reason, Refusal, Relation};

fn refused(reason: Reason) -> AppError {
    AppError::Refused(Refusal {
        reasons: vec![reason],
    })
}
use crate::workflow::model::Scope;

/// May `who` report progress on milestone `m` of `p` now? Its owner, or a user of the
/// project's own organisation holding an organisation role, while the project is open and in
/// a stage that takes reports. Pure.
pub fn may_report(
    who: &Principal,
    w: &crate::workflow::Workflow,
    p: &project::Model,
    m: &milestone::Model,
) -> AppResult<()> {
    let own_role = who.relation(p.organisation_id, p.district_id) == Relation::Own
        && who.roles.iter().any(|r| {
            w.role_index
                .get(r)
                .is_some_and(|i| *w.role(*i).scope.get() == Scope::Organisation)
        });
    if m.owner_user_id != Some(who.user_id) && !own_role {
        return Err(AppError::Forbidden(crate::workflow::engine::Refusal {
            reasons: vec![crate::workflow::engine::Reason::OutOfScope],
        }));
    }
    if w.is_terminal(&p.stage) {
        return Err(refused(Reason::ProjectClosed {
            stage: p.stage.clone(),
        }));
    }
    // Only where the definition takes reports: after implementation a report would rewrite
    // what acceptance and the overdue deductions read.
    if !w.takes_progress_reports(&p.stage) {
        return Err(refused(Reason::NoProgressReports {
            stage: p.stage.clone(),
            taken_in: w
                .definition
                .stages
                .iter()
                .zip(&w.progress_stages)
                .filter(|(_, on)| **on)
                .map(|(s, _)| s.id.to_string())
                .collect(),
        }));
    }
    Ok(())
}

impl App {
    /// The owner (or a user of the project's organisation with an organisation role) reports
    /// progress on a milestone; 100 percent marks it done.
    pub async fn report_progress(
        &self,
        who: &Principal,
        milestone_id: i64,
        percent: i32,
        note: &str,
        now: DateTime<Utc>,
    ) -> AppResult<milestone::Model> {
        self.report_progress_with(who, milestone_id, percent, note, &[], now)
            .await
    }

    /// A progress report with evidence: attachments already uploaded to the project (not yet
    /// part of another report, and not about another milestone) become part of this report.
    pub async fn report_progress_with(
        &self,
        who: &Principal,
        milestone_id: i64,
        percent: i32,
        note: &str,
        evidence: &[i64],
        now: DateTime<Utc>,
    ) -> AppResult<milestone::Model> {
        self.report(who, milestone_id, percent, note, evidence, &[], now)
            .await
    }

    /// A progress report with files uploaded with it (the pages' form): each file is checked
    /// before anything is written, and the report and its evidence rows are one transaction,
    /// so a refused report leaves no attachment behind.
    pub async fn report_progress_with_files(
        &self,
        who: &Principal,
        milestone_id: i64,
        percent: i32,
        note: &str,
        files: &[NewFile],
        now: DateTime<Utc>,
    ) -> AppResult<milestone::Model> {
        self.report(who, milestone_id, percent, note, &[], files, now)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn report(
        &self,
        who: &Principal,
        milestone_id: i64,
        percent: i32,
        note: &str,
        evidence: &[i64],
        files: &[NewFile],
        now: DateTime<Utc>,
    ) -> AppResult<milestone::Model> {
        if evidence.len() + files.len() > 20 {
            return Err(AppError::Invalid(
                "a report carries at most 20 attachments".into(),
            ));
        }
        if !(0..=100).contains(&percent) {
            return Err(AppError::Invalid(format!(
                "percent must be from 0 to 100, not {percent}"
            )));
        }
        if note.chars().count() > 5000 {
            return Err(AppError::Invalid(
                "the note is longer than 5000 characters".into(),
            ));
        }
        let mut checked = Vec::with_capacity(files.len());
        for f in files {
            let kind = check_upload(&f.name, &f.bytes)
                .map_err(|p| AppError::Invalid(format!("{}: {p}", f.name)))?;
            checked.push(kind);
        }
        let now = audit::normalise_time(now);
        let m = milestone::Entity::find_by_id(milestone_id)
            .one(&self.db.read)
            .await?
            .ok_or(AppError::NotFound {
                what: "milestone",
                id: milestone_id.to_string(),
            })?;
        // The bytes before the rows, outside the write transaction (content-addressed: a file no
        // row names is harmless, a row naming a missing file is not).
        let mut stored = Vec::with_capacity(files.len());
        for f in files {
            stored.push(self.store_file(f.bytes.clone()).await?);
        }
        let txn = self.db.begin_write().await?;
        let p = load_for_update(&txn, m.project_id).await?;
        let w = self.workflow_of(&p).await?;
        may_report(who, &w, &p, &m)?;
        // A done milestone stays done on the day it was reported: a later report may add a note
        // and evidence at 100 percent, never move or undo the date.
        if let Some(done_at) = m.done_at.filter(|_| percent < 100) {
            return Err(refused(Reason::MilestoneDone {
                title: m.title.clone(),
                done_at,
            }));
        }
        let mut a: milestone::ActiveModel = m.clone().into();
        a.percent = Set(percent);
        a.done_at = Set(if percent == 100 {
            m.done_at.or(Some(now))
        } else {
            None
        });
        a.updated_at = Set(now);
        let updated = a.update(&txn).await?;
        let report = progress_report::ActiveModel {
            project_id: Set(p.id),
            milestone_id: Set(m.id),
            author_user_id: Set(who.user_id),
            percent: Set(percent),
            note: Set(note.to_string()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        for id in evidence {
            let a = attachment::Entity::find_by_id(*id).one(&txn).await?;
            let usable = a.as_ref().is_some_and(|a| {
                a.project_id == p.id
                    && a.report_id.is_none()
                    && a.milestone_id.is_none_or(|mid| mid == m.id)
            });
            let Some(a) = a.filter(|_| usable) else {
                return Err(AppError::Invalid(format!(
                    "attachment {id} is not an unused attachment of this project and milestone"
                )));
            };
            let mut row: attachment::ActiveModel = a.into();
            row.report_id = Set(Some(report.id));
            row.milestone_id = Set(Some(m.id));
            row.update(&txn).await?;
        }
        let mut evidence = evidence.to_vec();
        for ((f, kind), sha) in files.iter().zip(&checked).zip(&stored) {
            let row = attachment::ActiveModel {
                project_id: Set(p.id),
                milestone_id: Set(Some(m.id)),
                report_id: Set(Some(report.id)),
                uploader_user_id: Set(who.user_id),
                file_name: Set(f.name.clone()),
                content_type: Set(kind.to_string()),
                size_bytes: Set(f.bytes.len() as i64),
                sha256: Set(sha.clone()),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            evidence.push(row.id);
        }
        let done = milestone::Entity::find()
            .filter(milestone::Column::ProjectId.eq(p.id))
            .filter(milestone::Column::DoneAt.is_not_null())
            .count(&txn)
            .await? as i32;
        let row = project::ActiveModel {
            milestones_done: Set(done),
            ..Default::default()
        };
        let data = json!({"milestone": m.id, "title": m.title, "percent": {"before": m.percent, "after": percent}, "report": report.id, "evidence": evidence});
        let note = Some(note).filter(|n| !n.is_empty());
        save_change(
            &txn,
            &p,
            row,
            Some(who.user_id),
            "progress",
            note,
            data,
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(updated)
    }

    pub async fn milestones(&self, project_id: i64) -> AppResult<Vec<milestone::Model>> {
        use sea_orm::QueryOrder;
        self.memo_rows("milestones", project_id, || async {
            Ok(milestone::Entity::find()
                .filter(milestone::Column::ProjectId.eq(project_id))
                .order_by_asc(milestone::Column::Position)
                .all(&self.db.read)
                .await?)
        })
        .await
    }
}
