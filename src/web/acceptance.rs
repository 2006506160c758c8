//! The project page's acceptance part: score sheets (the form of each part the user may score
//! now, generated from the rubric, and the sheets they may see), the review team (assigning
//! and removing reviewers), site visits with photos, and the residents' appraisal codes.

use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::ctx::{done, Page, Posted};
use super::error::{explain, respond, PageError, PageResult};
use super::projects::{mistyped, refused_beside, FormProblem};
use super::upload::PostedFiles;
use crate::app::acceptance::{may_assign, reviewers_part};
use crate::app::scores::may_score;
use crate::app::{AppResult, Principal};
use crate::store::entity::project;
use crate::workflow::model::{Part, PartSource, Scope};
use crate::workflow::Workflow;

/// Points as the pages write them: no trailing zeros.
fn points(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The criteria of a part read from a posted sheet (`c.{criterion}`), each checked against its
/// maximum; the problems name the criterion in the user's language. Pure.
pub fn read_sheet(
    part: &Part,
    pairs: &[(String, String)],
    lang: &str,
    words: &SheetWords,
) -> Result<Map<String, Value>, Vec<(String, String)>> {
    let mut out = Map::new();
    let mut problems = Vec::new();
    for c in &part.criteria {
        let key = format!("c.{}", c.id);
        let text = pairs
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.trim())
            .unwrap_or("");
        let max = *c.max.get();
        let name = c.name.get(lang);
        match text.replace(',', ".").parse::<f64>() {
            Ok(v) if v.is_finite() && (0.0..=max).contains(&v) => {
                out.insert(c.id.to_string(), json!(v));
            }
            Ok(_) if !text.is_empty() => {
                problems.push((c.id.to_string(), words.out_of_range(name, &points(max))))
            }
            _ => problems.push((c.id.to_string(), words.missing(name, &points(max)))),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The messages of a sheet, in the page's language.
pub struct SheetWords {
    pub missing: String,
    pub out_of_range: String,
}

impl SheetWords {
    fn fill(t: &str, name: &str, max: &str) -> String {
        t.replace("{name}", name).replace("{max}", max)
    }
    fn missing(&self, name: &str, max: &str) -> String {
        Self::fill(&self.missing, name, max)
    }
    fn out_of_range(&self, name: &str, max: &str) -> String {
        Self::fill(&self.out_of_range, name, max)
    }
}

fn sheet_words(page: &Page) -> SheetWords {
    SheetWords {
        missing: page.t("score.criterion_missing"),
        out_of_range: page.t("score.criterion_range"),
    }
}

/// What a posted sheet said, to show it again beside its problems.
pub struct SheetProblem {
    pub status: axum::http::StatusCode,
    pub part: String,
    pub values: Vec<(String, String)>,
    pub problems: Vec<(String, String)>,
    pub other: Vec<String>,
}

/// The page data of the acceptance part.
pub async fn section(
    page: &Page,
    who: &Principal,
    p: &project::Model,
    w: &Workflow,
    problem: Option<&FormProblem>,
    sheet_problem: Option<&SheetProblem>,
) -> AppResult<Value> {
    let s = &page.state;
    let lang = page.lang.code();
    let district = who.may_use_scope(w, p, Scope::District).is_ok();
    let assigned = crate::app::acceptance::is_assigned(&s.app.db.read, p.id, who.user_id).await?;
    let sheets = s.app.score_sheets(who, p).await?;
    let error_at = |at: &str| problem.filter(|x| x.at == at).map(|x| x.messages.clone());
    let mut parts = Vec::new();
    for part in w.definition.scoring.iter().flat_map(|sc| sc.parts.iter()) {
        if *part.source.get() == PartSource::Appraisal {
            continue;
        }
        let shown: Vec<Value> = sheets
            .sheets
            .iter()
            .filter(|sh| sh.part == part.id.as_str())
            .map(|sh| {
                // In the rubric's order, not the stored map's.
                let criteria: Vec<Value> = part
                    .criteria
                    .iter()
                    .filter_map(|c| {
                        let v = sh.criteria.get(c.id.as_str())?.as_f64()?;
                        Some(json!({"name": c.name.get(lang), "value": points(v)}))
                    })
                    .collect();
                json!({
                    "scorer": sh.scorer, "total": points(sh.total), "criteria": criteria,
                    "comment": sh.comment, "at": sh.submitted_at.to_rfc3339(),
                    "mine": sh.scorer_user_id == who.user_id,
                })
            })
            .collect();
        let already = sheets
            .sheets
            .iter()
            .any(|sh| sh.part == part.id.as_str() && sh.scorer_user_id == who.user_id);
        let posted = sheet_problem.filter(|x| x.part == part.id.as_str());
        let form = (!already && may_score(who, w, p, part, assigned).is_ok()).then(|| {
            let criteria: Vec<Value> = part
                .criteria
                .iter()
                .map(|c| {
                    let value = posted
                        .and_then(|x| x.values.iter().find(|(k, _)| *k == format!("c.{}", c.id)))
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                    let error = posted
                        .and_then(|x| x.problems.iter().find(|(k, _)| k == c.id.as_str()))
                        .map(|(_, m)| m.clone());
                    json!({
                        "id": c.id.as_str(), "name": c.name.get(lang), "max": points(*c.max.get()),
                        "description": c.description.as_ref().map(|d| d.get(lang).to_string()),
                        "value": value, "error": error,
                    })
                })
                .collect();
            let comment = posted
                .and_then(|x| x.values.iter().find(|(k, _)| k == "comment"))
                .map(|(_, v)| v.clone());
            json!({"criteria": criteria, "comment": comment, "other": posted.map(|x| x.other.clone())})
        });
        let hidden = sheets.hidden.get(part.id.as_str()).copied().unwrap_or(0);
        if form.is_none() && shown.is_empty() && hidden == 0 {
            continue;
        }
        let max_total: f64 = part.criteria.iter().map(|c| *c.max.get()).sum();
        parts.push(json!({
            "id": part.id.as_str(), "name": part.name.get(lang),
            "reviewers": *part.source.get() == PartSource::Reviewers,
            "max_total": points(max_total), "sheets": shown, "hidden": hidden, "form": form,
            "hidden_text": page.t("score.hidden").replace("{n}", &hidden.to_string()),
        }));
    }
    // The review team.
    let has_reviewer_part = reviewers_part(w).is_ok();
    let reviewers = s.app.reviewers(p.id).await?;
    let open = !w.is_terminal(&p.stage);
    let may_assign =
        open && reviewers_part(w).is_ok_and(|part| may_assign(w, part, who, p).is_ok());
    let candidates: Vec<Value> = if may_assign {
        match p.district_id {
            Some(d) => s
                .app
                .organisation_members(d)
                .await?
                .into_iter()
                .filter(|u| u.active && !reviewers.iter().any(|r| r.user_id == u.id))
                .filter(|u| {
                    let roles: Vec<String> = crate::store::queries::user_roles(u)
                        .map(str::to_string)
                        .collect();
                    w.holds_scope(&roles, Scope::District)
                })
                .map(|u| json!({"id": u.id, "name": format!("{}（{}）", u.name, u.login)}))
                .collect(),
            None => vec![],
        }
    } else {
        vec![]
    };
    let team: Vec<Value> = reviewers
        .iter()
        .map(|r| {
            json!({"user_id": r.user_id, "name": r.name, "at": r.assigned_at.to_rfc3339(),
                   "scored": !r.scored.is_empty(), "removable": may_assign && r.scored.is_empty()})
        })
        .collect();
    // Site visits.
    let files = s.app.attachments(p.id).await?;
    let visits: Vec<Value> = s
        .app
        .site_visits(p.id)
        .await?
        .into_iter()
        .map(|v| {
            let photos: Vec<Value> = files
                .iter()
                .filter(|a| v.photos.contains(&a.id))
                .map(|a| json!({"id": a.id, "name": a.file_name}))
                .collect();
            json!({"reviewer": v.reviewer, "on": v.visited_on.to_string(), "notes": v.notes, "photos": photos})
        })
        .collect();
    let may_visit = assigned && district && open;
    // Appraisal codes.
    let may_codes = s.app.may_see_codes(who, p).await.is_ok();
    let appraisal_open = w.appraisal_part().is_some_and(|part| {
        part.open_in.is_empty() || part.open_in.iter().any(|st| st.as_str() == p.stage)
    });
    let batches: Vec<Value> = if may_codes {
        s.app
            .token_batches(p.id, Utc::now())
            .await?
            .into_iter()
            .map(|b| {
                json!({"batch": b.batch, "issued_at": b.issued_at.to_rfc3339(), "expires_at": b.expires_at.to_rfc3339(),
                       "issued": b.issued, "used": b.used, "revoked": b.revoked, "expired": b.expired,
                       "open": b.issued > b.used + b.revoked + b.expired})
            })
            .collect()
    } else {
        vec![]
    };
    let show_team = has_reviewer_part && (district || !team.is_empty());
    Ok(json!({
        "parts": parts,
        "show_team": show_team,
        "team": team,
        "may_assign": may_assign,
        "candidates": candidates,
        "team_error": error_at("team"),
        "visits": visits,
        "may_visit": may_visit,
        "visit_error": error_at("visit"),
        "today": Utc::now().with_timezone(&s.time_zone).date_naive().to_string(),
        "codes": may_codes && (appraisal_open || !batches.is_empty()),
        "may_issue": may_codes && appraisal_open,
        "batches": batches,
        "codes_error": error_at("codes"),
        "any": !parts.is_empty() || show_team || !visits.is_empty() || may_visit || (may_codes && (appraisal_open || !batches.is_empty())),
    }))
}

/// `POST /projects/{id}/scores/{part}`: a score sheet from the rubric.
pub async fn score(
    Path((id, part)): Path<(i64, String)>,
    posted: Posted<Vec<(String, String)>>,
) -> Response {
    let Posted { page, form } = posted;
    let r = submit_sheet(&page, id, &part, form).await;
    respond(&page, r).await
}

async fn submit_sheet(
    page: &Page,
    id: i64,
    part_id: &str,
    pairs: Vec<(String, String)>,
) -> PageResult {
    let who = page.require_user()?;
    let p = page.state.app.project_for(&who, id).await?;
    let w = page.state.app.workflow_of(&p).await?;
    let part = w.part(part_id).ok_or(PageError::NotFound)?;
    let comment = pairs
        .iter()
        .find(|(k, _)| k == "comment")
        .map(|(_, v)| v.trim().to_string())
        .filter(|c| !c.is_empty());
    let again = |status, problems: Vec<(String, String)>, other: Vec<String>| SheetProblem {
        status,
        part: part_id.to_string(),
        values: pairs.clone(),
        problems,
        other,
    };
    let criteria = match read_sheet(part, &pairs, page.lang.code(), &sheet_words(page)) {
        Ok(c) => c,
        Err(problems) => {
            let status = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            return sheet_page(page, id, again(status, problems, vec![])).await;
        }
    };
    let r = page
        .state
        .app
        .submit_score(&who, id, part_id, &criteria, comment.as_deref(), Utc::now())
        .await;
    match r {
        Ok(_) => Ok(done(
            &format!("/projects/{id}#part-{part_id}"),
            "score_submitted",
        )),
        Err(e) => {
            let x = explain(e, page.lang, Some(&w));
            sheet_page(page, id, again(x.status, vec![], x.lines())).await
        }
    }
}

async fn sheet_page(page: &Page, id: i64, sheet: SheetProblem) -> PageResult {
    super::projects::project_page_with(page, id, None, None, Some(sheet)).await
}

#[derive(Deserialize)]
pub struct ReviewerForm {
    #[serde(default)]
    reviewer: String,
}

/// `POST /projects/{id}/reviewers`: assign a reviewer.
pub async fn assign(Path(id): Path<i64>, posted: Posted<ReviewerForm>) -> Response {
    let Posted { page, form } = posted;
    let r = assign_reviewer(&page, id, form).await;
    respond(&page, r).await
}

async fn assign_reviewer(page: &Page, id: i64, form: ReviewerForm) -> PageResult {
    let who = page.require_user()?;
    let p = page.state.app.project_for(&who, id).await?;
    let Ok(uid) = form.reviewer.trim().parse::<i64>() else {
        return mistyped(page, id, "team", "reviewer", "team.choose").await;
    };
    match page
        .state
        .app
        .assign_reviewer(&who, id, uid, Utc::now())
        .await
    {
        Ok(_) => Ok(done(&format!("/projects/{id}#team"), "reviewer_assigned")),
        Err(e) => refused_beside(page, &p, "team", "reviewer", e).await,
    }
}

/// `POST /projects/{id}/reviewers/{uid}/remove`.
pub async fn unassign(
    Path((id, uid)): Path<(i64, i64)>,
    posted: Posted<Map<String, Value>>,
) -> Response {
    let page = posted.page;
    let r = async {
        let who = page.require_user()?;
        let p = page.state.app.project_for(&who, id).await?;
        match page
            .state
            .app
            .unassign_reviewer(&who, id, uid, Utc::now())
            .await
        {
            Ok(_) => Ok(done(&format!("/projects/{id}#team"), "reviewer_removed")),
            Err(e) => refused_beside(&page, &p, "team", "reviewer", e).await,
        }
    }
    .await;
    respond(&page, r).await
}

/// `POST /projects/{id}/visits`: a site visit with photos (multipart).
pub async fn visit(Path(id): Path<i64>, posted: PostedFiles) -> Response {
    let r = record_visit(&posted, id).await;
    respond(&posted.page, r).await
}

async fn record_visit(posted: &PostedFiles, id: i64) -> PageResult {
    let page = &posted.page;
    let who = page.require_user()?;
    let p = page.state.app.project_for(&who, id).await?;
    let on = posted.field("visited_on").unwrap_or("").trim();
    let Ok(on) = NaiveDate::parse_from_str(on, "%Y-%m-%d") else {
        return mistyped(page, id, "visit", "date", "visit.date_invalid").await;
    };
    let notes = posted.field("notes").unwrap_or("").to_string();
    let photos = posted.files_of("photos");
    // Every photo is checked before any is kept.
    for f in &photos {
        if let Err(why) = crate::app::attachments::check_upload(&f.name, &f.bytes) {
            let e = crate::app::AppError::Invalid(format!("{}: {why}", f.name));
            return refused_beside(page, &p, "visit", "photos", e).await;
        }
    }
    let now = Utc::now();
    // A visit is the assigned reviewer's: ask before storing any photo.
    if let Err(e) = page.state.app.may_record_visit(&who, &p).await {
        return refused_beside(page, &p, "visit", "date", e).await;
    }
    let mut ids = Vec::new();
    for f in &photos {
        match page
            .state
            .app
            .attach(&who, id, None, &f.name, &f.bytes, now)
            .await
        {
            Ok(a) => ids.push(a.id),
            Err(e) => return refused_beside(page, &p, "visit", "photos", e).await,
        }
    }
    match page
        .state
        .app
        .record_site_visit(&who, id, on, &notes, &ids, now)
        .await
    {
        Ok(_) => Ok(done(&format!("/projects/{id}#visits"), "visit_recorded")),
        Err(e) => refused_beside(page, &p, "visit", "date", e).await,
    }
}

#[derive(Deserialize)]
pub struct CodesForm {
    #[serde(default)]
    count: String,
}

/// `POST /projects/{id}/codes`: issue a batch of appraisal codes, then its printable sheet.
pub async fn issue(Path(id): Path<i64>, posted: Posted<CodesForm>) -> Response {
    let Posted { page, form } = posted;
    let r = issue_codes(&page, id, form).await;
    respond(&page, r).await
}

async fn issue_codes(page: &Page, id: i64, form: CodesForm) -> PageResult {
    let who = page.require_user()?;
    let p = page.state.app.project_for(&who, id).await?;
    let Ok(count) = form.count.trim().parse::<u32>() else {
        return mistyped(page, id, "codes", "count", "codes.count_invalid").await;
    };
    match page
        .state
        .app
        .issue_tokens(&who, id, count, Utc::now())
        .await
    {
        Ok(b) => {
            Ok(Redirect::to(&format!("/print/projects/{id}/tokens/{}", b.batch)).into_response())
        }
        Err(e) => refused_beside(page, &p, "codes", "count", e).await,
    }
}

/// `POST /projects/{id}/codes/{batch}/revoke`: withdraw a batch's unused codes.
pub async fn revoke(
    Path((id, batch)): Path<(i64, String)>,
    posted: Posted<Map<String, Value>>,
) -> Response {
    let page = posted.page;
    let r = async {
        let who = page.require_user()?;
        let p = page.state.app.project_for(&who, id).await?;
        match page
            .state
            .app
            .revoke_batch(&who, id, &batch, Utc::now())
            .await
        {
            Ok(_) => Ok(done(&format!("/projects/{id}#codes"), "codes_revoked")),
            Err(e) => refused_beside(&page, &p, "codes", "count", e).await,
        }
    }
    .await;
    respond(&page, r).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default definition's upper review: goal_completion 30, actual_effect 30,
    /// innovation 20, resident_benefit 20.
    fn part() -> Part {
        let w = crate::workflow::default_workflow();
        w.part("upper_review").unwrap().clone()
    }

    fn words() -> SheetWords {
        SheetWords {
            missing: "{name}: 0-{max}".into(),
            out_of_range: "{name} > {max}".into(),
        }
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_sheet_is_read_with_each_criterion_checked_by_name() {
        let all = [
            ("c.goal_completion", "25.5"),
            ("c.actual_effect", "30"),
            ("c.innovation", "0"),
            ("c.resident_benefit", " 12 "),
        ];
        let got = read_sheet(&part(), &pairs(&all), "zh", &words()).unwrap();
        assert_eq!(got["goal_completion"], json!(25.5));
        assert_eq!(got["resident_benefit"], json!(12.0));
        assert_eq!(got.len(), 4);
        let bad = [
            ("c.goal_completion", "31"),
            ("c.actual_effect", ""),
            ("c.innovation", "NaN"),
            ("c.resident_benefit", "-1"),
        ];
        let bad = read_sheet(&part(), &pairs(&bad), "en", &words()).unwrap_err();
        assert_eq!(
            bad,
            vec![
                (
                    "goal_completion".to_string(),
                    "Goal completion > 30".to_string()
                ),
                (
                    "actual_effect".to_string(),
                    "Actual effect: 0-30".to_string()
                ),
                (
                    "innovation".to_string(),
                    "Innovation and example > 20".to_string()
                ),
                (
                    "resident_benefit".to_string(),
                    "Residents' sense of benefit > 20".to_string()
                ),
            ]
        );
    }
}
