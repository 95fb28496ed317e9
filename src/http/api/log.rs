//! The domain event feed and the audit log.

use crate::domain::auth::allow;
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, ErrorBody, Json, Params, Query};
use crate::http::AppState;
use crate::service::log::AuditFilter;
use crate::service::views::{
    self,
    log::{AuditEntry, Event},
};
use axum::extract::State;
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Return events with a cursor greater than this (0 = from the start).
    #[serde(default)]
    pub after: i64,
    /// At most this many (1 to 1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Domain events after a cursor, oldest first. Poll with the last `id` seen; each user or token
/// may read `http.feed_reads_per_minute` times a minute (429 with `Retry-After` beyond).
#[utoipa::path(get, path = "/api/events", tag = "log", params(EventQuery),
    responses((status = 200, body = Vec<Event>), (status = 429, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn events(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<EventQuery>,
) -> ApiResult<Json<Vec<Event>>> {
    caller.require(allow::EVENTS)?;
    let Query(q) = q?;
    Ok(Json(views::all(
        crate::service::log::events_after(&s.ctx, &caller.0.actor, q.after, q.limit.unwrap_or(100))
            .await?,
    )))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `user:NAME` or `token:NAME`.
    pub actor: Option<String>,
    pub subject: Option<String>,
    pub action: Option<String>,
    /// From this instant (RFC 3339, inclusive).
    pub from: Option<String>,
    /// Until this instant (RFC 3339, exclusive).
    pub to: Option<String>,
    /// Page backwards: entries with an id below this.
    pub before_id: Option<i64>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

fn instant(field: &str, v: &Option<String>) -> ApiResult<Option<String>> {
    v.as_ref()
        .map(|s| {
            crate::domain::time::from_db(s.trim())
                .map(crate::domain::time::to_db)
                .ok_or_else(|| {
                    crate::error::Error::invalid(
                        field,
                        "must be an RFC 3339 instant such as 2026-11-22T08:00:00Z",
                    )
                    .into()
                })
        })
        .transpose()
}

/// The audit log, newest first (admin).
#[utoipa::path(get, path = "/api/audit", tag = "log", params(AuditQuery), responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn audit(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    caller.require(allow::ADMIN)?;
    let Query(q) = q?;
    let limit = q.limit.unwrap_or(200);
    let f = AuditFilter {
        actor: q.actor,
        subject: q.subject,
        action: q.action,
        from: instant("from", &q.from)?,
        to: instant("to", &q.to)?,
        before_id: q.before_id,
        limit,
    };
    Ok(Json(views::all(
        crate::service::log::audit(&s.ctx, &f).await?,
    )))
}
