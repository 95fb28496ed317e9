//! The service-level error: what went wrong in the user's terms. HTTP maps it to status codes.

use crate::domain::stock::StockError;
use crate::domain::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// Several problems at once, for example a CSV import report.
    #[error("{} problems in the input", .0.len())]
    InvalidMany(Vec<LineError>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error(transparent)]
    Stock(#[from] StockError),
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid username or password")]
    BadCredentials,
    #[error("account is locked after repeated failed logins; try again after {until}")]
    Locked { until: String },
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts: try again after the given seconds.
    #[error("too many attempts; try again in {retry_after_secs} s")]
    TooMany { retry_after_secs: u64 },
    /// The service is at its limit for this kind of work just now.
    #[error("the service is busy; try again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// One problem in one line of a bulk input, named by line number (1 = header) and field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct LineError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Internal(anyhow::Error::new(e))
    }
}

impl Error {
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::Invalid(Invalid::new(field, message))
    }

    /// The stable code the API answers with: `invalid_input`, a conflict's own code, ...
    pub fn code(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid_input",
            Error::InvalidMany(_) => "invalid_rows",
            Error::NotFound(_) => "not_found",
            Error::Conflict { code, .. } => code,
            Error::Stock(_) => "insufficient_stock",
            Error::Unauthenticated => "unauthenticated",
            Error::BadCredentials => "bad_credentials",
            Error::Locked { .. } => "account_locked",
            Error::Forbidden(_) => "forbidden",
            Error::TooMany { .. } => "too_many_requests",
            Error::Busy { .. } => "busy",
            Error::Internal(_) => "internal",
        }
    }

    /// The input field the problem is in, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid(i) => Some(&i.field),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
