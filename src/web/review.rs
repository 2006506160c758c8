//! The annual review's pages (述职评议): the ranking with stars and consequences, one
//! person's figure explained with the item entry form, freeze and unfreeze, the printable A4
//! report, and the district dashboard (数据看板) with charts drawn on the server. Over the
//! same use cases as `/api/v1/reviews` (`app::review`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::charts::{bar_chart, Bar};
use super::ctx::{done, Page, Posted};
use super::error::{explain, respond, PageError, PageResult};
use super::i18n::number;
use crate::app::review::{YearFigures, YearReview, YEARS};
use crate::app::{AppError, Principal};
use crate::scoring::figures::Figures;
use crate::workflow::model::{ConsequenceKind, ItemSource};
use crate::workflow::Workflow;

#[derive(Deserialize, Default)]
pub struct YearQuery {
    year: Option<String>,
    definition: Option<String>,
    done: Option<String>,
}

/// The query of a page whose year is in its path.
fn of_year(year: i32, definition: Option<String>) -> YearQuery {
    YearQuery {
        year: Some(year.to_string()),
        definition,
        done: None,
    }
}

/// The definition and year a page is about: as asked, or the first definition with an
/// annual review and this year in its time zone.
fn which(page: &Page, q: &YearQuery) -> Result<(Arc<Workflow>, i32), PageError> {
    let app = &page.state.app;
    let w = match q.definition.as_deref().filter(|d| !d.is_empty()) {
        Some(key) => app.review_workflow(key)?,
        None => app
            .review_definitions()
            .into_iter()
            .next()
            .ok_or(AppError::NotFound {
                what: "definition with an annual review",
                id: String::new(),
            })?,
    };
    let year = match q.year.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        None => Utc::now().with_timezone(&w.timezone).year(),
        Some(y) => y
            .parse::<i32>()
            .ok()
            .filter(|y| YEARS.contains(y))
            .ok_or_else(|| {
                AppError::Invalid(format!(
                    "year: `{y}` is not a year from {} to {}",
                    YEARS.start(),
                    YEARS.end()
                ))
            })?,
    };
    Ok((w, year))
}

fn stars_text(n: u8, of: usize) -> String {
    let n = usize::from(n).min(of);
    format!("{}{}", "★".repeat(n), "☆".repeat(of - n))
}

/// The review's rows as the pages show them.
fn rows_json(page: &Page, w: &Workflow, r: &YearReview) -> Vec<Value> {
    let lang = page.lang.code();
    let ar = w.annual_review();
    let top = ar
        .map(|a| {
            a.stars
                .iter()
                .map(|s| usize::from(*s.stars.get()))
                .max()
                .unwrap_or(5)
        })
        .unwrap_or(5);
    let consequence = |id: &str| {
        ar.and_then(|a| a.consequences.iter().find(|c| c.id.as_str() == id))
            .map(|c| {
                json!({
                    "name": c.name.get(lang),
                    "warning": *c.kind.get() == ConsequenceKind::Warning,
                })
            })
            .unwrap_or_else(|| json!({"name": id, "warning": false}))
    };
    let item_name = |id: &str| {
        if id == "projects" {
            return page.t("review.project_part");
        }
        ar.and_then(|a| a.items.iter().find(|i| i.id.as_str() == id))
            .map(|i| i.name.get(lang).to_string())
            .unwrap_or_else(|| id.to_string())
    };
    r.rows
        .iter()
        .map(|row| {
            let l = &row.line;
            let band = l.stars.and_then(|s| {
                ar.and_then(|a| a.stars.iter().find(|b| *b.stars.get() == s))
                    .map(|b| b.name.get(lang).to_string())
            });
            json!({
                "user_id": row.person.user_id,
                "name": row.person.name,
                "organisation": row.person.organisation,
                "rank": l.rank,
                "project_part": l.project_part.map(number),
                "project_weighted": l.project_weighted.map(number),
                "items": l.items.iter().map(|i| json!({
                    "score": i.score.map(number),
                    "weighted": i.weighted.map(number),
                })).collect::<Vec<_>>(),
                "total": l.total.map(number),
                "stars": l.stars.map(|s| stars_text(s, top)),
                "band": band,
                "consequences": l.consequences.iter().map(|c| consequence(c)).collect::<Vec<_>>(),
                "missing": l.missing.iter().map(|m| item_name(m)).collect::<Vec<_>>().join(page.lang.pick("、", ", ")),
            })
        })
        .collect()
}

fn item_heads(page: &Page, w: &Workflow) -> Vec<Value> {
    let lang = page.lang.code();
    w.annual_review()
        .map(|a| {
            a.items
                .iter()
                .map(|i| {
                    json!({
                        "id": i.id.as_str(),
                        "name": i.name.get(lang),
                        "weight": number(*i.weight.get()),
                        "derived": *i.source.get() != ItemSource::Entered,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn freeze_json(r: &YearReview, w: &Workflow) -> Value {
    match &r.frozen {
        Some(f) => json!({
            "at": at(w, f.frozen_at),
            "by": f.frozen_by_name,
            "comment": f.comment,
        }),
        None => Value::Null,
    }
}

pub async fn review(page: Page, Query(q): Query<YearQuery>) -> Response {
    let r = review_page(&page, q, None, StatusCode::OK).await;
    respond(&page, r).await
}

/// What a refused freeze or unfreeze said, shown on the review page.
struct Refused {
    field: &'static str,
    lines: Vec<String>,
    typed: String,
}

async fn review_page(
    page: &Page,
    q: YearQuery,
    refused: Option<Refused>,
    status: StatusCode,
) -> PageResult {
    let who = page.require_user()?;
    let (w, year) = which(page, &q)?;
    let app = &page.state.app;
    let key = w.id().to_string();
    let r = app.annual_review(&who, &key, year, Utc::now()).await?;
    let powers = app.review_powers(&who, &key);
    let lang = page.lang.code();
    let name = w
        .annual_review()
        .map(|a| a.name.get(lang).to_string())
        .unwrap_or_default();
    let errors = refused.as_ref().map(|f| {
        f.lines
            .iter()
            .map(|m| json!({"field": f.field, "message": m}))
            .collect::<Vec<_>>()
    });
    let stars: Vec<Value> = w
        .annual_review()
        .map(|a| {
            a.stars
                .iter()
                .rev()
                .map(|b| json!({"name": b.name.get(lang), "min": number(*b.min.get()), "max": number(*b.max.get())}))
                .collect()
        })
        .unwrap_or_default();
    let title = format!("{year} {name}");
    Ok(page
        .render(
            status,
            "review",
            &title,
            json!({
                "definition": key,
                "year": year,
                "previous_year": year - 1,
                "next_year": year + 1,
                "name": name,
                "items": item_heads(page, &w),
                "rows": rows_json(page, &w, &r),
                "frozen": freeze_json(&r, &w),
                "manage": powers.manage,
                "stars": stars,
                "computed_at": at(&w, r.computed_at),
                "notice": page.notice(q.done.as_deref()),
                "errors": errors,
                "typed_comment": refused.as_ref().filter(|f| f.field == "freeze-comment").map(|f| f.typed.clone()),
                "typed_reason": refused.as_ref().filter(|f| f.field == "unfreeze-reason").map(|f| f.typed.clone()),
            }),
        )
        .await)
}

#[derive(Deserialize)]
pub struct FreezeForm {
    #[serde(default)]
    comment: String,
}

pub async fn freeze(Path(year): Path<i32>, posted: Posted<FreezeForm>) -> Response {
    let Posted { page, form } = posted;
    let r = freeze_or_unfreeze(&page, year, Change::Freeze(form.comment)).await;
    respond(&page, r).await
}

#[derive(Deserialize, Default)]
pub struct DefinitionQuery {
    definition: Option<String>,
}

#[derive(Deserialize)]
pub struct UnfreezeForm {
    #[serde(default)]
    reason: String,
}

pub async fn unfreeze(Path(year): Path<i32>, posted: Posted<UnfreezeForm>) -> Response {
    let Posted { page, form } = posted;
    let r = freeze_or_unfreeze(&page, year, Change::Unfreeze(form.reason)).await;
    respond(&page, r).await
}

/// A freeze with its note, or an unfreeze with its reason.
enum Change {
    Freeze(String),
    Unfreeze(String),
}

async fn freeze_or_unfreeze(page: &Page, year: i32, change: Change) -> PageResult {
    let who = page.require_user()?;
    let q = of_year(year, None);
    let (w, year) = which(page, &q)?;
    let key = w.id().to_string();
    let app = &page.state.app;
    let now = Utc::now();
    let (done_key, field, typed, result) = match &change {
        Change::Freeze(c) => (
            "review_frozen",
            "freeze-comment",
            c.clone(),
            app.freeze_review(&who, &key, year, c, now)
                .await
                .map(|_| ()),
        ),
        Change::Unfreeze(r) => (
            "review_unfrozen",
            "unfreeze-reason",
            r.clone(),
            app.unfreeze_review(&who, &key, year, r, now).await,
        ),
    };
    match result {
        Ok(()) => Ok(done(
            &format!("/review?year={year}&definition={key}"),
            done_key,
        )),
        Err(e @ (AppError::Refused(_) | AppError::Invalid(_))) => {
            let lines = explain(e, page.lang, Some(&w)).lines();
            review_page(
                page,
                q,
                Some(Refused {
                    field,
                    lines,
                    typed,
                }),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn person(
    page: Page,
    Path((year, user_id)): Path<(i32, i64)>,
    Query(q): Query<YearQuery>,
) -> Response {
    let r = person_page(&page, year, user_id, q.done, None, StatusCode::OK).await;
    respond(&page, r).await
}

/// An item entry refused: which item, what was typed, and why.
struct EntryError {
    item: String,
    score: String,
    comment: String,
    lines: Vec<String>,
}

fn at(w: &Workflow, t: DateTime<Utc>) -> String {
    t.with_timezone(&w.timezone)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

async fn person_page(
    page: &Page,
    year: i32,
    user_id: i64,
    notice: Option<String>,
    error: Option<EntryError>,
    status: StatusCode,
) -> PageResult {
    let who = page.require_user()?;
    let q = of_year(year, None);
    let (w, year) = which(page, &q)?;
    let key = w.id().to_string();
    let app = &page.state.app;
    let x = app
        .explain_review(&who, &key, year, user_id, Utc::now())
        .await?;
    let frozen = app.frozen_at(&key, year).await?.is_some();
    let powers = app.review_powers(&who, &key);
    let lang = page.lang.code();
    let ar = w.annual_review();
    let line = &x.row.line;
    let items: Vec<Value> = ar
        .map(|a| {
            a.items
                .iter()
                .zip(&line.items)
                .map(|(def, l)| {
                    let entry = x.entries.iter().find(|e| e.item == def.id.as_str());
                    let mine = error.as_ref().filter(|e| e.item == def.id.as_str());
                    let source = match def.source.get() {
                        ItemSource::Entered => page.t("review.source_entered"),
                        ItemSource::ResidentSatisfaction => page.t("review.source_satisfaction"),
                        ItemSource::MilestonesOnTime => page.t("review.source_on_time"),
                    };
                    json!({
                        "id": def.id.as_str(),
                        "name": def.name.get(lang),
                        "weight": number(*def.weight.get()),
                        "source": source,
                        "score": l.score.map(number),
                        "weighted": l.weighted.map(number),
                        "entry": entry.map(|e| json!({
                            "by": e.entered_by_name,
                            "at": at(&w, e.entered_at),
                            "comment": e.comment,
                        })),
                        "may_enter": !frozen && powers.enter.iter().any(|i| i == def.id.as_str()),
                        "typed_score": mine.map(|e| e.score.clone()).or_else(|| entry.map(|e| number(e.score))),
                        "typed_comment": mine.map(|e| e.comment.clone()),
                        "errors": mine.map(|e| e.lines.clone()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let projects: Vec<Value> = x
        .projects
        .iter()
        .map(|p| {
            json!({
                "id": p.project.id,
                "title": p.project.title,
                "stage": page.stage_name(&p.project.stage),
                "outcome": crate::app::review::outcome_name(&p.outcome, lang),
                "final_score": p.project.final_score.map(number),
                "grade": p.project.grade.as_ref().and_then(|g| w.definition.scoring.as_ref()?.grades.iter().find(|x| x.id.as_str() == g).map(|x| x.name.get(lang).to_string())),
                "counted": p.counted.map(number),
            })
        })
        .collect();
    let names: HashMap<&str, String> = ar
        .map(|a| {
            a.items
                .iter()
                .map(|i| (i.id.as_str(), i.name.get(lang).to_string()))
                .collect()
        })
        .unwrap_or_default();
    let history: Vec<Value> = x
        .history
        .iter()
        .map(|h| {
            json!({
                "at": at(&w, h.at),
                "actor": h.actor,
                "action": page.t(&format!("review.event_{}", h.action)),
                "item": h.item.as_deref().map(|i| names.get(i).cloned().unwrap_or_else(|| i.to_string())),
                "score": h.score.map(number),
                "comment": h.comment,
            })
        })
        .collect();
    let rows = rows_json(
        page,
        &w,
        &YearReview {
            rows: vec![x.row.clone()],
            ..empty_review(&key, year)
        },
    );
    let errors: Vec<Value> = error
        .as_ref()
        .map(|e| {
            e.lines
                .iter()
                .map(|m| json!({"field": format!("score-{}", e.item), "message": m}))
                .collect()
        })
        .unwrap_or_default();
    let title = format!(
        "{} · {year} {}",
        x.row.person.name,
        ar.map(|a| a.name.get(lang)).unwrap_or_default()
    );
    Ok(page
        .render(
            status,
            "review_person",
            &title,
            json!({
                "year": year,
                "definition": key,
                "person": x.row.person,
                "row": rows.into_iter().next(),
                "project_weight": number(line.project_weight),
                "combine": page.t(match ar.map(|a| *a.project_combine.get()) {
                    Some(crate::workflow::model::ProjectCombine::Best) => "review.combine_best",
                    _ => "review.combine_mean",
                }),
                "items": items,
                "projects": projects,
                "history": history,
                "frozen": frozen,
                "notice": page.notice(notice.as_deref()),
                "errors": if errors.is_empty() { Value::Null } else { Value::Array(errors) },
            }),
        )
        .await)
}

fn empty_review(key: &str, year: i32) -> YearReview {
    YearReview {
        definition: key.to_string(),
        year,
        computed_at: Utc::now(),
        frozen: None,
        rows: Vec::new(),
        entries: Vec::new(),
        figures: YearFigures {
            year,
            by_organisation: Vec::new(),
            total: Figures::default(),
            previous_total: Figures::default(),
            by_stage: Default::default(),
        },
    }
}

#[derive(Deserialize)]
pub struct ItemForm {
    item: String,
    #[serde(default)]
    score: String,
    #[serde(default)]
    comment: String,
}

pub async fn enter_item(
    Path((year, user_id)): Path<(i32, i64)>,
    posted: Posted<ItemForm>,
) -> Response {
    let Posted { page, form } = posted;
    let r = enter_post(&page, year, user_id, form).await;
    respond(&page, r).await
}

async fn enter_post(page: &Page, year: i32, user_id: i64, form: ItemForm) -> PageResult {
    let who = page.require_user()?;
    let q = of_year(year, None);
    let (w, year) = which(page, &q)?;
    let key = w.id().to_string();
    let refuse = |lines: Vec<String>| EntryError {
        item: form.item.clone(),
        score: form.score.clone(),
        comment: form.comment.clone(),
        lines,
    };
    let score = match form.score.trim().parse::<f64>() {
        Ok(s) if s.is_finite() => s,
        _ => {
            let e = refuse(vec![page.t("review.score_invalid")]);
            return person_page(
                page,
                year,
                user_id,
                None,
                Some(e),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    match page
        .state
        .app
        .enter_review_item(
            &who,
            &key,
            year,
            user_id,
            &form.item,
            score,
            &form.comment,
            Utc::now(),
        )
        .await
    {
        Ok(_) => Ok(done(
            &format!("/review/{year}/people/{user_id}#items"),
            "item_entered",
        )),
        Err(e @ (AppError::Refused(_) | AppError::Invalid(_) | AppError::Forbidden(_))) => {
            let lines = match &e {
                AppError::Invalid(m) if m.starts_with("score") => {
                    vec![page.t("review.score_invalid")]
                }
                _ => explain(e, page.lang, Some(&w)).lines(),
            };
            person_page(
                page,
                year,
                user_id,
                None,
                Some(refuse(lines)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The review on A4 for filing: the ranking with every item, the year in figures, and the
/// approval (frozen) or "draft" mark, with signature lines.
pub async fn print(
    page: Page,
    Path(year): Path<i32>,
    Query(q): Query<DefinitionQuery>,
) -> Response {
    let r = print_page(&page, year, q).await;
    respond(&page, r).await
}

async fn print_page(page: &Page, year: i32, q: DefinitionQuery) -> PageResult {
    let who = page.require_user()?;
    let yq = of_year(year, q.definition);
    let (w, year) = which(page, &yq)?;
    let key = w.id().to_string();
    let r = page
        .state
        .app
        .annual_review(&who, &key, year, Utc::now())
        .await?;
    let lang = page.lang.code();
    let name = w
        .annual_review()
        .map(|a| a.name.get(lang).to_string())
        .unwrap_or_default();
    let data = page
        .layout(
            &format!("{year} {name}"),
            json!({
                "year": year,
                "definition": key,
                "name": name,
                "items": item_heads(page, &w),
                "rows": rows_json(page, &w, &r),
                "frozen": freeze_json(&r, &w),
                "figures": figures_rows(page, &r.figures),
                "computed_at": at(&w, r.computed_at),
            }),
        )
        .await;
    let mut resp = super::render::html(StatusCode::OK, "review_print", &data);
    page.finish(&mut resp);
    Ok(resp)
}

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{}%", number(v)))
        .unwrap_or_else(|| "—".into())
}

fn delta(now: i64, before: Option<i64>) -> String {
    match before {
        None => "—".into(),
        Some(b) => {
            let d = now - b;
            if d > 0 {
                format!("+{d}")
            } else {
                d.to_string()
            }
        }
    }
}

/// The year in figures as table rows: each subdistrict, then the total.
fn figures_rows(page: &Page, f: &YearFigures) -> Vec<Value> {
    let row = |name: &str, x: &Figures, before: Option<&Figures>, total: bool| {
        json!({
            "name": name,
            "total": total,
            "applied": x.applied,
            "approved": x.approved,
            "finished": x.finished,
            "finish_rate": pct(x.finish_rate),
            "terminated": x.terminated,
            "on_time": format!("{}/{}", x.milestones_on_time, x.milestones_due),
            "on_time_rate": pct(x.on_time_rate),
            "average": x.average_score.map(number).unwrap_or_else(|| "—".into()),
            "satisfaction": pct(x.satisfaction_rate),
            "appraisals": x.appraisals,
            "solved": x.problems_solved,
            "change": delta(x.finished, before.map(|b| b.finished)),
        })
    };
    let mut rows: Vec<Value> = f
        .by_organisation
        .iter()
        .map(|o| row(&o.organisation, &o.figures, o.previous.as_ref(), false))
        .collect();
    rows.push(row(
        &page.t("review.district_total"),
        &f.total,
        Some(&f.previous_total),
        true,
    ));
    rows
}

pub async fn dashboard(page: Page, Query(q): Query<YearQuery>) -> Response {
    let r = dashboard_page(&page, q).await;
    respond(&page, r).await
}

async fn dashboard_page(page: &Page, q: YearQuery) -> PageResult {
    let who: Arc<Principal> = page.require_user()?;
    let (w, year) = which(page, &q)?;
    let key = w.id().to_string();
    let app = &page.state.app;
    let now = Utc::now();
    let f = app.year_figures(&who, &key, year, now).await?;
    let overdue = app.overdue_list(&who, &key, year, now, 50).await?;
    let orgs = app
        .organisation_names(overdue.iter().map(|o| o.organisation_id))
        .await?;
    let t = &f.total;
    let b = &f.previous_total;
    let card = |label: &str, now: String, before: String| json!({"label": label, "now": now, "before": before});
    let cards = vec![
        card(
            &page.t("review.fig_applied"),
            t.applied.to_string(),
            b.applied.to_string(),
        ),
        card(
            &page.t("review.fig_approved"),
            t.approved.to_string(),
            b.approved.to_string(),
        ),
        card(
            &page.t("review.fig_finished"),
            t.finished.to_string(),
            b.finished.to_string(),
        ),
        card(
            &page.t("review.fig_finish_rate"),
            pct(t.finish_rate),
            pct(b.finish_rate),
        ),
        card(
            &page.t("review.fig_on_time_rate"),
            pct(t.on_time_rate),
            pct(b.on_time_rate),
        ),
        card(
            &page.t("review.fig_average"),
            t.average_score.map(number).unwrap_or_else(|| "—".into()),
            b.average_score.map(number).unwrap_or_else(|| "—".into()),
        ),
        card(
            &page.t("review.fig_satisfaction"),
            pct(t.satisfaction_rate),
            pct(b.satisfaction_rate),
        ),
        card(
            &page.t("review.fig_solved"),
            t.problems_solved.to_string(),
            b.problems_solved.to_string(),
        ),
    ];
    let lang = page.lang.code();
    let stage_bars: Vec<Bar> = w
        .definition
        .stages
        .iter()
        .filter_map(|s| {
            let n = *f.by_stage.get(s.id.as_str())?;
            Some(Bar {
                label: s.name.get(lang).to_string(),
                value: n as f64,
                before: None,
                text: n.to_string(),
            })
        })
        .collect();
    let org_bars = |value: &dyn Fn(&Figures) -> Option<f64>,
                    text: &dyn Fn(Option<f64>) -> String|
     -> Vec<Bar> {
        f.by_organisation
            .iter()
            .map(|o| {
                let v = value(&o.figures);
                Bar {
                    label: o.organisation.clone(),
                    value: v.unwrap_or(0.0),
                    before: o.previous.as_ref().and_then(value),
                    text: text(v),
                }
            })
            .collect()
    };
    let count = |v: Option<f64>| v.map(number).unwrap_or_else(|| "0".into());
    let charts = vec![
        json!({"id": "chart-stages", "title": page.t("review.chart_stages"), "svg": bar_chart("chart-stages", &page.t("review.chart_stages"), &page.t("review.chart_stages_desc"), &stage_bars, None)}),
        json!({"id": "chart-finished", "title": page.t("review.chart_finished"), "svg": bar_chart("chart-finished", &page.t("review.chart_finished"), &page.t("review.chart_before_desc"), &org_bars(&|x| Some(x.finished as f64), &count), None)}),
        json!({"id": "chart-finish-rate", "title": page.t("review.chart_finish_rate"), "svg": bar_chart("chart-finish-rate", &page.t("review.chart_finish_rate"), &page.t("review.chart_before_desc"), &org_bars(&|x| x.finish_rate, &pct), Some(100.0))}),
        json!({"id": "chart-on-time", "title": page.t("review.chart_on_time"), "svg": bar_chart("chart-on-time", &page.t("review.chart_on_time"), &page.t("review.chart_before_desc"), &org_bars(&|x| x.on_time_rate, &pct), Some(100.0))}),
        json!({"id": "chart-satisfaction", "title": page.t("review.chart_satisfaction"), "svg": bar_chart("chart-satisfaction", &page.t("review.chart_satisfaction"), &page.t("review.chart_before_desc"), &org_bars(&|x| x.satisfaction_rate, &pct), Some(100.0))}),
    ];
    let overdue: Vec<Value> = overdue
        .iter()
        .map(|o| {
            json!({
                "project_id": o.project_id,
                "title": o.project_title,
                "organisation": orgs.get(&o.organisation_id).cloned().unwrap_or_default(),
                "stage": page.stage_name(&o.stage),
                "milestone": o.milestone,
                "due": o.due_date.to_string(),
                "days": (now.with_timezone(&w.timezone).date_naive() - o.due_date).num_days(),
            })
        })
        .collect();
    Ok(page
        .render(
            StatusCode::OK,
            "dashboard",
            &format!("{year} {}", page.t("review.dashboard")),
            json!({
                "year": year,
                "previous_year": year - 1,
                "next_year": year + 1,
                "definition": key,
                "cards": cards,
                "charts": charts,
                "figures": figures_rows(page, &f),
                "overdue": overdue,
            }),
        )
        .await)
}

#[derive(Deserialize, Default)]
pub struct ExportQuery {
    format: Option<String>,
    definition: Option<String>,
}

/// The export buttons: the workbook or the CSV of the year's review.
pub async fn export(page: Page, Path(year): Path<i32>, Query(q): Query<ExportQuery>) -> Response {
    let r = export_file(&page, year, q).await;
    respond(&page, r).await
}

async fn export_file(page: &Page, year: i32, q: ExportQuery) -> PageResult {
    let who = page.require_user()?;
    let yq = of_year(year, q.definition);
    let (w, year) = which(page, &yq)?;
    let format = crate::export::Format::parse(q.format.as_deref().unwrap_or("xlsx"))
        .map_err(|e| AppError::Invalid(e.to_string()))?;
    let f = page
        .state
        .app
        .export_review(&who, w.id(), year, format, page.lang.code())
        .await?;
    Ok(crate::http::review::file_response(f))
}
