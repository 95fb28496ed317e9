//! Hulklip cutting stations.

use crate::domain::auth::{allow, Role};
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, ErrorBody, Json, Path};
use crate::http::AppState;
use crate::service::cutting::{self as svc, StationInput, StationView};
use axum::extract::State;
use axum::http::StatusCode;

/// Every cutting station with its connection (online, offline, broken, unknown), factsheet and
/// last state snapshot.
#[utoipa::path(get, path = "/api/cut-stations", tag = "cutting", responses((status = 200, body = Vec<StationView>)),
    security(("session" = []), ("bearer" = [])))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<StationView>>> {
    caller.require(&[Role::Admin, Role::Lead, Role::Operator, Role::Packer])?;
    Ok(Json(svc::list_stations(&s.ctx).await?))
}

/// Add or change a cutting station (its id is the MQTT topic segment it publishes under).
#[utoipa::path(put, path = "/api/cut-stations/{id}", tag = "cutting", params(("id" = String, Path)), request_body = StationInput,
    responses((status = 204), (status = 422, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn put(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(r): Json<StationInput>,
) -> ApiResult<StatusCode> {
    let p = caller.require(allow::ADMIN)?;
    svc::put_station(&s.ctx, &p.actor, &id, &r).await?;
    Ok(StatusCode::NO_CONTENT)
}
