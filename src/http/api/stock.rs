//! Stock operations, stock queries, the ledger and owner statements.

use crate::domain::auth::{allow, Role};
use crate::domain::stock::OpKind;
use crate::http::auth::Caller;
use crate::http::error::{ApiResult, Body, ErrorBody, Json, Params, Path, Query};
use crate::http::AppState;
use crate::service::stock::UnitFilter;
use crate::service::stock::{
    self as svc, GroupBy, OnHand, OpResult, OwnerStatement, ReceiveRequest, UnitOpRequest, UnitView,
};
use crate::service::views::{self, stock::LedgerEntry};
use axum::extract::State;
use serde::Deserialize;

/// Receive goods from a producer. Idempotent by `idempotency_key`.
#[utoipa::path(post, path = "/api/stock/receive", tag = "stock", request_body = ReceiveRequest,
    responses((status = 200, body = OpResult), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn receive(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<ReceiveRequest>,
) -> ApiResult<Json<OpResult>> {
    let p = caller.require(allow::STOCK_FLOOR)?;
    let Json(r) = r?;
    Ok(Json(svc::receive(&s.ctx, &p.actor, &r).await?))
}

async fn op(
    s: &AppState,
    caller: &Caller,
    roles: &[Role],
    kind: OpKind,
    r: Body<UnitOpRequest>,
) -> ApiResult<Json<OpResult>> {
    let p = caller.require(roles)?;
    let Json(r) = r?;
    Ok(Json(svc::unit_op(&s.ctx, &p.actor, kind, &r).await?))
}

/// Put away or move `quantity` packs of a stock unit to `to_location`.
#[utoipa::path(post, path = "/api/stock/move", tag = "stock", request_body = UnitOpRequest,
    responses((status = 200, body = OpResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn move_stock(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<UnitOpRequest>,
) -> ApiResult<Json<OpResult>> {
    op(&s, &caller, allow::STOCK_FLOOR, OpKind::Move, r).await
}

/// Record a count: `quantity` is the counted quantity; the difference is booked with `reason`.
#[utoipa::path(post, path = "/api/stock/adjust", tag = "stock", request_body = UnitOpRequest,
    responses((status = 200, body = OpResult), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn adjust(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<UnitOpRequest>,
) -> ApiResult<Json<OpResult>> {
    op(&s, &caller, allow::STOCK_CONTROL, OpKind::Adjust, r).await
}

/// Block `quantity` packs of a unit (they stay where they are but cannot be allocated).
#[utoipa::path(post, path = "/api/stock/quarantine", tag = "stock", request_body = UnitOpRequest,
    responses((status = 200, body = OpResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn quarantine(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<UnitOpRequest>,
) -> ApiResult<Json<OpResult>> {
    op(&s, &caller, allow::STOCK_CONTROL, OpKind::Quarantine, r).await
}

/// Release `quantity` packs of a quarantined unit.
#[utoipa::path(post, path = "/api/stock/release", tag = "stock", request_body = UnitOpRequest,
    responses((status = 200, body = OpResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn release(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<UnitOpRequest>,
) -> ApiResult<Json<OpResult>> {
    op(&s, &caller, allow::STOCK_CONTROL, OpKind::Release, r).await
}

/// Scrap `quantity` packs (expired, damaged, recalled, returned or other) with a reason.
#[utoipa::path(post, path = "/api/stock/scrap", tag = "stock", request_body = UnitOpRequest,
    responses((status = 200, body = OpResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn scrap(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<UnitOpRequest>,
) -> ApiResult<Json<OpResult>> {
    op(&s, &caller, allow::STOCK_CONTROL, OpKind::Scrap, r).await
}

/// Transfer ownership of `quantity` packs to `new_owner` (a producer code or `payer:CODE`).
#[utoipa::path(post, path = "/api/stock/transfer", tag = "stock", request_body = UnitOpRequest,
    responses((status = 200, body = OpResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn transfer(
    State(s): State<AppState>,
    caller: Caller,
    r: Body<UnitOpRequest>,
) -> ApiResult<Json<OpResult>> {
    op(&s, &caller, allow::STOCK_CONTROL, OpKind::Transfer, r).await
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StockQuery {
    pub gtin: Option<String>,
    pub lot: Option<String>,
    pub location: Option<String>,
    pub owner: Option<String>,
    pub producer: Option<String>,
    /// Include units that are empty now.
    #[serde(default)]
    pub include_empty: bool,
}

impl StockQuery {
    fn filter(&self) -> ApiResult<UnitFilter> {
        let gtin = match &self.gtin {
            Some(g) => Some(
                crate::domain::gtin::Gtin::parse(g)
                    .map_err(|e| crate::error::Error::invalid("gtin", e.to_string()))?
                    .to_string(),
            ),
            None => None,
        };
        let up = |s: &Option<String>| s.as_ref().map(|v| v.trim().to_ascii_uppercase());
        let owner = self
            .owner
            .as_ref()
            .map(|o| crate::domain::stock::Owner::parse(o).map(|o| o.to_string()))
            .transpose()
            .map_err(crate::error::Error::from)?;
        Ok(UnitFilter {
            gtin,
            lot: self.lot.as_ref().map(|l| l.trim().to_string()),
            location: up(&self.location),
            owner,
            producer: up(&self.producer),
            expiry_until: None,
            include_empty: self.include_empty,
        })
    }
}

/// Stock units with their freshness and availability today.
#[utoipa::path(get, path = "/api/stock/units", tag = "stock", params(StockQuery), responses((status = 200, body = Vec<UnitView>)),
    security(("session" = []), ("bearer" = [])))]
pub async fn list_units(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<StockQuery>,
) -> ApiResult<Json<Vec<UnitView>>> {
    caller.require(allow::STOCK_READ)?;
    let Query(q) = q?;
    Ok(Json(svc::units(&s.ctx, &q.filter()?).await?))
}

/// One stock unit.
#[utoipa::path(get, path = "/api/stock/units/{id}", tag = "stock", params(("id" = i64, Path)),
    responses((status = 200, body = UnitView), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get_unit(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<UnitView>> {
    caller.require(allow::STOCK_READ)?;
    Ok(Json(svc::unit(&s.ctx, id).await?))
}

/// The ledger of one stock unit, oldest first.
#[utoipa::path(get, path = "/api/stock/units/{id}/ledger", tag = "stock", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<LedgerEntry>), (status = 404, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn unit_ledger(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<LedgerEntry>>> {
    caller.require(allow::STOCK_READ)?;
    Ok(Json(views::all(svc::unit_ledger(&s.ctx, id).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OnHandQuery {
    /// product, lot, location or owner
    #[param(inline)]
    pub group_by: GroupBy,
}

/// On-hand, available, quarantined, expired and short-dated packs by product, lot, location or owner.
#[utoipa::path(get, path = "/api/stock/on-hand", tag = "stock", params(OnHandQuery, StockQuery), responses((status = 200, body = Vec<OnHand>)),
    security(("session" = []), ("bearer" = [])))]
pub async fn on_hand(
    State(s): State<AppState>,
    caller: Caller,
    g: Params<OnHandQuery>,
    q: Params<StockQuery>,
) -> ApiResult<Json<Vec<OnHand>>> {
    caller.require(allow::STOCK_READ)?;
    let Query(g) = g?;
    let Query(q) = q?;
    Ok(Json(svc::on_hand(&s.ctx, g.group_by, &q.filter()?).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpiringQuery {
    /// Expiring within this many days from today (expired units included).
    #[param(minimum = 0, maximum = 3650)]
    pub days: i64,
    pub owner: Option<String>,
    pub producer: Option<String>,
}

/// The expiry report: units that expire within `days` days, soonest first.
#[utoipa::path(get, path = "/api/stock/expiring", tag = "stock", params(ExpiringQuery), responses((status = 200, body = Vec<UnitView>), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn expiring(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<ExpiringQuery>,
) -> ApiResult<Json<Vec<UnitView>>> {
    caller.require(allow::STOCK_READ)?;
    let Query(q) = q?;
    let f = StockQuery {
        owner: q.owner,
        producer: q.producer,
        ..Default::default()
    }
    .filter()?;
    Ok(Json(svc::expiring(&s.ctx, q.days, &f).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First business day, `YYYY-MM-DD` (Copenhagen).
    pub from: String,
    /// Last business day, inclusive.
    pub to: String,
}

/// An owner's stock statement: opening, receipts, issues, adjustments, scrap, closing. Reconciles
/// with the ledger exactly.
#[utoipa::path(get, path = "/api/owners/{owner}/statement", tag = "stock", params(("owner" = String, Path), PeriodQuery),
    responses((status = 200, body = OwnerStatement), (status = 422, body = ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn statement(
    State(s): State<AppState>,
    caller: Caller,
    Path(owner): Path<String>,
    q: Params<PeriodQuery>,
) -> ApiResult<Json<OwnerStatement>> {
    caller.require(allow::STATEMENTS)?;
    let Query(q) = q?;
    Ok(Json(svc::statement(&s.ctx, &owner, &q.from, &q.to).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// A scanned or typed barcode: a product (GS1, EAN, HIBC) or a location label.
    pub code: String,
}

/// What a scanned code names on the floor: a product (its stock, by lot when the code carries
/// one, and where it is usually put away) or a location (what should be there).
#[utoipa::path(get, path = "/api/stock/lookup", tag = "stock", params(LookupQuery),
    responses((status = 200, body = crate::service::stock_lookup::Lookup), (status = 422, body = ErrorBody)),
    security(("session" = []), ("bearer" = [])))]
pub async fn lookup(
    State(s): State<AppState>,
    caller: Caller,
    q: Params<LookupQuery>,
) -> ApiResult<Json<crate::service::stock_lookup::Lookup>> {
    caller.require(allow::STOCK_FLOOR)?;
    let Query(q) = q?;
    Ok(Json(
        crate::service::stock_lookup::lookup(&s.ctx, &q.code).await?,
    ))
}
