//! The rules of a resident appraisal (下评), pure: whether a one-time token may be used now,
//! and whether the answer is one the definition accepts. The use case reads the token and the
//! project, asks these functions, and writes only when they agree.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::workflow::model::Part;

/// Longest comment a resident may leave, in characters.
pub const MAX_COMMENT_CHARS: usize = 500;

/// What the store knows of a token.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenState {
    pub id: i64,
    pub project_id: i64,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Why an appraisal is not taken. Nothing is written for any of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TokenRefusal {
    /// No such code.
    Unknown,
    /// The code was issued for another project than the one named.
    OtherProject,
    Used,
    Revoked,
    Expired,
    /// The project is not in a stage where residents appraise.
    WindowClosed,
    BadRating {
        options: Vec<String>,
    },
    CommentTooLong {
        max: usize,
    },
}

impl TokenRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            TokenRefusal::Unknown => "token_unknown",
            TokenRefusal::OtherProject => "token_other_project",
            TokenRefusal::Used => "token_used",
            TokenRefusal::Revoked => "token_revoked",
            TokenRefusal::Expired => "token_expired",
            TokenRefusal::WindowClosed => "appraisal_closed",
            TokenRefusal::BadRating { .. } => "bad_rating",
            TokenRefusal::CommentTooLong { .. } => "comment_too_long",
        }
    }

    /// A sentence for a resident, in Chinese or (for `en...`) English.
    pub fn message(&self, lang: &str) -> String {
        let en = lang.starts_with("en");
        match (self, en) {
            (TokenRefusal::Unknown, false) => "此评价链接无效，请核对链接或二维码。".into(),
            (TokenRefusal::Unknown, true) => {
                "This appraisal link is not valid; please check the link or QR code.".into()
            }
            (TokenRefusal::OtherProject, false) => "此评价码不属于该项目。".into(),
            (TokenRefusal::OtherProject, true) => {
                "This appraisal code belongs to another project.".into()
            }
            (TokenRefusal::Used, false) => "此评价链接已使用过，每个链接只能评价一次。".into(),
            (TokenRefusal::Used, true) => {
                "This appraisal link has been used; each link counts once.".into()
            }
            (TokenRefusal::Revoked, false) => "此评价链接已被收回，不能再使用。".into(),
            (TokenRefusal::Revoked, true) => "This appraisal link was withdrawn.".into(),
            (TokenRefusal::Expired, false) => "此评价链接已过期。".into(),
            (TokenRefusal::Expired, true) => "This appraisal link has expired.".into(),
            (TokenRefusal::WindowClosed, false) => "该项目当前不在群众评价期内。".into(),
            (TokenRefusal::WindowClosed, true) => {
                "Residents cannot appraise this project at present.".into()
            }
            (TokenRefusal::BadRating { options }, false) => {
                format!("请选择一项评价：{}", options.join("、"))
            }
            (TokenRefusal::BadRating { options }, true) => {
                format!("Please choose one rating: {}", options.join(", "))
            }
            (TokenRefusal::CommentTooLong { max }, false) => format!("意见不能超过{max}个字"),
            (TokenRefusal::CommentTooLong { max }, true) => {
                format!("The comment may be at most {max} characters long")
            }
        }
    }
}

/// May `token` be used now for `project` (when the caller names one)?
pub fn check_token(
    token: Option<&TokenState>,
    project: Option<i64>,
    window_open: bool,
    now: DateTime<Utc>,
) -> Result<(), TokenRefusal> {
    let t = token.ok_or(TokenRefusal::Unknown)?;
    if project.is_some_and(|p| p != t.project_id) {
        return Err(TokenRefusal::OtherProject);
    }
    if t.used_at.is_some() {
        return Err(TokenRefusal::Used);
    }
    if t.revoked_at.is_some() {
        return Err(TokenRefusal::Revoked);
    }
    if now >= t.expires_at {
        return Err(TokenRefusal::Expired);
    }
    if !window_open {
        return Err(TokenRefusal::WindowClosed);
    }
    Ok(())
}

/// Is `rating` one of the part's, and the comment short enough? Answers the comment trimmed
/// (an empty one is none).
pub fn check_answer(
    part: &Part,
    rating: &str,
    comment: Option<&str>,
) -> Result<Option<String>, TokenRefusal> {
    if !part.ratings.iter().any(|r| r.id.as_str() == rating) {
        return Err(TokenRefusal::BadRating {
            options: part.ratings.iter().map(|r| r.id.to_string()).collect(),
        });
    }
    let comment = comment.map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
        return Err(TokenRefusal::CommentTooLong {
            max: MAX_COMMENT_CHARS,
        });
    }
    Ok(comment.map(str::to_string))
}
