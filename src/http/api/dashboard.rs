//! The logistics lead's dashboard as data.

use crate::domain::auth::allow;
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, Json};
use crate::http::AppState;
use crate::service::dashboard::{
    self as svc, CarrierCutoff, Device, ExceptionGroup, Floor, FlowNow, Throughput,
};
use axum::extract::State;

/// Orders per stage now, with how long the oldest in each has waited (`late` past
/// `dashboard.stage_age_limit_minutes`); `delivered` counts today's.
#[utoipa::path(get, path = "/api/dashboard/flow", tag = "dashboard",
    responses((status = 200, body = FlowNow)), security(("session" = []), ("bearer" = [])))]
pub async fn flow(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<FlowNow>> {
    caller.require(allow::DASHBOARD)?;
    Ok(Json(svc::flow_now(&s.ctx).await?))
}

/// Today's throughput by the hour (packs picked, cutting jobs finished, parcels closed and
/// handed over), with yesterday and the same weekday last week, and the parcels projected by
/// the end of the day.
#[utoipa::path(get, path = "/api/dashboard/throughput", tag = "dashboard",
    responses((status = 200, body = Throughput)), security(("session" = []), ("bearer" = [])))]
pub async fn throughput(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Throughput>> {
    caller.require(allow::DASHBOARD)?;
    Ok(Json(svc::throughput(&s.ctx).await?))
}

/// Every scanner (of this instance), printer and cutting station with a red, yellow or green
/// health and since when it is in its state, the worst first.
#[utoipa::path(get, path = "/api/dashboard/devices", tag = "dashboard",
    responses((status = 200, body = Vec<Device>)), security(("session" = []), ("bearer" = [])))]
pub async fn devices(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Device>>> {
    caller.require(allow::DASHBOARD)?;
    Ok(Json(svc::devices(&s.ctx).await?))
}

/// People and stations today: each picker's lines in the last hour and today, refused scans
/// and the wave held (`idle` past `dashboard.idle_minutes` without a confirmation); each pack
/// station's parcels and each cutting station's jobs and faults.
#[utoipa::path(get, path = "/api/dashboard/floor", tag = "dashboard",
    responses((status = 200, body = Floor)), security(("session" = []), ("bearer" = [])))]
pub async fn floor(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Floor>> {
    caller.require(allow::DASHBOARD)?;
    Ok(Json(svc::floor(&s.ctx).await?))
}

/// Each carrier with a cut-off (`carrier.cutoff`): minutes left today, parcels packed but not
/// handed over, orders still to pack that must leave today, the rate that needs against the
/// last hour's, and `on_track`, `behind`, `missed` or `done`.
#[utoipa::path(get, path = "/api/dashboard/cutoffs", tag = "dashboard",
    responses((status = 200, body = Vec<CarrierCutoff>)), security(("session" = []), ("bearer" = [])))]
pub async fn cutoffs(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<CarrierCutoff>>> {
    caller.require(allow::DASHBOARD)?;
    Ok(Json(svc::cutoffs(&s.ctx).await?))
}

/// The open exceptions by kind (rejected bookings, delivery exceptions, failed cutting jobs,
/// today's short picks, old backorders): how many, the oldest five, and where each is resolved.
#[utoipa::path(get, path = "/api/dashboard/exceptions", tag = "dashboard",
    responses((status = 200, body = Vec<ExceptionGroup>)), security(("session" = []), ("bearer" = [])))]
pub async fn exceptions(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<ExceptionGroup>>> {
    caller.require(allow::DASHBOARD)?;
    Ok(Json(svc::exceptions(&s.ctx).await?))
}
