//! Order intake, allocation (FEFO reservations), backorders, partial release, change, cancel,
//! status and the change feed. Every change of an order is one transaction with its events.
//!
//! An order ships as one parcel, so it is released for picking (`allocated`) only when every
//! line is covered. Otherwise it keeps what it could reserve and waits as `backordered` with the
//! missing lines named; when stock arrives, backorders are topped up oldest first, and a new
//! order is never given the packs that older backorders still wait for, so an older order is
//! never starved by newer ones. A lead may release a backordered order partially: it
//! then ships with what is reserved and without the rest.

//!
//! Here: the views and the reads. `intake.rs` takes new orders in, `allocate.rs` reserves stock
//! for them (and for backorders), `change.rs` changes, cancels and partially releases them.

mod allocate;
mod change;
mod intake;

pub use allocate::{allocate_backorders, spawn_backorder_worker};
pub use change::{cancel, change, release_partial};
pub use intake::intake;

use super::{today, Actor, Ctx};
use crate::domain::allocation::{self, Need};
use crate::domain::order::{self as rules, NewOrder, OrderInput, OrderStatus};
use crate::error::{Error, Result};
use crate::service::views;
use crate::store::orders::{self as db, OrderRow};
use crate::store::WriteTx;
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

pub use crate::domain::order::Missing;

/// An order's status without personal data: what the ordering system follows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderStatusView {
    pub external_id: String,
    pub status: OrderStatus,
    pub version: i64,
    /// Lines that could not be covered (backordered, or shipped without them after a partial release).
    pub missing: Vec<Missing>,
    pub partial_release: bool,
    pub wave_id: Option<i64>,
    pub tote: Option<String>,
    pub updated_at: String,
    /// The order's parcels once packed (by `GET /api/orders/{id}/status`): SSCC, carrier,
    /// service, tracking number and how far each has come.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parcels: Vec<views::carrier::Shipment>,
}

/// A whole order, personal data included. Every read of it is audit-logged.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    pub id: i64,
    pub external_id: String,
    pub status: OrderStatus,
    pub version: i64,
    pub payer: rules::PayerInput,
    pub grant_ref: String,
    pub citizen_id: String,
    pub recipient: rules::RecipientInput,
    pub delivery_date: String,
    pub has_cut: bool,
    pub lines: Vec<views::orders::Line>,
    pub missing: Vec<Missing>,
    pub partial_release: bool,
    pub wave_id: Option<i64>,
    pub tote: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// The answer to an intake: the order's status, and whether it was created by this request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IntakeResult {
    /// False when the same order had been received before (an idempotent replay).
    pub created: bool,
    #[serde(flatten)]
    pub order: OrderStatusView,
}

fn missing_of(o: &OrderRow) -> Vec<Missing> {
    o.missing
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_default()
}

fn status_view(o: &OrderRow) -> OrderStatusView {
    OrderStatusView {
        external_id: o.external_id.clone(),
        status: o.status,
        version: o.version,
        missing: missing_of(o),
        partial_release: o.partial_release,
        wave_id: o.wave_id,
        tote: o.tote.clone(),
        updated_at: o.updated_at.clone(),
        parcels: Vec::new(),
    }
}

/// Appends an order event (no personal data: ids and status only).
pub(crate) async fn order_event(
    tx: &mut WriteTx,
    event_type: &str,
    key: (i64, &str, OrderStatus),
    extra: serde_json::Value,
) -> Result<()> {
    let payload = crate::domain::order::event_payload(key, extra);
    tx.event(event_type, &format!("order:{}", key.1), &payload)
        .await?;
    Ok(())
}

/// What an order event names: id, external id, status.
pub(crate) fn key(o: &OrderRow) -> (i64, &str, OrderStatus) {
    (o.id, &o.external_id, o.status)
}

async fn load(tx: &mut WriteTx, id: i64) -> Result<OrderRow> {
    db::order_by_id(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("order {id}")))
}

/// The status of an order, without personal data (no audit entry).
pub async fn status(ctx: &Ctx, external_id: &str) -> Result<OrderStatusView> {
    let mut conn = ctx.db.pool().acquire().await?;
    let o = db::order_by_external(&mut conn, external_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("order {external_id}")))?;
    let mut v = status_view(&o);
    v.parcels = views::all(crate::store::bookings::shipments_of_order(&mut conn, o.id).await?);
    Ok(v)
}

/// How many orders are in each status, in life-cycle order (statuses without orders left out).
pub async fn counts(ctx: &Ctx) -> Result<Vec<(OrderStatus, i64)>> {
    let found = db::count_by_status(ctx.db.pool()).await?;
    Ok(OrderStatus::ALL
        .into_iter()
        .filter_map(|st| {
            found
                .iter()
                .find(|(s, _)| s == st.as_str())
                .map(|(_, n)| (st, *n))
        })
        .collect())
}

/// Orders by status, without personal data.
pub async fn list(
    ctx: &Ctx,
    status: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Vec<OrderStatusView>> {
    if let Some(s) = status {
        if OrderStatus::from_db(s).is_none() {
            let names: Vec<_> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
            return Err(Error::invalid(
                "status",
                format!("must be one of {}", names.join(", ")),
            ));
        }
    }
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "must be between 1 and 1000"));
    }
    let rows = db::list_orders(ctx.db.pool(), status, after, limit).await?;
    Ok(rows.iter().map(status_view).collect())
}

/// A whole order with the citizen's name and address. Writes an audit entry (who, when, which
/// order and citizen, why) in the same transaction as the read.
pub async fn read(ctx: &Ctx, actor: &Actor, external_id: &str, purpose: &str) -> Result<OrderView> {
    let purpose = crate::domain::stock::note("purpose", purpose, true)?.unwrap_or_default();
    let mut tx = ctx.db.begin_write().await?;
    let o = db::order_by_external(tx.conn(), external_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("order {external_id}")))?;
    let lines = db::lines(tx.conn(), o.id).await?;
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "order.personal_data_read",
            subject: &format!("order:{}", o.external_id),
            purpose: Some(&purpose),
            detail: json!({ "citizen_id": o.citizen_id }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(OrderView {
        id: o.id,
        external_id: o.external_id.clone(),
        status: o.status,
        version: o.version,
        payer: rules::PayerInput {
            code: o.payer_code.clone(),
            name: o.payer_name.clone(),
            ean: o.payer_ean.clone(),
        },
        grant_ref: o.grant_ref.clone(),
        citizen_id: o.citizen_id.clone(),
        recipient: rules::RecipientInput {
            name: o.recipient_name.clone(),
            address_line1: o.address_line1.clone(),
            address_line2: o.address_line2.clone(),
            postcode: o.postcode.clone(),
            city: o.city.clone(),
            country: Some(o.country.clone()),
            phone: o.phone.clone(),
            email: o.email.clone(),
        },
        delivery_date: o.delivery_date.to_string(),
        has_cut: o.has_cut,
        missing: missing_of(&o),
        partial_release: o.partial_release,
        wave_id: o.wave_id,
        tote: o.tote.clone(),
        created_at: o.created_at.clone(),
        updated_at: o.updated_at.clone(),
        lines: views::all(lines),
    })
}

/// Order events after a cursor (received, allocated, backordered, picking, picked, cutting, …),
/// as `who` reads them (counted by `log::FeedLimit`).
pub async fn changes(
    ctx: &Ctx,
    who: &Actor,
    after: i64,
    limit: i64,
) -> Result<Vec<crate::store::events::Event>> {
    if !(1..=1000).contains(&limit) {
        return Err(Error::invalid("limit", "must be between 1 and 1000"));
    }
    ctx.feed_limit.admit(who)?;
    Ok(db::order_events_after(ctx.db.pool(), ctx.db.backend(), after, limit).await?)
}

pub(crate) use order_event as event;
