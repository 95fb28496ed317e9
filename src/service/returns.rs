//! Returns: a citizen's parcel that comes back from the carrier is scanned in by its SSCC. In one
//! transaction its packs (what the parcel held, by lot) are booked into quarantine at the
//! returns location, owned by the payer, never back into pickable stock; the return is kept
//! once per parcel (a repeated scan answers it again), and the order's change feed says so.

use super::{Actor, Ctx};
use crate::domain::handover as rules;
use crate::domain::stock::OpKind;
use crate::error::{Error, Result};
use crate::store::returns::{self as db, NewReturn, ReturnRow};
use crate::store::stock::{self as stock_db, NewLedger, UnitKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnScan {
    /// Client-made id of the scan: a retried scan counts once.
    pub scan_id: String,
    /// The returned parcel's label (its SSCC), scanned or typed.
    pub data: String,
}

pub async fn scan(ctx: &Ctx, actor: &Actor, r: &ReturnScan) -> Result<ReturnRow> {
    if r.scan_id.trim().is_empty() || r.scan_id.chars().count() > 64 {
        return Err(Error::invalid("scan_id", "must be 1 to 64 characters"));
    }
    if r.data.chars().count() > 200 {
        return Err(Error::invalid("data", "at most 200 characters"));
    }
    let sscc = rules::read_sscc(r.data.as_bytes(), super::today())
        .map_err(|e| Error::invalid("data", format!("not a parcel label: {e}")))?;
    let location = ctx.config.carrier.returns_location.clone();
    let mut tx = ctx.db.begin_write().await?;
    let p = crate::store::handover::parcel_by_sscc(tx.conn(), sscc.as_str())
        .await?
        .ok_or_else(|| Error::NotFound(format!("parcel {}", sscc.as_str())))?;
    if let Some(done) = db::of_parcel(tx.conn(), p.parcel_id).await? {
        return Ok(done);
    }
    if p.booking_state != "handed_over" {
        return Err(Error::conflict(
            "not_handed_over",
            format!(
                "parcel {} never left the warehouse ({})",
                sscc.as_str(),
                p.booking_state
            ),
        ));
    }
    if !db::is_quarantine_location(tx.conn(), &location).await? {
        return Err(Error::conflict(
            "no_returns_location",
            format!("carrier.returns_location {location} is not a quarantine location"),
        ));
    }
    let parcel = crate::store::parcels::parcel(tx.conn(), p.parcel_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("parcel {}", p.parcel_id)))?;
    let hash = super::auth::sha256_hex(&format!("return:{}", p.parcel_id));
    let op_id = stock_db::insert_op(
        tx.conn(),
        OpKind::Return.as_str(),
        Some(&format!("return:{}", r.scan_id)),
        &hash,
        &actor.name,
    )
    .await?
    .ok_or_else(|| Error::conflict("already_returned", "this return is being booked"))?;
    let mut lots: BTreeMap<(String, String, String, String), i64> = BTreeMap::new();
    for t in crate::store::parcels::transfers_of_parcel(tx.conn(), p.parcel_id).await? {
        *lots.entry((t.gtin, t.lot, t.expiry, t.payer)).or_default() += t.quantity;
    }
    let reference = format!(
        "returned parcel {} order {}",
        sscc.as_str(),
        parcel.external_id
    );
    let mut entries = Vec::new();
    let mut packs = 0;
    for ((gtin, lot, expiry, payer), qty) in lots.into_iter().filter(|(_, q)| *q > 0) {
        let key = UnitKey {
            gtin: &gtin,
            lot: &lot,
            expiry: &expiry,
            location: &location,
            owner: &payer,
            status: "quarantine",
        };
        let (unit, before, after) = stock_db::add_to_unit(tx.conn(), &key, qty).await?;
        entries.push(
            stock_db::insert_ledger(
                tx.conn(),
                &NewLedger {
                    op_id,
                    unit_id: unit,
                    kind: OpKind::Return.as_str(),
                    gtin: &gtin,
                    owner: &payer,
                    location: &location,
                    delta: qty,
                    before,
                    after,
                    reason: Some("returned"),
                    reference: Some(&reference),
                    actor: &actor.name,
                },
            )
            .await?,
        );
        packs += qty;
    }
    db::insert(
        tx.conn(),
        &NewReturn {
            parcel_id: p.parcel_id,
            scan_id: &r.scan_id,
            op_id,
            location: &location,
            packs,
            by: &actor.name,
        },
    )
    .await?;
    tx.event(
        OpKind::Return.event_type(),
        &format!("parcel:{}", p.parcel_id),
        &stock_db::event_payload(OpKind::Return.as_str(), op_id, &entries),
    )
    .await?;
    if let Some(o) = crate::store::orders::order_by_id(tx.conn(), parcel.order_id).await? {
        super::orders::event(
            &mut tx,
            "order.returned",
            (o.id, &o.external_id, o.status),
            json!({ "sscc": sscc.as_str(), "packs": packs, "location": location }),
        )
        .await?;
    }
    let row = db::of_parcel(tx.conn(), p.parcel_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("return of parcel {}", p.parcel_id)))?;
    tx.commit().await?;
    tracing::info!(
        sscc = sscc.as_str(),
        packs,
        "returned parcel booked into quarantine"
    );
    Ok(row)
}

pub async fn list(ctx: &Ctx) -> Result<Vec<ReturnRow>> {
    Ok(db::list(ctx.db.pool(), 500).await?)
}
