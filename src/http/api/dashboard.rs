//! The logistics lead's dashboard as data.

use crate::domain::auth::allow;
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, Json};
use crate::http::AppState;
use crate::service::dashboard::{self as svc, Device, FlowNow, Throughput};
use axum::extract::State;

/// Orders per stage now, with how long the oldest in each has waited (`late` past
/// `dashboard.stage_age_limit_minutes`); `delivered` counts today's.
#[utoipa::path(get, path = "/api/dashboard/flow", tag = "dashboard",
    responses((status = 200, body = FlowNow)), security(("session" = []), ("bearer" = [])))]
pub async fn flow(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<FlowNow>> {
    caller.require(allow::LEAD)?;
    Ok(Json(svc::flow_now(&s.ctx).await?))
}

/// Today's throughput by the hour (packs picked, cutting jobs finished, parcels closed and
/// handed over), with yesterday and the same weekday last week, and the parcels projected by
/// the end of the day.
#[utoipa::path(get, path = "/api/dashboard/throughput", tag = "dashboard",
    responses((status = 200, body = Throughput)), security(("session" = []), ("bearer" = [])))]
pub async fn throughput(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Throughput>> {
    caller.require(allow::LEAD)?;
    Ok(Json(svc::throughput(&s.ctx).await?))
}

/// Every scanner (of this instance), printer and cutting station with a red, yellow or green
/// health and since when it is in its state, the worst first.
#[utoipa::path(get, path = "/api/dashboard/devices", tag = "dashboard",
    responses((status = 200, body = Vec<Device>)), security(("session" = []), ("bearer" = [])))]
pub async fn devices(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Device>>> {
    caller.require(allow::LEAD)?;
    Ok(Json(svc::devices(&s.ctx).await?))
}
