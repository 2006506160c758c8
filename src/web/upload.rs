//! The extractor of forms that carry files (`multipart/form-data`): the same checks as
//! [`super::ctx::Posted`] (this site, the page's anti-forgery token), then the text fields and
//! the files, the whole body at most [`MAX_FORM_BYTES`].

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::StatusCode;
use axum::response::Response;

use super::ctx::{cross_site, Page, CSRF_FIELD};
use super::error::PageError;
use crate::app::milestones::NewFile;
use crate::http::AppState;

/// All the files of one form together, with the multipart framing.
pub const MAX_FORM_BYTES: usize = crate::http::MAX_UPLOAD_BODY_BYTES;

/// A posted form with files. A file input left empty (no name, no bytes) is not a file.
pub struct PostedFiles {
    pub page: Page,
    pub fields: Vec<(String, String)>,
    /// The files by the name of their input.
    pub files: Vec<(String, NewFile)>,
}

impl PostedFiles {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The files of one input.
    pub fn files_of(&self, name: &str) -> Vec<NewFile> {
        self.files
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, f)| f.clone())
            .collect()
    }
}

impl FromRequest<AppState> for PostedFiles {
    type Rejection = Response;
    async fn from_request(req: Request<Body>, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Ok(page) = Page::from_request_parts(&mut parts, state).await;
        if cross_site(&parts.headers) {
            return Err(PageError::Forged.into_page(&page).await);
        }
        let limited = axum::body::Body::new(http_body_util::Limited::new(body, MAX_FORM_BYTES));
        let req = Request::from_parts(parts, limited);
        let mut multipart = match Multipart::from_request(req, state).await {
            Ok(m) => m,
            Err(e) => return Err(PageError::BadForm(e.body_text()).into_page(&page).await),
        };
        let mut fields = Vec::new();
        let mut files = Vec::new();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(refusal(&page, e).await),
            };
            let name = field.name().unwrap_or("").to_string();
            match field.file_name().map(str::to_string) {
                Some(file_name) => {
                    let bytes = match field.bytes().await {
                        Ok(b) => b,
                        Err(e) => return Err(refusal(&page, e).await),
                    };
                    if !(file_name.is_empty() && bytes.is_empty()) {
                        files.push((
                            name,
                            NewFile {
                                name: file_name,
                                bytes: bytes.to_vec(),
                            },
                        ));
                    }
                }
                None => match field.text().await {
                    Ok(t) => fields.push((name, t)),
                    Err(e) => return Err(refusal(&page, e).await),
                },
            }
        }
        let sent = fields
            .iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.as_str());
        if sent != Some(page.csrf.as_str()) || page.is_anonymous_form() {
            return Err(PageError::Forged.into_page(&page).await);
        }
        Ok(PostedFiles {
            page,
            fields,
            files,
        })
    }
}

async fn refusal(page: &Page, e: axum::extract::multipart::MultipartError) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        PageError::TooLarge.into_page(page).await
    } else {
        PageError::BadForm(e.body_text()).into_page(page).await
    }
}
