//! Orders from the ordering web system; pick waves and scan-verified picking.

use crate::domain::auth::allow;
use crate::domain::order::OrderInput;
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, Body, ErrorBody, Json, Params, Path, Query};
use crate::http::AppState;
use crate::service::orders::{self as svc, IntakeResult, OrderStatusView, OrderView};
use crate::service::picking::{
    self as pick, NextPick, ScanRequest, ScanResult, ShortRequest, UndoRequest, WaveRequest,
    WaveView,
};
use crate::service::views::{self, log::Event, orders::Wave};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;

/// Hand over an order. The external id is the idempotency key: the same order again answers 200
/// with `created: false`; different content under a known id answers 409 `order_conflict`.
/// A new order answers 201, allocated or backordered.
#[utoipa::path(post, path = "/api/orders", tag = "orders", request_body = OrderInput,
    responses((status = 201, body = IntakeResult), (status = 200, body = IntakeResult), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn intake(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<OrderInput>,
) -> ApiResult<impl IntoResponse> {
    let p = caller.require(allow::ORDERS)?;
    let Json(r) = r?;
    let res = svc::intake(&s.ctx, &p.actor, &r).await?;
    let status = if res.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(res)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderListQuery {
    /// received, allocated, backordered, picking, picked, cutting, packed, shipped, delivered, cancelled
    #[param(value_type = Option<crate::domain::order::OrderStatus>, inline)]
    pub status: Option<String>,
    /// Orders after this internal id (paging).
    #[serde(default)]
    pub after: i64,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Orders by status, without personal data.
#[utoipa::path(get, path = "/api/orders", tag = "orders", params(OrderListQuery),
    responses((status = 200, body = Vec<OrderStatusView>)), security(("session" = []), ("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<OrderListQuery>,
) -> ApiResult<Json<Vec<OrderStatusView>>> {
    caller.require(allow::ORDERS)?;
    let Query(q) = q?;
    Ok(Json(
        svc::list(&s.ctx, q.status.as_deref(), q.after, q.limit.unwrap_or(100)).await?,
    ))
}

/// How many orders are in each status (statuses with none are left out), for live overviews.
#[utoipa::path(get, path = "/api/order-counts", tag = "orders",
    responses((status = 200, body = Vec<StatusCount>)), security(("session" = []), ("bearer" = [])))]
pub async fn counts(
    State(s): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<StatusCount>>> {
    caller.require(allow::ORDERS)?;
    Ok(Json(
        svc::counts(&s.ctx)
            .await?
            .into_iter()
            .map(|(st, count)| StatusCount {
                status: st.as_str().to_string(),
                count,
            })
            .collect(),
    ))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadQuery {
    /// Why the citizen's data is read; written to the audit log (default `order follow-up`).
    pub purpose: Option<String>,
}

/// The whole order with the recipient's name and address. Every call is audit-logged with the
/// caller, the order, the citizen and the purpose.
#[utoipa::path(get, path = "/api/orders/{external_id}", tag = "orders", params(("external_id" = String, Path), ReadQuery),
    responses((status = 200, body = OrderView), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn read(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: Params<ReadQuery>,
) -> ApiResult<Json<OrderView>> {
    let p = caller.require(allow::ORDER_PERSONAL)?;
    let Query(q) = q?;
    let purpose = q.purpose.unwrap_or_else(|| "order follow-up".into());
    Ok(Json(svc::read(&s.ctx, &p.actor, &id, &purpose).await?))
}

/// Change an order until picking starts: the whole order is sent again and allocated anew.
#[utoipa::path(put, path = "/api/orders/{external_id}", tag = "orders", params(("external_id" = String, Path)), request_body = OrderInput,
    responses((status = 200, body = OrderStatusView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn change(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    r: Body<OrderInput>,
) -> ApiResult<Json<OrderStatusView>> {
    let p = caller.require(allow::ORDERS)?;
    let Json(r) = r?;
    Ok(Json(svc::change(&s.ctx, &p.actor, &id, &r).await?))
}

/// An order's status, without personal data.
#[utoipa::path(get, path = "/api/orders/{external_id}/status", tag = "orders", params(("external_id" = String, Path)),
    responses((status = 200, body = OrderStatusView), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn status(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<OrderStatusView>> {
    caller.require(allow::ORDERS)?;
    Ok(Json(svc::status(&s.ctx, &id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

/// Cancel an order until picking starts; its reservations are given back.
#[utoipa::path(post, path = "/api/orders/{external_id}/cancel", tag = "orders", params(("external_id" = String, Path)), request_body = ReasonBody,
    responses((status = 200, body = OrderStatusView), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn cancel(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    r: Body<ReasonBody>,
) -> ApiResult<Json<OrderStatusView>> {
    let p = caller.require(allow::ORDERS)?;
    let Json(r) = r?;
    Ok(Json(svc::cancel(&s.ctx, &p.actor, &id, &r.reason).await?))
}

/// Release a backordered order for picking with the stock there is (a lead's decision); the
/// missing packs are named on the order.
#[utoipa::path(post, path = "/api/orders/{external_id}/release", tag = "orders", params(("external_id" = String, Path)), request_body = ReasonBody,
    responses((status = 200, body = OrderStatusView), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn release(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    r: Body<ReasonBody>,
) -> ApiResult<Json<OrderStatusView>> {
    let p = caller.require(allow::LEAD)?;
    let Json(r) = r?;
    Ok(Json(
        svc::release_partial(&s.ctx, &p.actor, &id, &r.reason).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The cursor: the last event id seen (0 for the beginning).
    #[serde(default)]
    pub after: i64,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Order events after a cursor: `order.received`, `order.allocated`, `order.backordered`,
/// `order.picking`, `order.picked`, `order.cutting`, `order.cancelled`, … (no personal data).
/// Each user or token may read `http.feed_reads_per_minute` times a minute (429 with
/// `Retry-After` beyond).
#[utoipa::path(get, path = "/api/order-changes", tag = "orders", params(ChangesQuery),
    responses((status = 200, body = Vec<Event>), (status = 429, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn changes(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<ChangesQuery>,
) -> ApiResult<Json<Vec<Event>>> {
    caller.require(allow::ORDERS)?;
    let Query(q) = q?;
    Ok(Json(views::all(
        svc::changes(&s.ctx, &caller.0.actor, q.after, q.limit.unwrap_or(100)).await?,
    )))
}

/// Make a pick wave from allocated orders (cut orders first), one free tote per order.
#[utoipa::path(post, path = "/api/waves", tag = "picking", request_body = WaveRequest,
    responses((status = 201, body = WaveView), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn create_wave(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<WaveRequest>,
) -> ApiResult<impl IntoResponse> {
    let p = caller.require(allow::LEAD)?;
    let Json(r) = r?;
    Ok((
        StatusCode::CREATED,
        axum::Json(pick::create_wave(&s.ctx, &p.actor, &r).await?),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WavesQuery {
    /// Only waves that are not done.
    #[serde(default)]
    pub open: bool,
}

/// Waves, newest first.
#[utoipa::path(get, path = "/api/waves", tag = "picking", params(WavesQuery),
    responses((status = 200, body = Vec<Wave>)), security(("session" = []), ("bearer" = [])))]
pub async fn list_waves(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<WavesQuery>,
) -> ApiResult<Json<Vec<Wave>>> {
    caller.require(allow::WAVES_READ)?;
    let Query(q) = q?;
    Ok(Json(views::all(pick::waves(&s.ctx, q.open).await?)))
}

/// A wave with its picks in walking order, its progress and its exceptions.
#[utoipa::path(get, path = "/api/waves/{id}", tag = "picking", params(("id" = i64, Path)),
    responses((status = 200, body = WaveView), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get_wave(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<WaveView>> {
    caller.require(allow::WAVES_READ)?;
    Ok(Json(pick::wave(&s.ctx, id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    pub picker: String,
}

/// Assign a wave to a picker.
#[utoipa::path(post, path = "/api/waves/{id}/assign", tag = "picking", params(("id" = i64, Path)), request_body = AssignBody,
    responses((status = 200, body = WaveView), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn assign(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    r: Body<AssignBody>,
) -> ApiResult<Json<WaveView>> {
    let p = caller.require(allow::LEAD)?;
    let Json(r) = r?;
    Ok(Json(pick::assign(&s.ctx, &p.actor, id, &r.picker).await?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeBody {
    /// The station whose serial scanner picks for this wave.
    #[serde(default)]
    pub station: Option<String>,
}

/// Take a wave (open, or assigned to the caller) and get its first pick.
#[utoipa::path(post, path = "/api/waves/{id}/take", tag = "picking", params(("id" = i64, Path)), request_body = TakeBody,
    responses((status = 200, body = NextPick), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn take(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    r: Body<TakeBody>,
) -> ApiResult<Json<NextPick>> {
    let p = caller.require(allow::PICKING)?;
    let Json(r) = r?;
    Ok(Json(
        pick::take(&s.ctx, &p.actor, &p.username, id, r.station.as_deref()).await?,
    ))
}

/// The next pick of a wave.
#[utoipa::path(get, path = "/api/waves/{id}/next", tag = "picking", params(("id" = i64, Path)),
    responses((status = 200, body = NextPick), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn next(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<NextPick>> {
    caller.require(allow::PICKING)?;
    Ok(Json(pick::next(&s.ctx, id).await?))
}

/// One scan for the wave's current pick: the location label or the product's barcode. A
/// refused scan answers 200 with `accepted: false` and the reason; `scan_id` makes a retried
/// scan count once.
#[utoipa::path(post, path = "/api/waves/{id}/scan", tag = "picking", params(("id" = i64, Path)), request_body = ScanRequest,
    responses((status = 200, body = ScanResult), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn scan(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    r: Body<ScanRequest>,
) -> ApiResult<Json<ScanResult>> {
    let p = caller.require(allow::PICKING)?;
    let Json(r) = r?;
    Ok(Json(pick::scan(&s.ctx, &p.actor, id, &r).await?))
}

/// Report the current pick short: the rest is re-allocated from other stock.
#[utoipa::path(post, path = "/api/waves/{id}/short", tag = "picking", params(("id" = i64, Path)), request_body = ShortRequest,
    responses((status = 200, body = NextPick), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn short(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    r: Body<ShortRequest>,
) -> ApiResult<Json<NextPick>> {
    let p = caller.require(allow::PICKING)?;
    let Json(r) = r?;
    Ok(Json(pick::short(&s.ctx, &p.actor, id, &r).await?))
}

/// Undo the wave's last confirmed pick (until the wave is done). With `scan_id`, only that
/// scan's pick is undone, once: a retried request changes nothing more.
#[utoipa::path(post, path = "/api/waves/{id}/undo", tag = "picking", params(("id" = i64, Path)), request_body = UndoRequest,
    responses((status = 200, body = NextPick), (status = 409, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn undo(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    r: Body<UndoRequest>,
) -> ApiResult<Json<NextPick>> {
    let p = caller.require(allow::PICKING)?;
    let Json(r) = r?;
    Ok(Json(pick::undo(&s.ctx, &p.actor, id, &r).await?))
}
