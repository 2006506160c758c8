//! The HTTP layer's one error type, answered as `application/problem+json` (RFC 9457) with a
//! stable `type`, in Chinese or English by `Accept-Language`.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::app::AppError;
use crate::workflow::Workflow;

/// The interface language of a request: `zh` (default) or `en`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn from_headers(h: &HeaderMap) -> Lang {
        let accept = h
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // The first listed language wins; anything that is not English gets Chinese.
        let first = accept.split(',').next().unwrap_or("").trim();
        match first.get(..2) {
            Some(l) if l.eq_ignore_ascii_case("en") => Lang::En,
            _ => Lang::Zh,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable machine-readable kind, e.g. `conflict`, `refused`.
    pub kind: &'static str,
    pub title: String,
    pub detail: String,
    pub extra: Value,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &str,
        detail: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            kind,
            title: title.to_string(),
            detail: detail.into(),
            extra: Value::Null,
        }
    }

    pub fn bad_request(lang: Lang, detail: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            lang.pick("请求有误", "Bad request"),
            detail,
        )
    }

    /// Map a use-case error, with the workflow for readable reasons when there is one.
    pub fn from_app(e: AppError, lang: Lang, w: Option<&Workflow>) -> ApiError {
        let l = lang.code();
        match e {
            AppError::RateLimited(secs) => {
                let mut err = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    lang.pick("尝试过于频繁", "Too many attempts"),
                    match lang {
                        Lang::Zh => format!("请{secs}秒后再试"),
                        Lang::En => format!("try again in {secs} seconds"),
                    },
                );
                err.extra = json!({"retry_after_seconds": secs});
                err
            }
            AppError::Unauthorized => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                lang.pick(
                    "未登录或账号密码错误",
                    "Not signed in, or wrong login or password",
                ),
                lang.pick("请重新登录", "Please sign in"),
            ),
            AppError::NotFound { what, id } => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                lang.pick("未找到", "Not found"),
                match lang {
                    Lang::Zh => format!("未找到{what} {id}"),
                    Lang::En => format!("{what} {id} not found"),
                },
            ),
            AppError::Conflict { expected, current } => {
                let mut err = ApiError::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    lang.pick("数据已被他人修改", "Changed by someone else"),
                    match lang {
                        Lang::Zh => format!("您看到的是第{expected}版，当前已是第{current}版，请刷新后重试"),
                        Lang::En => format!("you saw version {expected}; it is now version {current}; reload and try again"),
                    },
                );
                err.extra = json!({"expected_version": expected, "current_version": current});
                err
            }
            AppError::Forbidden(r) | AppError::Refused(r) => {
                let forbidden = r.is_permission();
                let reasons: Vec<Value> = r
                    .reasons
                    .iter()
                    .map(|x| {
                        let message = x.describe(w, l);
                        json!({"code": x.code(), "message": message})
                    })
                    .collect();
                let detail = reasons
                    .iter()
                    .filter_map(|r| r["message"].as_str())
                    .collect::<Vec<_>>()
                    .join(lang.pick("；", "; "));
                let mut err = if forbidden {
                    ApiError::new(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        lang.pick("无权操作", "Not permitted"),
                        detail,
                    )
                } else {
                    ApiError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "refused",
                        lang.pick("当前不能执行此操作", "The action is not possible now"),
                        detail,
                    )
                };
                err.extra = json!({"reasons": reasons});
                err
            }
            AppError::InvalidForm(problems) => {
                let items: Vec<Value> = problems
                    .iter()
                    .map(|p| json!({"field": p.field, "message": p.message(l)}))
                    .collect();
                let detail = problems
                    .iter()
                    .map(|p| p.message(l))
                    .collect::<Vec<_>>()
                    .join(lang.pick("；", "; "));
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_form",
                    lang.pick("表单有误", "The form has problems"),
                    detail,
                );
                err.extra = json!({"fields": items});
                err
            }
            AppError::Invalid(msg) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                lang.pick("输入有误", "Invalid input"),
                msg,
            ),
            AppError::Token(t) => {
                use crate::scoring::appraisal::TokenRefusal as T;
                let status = match t {
                    T::Unknown => StatusCode::NOT_FOUND,
                    T::Used | T::WindowClosed | T::OtherProject => StatusCode::CONFLICT,
                    T::Revoked | T::Expired => StatusCode::GONE,
                    T::BadRating { .. } | T::CommentTooLong { .. } => {
                        StatusCode::UNPROCESSABLE_ENTITY
                    }
                };
                let mut err = ApiError::new(
                    status,
                    t.code(),
                    lang.pick("评价未被接受", "Appraisal not accepted"),
                    t.message(l),
                );
                err.extra = json!({"reason": t.code()});
                err
            }
            AppError::Definition(msg) => {
                tracing::error!(error = %msg, "definition problem");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "definition",
                    lang.pick("流程定义有误", "Workflow definition problem"),
                    msg,
                )
            }
            AppError::Store(e) => {
                tracing::error!(error = %e, "database error");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database",
                    lang.pick("数据库暂不可用", "Database unavailable"),
                    lang.pick("请稍后重试", "Please try again later"),
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("urn:secretary-projects:problem:{}", self.kind),
            "title": self.title,
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        let retry_after = self.extra["retry_after_seconds"].as_u64().unwrap_or(60);
        if let (Value::Object(b), Value::Object(extra)) = (&mut body, self.extra) {
            b.extend(extra);
        }
        let mut r = (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            r.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after));
        }
        r
    }
}

/// The shape of every error answer (`application/problem+json`, RFC 9457). Only some kinds
/// carry the extra members.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable kind: `urn:secretary-projects:problem:KIND` with KIND one of bad_request,
    /// unauthorized, forbidden, not_found, conflict, refused, invalid_form, invalid,
    /// rate_limited, payload_too_large, database, definition.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary in the caller's language.
    pub title: String,
    pub status: u16,
    /// What exactly is wrong, in the caller's language.
    pub detail: String,
    /// `refused` and `forbidden`: every reason, with a stable code and a message.
    pub reasons: Option<Vec<ProblemReason>>,
    /// `invalid_form`: each field's problem.
    pub fields: Option<Vec<ProblemField>>,
    /// `conflict`: the version the caller saw.
    pub expected_version: Option<i32>,
    /// `conflict`: the version now stored.
    pub current_version: Option<i32>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ProblemReason {
    pub code: String,
    pub message: String,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ProblemField {
    pub field: String,
    pub message: String,
}

/// Map a use case's error to the API's, in the caller's language (for `map_err`).
pub(crate) fn app_err(lang: Lang) -> impl Fn(crate::app::AppError) -> ApiError {
    move |e| ApiError::from_app(e, lang, None)
}
