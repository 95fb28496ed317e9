//! The one HTTP error type: a stable machine code, a human message (in English, and in Danish
//! for the pages), and for 5xx no internals.

use super::messages;
use super::pages::texts::Lang;
use crate::error::{Error, LineError};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, for example `invalid_input` or `insufficient_stock`.
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// The message in Danish, for pages.
    pub message_da: String,
    /// The input field the problem is in, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem, for bulk input such as CSV (line 1 is the header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<LineError>>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: handlers return `Result<_, ApiError>`, and a small `Err` keeps every `Ok` small.
    pub body: Box<ErrorBody>,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error answer; its Danish text is the one of `code` in the messages catalogue.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Box::new(ErrorBody {
                code: code.into(),
                message: message.into(),
                message_da: messages::text(code, None, Lang::Da),
                field: None,
                problems: None,
            }),
            retry_after: None,
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        use StatusCode as S;
        let message_da = messages::error_text(&e, Lang::Da);
        let mut a = match e {
            Error::Invalid(i) => {
                let mut a = ApiError::new(S::UNPROCESSABLE_ENTITY, "invalid_input", i.to_string());
                a.body.field = Some(i.field);
                a
            }
            Error::InvalidMany(problems) => {
                let first = problems
                    .first()
                    .map(|p| format!("line {} {}: {}", p.line, p.field, p.message))
                    .unwrap_or_default();
                let mut a = ApiError::new(
                    S::UNPROCESSABLE_ENTITY,
                    "invalid_rows",
                    format!(
                        "{} problem(s), nothing was imported; first: {first}",
                        problems.len()
                    ),
                );
                a.body.problems = Some(problems);
                a
            }
            Error::NotFound(what) => {
                ApiError::new(S::NOT_FOUND, "not_found", format!("{what} not found"))
            }
            Error::Conflict { code, message } => ApiError::new(S::CONFLICT, code, message),
            Error::Stock(s) => ApiError::new(S::CONFLICT, "insufficient_stock", s.to_string()),
            Error::Unauthenticated => ApiError::new(
                S::UNAUTHORIZED,
                "unauthenticated",
                "log in or send a bearer token",
            ),
            Error::BadCredentials => ApiError::new(
                S::UNAUTHORIZED,
                "bad_credentials",
                "invalid username or password",
            ),
            e @ Error::Locked { .. } => ApiError::new(S::LOCKED, "account_locked", e.to_string()),
            Error::Forbidden(m) => ApiError::new(S::FORBIDDEN, "forbidden", m),
            e @ Error::TooMany { retry_after_secs } => {
                let mut a = ApiError::new(S::TOO_MANY_REQUESTS, "too_many_requests", e.to_string());
                a.retry_after = Some(retry_after_secs);
                a
            }
            e @ Error::Busy { retry_after_secs } => {
                let mut a = ApiError::new(S::SERVICE_UNAVAILABLE, "busy", e.to_string());
                a.retry_after = Some(retry_after_secs);
                a
            }
            Error::Internal(e) => {
                tracing::error!(error = format!("{e:#}"), "internal error");
                ApiError::new(
                    S::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; it has been logged",
                )
            }
        };
        a.body.message_da = message_da;
        a
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Error::from(e).into()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        // axum knows the right status (400, 413, 415, 422); we add a stable code.
        let status = r.status();
        let code = match &r {
            JsonRejection::JsonDataError(_) => "invalid_json_data",
            JsonRejection::JsonSyntaxError(_) => "malformed_json",
            JsonRejection::MissingJsonContentType(_) => "json_content_type_required",
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            _ => "unreadable_body",
        };
        // Data errors (wrong type, missing field) are client errors of the same kind as syntax.
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        ApiError::new(status, code, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(self.body)).into_response();
        if let Some(s) = self.retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        res
    }
}

/// `axum::Json` whose rejections are `ApiError`s.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` whose rejections are `ApiError`s.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` whose rejections are `ApiError`s.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

pub type ApiResult<T> = Result<T, ApiError>;

/// A JSON body as a handler takes it: read (`let Json(r) = r?;`) only after `caller.require`,
/// so that a role that may not call the endpoint gets 403 whatever it sent, and no hint of the
/// body the endpoint wants (axum runs a handler's extractors before its code, and a `Json<T>`
/// argument would answer 400 first).
pub type Body<T> = ApiResult<Json<T>>;

/// Query parameters as a handler takes them: read after the role check, as [`Body`]. Their
/// `IntoParams` type says `#[into_params(parameter_in = Query)]`: utoipa takes the place of a
/// parameter from a `Query<T>` argument and, not seeing one here, would document a path one.
pub type Params<T> = ApiResult<Query<T>>;
