//! The pages' one error type: every refusal of a use case becomes a page in the user's
//! language with the engine's reasons, never a JSON body or a blank answer.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::ctx::Page;
use crate::app::AppError;
use crate::http::error::ApiError;
use crate::workflow::Workflow;

pub enum PageError {
    /// Not signed in: to the sign-in page, then back to `next`.
    SignIn {
        next: String,
    },
    /// A use case said no (or failed).
    App(AppError, Option<std::sync::Arc<Workflow>>),
    /// A form post without this site's anti-forgery token, or from another site.
    Forged,
    TooLarge,
    BadForm(String),
    NotFound,
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError::App(e, None)
    }
}

pub type PageResult = Result<Response, PageError>;

impl PageError {
    pub fn with_workflow(e: AppError, w: Option<std::sync::Arc<Workflow>>) -> PageError {
        PageError::App(e, w)
    }

    /// The page that explains this error.
    pub async fn into_page(self, page: &Page) -> Response {
        let (status, heading, detail, reasons) = match self {
            PageError::SignIn { next } => {
                let to = format!(
                    "/login?next={}",
                    percent_encoding::utf8_percent_encode(
                        &next,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                );
                return Redirect::to(&to).into_response();
            }
            PageError::App(AppError::Unauthorized, _) => {
                return Redirect::to("/login").into_response();
            }
            PageError::App(e, w) => {
                let x = explain(e, page.lang, w.as_deref());
                (x.status, x.title, x.detail, x.reasons)
            }
            PageError::Forged => (
                StatusCode::FORBIDDEN,
                page.t("error.forged"),
                page.t("error.forged_detail"),
                vec![],
            ),
            PageError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                page.t("error.too_large"),
                String::new(),
                vec![],
            ),
            PageError::BadForm(why) => (
                StatusCode::BAD_REQUEST,
                page.t("error.bad_form"),
                why,
                vec![],
            ),
            PageError::NotFound => (
                StatusCode::NOT_FOUND,
                page.t("error.not_found"),
                page.t("error.not_found_detail"),
                vec![],
            ),
        };
        let title = heading.clone();
        page.render(
            status,
            "error",
            &title,
            json!({"heading": heading, "detail": detail, "reasons": reasons, "status": status.as_u16()}),
        )
        .await
    }
}

/// A use case's refusal in the user's words: the engine's reasons where it gave some, else
/// the detail.
pub struct Explained {
    pub status: StatusCode,
    pub title: String,
    pub detail: String,
    pub reasons: Vec<String>,
}

impl Explained {
    /// Every line of it, for a message beside a form.
    pub fn lines(&self) -> Vec<String> {
        if self.reasons.is_empty() {
            vec![self.detail.clone()]
        } else {
            self.reasons.clone()
        }
    }
}

pub fn explain(e: AppError, lang: crate::http::error::Lang, w: Option<&Workflow>) -> Explained {
    let api = ApiError::from_app(e, lang, w);
    let reasons: Vec<String> = api.extra["reasons"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["message"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let detail = if reasons.is_empty() {
        api.detail
    } else {
        String::new()
    };
    Explained {
        status: api.status,
        title: api.title,
        detail,
        reasons,
    }
}

/// Run a page handler and turn its error into a page.
pub async fn respond(page: &Page, r: PageResult) -> Response {
    match r {
        Ok(r) => r,
        Err(e) => e.into_page(page).await,
    }
}
