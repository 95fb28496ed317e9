//! Handover to the carrier: a cage (or trailer) is opened per carrier, each parcel's SSCC is
//! scanned onto it (refused, with the reason, when unknown, voided, unbooked, of another carrier
//! or on a cage already), and closing it, in one transaction, takes the parcels' packs out of the
//! warehouse in the ledger (`ship`), marks them handed over and the orders all of whose parcels
//! left `shipped`. Closing shows the booked parcels that were expected but not scanned, and the
//! refused scans; the handover list is a PDF.

use super::{Actor, Ctx};
use crate::domain::handover as rules;
use crate::domain::order::OrderStatus;
use crate::domain::packing::refuse;
use crate::error::{Error, Result};
use crate::service::views;
use crate::store::handover::{self as db, CageParcel, CageRow};
use crate::store::parcels as pdb;
use crate::store::stock::{self as stock_db, NewLedger, UnitKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCage {
    /// The carrier the cage is for (default: `carrier.default`).
    pub carrier: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CageScan {
    /// Client-made id of the scan: a retried scan counts once.
    pub scan_id: String,
    /// The parcel label's SSCC barcode, scanned or typed.
    pub data: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CageScanResult {
    pub accepted: bool,
    /// `on_cage`, or the refusal: `unknown_parcel`, `voided`, `not_booked`, `wrong_carrier`,
    /// `already_handed_over`, `unreadable`, `cage_closed`.
    pub code: String,
    pub message: String,
    pub message_da: String,
    pub cage: views::handover::Cage,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CageClosed {
    pub cage: views::handover::Cage,
    pub parcels: Vec<views::handover::CageParcel>,
    /// Booked parcels of this carrier that were not scanned onto any cage.
    pub missing: Vec<views::handover::CageParcel>,
    /// Scans the cage refused.
    pub unexpected: Vec<views::handover::Refused>,
    /// The orders that are now shipped (every parcel handed over).
    pub shipped: Vec<String>,
    /// The handover list (PDF).
    pub list_url: String,
    /// Whether the carrier's own close call succeeded; absent when it has none (PostNord).
    pub carrier_closed: Option<bool>,
}

pub async fn open(ctx: &Ctx, actor: &Actor, r: &OpenCage) -> Result<CageRow> {
    let carrier = r
        .carrier
        .clone()
        .unwrap_or_else(|| ctx.config.carrier.default.clone());
    if ctx.carriers.get(&carrier).is_none() {
        return Err(Error::invalid(
            "carrier",
            format!(
                "no carrier {carrier:?} (there is: {})",
                ctx.carriers.ids().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let day = super::today().to_string();
    let mut tx = ctx.db.begin_write().await?;
    let id = db::open(tx.conn(), &carrier, &day, &actor.name).await?;
    let cage = db::cage(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cage {id}")))?;
    tx.event(
        "cage.opened",
        &format!("cage:{}", cage.code),
        &json!({ "cage": cage.code, "carrier": carrier, "by": actor.name }),
    )
    .await?;
    tx.commit().await?;
    Ok(cage)
}

pub async fn list(ctx: &Ctx, state: Option<&str>) -> Result<Vec<CageRow>> {
    crate::domain::states::CageState::parse_filter("state", state)?;
    Ok(db::list(ctx.db.pool(), state).await?)
}

/// One parcel label scanned at the cage.
pub async fn scan(ctx: &Ctx, actor: &Actor, cage_id: i64, r: &CageScan) -> Result<CageScanResult> {
    let id = r.scan_id.trim();
    if id.is_empty() || id.chars().count() > 128 || r.data.chars().count() > 256 {
        return Err(Error::invalid(
            "scan_id",
            "must be 1 to 128 characters (data at most 256)",
        ));
    }
    let key = format!("cage:{cage_id}:{id}");
    let mut tx = ctx.db.begin_write().await?;
    let backend = tx.backend();
    let state = db::cage_for_update(tx.conn(), backend, cage_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cage {cage_id}")))?;
    let cage = db::cage(tx.conn(), cage_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cage {cage_id}")))?;
    let answer = |ok: bool, code: &str, m: String, da: String, cage: CageRow| CageScanResult {
        accepted: ok,
        code: code.into(),
        message: m,
        message_da: da,
        cage: cage.into(),
    };
    if db::scan_taken(tx.conn(), &key).await? {
        return Ok(answer(
            true,
            "on_cage",
            "already on the cage".into(),
            "Allerede i buret".into(),
            cage,
        ));
    }
    let verdict = if state != "open" {
        Err(refuse(
            "cage_closed",
            format!("cage {} is closed", cage.code),
            format!("Buret {} er lukket", cage.code),
        ))
    } else {
        match rules::read_sscc(r.data.as_bytes(), super::today()) {
            Err(e) => Err(refuse("unreadable", e.message, e.message_da)),
            Ok(sscc) => {
                let p = db::parcel_by_sscc(tx.conn(), sscc.as_str()).await?;
                rules::judge(&cage.code, &cage.carrier, &sscc, p.as_ref())
                    .map(|again| (sscc, p.map(|p| p.parcel_id), again))
            }
        }
    };
    match verdict {
        Err(refusal) => {
            drop(tx);
            db::refusal(
                ctx.db.pool(),
                cage_id,
                r.data.trim(),
                refusal.code,
                (&refusal.message, &refusal.message_da),
                &actor.name,
            )
            .await?;
            Ok(answer(
                false,
                refusal.code,
                refusal.message,
                refusal.message_da,
                cage,
            ))
        }
        Ok((sscc, parcel, again)) => {
            if !again {
                let parcel = parcel.unwrap_or_default();
                db::add(tx.conn(), cage_id, parcel, &key, &actor.name).await?;
                tx.event(
                    "parcel.on_cage",
                    &format!("parcel:{parcel}"),
                    &json!({ "parcel_id": parcel, "sscc": sscc.as_str(), "cage": cage.code, "by": actor.name }),
                )
                .await?;
            }
            let cage = db::cage(tx.conn(), cage_id)
                .await?
                .ok_or_else(|| Error::NotFound(format!("cage {cage_id}")))?;
            tx.commit().await?;
            Ok(answer(
                true,
                "on_cage",
                format!("parcel {sscc} on cage {}", cage.code),
                format!("Pakken {sscc} er i bur {}", cage.code),
                cage,
            ))
        }
    }
}

/// Closes the cage: the parcels leave (see the module doc), in one transaction.
pub async fn close(ctx: &Ctx, actor: &Actor, cage_id: i64) -> Result<CageClosed> {
    let mut tx = ctx.db.begin_write().await?;
    let backend = tx.backend();
    let state = db::cage_for_update(tx.conn(), backend, cage_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cage {cage_id}")))?;
    if state != "open" {
        return Err(Error::conflict(
            "cage_closed",
            format!("cage {cage_id} is closed"),
        ));
    }
    let cage = db::cage(tx.conn(), cage_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cage {cage_id}")))?;
    let parcels = db::parcels_on(tx.conn(), cage_id).await?;
    let hash = super::auth::sha256_hex(&format!("cage:{cage_id}:{}", parcels.len()));
    let op_id = stock_db::insert_op(
        tx.conn(),
        "ship",
        Some(&format!("cage:{cage_id}:close")),
        &hash,
        &actor.name,
    )
    .await?
    .ok_or_else(|| Error::conflict("cage_closed", "this cage is being closed"))?;
    let mut entries = Vec::new();
    for p in &parcels {
        // What the parcel holds, owned by the payer at its pack station: the net transfers.
        let mut lots: BTreeMap<(String, String, String, String), i64> = BTreeMap::new();
        for t in pdb::transfers_of_parcel(tx.conn(), p.parcel_id).await? {
            *lots.entry((t.gtin, t.lot, t.expiry, t.payer)).or_default() += t.quantity;
        }
        let reference = format!("parcel {} cage {}", p.sscc, cage.code);
        for ((gtin, lot, expiry, payer), qty) in lots.into_iter().filter(|(_, q)| *q > 0) {
            let key = UnitKey {
                gtin: &gtin,
                lot: &lot,
                expiry: &expiry,
                location: &p.station,
                owner: &payer,
                status: "available",
            };
            let unit = stock_db::unit_id_by_key(tx.conn(), &key)
                .await?
                .ok_or_else(|| {
                    Error::conflict(
                        "parcel_mismatch",
                        format!("parcel {}'s packs are not at {}", p.sscc, p.station),
                    )
                })?;
            let Ok((before, after)) = stock_db::change_qty(tx.conn(), unit, -qty).await? else {
                return Err(Error::conflict(
                    "parcel_mismatch",
                    format!("parcel {}'s packs are not all at {}", p.sscc, p.station),
                ));
            };
            entries.push(
                stock_db::insert_ledger(
                    tx.conn(),
                    &NewLedger {
                        op_id,
                        unit_id: unit,
                        kind: "ship",
                        gtin: &gtin,
                        owner: &payer,
                        location: &p.station,
                        delta: -qty,
                        before,
                        after,
                        reason: None,
                        reference: Some(&reference),
                        actor: &actor.name,
                    },
                )
                .await?,
            );
        }
    }
    db::close(tx.conn(), cage_id, &actor.name).await?;
    let mut shipped = Vec::new();
    let mut orders: Vec<i64> = parcels.iter().map(|p| p.order_id).collect();
    orders.sort_unstable();
    orders.dedup();
    for order_id in orders {
        if !db::order_all_handed_over(tx.conn(), order_id).await? {
            continue;
        }
        let Some(o) = crate::store::orders::order_by_id(tx.conn(), order_id).await? else {
            continue;
        };
        if o.status != OrderStatus::Packed {
            continue;
        }
        crate::store::orders::set_order_status(tx.conn(), order_id, OrderStatus::Shipped).await?;
        let tracking: Vec<&str> = parcels
            .iter()
            .filter(|p| p.order_id == order_id)
            .filter_map(|p| p.tracking_number.as_deref())
            .collect();
        // What the ordering system follows: each parcel's carrier, service, tracking number and URL.
        let shipments: Vec<views::carrier::Shipment> =
            views::all(crate::store::bookings::shipments_of_order(tx.conn(), order_id).await?);
        super::orders::event(
            &mut tx,
            "order.shipped",
            (o.id, &o.external_id, OrderStatus::Shipped),
            json!({ "carrier": cage.carrier, "tracking_numbers": tracking, "cage": cage.code, "parcels": shipments }),
        )
        .await?;
        shipped.push(o.external_id);
    }
    if !entries.is_empty() {
        tx.event(
            "stock.shipped",
            &format!("cage:{}", cage.code),
            &stock_db::event_payload("ship", op_id, &entries),
        )
        .await?;
    }
    tx.event(
        "cage.closed",
        &format!("cage:{}", cage.code),
        &json!({ "cage": cage.code, "carrier": cage.carrier, "parcels": parcels.len(), "shipped": shipped, "by": actor.name }),
    )
    .await?;
    let missing = db::expected(tx.conn(), &cage.carrier).await?;
    let unexpected = db::refusals(tx.conn(), cage_id).await?;
    let cage = db::cage(tx.conn(), cage_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cage {cage_id}")))?;
    tx.commit().await?;
    tracing::info!(cage = %cage.code, parcels = parcels.len(), shipped = shipped.len(), "cage closed: handed over");
    let carrier_closed = carrier_close(ctx, &cage, &parcels).await;
    Ok(CageClosed {
        carrier_closed,
        list_url: format!("/api/cages/{cage_id}/list.pdf"),
        cage: cage.into(),
        parcels: views::all(parcels),
        missing: views::all(missing),
        unexpected: views::all(unexpected),
        shipped,
    })
}

/// Tells the carrier the cage was handed over, where it has such a call (PostNord has none: its
/// bookings were the pre-advice). The handover stands whatever the carrier answers: a failure is
/// logged and an event raised for a lead.
async fn carrier_close(ctx: &Ctx, cage: &CageRow, parcels: &[CageParcel]) -> Option<bool> {
    let c = ctx.carriers.get(&cage.carrier)?;
    if !c.capabilities().close_handover {
        return None;
    }
    let ssccs: Vec<String> = parcels.iter().map(|p| p.sscc.clone()).collect();
    let timeout = std::time::Duration::from_millis(ctx.config.carrier.timeout_ms);
    let ok = match tokio::time::timeout(timeout, c.close_handover(&cage.code, &ssccs)).await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            tracing::warn!(cage = %cage.code, error = %e, "the carrier's close failed");
            false
        }
        Err(_) => false,
    };
    if let Ok(mut tx) = ctx.db.begin_write().await {
        let _ = tx
            .event(
                "cage.carrier_closed",
                &format!("cage:{}", cage.code),
                &json!({ "cage": cage.code, "carrier": cage.carrier, "ok": ok }),
            )
            .await;
        let _ = tx.commit().await;
    }
    Some(ok)
}

/// The handover list of a cage as an A4 PDF: carrier, cage, time, count, SSCCs and tracking
/// numbers, and lines for both signatures. No names or contents.
pub async fn list_pdf(ctx: &Ctx, cage_id: i64) -> Result<Vec<u8>> {
    let (cage, parcels) = {
        let mut conn = ctx.db.pool().acquire().await?;
        let cage = db::cage(&mut conn, cage_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("cage {cage_id}")))?;
        (cage, db::parcels_on(&mut conn, cage_id).await?)
    };
    let when = cage
        .closed_at
        .as_deref()
        .and_then(crate::domain::time::from_db)
        .map(|t| {
            t.with_timezone(&chrono_tz::Europe::Copenhagen)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "(åben)".into());
    let lines: Vec<serde_json::Value> = parcels
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({ "n": (i + 1).to_string(), "sscc": p.sscc, "tracking": p.tracking_number.clone().unwrap_or_default(),
                    "parcel": format!("{}/{}", p.seq.unwrap_or(1), p.parcels_total.unwrap_or(1)) })
        })
        .collect();
    let data = json!({ "sender_name": ctx.config.packing.sender_name, "carrier": cage.carrier, "cage": cage.code,
                       "closed_at": when, "count": parcels.len().to_string(), "lines": lines });
    super::printing::render(
        ctx,
        "handover-list",
        Some(&data),
        crate::labels::Format::Pdf,
        203,
    )
    .await
}

/// A cage with what is on it, what its carrier still has booked, and what it refused.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CageView {
    pub cage: views::handover::Cage,
    pub parcels: Vec<views::handover::CageParcel>,
    /// Booked parcels of the cage's carrier on no cage yet.
    pub expected: Vec<views::handover::CageParcel>,
    pub refused: Vec<views::handover::Refused>,
}

pub async fn get(ctx: &Ctx, cage_id: i64) -> Result<CageView> {
    let mut conn = ctx.db.pool().acquire().await?;
    let cage = db::cage(&mut conn, cage_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("cage {cage_id}")))?;
    Ok(CageView {
        parcels: views::all(db::parcels_on(&mut conn, cage_id).await?),
        expected: views::all(db::expected(&mut conn, &cage.carrier).await?),
        refused: views::all(db::refusals(&mut conn, cage_id).await?),
        cage: cage.into(),
    })
}
