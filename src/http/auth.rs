//! Authentication of requests (session cookie or bearer token), CSRF and role checks.

use super::error::ApiError;
use super::AppState;
use crate::domain::auth::Role;
use crate::error::Error;
use crate::service::auth::{self, Principal};
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, HeaderMap, Method, StatusCode};

pub const SESSION_COOKIE: &str = "konsign_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Refuses a state-changing browser request whose `Origin` is another site.
pub fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    if origin_host != host {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site_request",
            "cross-site request refused",
        ));
    }
    Ok(())
}

/// The CSRF token sent matches the session's, compared in constant time (a byte-by-byte compare
/// that stops at the first difference would tell an attacker, by its timing, how much is right).
fn csrf_matches(sent: Option<&str>, expected: Option<&str>) -> bool {
    use subtle::ConstantTimeEq as _;
    match (sent, expected) {
        // The length is no secret: every token has the same length.
        (Some(sent), Some(expected)) if !expected.is_empty() => {
            sent.as_bytes().ct_eq(expected.as_bytes()).into()
        }
        _ => false,
    }
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The authenticated caller. Extracting it refuses anonymous requests with 401 and, for browser
/// sessions, state-changing requests without the session's CSRF token with 403.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(authz) = parts.headers.get(header::AUTHORIZATION) {
            let token = authz
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            let Some(token) = token.filter(|t| !t.is_empty() && t.len() < 200) else {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "authorization header must be 'Bearer TOKEN'",
                ));
            };
            return match auth::token_principal(&state.ctx, token).await? {
                Some(p) => Ok(Caller(p)),
                None => Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "unknown or revoked API token",
                )),
            };
        }
        let Some(session) = cookie(&parts.headers, SESSION_COOKIE).filter(|s| s.len() < 200) else {
            return Err(Error::Unauthenticated.into());
        };
        let Some(p) = auth::session_principal(&state.ctx, session).await? else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "session expired; log in again",
            ));
        };
        if !is_safe(&parts.method) {
            same_origin(&parts.headers)?;
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if !csrf_matches(sent, p.csrf.as_deref()) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf_token_invalid",
                    "missing or wrong x-csrf-token header",
                ));
            }
        }
        Ok(Caller(p))
    }
}

impl Caller {
    /// Refuses with 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<&Principal, ApiError> {
        if roles.contains(&self.0.actor.role) {
            Ok(&self.0)
        } else {
            let allowed: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
            Err(Error::Forbidden(format!(
                "role {} may not do this; allowed: {}",
                self.0.actor.role.as_str(),
                allowed.join(", ")
            ))
            .into())
        }
    }
}

/// The client's IP address as text, for the login log; "unknown" when not served over TCP.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
        Ok(ClientAddr(
            addr.map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::csrf_matches;

    #[test]
    fn csrf_token_must_be_sent_and_equal() {
        assert!(csrf_matches(Some("abc123"), Some("abc123")));
        assert!(!csrf_matches(Some("abc124"), Some("abc123")));
        assert!(!csrf_matches(Some("abc12"), Some("abc123")));
        assert!(!csrf_matches(Some("abc1234"), Some("abc123")));
        assert!(!csrf_matches(None, Some("abc123")));
        assert!(!csrf_matches(Some("abc123"), None));
        assert!(!csrf_matches(None, None));
        // A session without a token accepts no token, not even an empty one.
        assert!(!csrf_matches(Some(""), Some("")));
    }
}
