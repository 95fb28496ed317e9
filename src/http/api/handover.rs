//! Handover to the carrier: cages, parcels scanned onto them, closing and the handover list.

use crate::domain::auth::allow;
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, Body, ErrorBody, Json, Params, Path, Query};
use crate::http::AppState;
use crate::service::handover::{
    self as svc, CageClosed, CageScan, CageScanResult, CageView, OpenCage,
};
use crate::service::views::{
    self,
    handover::{Cage, Return},
};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;

/// Open a cage (or trailer) for a carrier's parcels today.
#[utoipa::path(post, path = "/api/cages", tag = "handover", request_body = OpenCage,
    responses((status = 201, body = Cage), (status = 422, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn open(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<OpenCage>,
) -> ApiResult<impl IntoResponse> {
    let p = caller.require(allow::PACKING)?;
    let Json(r) = r?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Cage::from(svc::open(&s.ctx, &p.actor, &r).await?)),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CageQuery {
    /// open or closed
    #[param(value_type = Option<crate::domain::states::CageState>, inline)]
    pub state: Option<String>,
}

/// Cages, newest first.
#[utoipa::path(get, path = "/api/cages", tag = "handover", params(CageQuery),
    responses((status = 200, body = Vec<Cage>)), security(("session" = []), ("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<CageQuery>,
) -> ApiResult<Json<Vec<Cage>>> {
    caller.require(allow::PARCELS_READ)?;
    let Query(q) = q?;
    Ok(Json(views::all(
        svc::list(&s.ctx, q.state.as_deref()).await?,
    )))
}

/// A cage with its parcels, the booked parcels not on a cage yet, and the refused scans.
#[utoipa::path(get, path = "/api/cages/{id}", tag = "handover", params(("id" = i64, Path)),
    responses((status = 200, body = CageView), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<CageView>> {
    caller.require(allow::PACKING)?;
    Ok(Json(svc::get(&s.ctx, id).await?))
}

/// Scan a parcel's SSCC onto the cage. A refusal answers 200 with `accepted: false`, its code
/// and the reason, and is kept for the cage's close.
#[utoipa::path(post, path = "/api/cages/{id}/scan", tag = "handover", params(("id" = i64, Path)), request_body = CageScan,
    responses((status = 200, body = CageScanResult), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn scan(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    r: Body<CageScan>,
) -> ApiResult<Json<CageScanResult>> {
    let p = caller.require(allow::PACKING)?;
    let Json(r) = r?;
    Ok(Json(svc::scan(&s.ctx, &p.actor, id, &r).await?))
}

/// Close the cage: its parcels leave (ledger `ship`), their orders are `shipped`; the answer
/// lists the expected parcels not scanned and the refused scans.
#[utoipa::path(post, path = "/api/cages/{id}/close", tag = "handover", params(("id" = i64, Path)),
    responses((status = 200, body = CageClosed), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn close(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<CageClosed>> {
    let p = caller.require(allow::PACKING)?;
    Ok(Json(svc::close(&s.ctx, &p.actor, id).await?))
}

/// The cage's handover list (A4 PDF): carrier, cage, time, count, SSCCs, signature lines.
#[utoipa::path(get, path = "/api/cages/{id}/list.pdf", tag = "handover", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn list_pdf(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    caller.require(allow::PACKING)?;
    let pdf = svc::list_pdf(&s.ctx, id).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf))
}

/// A returned parcel is scanned in: its packs go into quarantine at the returns location, owned
/// by the payer. A repeated scan answers the same return.
#[utoipa::path(post, path = "/api/returns", tag = "handover", request_body = crate::service::returns::ReturnScan,
    responses((status = 200, body = Return), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn return_scan(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<crate::service::returns::ReturnScan>,
) -> ApiResult<Json<Return>> {
    let p = caller.require(allow::PACKING)?;
    let Json(r) = r?;
    Ok(Json(
        crate::service::returns::scan(&s.ctx, &p.actor, &r)
            .await?
            .into(),
    ))
}

/// Returned parcels, newest first.
#[utoipa::path(get, path = "/api/returns", tag = "handover",
    responses((status = 200, body = Vec<Return>)), security(("session" = []), ("bearer" = [])))]
pub async fn returns(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<Return>>> {
    caller.require(allow::PARCELS_READ)?;
    Ok(Json(views::all(
        crate::service::returns::list(&s.ctx).await?,
    )))
}
