//! Attachments: evidence files (documents and pictures) of a project or one of its milestones.
//! The checks are pure and come first: a safe name, an allowed type whose content matches its
//! name, a size within the limit. Only those who may see the project may fetch them.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use serde_json::json;

use super::projects::{load_for_update, save_change};
use super::{audit, App, AppError, AppResult, Principal};
use crate::store::entity::{attachment, milestone, project};
use crate::workflow::engine::{Reason, Refusal};

/// Largest attachment accepted.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
const MAX_NAME_CHARS: usize = 200;

/// What may be uploaded: extension, content type, and how the content must begin.
const KINDS: &[(&str, &str, Magic)] = &[
    ("pdf", "application/pdf", Magic::Prefix(b"%PDF-")),
    ("png", "image/png", Magic::Prefix(b"\x89PNG\r\n\x1a\n")),
    ("jpg", "image/jpeg", Magic::Prefix(b"\xff\xd8\xff")),
    ("jpeg", "image/jpeg", Magic::Prefix(b"\xff\xd8\xff")),
    ("gif", "image/gif", Magic::Prefix(b"GIF8")),
    ("webp", "image/webp", Magic::Webp),
    (
        "doc",
        "application/msword",
        Magic::Prefix(b"\xd0\xcf\x11\xe0"),
    ),
    (
        "xls",
        "application/vnd.ms-excel",
        Magic::Prefix(b"\xd0\xcf\x11\xe0"),
    ),
    (
        "ppt",
        "application/vnd.ms-powerpoint",
        Magic::Prefix(b"\xd0\xcf\x11\xe0"),
    ),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Magic::Office(&["[Content_Types].xml", "word/document.xml"]),
    ),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Magic::Office(&["[Content_Types].xml", "xl/workbook.xml"]),
    ),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        Magic::Office(&["[Content_Types].xml", "ppt/presentation.xml"]),
    ),
    ("txt", "text/plain; charset=utf-8", Magic::Utf8),
    ("csv", "text/csv; charset=utf-8", Magic::Utf8),
];

#[derive(Debug, Clone, Copy)]
enum Magic {
    Prefix(&'static [u8]),
    Webp,
    Utf8,
    /// An Office Open XML zip holding these parts (see `office`).
    Office(&'static [&'static str]),
}

impl Magic {
    fn matches(self, bytes: &[u8]) -> bool {
        match self {
            Magic::Prefix(p) => bytes.starts_with(p),
            Magic::Webp => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
            Magic::Utf8 => std::str::from_utf8(bytes).is_ok() && !bytes.contains(&0),
            Magic::Office(parts) => {
                bytes.starts_with(b"PK\x03\x04") && super::office::holds_parts(bytes, parts)
            }
        }
    }
}

/// Why an upload is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadProblem {
    Empty,
    TooLarge { bytes: usize },
    BadName(String),
    TypeNotAllowed(String),
    ContentMismatch(String),
}

impl std::fmt::Display for UploadProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UploadProblem::Empty => write!(f, "the file is empty"),
            UploadProblem::TooLarge { bytes } => write!(
                f,
                "the file has {bytes} bytes; at most {MAX_ATTACHMENT_BYTES} are accepted"
            ),
            UploadProblem::BadName(why) => write!(f, "unusable file name: {why}"),
            UploadProblem::TypeNotAllowed(ext) => write!(
                f,
                "files of type `{ext}` are not accepted (accepted: {})",
                KINDS.iter().map(|k| k.0).collect::<Vec<_>>().join(", ")
            ),
            UploadProblem::ContentMismatch(ext) => {
                write!(f, "the content is not a `{ext}` file")
            }
        }
    }
}

/// Check an upload; answers its content type. Pure.
pub fn check_upload(name: &str, bytes: &[u8]) -> Result<&'static str, UploadProblem> {
    let bad = |why: &str| Err(UploadProblem::BadName(why.to_string()));
    if name.trim().is_empty() {
        return bad("it is empty");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return bad("it is longer than 200 characters");
    }
    if name.contains('/') || name.contains('\\') {
        return bad("it names a folder");
    }
    if name.contains("..") || name.starts_with('.') {
        return bad("it starts with a dot or holds `..`");
    }
    if name.chars().any(char::is_control) {
        return bad("it holds control characters");
    }
    let Some((_, ext)) = name.rsplit_once('.') else {
        return Err(UploadProblem::TypeNotAllowed(String::new()));
    };
    let ext = ext.to_ascii_lowercase();
    let Some((_, content_type, magic)) = KINDS.iter().find(|k| k.0 == ext) else {
        return Err(UploadProblem::TypeNotAllowed(ext));
    };
    if bytes.is_empty() {
        return Err(UploadProblem::Empty);
    }
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(UploadProblem::TooLarge { bytes: bytes.len() });
    }
    if !magic.matches(bytes) {
        return Err(UploadProblem::ContentMismatch(ext));
    }
    Ok(content_type)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub project_id: i64,
    pub milestone_id: Option<i64>,
    pub report_id: Option<i64>,
    pub uploader_user_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    /// Where to fetch it (with the same login).
    pub url: String,
}

impl From<attachment::Model> for AttachmentView {
    fn from(a: attachment::Model) -> Self {
        AttachmentView {
            url: format!("/api/v1/attachments/{}", a.id),
            id: a.id,
            project_id: a.project_id,
            milestone_id: a.milestone_id,
            report_id: a.report_id,
            uploader_user_id: a.uploader_user_id,
            file_name: a.file_name,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            sha256: a.sha256,
            created_at: a.created_at,
        }
    }
}

impl App {
    /// Attach a file to a project (or one of its milestones): the project's own team, or a
    /// district user with a district-scope role (for example site-visit photos).
    pub async fn attach(
        &self,
        who: &Principal,
        project_id: i64,
        milestone_id: Option<i64>,
        name: &str,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> AppResult<attachment::Model> {
        let content_type =
            check_upload(name, bytes).map_err(|p| AppError::Invalid(p.to_string()))?;
        let now = audit::normalise_time(now);
        let p = self.project(project_id).await?;
        let w = self.workflow_of(&p).await?;
        who.may_use_any_scope(&w, &p)?;
        if w.is_terminal(&p.stage) {
            return Err(AppError::Refused(Refusal {
                reasons: vec![Reason::ProjectClosed {
                    stage: p.stage.clone(),
                }],
            }));
        }
        // The bytes first: a row never points at a missing file.
        let sha = self.store_file(bytes.to_vec()).await?;
        let txn = self.db.begin_write().await?;
        let p = load_for_update(&txn, project_id).await?;
        if let Some(mid) = milestone_id {
            let m = milestone::Entity::find_by_id(mid).one(&txn).await?;
            if m.is_none_or(|m| m.project_id != p.id) {
                return Err(AppError::NotFound {
                    what: "milestone of this project",
                    id: mid.to_string(),
                });
            }
        }
        let row = attachment::ActiveModel {
            project_id: Set(p.id),
            milestone_id: Set(milestone_id),
            report_id: Set(None),
            uploader_user_id: Set(who.user_id),
            file_name: Set(name.to_string()),
            content_type: Set(content_type.to_string()),
            size_bytes: Set(bytes.len() as i64),
            sha256: Set(sha.clone()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        save_change(
            &txn,
            &p,
            project::ActiveModel {
                ..Default::default()
            },
            Some(who.user_id),
            "attachment",
            None,
            json!({"attachment": row.id, "name": name, "bytes": bytes.len(), "sha256": sha, "milestone": milestone_id}),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(row)
    }

    /// Put a file's bytes in the file store (off the async threads); answers its SHA-256.
    pub(crate) async fn store_file(&self, bytes: Vec<u8>) -> AppResult<String> {
        let files = self.files.clone();
        tokio::task::spawn_blocking(move || files.put(&bytes))
            .await
            .map_err(|e| AppError::Invalid(format!("storing the file failed: {e}")))?
            .map_err(|e| {
                tracing::error!(error = %e, "cannot store an attachment");
                AppError::Store(sea_orm::DbErr::Custom(format!(
                    "cannot store the file: {e}"
                )))
            })
    }

    pub async fn attachments(&self, project_id: i64) -> AppResult<Vec<attachment::Model>> {
        self.memo_rows("attachments", project_id, || async {
            Ok(attachment::Entity::find()
                .filter(attachment::Column::ProjectId.eq(project_id))
                .order_by_asc(attachment::Column::Id)
                .all(&self.db.read)
                .await?)
        })
        .await
    }

    /// An attachment's row, without its bytes.
    pub async fn attachment_row(&self, id: i64) -> AppResult<attachment::Model> {
        attachment::Entity::find_by_id(id)
            .one(&self.db.read)
            .await?
            .ok_or(AppError::NotFound {
                what: "attachment",
                id: id.to_string(),
            })
    }

    /// An attachment's row and bytes; the caller checks that the project is visible.
    pub async fn attachment(&self, id: i64) -> AppResult<(attachment::Model, Vec<u8>)> {
        let a = attachment::Entity::find_by_id(id)
            .one(&self.db.read)
            .await?
            .ok_or(AppError::NotFound {
                what: "attachment",
                id: id.to_string(),
            })?;
        let files = self.files.clone();
        let sha = a.sha256.clone();
        let bytes = tokio::task::spawn_blocking(move || files.get(&sha))
            .await
            .map_err(|e| AppError::Invalid(format!("reading the file failed: {e}")))?
            .map_err(|e| {
                tracing::error!(error = %e, attachment = id, "stored file missing");
                AppError::Store(sea_orm::DbErr::Custom(format!("cannot read the file: {e}")))
            })?;
        Ok((a, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_types_and_content() {
        let pdf = b"%PDF-1.7 ...";
        assert_eq!(check_upload("报告.pdf", pdf), Ok("application/pdf"));
        assert_eq!(
            check_upload("photo.JPG", b"\xff\xd8\xff\xe0xx"),
            Ok("image/jpeg")
        );
        assert!(matches!(
            check_upload("../etc/passwd.pdf", pdf),
            Err(UploadProblem::BadName(_))
        ));
        assert!(matches!(
            check_upload("a/b.pdf", pdf),
            Err(UploadProblem::BadName(_))
        ));
        assert!(matches!(
            check_upload("a\\b.pdf", pdf),
            Err(UploadProblem::BadName(_))
        ));
        assert!(matches!(
            check_upload(".hidden.pdf", pdf),
            Err(UploadProblem::BadName(_))
        ));
        assert!(matches!(
            check_upload("a\u{0}.pdf", pdf),
            Err(UploadProblem::BadName(_))
        ));
        assert!(matches!(
            check_upload("  ", pdf),
            Err(UploadProblem::BadName(_))
        ));
        assert_eq!(
            check_upload("run.exe", b"MZ"),
            Err(UploadProblem::TypeNotAllowed("exe".into()))
        );
        assert_eq!(
            check_upload("noext", pdf),
            Err(UploadProblem::TypeNotAllowed(String::new()))
        );
        assert_eq!(
            check_upload("fake.png", pdf),
            Err(UploadProblem::ContentMismatch("png".into()))
        );
        assert_eq!(check_upload("empty.pdf", b""), Err(UploadProblem::Empty));
        let big = vec![b'a'; MAX_ATTACHMENT_BYTES + 1];
        assert!(matches!(
            check_upload("big.txt", &big),
            Err(UploadProblem::TooLarge { .. })
        ));
        assert_eq!(
            check_upload("notes.txt", "进展".as_bytes()),
            Ok("text/plain; charset=utf-8")
        );
        assert!(check_upload("bin.txt", b"\x00\x01").is_err());
    }

    #[test]
    fn office_files_must_hold_their_own_parts() {
        use crate::app::office::build_zip;
        let x: &[u8] = b"<x/>";
        let docx = build_zip(&[("[Content_Types].xml", x), ("word/document.xml", x)]);
        let xlsx = build_zip(&[("[Content_Types].xml", x), ("xl/workbook.xml", x)]);
        let pptx = build_zip(&[("[Content_Types].xml", x), ("ppt/presentation.xml", x)]);
        let any_zip = build_zip(&[("notes.txt", b"hello")]);
        assert!(check_upload("a.docx", &docx).is_ok());
        assert!(check_upload("a.xlsx", &xlsx).is_ok());
        assert!(check_upload("a.pptx", &pptx).is_ok());
        for name in ["a.docx", "a.xlsx", "a.pptx"] {
            let ext = name.rsplit_once('.').unwrap().1.to_string();
            assert_eq!(
                check_upload(name, &any_zip),
                Err(UploadProblem::ContentMismatch(ext.clone())),
                "{name} from any zip"
            );
            assert_eq!(
                check_upload(name, b"PK\x03\x04 not a zip at all"),
                Err(UploadProblem::ContentMismatch(ext)),
                "{name} from four bytes"
            );
        }
        // A spreadsheet renamed to .docx is not a document.
        assert!(check_upload("a.docx", &xlsx).is_err());
        // Only [Content_Types].xml is not enough.
        let types_only = build_zip(&[("[Content_Types].xml", x)]);
        assert!(check_upload("a.docx", &types_only).is_err());
    }
}
