//! The one error type of the use-case layer. The HTTP layer maps it to problem+json once.

use crate::workflow::engine::Refusal;
use crate::workflow::form::FieldProblem;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No valid session, or a wrong login or password.
    #[error("not signed in, or wrong login or password")]
    Unauthorized,
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    /// Someone else changed the project since the caller read it.
    #[error(
        "the project was changed by someone else (you saw version {expected}, it is now {current})"
    )]
    Conflict { expected: i32, current: i32 },
    /// The actor may not do this (role or scope).
    #[error("not permitted: {0}")]
    Forbidden(Refusal),
    /// The project's state does not allow it (stage, guards, comment).
    #[error("refused: {0}")]
    Refused(Refusal),
    #[error("the form has problems")]
    InvalidForm(Vec<FieldProblem>),
    #[error("{0}")]
    Invalid(String),
    /// A resident appraisal refused (token or answer).
    #[error("appraisal refused: {}", .0.code())]
    Token(crate::scoring::appraisal::TokenRefusal),
    /// A stored definition version could not be read back.
    #[error("workflow definition problem: {0}")]
    Definition(String),
    /// Too many attempts (logins, password checks); try again after this many seconds.
    #[error("too many attempts; try again in {0} seconds")]
    RateLimited(u64),
    #[error("database: {0}")]
    Store(#[from] sea_orm::DbErr),
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        if r.is_permission() {
            AppError::Forbidden(r)
        } else {
            AppError::Refused(r)
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
