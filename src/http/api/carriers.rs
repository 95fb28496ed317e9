//! Carriers: what each can do and its cut-off, pushed tracking events (authenticated by the
//! carrier's shared-secret signature, not a session), the lead's queues of rejected bookings
//! and tracking exceptions, and a pull of tracking on demand.

use crate::carrier::Capabilities;
use crate::domain::auth::allow;
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, Body, ErrorBody, Json, Path};
use crate::http::AppState;
use crate::service::bookings::Resolve;
use crate::service::tracking::{self as svc, Ingested, Pushed};
use crate::service::views::{
    self,
    carrier::{Booking, DeliveryException, TrackingPush},
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CarrierView {
    pub id: String,
    pub capabilities: Capabilities,
    /// The last handover of the day (`HH:MM`, Copenhagen), if configured.
    pub cutoff: Option<String>,
    /// Parcels are booked with it (the default or a rule names it).
    pub in_use: bool,
}

/// The carriers konsign can book with, what each can do, and its cut-off time.
#[utoipa::path(get, path = "/api/carriers", tag = "carriers",
    responses((status = 200, body = Vec<CarrierView>)), security(("session" = []), ("bearer" = [])))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<CarrierView>>> {
    caller.require(allow::PARCELS_READ)?;
    let used = s.ctx.config.carrier.carriers();
    Ok(Json(
        s.ctx
            .carriers
            .ids()
            .filter_map(|id| s.ctx.carriers.get(id))
            .map(|c| CarrierView {
                id: c.id().to_string(),
                capabilities: c.capabilities(),
                cutoff: s.ctx.config.carrier.cutoff.get(c.id()).cloned(),
                in_use: used.iter().any(|u| u == c.id()),
            })
            .collect(),
    ))
}

/// Tracking events pushed by a carrier, in its own format (PostNord: the track-and-trace v7
/// shape). Authenticated by `X-Konsign-Timestamp` (Unix seconds, within the replay window) and
/// `X-Konsign-Signature: sha256=<hex HMAC-SHA256 of "timestamp.body" with the carrier's
/// shared secret>`. Each event is kept once; refusals are logged.
#[utoipa::path(post, path = "/api/carriers/{carrier}/events", tag = "carriers", params(("carrier" = String, Path)),
    request_body(content = String, content_type = "application/json"),
    responses((status = 200, body = Ingested), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn push(
    State(s): State<AppState>,
    Path(carrier): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Ingested>> {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let m = Pushed {
        timestamp: h("x-konsign-timestamp"),
        signature: h("x-konsign-signature"),
        body: &body,
    };
    Ok(Json(svc::push(&s.ctx, &carrier, &m).await?))
}

/// Pushed messages, newest first, with what came of each (a lead's check on the carriers).
#[utoipa::path(get, path = "/api/carriers/pushes", tag = "carriers",
    responses((status = 200, body = Vec<TrackingPush>)), security(("session" = []), ("bearer" = [])))]
pub async fn pushes(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<TrackingPush>>> {
    caller.require(allow::LEAD)?;
    Ok(Json(views::all(svc::pushes(&s.ctx).await?)))
}

/// Pull tracking now for the parcels due.
#[utoipa::path(post, path = "/api/tracking/pull", tag = "carriers",
    responses((status = 200, body = usize, content_type = "application/json")), security(("session" = []), ("bearer" = [])))]
pub async fn pull(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<usize>> {
    caller.require(allow::LEAD)?;
    Ok(Json(svc::pull_once(&s.ctx).await?))
}

/// Parcels whose journey went wrong (a failed attempt, a return, an exception), not yet
/// dealt with.
#[utoipa::path(get, path = "/api/tracking/exceptions", tag = "carriers",
    responses((status = 200, body = Vec<DeliveryException>)), security(("session" = []), ("bearer" = [])))]
pub async fn exceptions(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<DeliveryException>>> {
    caller.require(allow::LEAD)?;
    Ok(Json(views::all(svc::exceptions(&s.ctx).await?)))
}

/// A lead has dealt with a parcel's tracking exception. Audit-logged.
#[utoipa::path(post, path = "/api/tracking/exceptions/{booking}/ack", tag = "carriers", params(("booking" = i64, Path)),
    responses((status = 204), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn ack(
    State(s): State<AppState>,
    caller: Caller,
    Path(booking): Path<i64>,
) -> ApiResult<StatusCode> {
    let p = caller.require(allow::LEAD)?;
    svc::ack(&s.ctx, &p.actor, booking).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a rejected booking again, with another carrier or service if given. Audit-logged.
#[utoipa::path(post, path = "/api/bookings/{id}/resend", tag = "carriers", params(("id" = i64, Path)), request_body = Resolve,
    responses((status = 200, body = Booking), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn resend(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    r: Body<Resolve>,
) -> ApiResult<Json<Booking>> {
    let p = caller.require(allow::LEAD)?;
    let Json(r) = r?;
    Ok(Json(
        crate::service::bookings::resolve(&s.ctx, &p.actor, id, &r)
            .await?
            .into(),
    ))
}

/// Enter a tracking event by hand for a booked parcel (the `local` carrier, or what a carrier
/// said on the phone). Audit-logged; a delivered parcel can deliver its order.
#[utoipa::path(post, path = "/api/bookings/{id}/tracking", tag = "carriers", params(("id" = i64, Path)),
    request_body = crate::service::tracking::ManualEvent,
    responses((status = 200, body = Ingested), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn manual(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    m: Body<crate::service::tracking::ManualEvent>,
) -> ApiResult<Json<Ingested>> {
    let p = caller.require(allow::LEAD)?;
    let Json(m) = m?;
    Ok(Json(svc::manual(&s.ctx, &p.actor, id, &m).await?))
}
