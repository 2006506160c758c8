//! Server-rendered pages (handlebars, `templates/pages/`): the resident appraisal page a phone
//! opens from a QR code, the printable sheet of appraisal codes, and the explanation of a
//! project's final score. No scripts; they work offline and print as they are.

use std::sync::LazyLock;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use chrono::Utc;
use handlebars::Handlebars;
use serde::Deserialize;
use serde_json::{json, Value};

use super::acceptance::{client_key, district_only};
use super::api::visible_project;
use super::error::{app_err, ApiError, Lang};
use super::extract::{ApiPath, Auth, Peer};
use super::AppState;
use crate::app::AppError;
use crate::scoring::appraisal::TokenRefusal;

static PAGES: LazyLock<Handlebars<'static>> = LazyLock::new(|| {
    let mut h = Handlebars::new();
    h.set_strict_mode(false);
    for (name, text) in [
        (
            "appraisal",
            include_str!("../../templates/pages/appraisal.hbs"),
        ),
        (
            "appraisal_result",
            include_str!("../../templates/pages/appraisal_result.hbs"),
        ),
        (
            "token_sheet",
            include_str!("../../templates/pages/token_sheet.hbs"),
        ),
        ("score", include_str!("../../templates/pages/score.hbs")),
    ] {
        // The templates are part of the binary and checked by the tests that render them.
        if let Err(e) = h.register_template_string(name, text) {
            tracing::error!(template = name, error = %e, "page template does not parse");
        }
    }
    h
});

fn render(name: &str, data: &Value) -> Response {
    match PAGES.render(name, data) {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "page rendering failed").into_response()
        }
    }
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

/// `?lang=en` wins over the browser's Accept-Language (a printed link cannot carry a header).
fn page_lang(q: &LangQuery, header: Lang) -> Lang {
    match q.lang.as_deref() {
        Some(l) if l.starts_with("en") => Lang::En,
        Some(l) if l.starts_with("zh") => Lang::Zh,
        _ => header,
    }
}

fn refusal_page(lang: Lang, r: &TokenRefusal) -> Response {
    let status = match r {
        TokenRefusal::Unknown => StatusCode::NOT_FOUND,
        TokenRefusal::Revoked | TokenRefusal::Expired => StatusCode::GONE,
        TokenRefusal::BadRating { .. } | TokenRefusal::CommentTooLong { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        _ => StatusCode::CONFLICT,
    };
    let data = json!({
        "lang": lang.code(),
        "kind": "refused",
        "reason": r.code(),
        "heading": lang.pick("无法评价", "Cannot appraise"),
        "message": r.message(lang.code()),
    });
    (status, render("appraisal_result", &data)).into_response()
}

fn limited_page(lang: Lang) -> Response {
    let data = json!({
        "lang": lang.code(),
        "kind": "refused",
        "reason": "rate_limited",
        "heading": lang.pick("请求过于频繁", "Too many requests"),
        "message": lang.pick("无效的评价码过多，请一分钟后再试。", "Too many invalid codes; please try again in a minute."),
    });
    (
        StatusCode::TOO_MANY_REQUESTS,
        render("appraisal_result", &data),
    )
        .into_response()
}

fn other_error(lang: Lang, e: AppError) -> Response {
    match e {
        AppError::Token(r) => refusal_page(lang, &r),
        e => ApiError::from_app(e, lang, None).into_response(),
    }
}

/// The appraisal page a resident's phone opens from the QR code (no account).
pub async fn appraisal_page(
    State(s): State<AppState>,
    header_lang: Lang,
    peer: Peer,
    Query(q): Query<LangQuery>,
    ApiPath(code): ApiPath<String>,
) -> Response {
    let lang = page_lang(&q, header_lang);
    let client = client_key(peer);
    if s.appraisal_limiter.exhausted(&client) {
        return limited_page(lang);
    }
    match s.app.appraisal_page(&code, lang.code(), Utc::now()).await {
        Ok(page) => {
            let data = json!({
                // The form answers in the page's language (`?lang=` on its action), whatever
                // the browser's Accept-Language says.
                "lang": lang.code(),
                "code": code,
                "page": page,
                "t": {
                    "title": lang.pick("群众评价", "Resident appraisal"),
                    "heading": lang.pick("书记项目 · 群众评价（下评）", "Secretary Project · resident appraisal"),
                    "question": lang.pick("您对这个项目的成效满意吗？", "Are you satisfied with what this project achieved?"),
                    "comment": lang.pick("意见建议（选填）", "Comments (optional)"),
                    "submit": lang.pick("提交评价", "Submit"),
                    "note": lang.pick("每个评价码只能使用一次，无需注册。", "Each code counts once; no account is needed."),
                }
            });
            render("appraisal", &data)
        }
        Err(e) => {
            if matches!(e, AppError::Token(TokenRefusal::Unknown)) {
                s.appraisal_limiter.allow(&client);
            }
            other_error(lang, e)
        }
    }
}

#[derive(Deserialize)]
pub struct AppraisalForm {
    #[serde(default)]
    rating: String,
    #[serde(default)]
    comment: String,
}

/// The appraisal form's answer.
pub async fn submit_appraisal(
    State(s): State<AppState>,
    header_lang: Lang,
    peer: Peer,
    Query(q): Query<LangQuery>,
    ApiPath(code): ApiPath<String>,
    form: Result<Form<AppraisalForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = page_lang(&q, header_lang);
    let client = client_key(peer);
    if s.appraisal_limiter.exhausted(&client) {
        return limited_page(lang);
    }
    let Ok(Form(f)) = form else {
        return refusal_page(lang, &TokenRefusal::BadRating { options: vec![] });
    };
    match s
        .app
        .appraise(&code, None, &f.rating, Some(&f.comment), Utc::now())
        .await
    {
        Ok(_) => {
            let data = json!({
                "lang": lang.code(),
                "kind": "ok",
                "reason": "accepted",
                "heading": lang.pick("感谢您的评价！", "Thank you!"),
                "message": lang.pick("您的评价已记录，将计入项目的群众评价得分。", "Your appraisal was recorded and counts in the project's resident appraisal score."),
            });
            (StatusCode::CREATED, render("appraisal_result", &data)).into_response()
        }
        Err(e) => {
            if matches!(e, AppError::Token(TokenRefusal::Unknown)) {
                s.appraisal_limiter.allow(&client);
            }
            other_error(lang, e)
        }
    }
}

/// An SVG QR code of `text`.
fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(160, 160)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

/// A batch of appraisal codes as a print-ready A4 sheet: a QR code, the code and the short
/// link for each (district users).
pub async fn token_sheet(
    State(s): State<AppState>,
    header_lang: Lang,
    Auth(who): Auth,
    Query(q): Query<LangQuery>,
    ApiPath((id, batch)): ApiPath<(i64, String)>,
) -> Result<Response, ApiError> {
    let lang = page_lang(&q, header_lang);
    let p = visible_project(&s, &who, id, lang).await?;
    district_only(&s, &who, &p, lang).await?;
    let tokens = s
        .app
        .batch_tokens(id, &batch)
        .await
        .map_err(app_err(lang))?;
    let now = Utc::now();
    let cards: Vec<Value> = tokens
        .iter()
        .filter(|t| t.used_at.is_none() && t.revoked_at.is_none() && t.expires_at > now)
        .map(|t| {
            let link = format!("{}/a/{}", s.public_url, t.code);
            json!({"code": t.code, "link": link, "svg": qr_svg(&link)})
        })
        .collect();
    let expires = tokens
        .first()
        .map(|t| {
            t.expires_at
                .with_timezone(&s.time_zone)
                .format("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_default();
    let organisation = s
        .app
        .organisation_name(p.organisation_id)
        .await
        .map_err(app_err(lang))?;
    let data = json!({
        "lang": lang.code(),
        "project": {"title": p.title},
        "organisation": organisation,
        "batch": batch,
        "expires": expires,
        "count": cards.len(),
        "cards": cards,
        "t": {
            "title": lang.pick("群众评价码", "Resident appraisal codes"),
            "batch": lang.pick("批次", "batch"),
            "expires": lang.pick("有效期至", "valid until"),
            "count": lang.pick("个可用评价码", "usable codes"),
            "hint": lang.pick("微信或手机相机扫码评价，每码限用一次", "Scan with a phone camera; each code counts once"),
        }
    });
    let mut r = render("token_sheet", &data);
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

/// The explanation of a project's final score as a page.
pub async fn score_page(
    State(s): State<AppState>,
    header_lang: Lang,
    Auth(who): Auth,
    Query(q): Query<LangQuery>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let lang = page_lang(&q, header_lang);
    let p = visible_project(&s, &who, id, lang).await?;
    let w = s.app.workflow_of(&p).await.map_err(app_err(lang))?;
    let report = s
        .app
        .score_report(&who, &p, lang.code(), Utc::now())
        .await
        .map_err(app_err(lang))?;
    let label = |id: &str| report.labels.get(id).cloned().unwrap_or(id.to_string());
    let parts: Vec<Value> = report
        .explanation
        .parts
        .iter()
        .map(|line| {
            let criteria: Vec<Value> = w
                .part(&line.part)
                .map(|p| {
                    p.criteria
                        .iter()
                        .map(|c| json!({"name": c.name.get(lang.code()), "max": c.max.get()}))
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "name": label(&line.part),
                "line": line,
                "criteria": criteria,
                "combine": line.combine.map(|c| match (c, lang) {
                    (crate::workflow::model::Combine::Mean, Lang::Zh) => "平均",
                    (crate::workflow::model::Combine::Mean, Lang::En) => "mean",
                    (crate::workflow::model::Combine::TrimmedMean, Lang::Zh) => "去掉最高分和最低分后平均",
                    (crate::workflow::model::Combine::TrimmedMean, Lang::En) => "mean without the highest and lowest",
                    (crate::workflow::model::Combine::Median, Lang::Zh) => "中位数",
                    (crate::workflow::model::Combine::Median, Lang::En) => "median",
                }),
                "sheets": line.sheets.iter().map(|sh| json!({
                    "scorer": report.scorers.get(&sh.scorer).cloned().unwrap_or(sh.scorer.to_string()),
                    "line": sh,
                    "score": (sh.score * 100.0).round() / 100.0,
                })).collect::<Vec<_>>(),
                "ratings": line.ratings.iter().map(|r| json!({"name": label(&r.rating), "line": r})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let deductions: Vec<Value> = report
        .explanation
        .deductions
        .iter()
        .map(|d| {
            json!({
                "name": label(&d.deduction),
                "line": d,
                "cap": d.max_total.map(|m| m.to_string()).unwrap_or("—".into()),
            })
        })
        .collect();
    let deducted: f64 = report.explanation.deductions.iter().map(|d| d.total).sum();
    let data = json!({
        "lang": lang.code(),
        "project": {"title": p.title},
        "report": report,
        "parts": parts,
        "deductions": deductions,
        "deducted": (deducted * 100.0).round() / 100.0,
        "t": {
            "title": lang.pick("评分说明", "How the score was made"),
            "provisional": lang.pick("项目尚未结题：以下为按当前数据计算的预估得分。", "The project is not closed: this is the score as it would be now."),
            "weight": lang.pick("权重", "weight"),
            "scorer": lang.pick("评分人", "Scorer"),
            "points": lang.pick("合计", "Total"),
            "scaled": lang.pick("折合百分", "Out of 100"),
            "dropped": lang.pick("去掉", "dropped"),
            "rating": lang.pick("评价", "Rating"),
            "count": lang.pick("数量", "Count"),
            "points_each": lang.pick("每项分值", "Points each"),
            "part_score": lang.pick("本部分得分", "Part score"),
            "missing": lang.pick("暂无数据", "no input yet"),
            "deductions": lang.pick("扣分", "Deductions"),
            "deduction": lang.pick("扣分项", "Deduction"),
            "cap": lang.pick("上限", "Cap"),
            "total": lang.pick("扣分合计", "Deducted"),
            "why": lang.pick("原因", "Why"),
            "subtotal": lang.pick("加权合计", "Weighted total"),
            "deducted": lang.pick("扣分", "deductions"),
            "grade": lang.pick("等次", "grade"),
        }
    });
    Ok(render("score", &data))
}
