//! Pack stations and parcels: open an order, scan items, report a short, close, void, reprint,
//! list and read parcels; lot blocks.

use crate::domain::auth::allow;
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, Body, ErrorBody, Json, Params, Path, Query};
use crate::http::AppState;
use crate::service::lots::{self, BlockRequest};
use crate::service::pack_scan::{self, PackScanRequest, PackScanResult, ShortRequest};
use crate::service::packing::{self as pack, OpenRequest, PackView};
use crate::service::parcel_docs::{self, ReprintRequest};
use crate::service::parcel_view::{self, ParcelView};
use crate::service::parcels::{self, CloseRequest, VoidRequest};
use crate::service::views::{
    self,
    carrier::Booking,
    packing::{LotBlock, ShortItem},
    parcels::Parcel,
};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;

/// Open the order in a tote (or by its reference) at a pack station. The answer names the
/// recipient (name and postcode): the read is audit-logged.
#[utoipa::path(post, path = "/api/pack-stations/{station}/open", tag = "packing", params(("station" = String, Path)), request_body = OpenRequest,
    responses((status = 200, body = PackView), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn open(
    State(s): State<AppState>,
    caller: Caller,
    Path(station): Path<String>,
    r: Body<OpenRequest>,
) -> ApiResult<Json<PackView>> {
    let p = caller.require(allow::PACKING)?;
    let Json(r) = r?;
    Ok(Json(pack::open(&s.ctx, &p.actor, &station, &r.code).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CurrentQuery {
    /// Include the recipient's name and postcode (audit-logged).
    #[serde(default)]
    pub with_recipient: bool,
}

/// The order being packed at the station; 204 when none is.
#[utoipa::path(get, path = "/api/pack-stations/{station}", tag = "packing", params(("station" = String, Path), CurrentQuery),
    responses((status = 200, body = PackView), (status = 204)), security(("session" = []), ("bearer" = [])))]
pub async fn current(
    State(s): State<AppState>,
    caller: Caller,
    Path(station): Path<String>,
    q: Params<CurrentQuery>,
) -> ApiResult<axum::response::Response> {
    let p = caller.require(allow::PACKING)?;
    let Query(q) = q?;
    Ok(
        match pack::current(&s.ctx, &p.actor, &station, q.with_recipient).await? {
            Some(v) => axum::Json(v).into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        },
    )
}

/// Leave the station: no order is packed there any more (what was scanned stays).
#[utoipa::path(post, path = "/api/pack-stations/{station}/leave", tag = "packing", params(("station" = String, Path)),
    responses((status = 204)), security(("session" = []), ("bearer" = [])))]
pub async fn leave(
    State(s): State<AppState>,
    caller: Caller,
    Path(station): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(allow::PACKING)?;
    pack::leave(&s.ctx, &station).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One scan at the station: a tote or order reference opens that order; a pack's barcode or a
/// cut box's sticker goes into the parcel when it belongs there. A refusal answers 200 with
/// `accepted: false` and its code; `scan_id` makes a retried scan count once.
#[utoipa::path(post, path = "/api/pack-stations/{station}/scan", tag = "packing", params(("station" = String, Path)), request_body = PackScanRequest,
    responses((status = 200, body = PackScanResult), (status = 422, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn scan(
    State(s): State<AppState>,
    caller: Caller,
    Path(station): Path<String>,
    r: Body<PackScanRequest>,
) -> ApiResult<Json<PackScanResult>> {
    let p = caller.require(allow::PACKING)?;
    let Json(r) = r?;
    Ok(Json(pack_scan::scan(&s.ctx, &p.actor, &station, &r).await?))
}

/// A pack found damaged in the tote: scrapped and picked again by a replacement wave.
#[utoipa::path(post, path = "/api/pack-stations/{station}/short", tag = "packing", params(("station" = String, Path)), request_body = ShortRequest,
    responses((status = 200, body = PackView), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn short(
    State(s): State<AppState>,
    caller: Caller,
    Path(station): Path<String>,
    r: Body<ShortRequest>,
) -> ApiResult<Json<PackView>> {
    let p = caller.require(allow::PACKING)?;
    let Json(r) = r?;
    Ok(Json(
        pack_scan::short(&s.ctx, &p.actor, &station, &r).await?,
    ))
}

/// Close the parcel being filled: SSCC, ownership transfer, and (for the order's last parcel)
/// the order `packed` and its shipping labels queued. Errors: `not_complete`, `over_weight`,
/// `empty_parcel`, `not_picked`, `already_packed`, `sscc_exhausted`.
#[utoipa::path(post, path = "/api/pack-stations/{station}/close", tag = "packing", params(("station" = String, Path)), request_body = CloseRequest,
    responses((status = 200, body = ParcelView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn close(
    State(s): State<AppState>,
    caller: Caller,
    Path(station): Path<String>,
    r: Body<CloseRequest>,
) -> ApiResult<Json<ParcelView>> {
    let p = caller.require(allow::PACKING)?;
    let Json(r) = r?;
    let mut v = parcels::close(&s.ctx, &p.actor, &station, &r).await?;
    if let Some((code, field)) = &v.print_error_code {
        v.print_error_da = Some(crate::http::messages::text(
            code,
            field.as_deref(),
            crate::http::pages::texts::Lang::Da,
        ));
    }
    Ok(Json(v))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ParcelQuery {
    /// open, closed or voided
    #[param(value_type = Option<crate::domain::states::ParcelState>, inline)]
    pub state: Option<String>,
    /// Closed on this business day (`YYYY-MM-DD`, Copenhagen).
    pub day: Option<String>,
    pub carrier: Option<String>,
    #[serde(default)]
    pub after: i64,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Parcels, without personal data.
#[utoipa::path(get, path = "/api/parcels", tag = "packing", params(ParcelQuery),
    responses((status = 200, body = Vec<Parcel>)), security(("session" = []), ("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<ParcelQuery>,
) -> ApiResult<Json<Vec<Parcel>>> {
    caller.require(allow::PARCELS_READ)?;
    let Query(q) = q?;
    Ok(Json(views::all(
        parcel_view::list(
            &s.ctx,
            q.state.as_deref(),
            q.day.as_deref(),
            q.carrier.as_deref(),
            q.after,
            q.limit.unwrap_or(200),
        )
        .await?,
    )))
}

/// A parcel with its contents, SSCC, ownership transfers and document links.
#[utoipa::path(get, path = "/api/parcels/{id}", tag = "packing", params(("id" = i64, Path)),
    responses((status = 200, body = ParcelView), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<ParcelView>> {
    caller.require(allow::PARCELS_READ)?;
    Ok(Json(parcel_view::get(&s.ctx, id).await?))
}

/// Void a closed parcel before handover: the transfer is reversed, the packs go back into the
/// tote and the order is `picked` again; the SSCC is never used again. Audit-logged.
#[utoipa::path(post, path = "/api/parcels/{id}/void", tag = "packing", params(("id" = i64, Path)), request_body = VoidRequest,
    responses((status = 200, body = ParcelView), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn void(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    r: Body<VoidRequest>,
) -> ApiResult<Json<ParcelView>> {
    let p = caller.require(allow::PACKING)?;
    let Json(r) = r?;
    Ok(Json(parcels::void(&s.ctx, &p.actor, id, &r).await?))
}

/// Print the parcel's shipping label again as a new job (audit-logged).
#[utoipa::path(post, path = "/api/parcels/{id}/reprint", tag = "packing", params(("id" = i64, Path)), request_body = ReprintRequest,
    responses((status = 200, body = ParcelView), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn reprint(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    r: Body<ReprintRequest>,
) -> ApiResult<Json<ParcelView>> {
    let p = caller.require(allow::PACKING)?;
    let Json(r) = r?;
    Ok(Json(parcel_docs::reprint(&s.ctx, &p.actor, id, &r).await?))
}

/// The parcel's packing slip as an A4 PDF (it names the recipient: audit-logged).
#[utoipa::path(get, path = "/api/parcels/{id}/packing-slip.pdf", tag = "packing", params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn packing_slip(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let p = caller.require(allow::PACKING)?;
    let pdf = parcel_docs::packing_slip(&s.ctx, &p.actor, id).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf))
}

/// Damaged packs found at packing whose replacement found no stock (state `short`).
#[utoipa::path(get, path = "/api/pack-shorts", tag = "packing",
    responses((status = 200, body = Vec<ShortItem>)), security(("session" = []), ("bearer" = [])))]
pub async fn shorts(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<ShortItem>>> {
    caller.require(allow::PACKING)?;
    Ok(Json(views::all(pack_scan::open_shorts(&s.ctx).await?)))
}

/// Try a short's replacement pick again once stock has come in (lead; audit-logged).
#[utoipa::path(post, path = "/api/pack-shorts/{id}/retry", tag = "packing", params(("id" = i64, Path)),
    responses((status = 200, body = ShortItem), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn retry_short(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<ShortItem>> {
    let p = caller.require(allow::LEAD)?;
    Ok(Json(
        pack_scan::retry_short(&s.ctx, &p.actor, id).await?.into(),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BookingQuery {
    /// pending, booked, rejected or cancelled
    #[param(value_type = Option<crate::domain::states::BookingState>, inline)]
    pub state: Option<String>,
}

/// Carrier bookings, newest first: each closed parcel's booking with its carrier, its state,
/// the attempts so far and the tracking number once booked.
#[utoipa::path(get, path = "/api/bookings", tag = "packing", params(BookingQuery),
    responses((status = 200, body = Vec<Booking>)), security(("session" = []), ("bearer" = [])))]
pub async fn bookings(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<BookingQuery>,
) -> ApiResult<Json<Vec<Booking>>> {
    caller.require(allow::PARCELS_READ)?;
    let Query(q) = q?;
    Ok(Json(views::all(
        crate::service::bookings::list(&s.ctx, q.state.as_deref()).await?,
    )))
}

/// Block a lot: it is refused at packing until released. Audit-logged.
#[utoipa::path(post, path = "/api/lot-blocks", tag = "packing", request_body = BlockRequest,
    responses((status = 204), (status = 422, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn block(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<BlockRequest>,
) -> ApiResult<StatusCode> {
    let p = caller.require(allow::STOCK_CONTROL)?;
    let Json(r) = r?;
    lots::block(&s.ctx, &p.actor, &r).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Release every block of a lot. Audit-logged.
#[utoipa::path(post, path = "/api/lot-blocks/release", tag = "packing", request_body = BlockRequest,
    responses((status = 204), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn release(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<BlockRequest>,
) -> ApiResult<StatusCode> {
    let p = caller.require(allow::STOCK_CONTROL)?;
    let Json(r) = r?;
    lots::release(&s.ctx, &p.actor, &r).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BlockQuery {
    /// Only blocks not released (default true).
    pub active: Option<bool>,
}

/// Lot blocks, newest first.
#[utoipa::path(get, path = "/api/lot-blocks", tag = "packing", params(BlockQuery),
    responses((status = 200, body = Vec<LotBlock>)), security(("session" = []), ("bearer" = [])))]
pub async fn blocks(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<BlockQuery>,
) -> ApiResult<Json<Vec<LotBlock>>> {
    caller.require(allow::STOCK_READ)?;
    let Query(q) = q?;
    Ok(Json(views::all(
        lots::list(&s.ctx, q.active.unwrap_or(true)).await?,
    )))
}
