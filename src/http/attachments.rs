//! Attachments over HTTP: multipart upload, list, and download for those who see the project.

use axum::extract::{Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use super::api::visible_project;
use super::error::{ApiError, Lang, Problem};
use super::extract::{ApiPath, Auth};
use super::AppState;
use crate::app::attachments::{AttachmentView, MAX_ATTACHMENT_BYTES};

type ApiResult<T> = Result<T, ApiError>;

/// The multipart form of an upload (documentation only; read part by part).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file, with its name (pdf, png, jpg, gif, webp, doc(x), xls(x), ppt(x), txt, csv; at
    /// most 10 MiB).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The milestone it is evidence for.
    milestone_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AttachmentList {
    items: Vec<AttachmentView>,
}

fn too_large(lang: Lang) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        match lang {
            Lang::Zh => "文件过大",
            Lang::En => "File too large",
        },
        format!("at most {MAX_ATTACHMENT_BYTES} bytes are accepted"),
    )
}

/// Attach a file (multipart/form-data: `file`, optional `milestone_id`).
#[utoipa::path(post, path = "/api/v1/projects/{id}/attachments", tag = "implementation",
    params(("id" = i64, Path, description = "project id")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = AttachmentView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn upload(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Response> {
    let p = visible_project(&s, &who, id, lang).await?;
    let mut multipart = multipart.map_err(|e| ApiError::bad_request(lang, e.body_text()))?;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut milestone_id = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large(lang)),
            Err(e) => return Err(ApiError::bad_request(lang, e.body_text())),
        };
        match field.name() {
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_string();
                let bytes = field.bytes().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_large(lang)
                    } else {
                        ApiError::bad_request(lang, e.body_text())
                    }
                })?;
                if file.is_some() {
                    return Err(ApiError::bad_request(lang, "one `file` per upload"));
                }
                file = Some((name, bytes.to_vec()));
            }
            Some("milestone_id") => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| ApiError::bad_request(lang, e.body_text()))?;
                milestone_id = Some(text.trim().parse::<i64>().map_err(|_| {
                    ApiError::bad_request(lang, format!("milestone_id: `{text}` is not a number"))
                })?);
            }
            other => {
                return Err(ApiError::bad_request(
                    lang,
                    format!(
                        "unknown form part `{}` (expected file, milestone_id)",
                        other.unwrap_or("")
                    ),
                ))
            }
        }
    }
    let Some((name, bytes)) = file else {
        return Err(ApiError::bad_request(lang, "the form has no `file` part"));
    };
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(too_large(lang));
    }
    let w = s.app.workflow_of(&p).await.ok();
    let a = s
        .app
        .attach(&who, id, milestone_id, &name, &bytes, Utc::now())
        .await
        .map_err(|e| ApiError::from_app(e, lang, w.as_deref()))?;
    Ok((StatusCode::CREATED, Json(AttachmentView::from(a))).into_response())
}

/// The project's attachments.
#[utoipa::path(get, path = "/api/v1/projects/{id}/attachments", tag = "implementation",
    params(("id" = i64, Path, description = "project id")),
    responses((status = 200, body = AttachmentList), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn list(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AttachmentList>> {
    visible_project(&s, &who, id, lang).await?;
    let items = s
        .app
        .attachments(id)
        .await
        .map_err(|e| ApiError::from_app(e, lang, None))?;
    Ok(Json(AttachmentList {
        items: items.into_iter().map(AttachmentView::from).collect(),
    }))
}

/// Download an attachment (those who see its project).
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "implementation",
    params(("id" = i64, Path, description = "attachment id")),
    responses((status = 200, description = "the file, with its content type"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn download(
    State(s): State<AppState>,
    lang: Lang,
    Auth(who): Auth,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let meta = s
        .app
        .attachment_row(id)
        .await
        .map_err(|e| ApiError::from_app(e, lang, None))?;
    // Visibility before any byte is read.
    visible_project(&s, &who, meta.project_id, lang).await?;
    let (a, bytes) = s
        .app
        .attachment(id)
        .await
        .map_err(|e| ApiError::from_app(e, lang, None))?;
    let ascii: String = a
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = a
        .file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, a.content_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}
