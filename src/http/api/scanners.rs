//! Serial scanners (admin manages them at run time) and the scans they sent.

use crate::devices::scanner::{LinkStatus, ScannerConfig};
use crate::domain::auth::allow;
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, Body, ErrorBody, Json, Params, Path, Query};
use crate::http::AppState;
use crate::service::scans as svc;
use crate::service::views::{self, scans::ScanRecord};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct ScannerView {
    pub config: ScannerConfig,
    pub status: LinkStatus,
}

/// Every scanner with its live status (connected, last frame, error counts).
#[utoipa::path(get, path = "/api/scanners", tag = "scanners", responses((status = 200, body = Vec<ScannerView>)),
    security(("session" = []), ("bearer" = [])))]
pub async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<ScannerView>>> {
    caller.require(allow::SCANNERS_READ)?;
    Ok(Json(
        s.ctx
            .scanners
            .list()
            .into_iter()
            .map(|(config, status)| ScannerView { config, status })
            .collect(),
    ))
}

/// Add or change a scanner; its link (re)starts at once. The id in the path wins.
#[utoipa::path(put, path = "/api/scanners/{id}", tag = "scanners", params(("id" = String, Path)), request_body = ScannerConfig,
    responses((status = 204), (status = 422, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn put(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    cfg: Body<ScannerConfig>,
) -> ApiResult<StatusCode> {
    let p = caller.require(allow::ADMIN)?;
    let Json(mut cfg) = cfg?;
    cfg.id = id;
    svc::put_scanner(&s.ctx, &p.actor, cfg).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a scanner and stop its link.
#[utoipa::path(delete, path = "/api/scanners/{id}", tag = "scanners", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let p = caller.require(allow::ADMIN)?;
    svc::delete_scanner(&s.ctx, &p.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScanQuery {
    pub station: Option<String>,
    /// Scans with an id above this (0 = from the start).
    #[serde(default)]
    pub after: i64,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Stored scans with their verdicts, oldest first after a cursor.
#[utoipa::path(get, path = "/api/scans", tag = "scanners", params(ScanQuery), responses((status = 200, body = Vec<ScanRecord>)),
    security(("session" = []), ("bearer" = [])))]
pub async fn scans(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<ScanQuery>,
) -> ApiResult<Json<Vec<ScanRecord>>> {
    caller.require(allow::STOCK_READ)?;
    let Query(q) = q?;
    let mut scans = svc::list(
        &s.ctx,
        q.station.as_deref(),
        q.after,
        q.limit.unwrap_or(100),
    )
    .await?;
    // A verdict that is a refused request is worded in Danish from its code, like an error answer.
    for scan in &mut scans {
        if let Some((code, field)) = &scan.error {
            scan.message_da = crate::http::messages::text(
                code,
                field.as_deref(),
                crate::http::pages::texts::Lang::Da,
            );
        }
    }
    Ok(Json(views::all(scans)))
}

/// Receive the product of an accepted scan at a receiving station: quantity and target location
/// (and lot/expiry only for barcodes without them). Idempotent per scan.
#[utoipa::path(post, path = "/api/stations/{station}/receive", tag = "scanners", params(("station" = String, Path)),
    request_body = svc::ReceiveByScan,
    responses((status = 200, body = crate::service::stock::OpResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn receive(
    State(s): State<AppState>,
    caller: Caller,
    Path(station): Path<String>,
    r: Body<svc::ReceiveByScan>,
) -> ApiResult<Json<crate::service::stock::OpResult>> {
    let p = caller.require(allow::STOCK_FLOOR)?;
    let Json(r) = r?;
    Ok(Json(
        svc::receive_by_scan(&s.ctx, &p.actor, &station, &r).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StationWorkflow {
    /// lookup, receiving, picking or packing
    #[schema(value_type = crate::domain::workflow::Workflow, inline)]
    pub workflow: String,
}

/// Set the workflow a station runs (lookup is the default; receiving allows receive-by-scan).
#[utoipa::path(put, path = "/api/stations/{station}/workflow", tag = "scanners", params(("station" = String, Path)),
    request_body = StationWorkflow, responses((status = 204), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn set_workflow(
    State(s): State<AppState>,
    caller: Caller,
    Path(station): Path<String>,
    r: Body<StationWorkflow>,
) -> ApiResult<StatusCode> {
    let p = caller.require(allow::CATALOG_WRITE)?;
    let Json(r) = r?;
    svc::set_workflow(&s.ctx, &p.actor, &station, r.workflow.trim()).await?;
    Ok(StatusCode::NO_CONTENT)
}
