//! The project page's implementation part: the road map (a Gantt chart drawn on the server and
//! the milestones as a table), each milestone's progress reports with their evidence files and
//! the form to report (with files), and the guidance thread between the district and the
//! subdistrict with its forms.

use axum::extract::Path;
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::ctx::{done, Page, Posted};
use super::error::{respond, PageError, PageResult};
use super::gantt;
use super::projects::{mistyped, refused_beside, FormProblem};
use super::upload::PostedFiles;
use crate::app::milestones::may_report;
use crate::app::{AppResult, Principal};
use crate::store::entity::project;
use crate::workflow::model::Scope;
use crate::workflow::Workflow;

/// The page data of the implementation part.
pub async fn section(
    page: &Page,
    who: &Principal,
    p: &project::Model,
    w: &Workflow,
    problem: Option<&FormProblem>,
) -> AppResult<Value> {
    let error_at = |at: String| problem.filter(|x| x.at == at).map(|x| x.messages.clone());
    let s = &page.state;
    let lang = page.lang.code();
    let today = Utc::now().with_timezone(&s.time_zone).date_naive();
    let t = s.app.timeline(p.id, today, lang).await?;
    let rows = s.app.milestones(p.id).await?;
    let files = s.app.attachments(p.id).await?;
    let authors =
        super::projects::user_names(page, t.reports.iter().map(|r| r.author_user_id)).await;
    let words = gantt::Words {
        title: &page.t("gantt.title"),
        today: &page.t("gantt.today"),
        overdue: &page.t("gantt.overdue"),
        done: &page.t("gantt.done"),
    };
    let chart = gantt::chart(&t.milestones, today, &words);
    let milestones: Vec<Value> = t
        .milestones
        .iter()
        .zip(&rows)
        .map(|(m, row)| {
            let reports: Vec<Value> = t
                .reports
                .iter()
                .filter(|r| r.milestone_id == m.id)
                .rev()
                .map(|r| {
                    let evidence: Vec<Value> = files
                        .iter()
                        .filter(|a| r.attachments.contains(&a.id))
                        .map(|a| json!({"id": a.id, "name": a.file_name, "kb": (a.size_bytes + 1023) / 1024}))
                        .collect();
                    json!({
                        "at": r.at.to_rfc3339(),
                        "author": authors.get(&r.author_user_id).cloned().unwrap_or_default(),
                        "percent": r.percent,
                        "note": r.note,
                        "evidence": evidence,
                    })
                })
                .collect();
            json!({
                "id": m.id,
                "title": m.title,
                "goal": m.goal,
                "owner": m.owner_login,
                "start": m.start_date.map(|d| d.to_string()),
                "due": m.due_date.to_string(),
                "percent": m.percent,
                "expected": m.expected_percent,
                "status": m.status_label,
                "overdue": m.status == crate::workflow::progress::MilestoneStatus::Overdue,
                "done": m.done_at.is_some(),
                "behind": m.behind_schedule,
                "reports": reports,
                "may_report": may_report(who, w, p, row).is_ok(),
                "error": error_at(format!("report-{}", m.id)),
            })
        })
        .collect();
    let may_guide = who.may_use_scope(w, p, Scope::District).is_ok();
    let may_answer = !may_guide && who.may_use_scope(w, p, Scope::Organisation).is_ok();
    let open = !w.is_terminal(&p.stage);
    let thread = s.app.guidance(p.id).await?;
    let titles: std::collections::HashMap<i64, &str> =
        rows.iter().map(|m| (m.id, m.title.as_str())).collect();
    let number: std::collections::HashMap<i64, usize> = thread
        .iter()
        .enumerate()
        .map(|(i, g)| (g.id, i + 1))
        .collect();
    let guidance: Vec<Value> = thread
        .iter()
        .enumerate()
        .map(|(i, g)| {
            json!({
                "id": g.id,
                "n": i + 1,
                "author": g.author_name,
                "at": g.at.to_rfc3339(),
                "body": g.body,
                "milestone": g.milestone_id.and_then(|m| titles.get(&m).copied()),
                "reply_to": g.reply_to.and_then(|r| number.get(&r).copied()),
                "is_reply": g.reply_to.is_some(),
                "error": error_at(format!("answer-{}", g.id)),
            })
        })
        .collect();
    Ok(json!({
        "percent": format!("{:.0}", t.percent),
        "gantt": chart,
        "milestones": milestones,
        "guidance": guidance,
        "may_guide": may_guide && open,
        "guidance_error": error_at("guidance-new".to_string()),
        "may_answer": may_answer && open && !thread.is_empty(),
        "milestone_choices": rows.iter().map(|m| json!({"id": m.id, "title": m.title})).collect::<Vec<_>>(),
    }))
}

/// `POST /projects/{id}/milestones/{mid}/progress`: percent, note and evidence files.
pub async fn report(Path((id, mid)): Path<(i64, i64)>, posted: PostedFiles) -> Response {
    let r = take_report(&posted, id, mid).await;
    respond(&posted.page, r).await
}

async fn take_report(posted: &PostedFiles, id: i64, mid: i64) -> PageResult {
    let page = &posted.page;
    let who = page.require_user()?;
    let p = page.state.app.project_for(&who, id).await?;
    if !page
        .state
        .app
        .milestones(id)
        .await?
        .iter()
        .any(|m| m.id == mid)
    {
        return Err(PageError::NotFound);
    }
    let at = format!("report-{mid}");
    let percent = posted.field("percent").unwrap_or("").trim();
    let Ok(percent) = percent.parse::<i32>() else {
        return mistyped(page, id, &at, "percent", "report.percent_invalid").await;
    };
    let note = posted.field("note").unwrap_or("").trim().to_string();
    let files = posted.files_of("evidence");
    let r = page
        .state
        .app
        .report_progress_with_files(&who, mid, percent, &note, &files, Utc::now())
        .await;
    match r {
        Ok(_) => Ok(done(
            &format!("/projects/{id}#milestone-{mid}"),
            "progress_reported",
        )),
        Err(e) => refused_beside(page, &p, &at, "percent", e).await,
    }
}

#[derive(Deserialize)]
pub struct GuidanceForm {
    body: String,
    #[serde(default)]
    reply_to: String,
    #[serde(default)]
    milestone: String,
}

/// `POST /projects/{id}/guidance`: a district message, or the subdistrict's answer to one.
pub async fn guide(Path(id): Path<i64>, posted: Posted<GuidanceForm>) -> Response {
    let Posted { page, form } = posted;
    let r = post(&page, id, form).await;
    respond(&page, r).await
}

fn optional_id(s: &str) -> Result<Option<i64>, PageError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| PageError::BadForm(format!("`{s}` is not an id")))
}

async fn post(page: &Page, id: i64, form: GuidanceForm) -> PageResult {
    let who = page.require_user()?;
    let p = page.state.app.project_for(&who, id).await?;
    let reply_to = optional_id(&form.reply_to)?;
    let milestone = optional_id(&form.milestone)?;
    let at = match reply_to {
        Some(r) => format!("answer-{r}"),
        None => "guidance-new".to_string(),
    };
    if form.body.trim().is_empty() {
        return mistyped(page, id, &at, "body", "guidance.empty").await;
    }
    let r = page
        .state
        .app
        .post_guidance(&who, id, milestone, reply_to, &form.body, Utc::now())
        .await;
    match r {
        Ok(g) => Ok(done(
            &format!("/projects/{id}#guidance-{}", g.id),
            "guidance_posted",
        )),
        Err(e) => refused_beside(page, &p, &at, "body", e).await,
    }
}
