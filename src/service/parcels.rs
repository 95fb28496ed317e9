//! Closing, voiding and reprinting parcels. Closing is one transaction: an SSCC from the counter,
//! the ownership of every packed lot passed from its producer to the order's payer (a `transfer`
//! in the ledger and one `ownership_transfers` row per lot), the tote released when the order's
//! last parcel closes, the order `packed` and its events. The shipping labels and packing slips
//! print after the commit; a restart prints what a stop left unprinted. A closed parcel waits for
//! the carrier booking (`booking_state = waiting`).

use super::packing::{contents, station};
use super::parcel_view::view;
pub use super::parcel_view::ParcelView;
use super::{Actor, Ctx};
use crate::domain::order::OrderStatus;
use crate::domain::packing as rules;
use crate::error::{Error, Result};
use crate::store::orders::{self as orders_db, OrderRef};
use crate::store::packing as db;
use crate::store::parcels as pdb;
use crate::store::stock::{self as stock_db, NewLedger, UnitKey};
use crate::store::WriteTx;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

/// Closing the parcel being filled at a station.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// Makes a retried close answer the parcel it closed.
    pub request_key: Option<String>,
    /// A configured parcel type (default: the first).
    pub parcel_type: Option<String>,
    /// The scale's reading in grams; without it the weight is computed from the products.
    #[schema(minimum = 1, maximum = 100000)]
    pub weight_g: Option<i64>,
    /// More parcels follow (the order is split): close this one although packs remain.
    #[serde(default)]
    pub more: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidRequest {
    pub reason: String,
    /// The tote the packs go back into (default: the one they came from, if it is free).
    pub tote: Option<String>,
}

fn request_key(k: &Option<String>) -> Result<Option<String>> {
    match k.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(k) if k.len() > 128 || k.chars().any(char::is_control) => Err(Error::invalid(
            "request_key",
            "must be at most 128 characters",
        )),
        Some(k) => Ok(Some(k.to_string())),
    }
}

/// Moves `qty` packs of `from` to a new owner and place inside the caller's transaction: two
/// ledger entries of the `transfer` operation `op_id`. Returns the receiving unit.
#[allow(clippy::too_many_arguments)]
async fn transfer_leg(
    tx: &mut WriteTx,
    op_id: i64,
    from: &stock_db::UnitRow,
    to_location: &str,
    to_owner: &str,
    qty: i64,
    reference: &str,
    actor: &str,
) -> Result<Vec<stock_db::LedgerEntry>> {
    let Ok((before, after)) = stock_db::change_qty(tx.conn(), from.id, -qty).await? else {
        return Err(Error::conflict(
            "tote_mismatch",
            format!(
                "stock unit {} holds fewer than {qty} packs of lot {}: the tote does not hold what was scanned",
                from.id, from.lot
            ),
        ));
    };
    let out = NewLedger {
        op_id,
        unit_id: from.id,
        kind: "transfer",
        gtin: &from.gtin,
        owner: &from.owner,
        location: &from.location,
        delta: -qty,
        before,
        after,
        reason: None,
        reference: Some(reference),
        actor,
    };
    let e1 = stock_db::insert_ledger(tx.conn(), &out).await?;
    let (to_id, b, a) = stock_db::add_to_unit(
        tx.conn(),
        &UnitKey {
            gtin: &from.gtin,
            lot: &from.lot,
            expiry: &from.expiry,
            location: to_location,
            owner: to_owner,
            status: "available",
        },
        qty,
    )
    .await?;
    let into = NewLedger {
        unit_id: to_id,
        owner: to_owner,
        location: to_location,
        delta: qty,
        before: b,
        after: a,
        ..out
    };
    let e2 = stock_db::insert_ledger(tx.conn(), &into).await?;
    Ok(vec![e1, e2])
}

/// Closes the open parcel at the station (see the module doc).
pub async fn close(
    ctx: &Ctx,
    actor: &Actor,
    station_code: &str,
    r: &CloseRequest,
) -> Result<ParcelView> {
    let key = request_key(&r.request_key)?;
    let plan = ctx
        .config
        .packing
        .sscc_plan()
        .map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?;
    let types = &ctx.config.packing.parcel_types;
    let ptype = match r.parcel_type.as_deref().map(str::trim) {
        None | Some("") => types.first(),
        Some(n) => types.iter().find(|t| t.name.eq_ignore_ascii_case(n)),
    }
    .ok_or_else(|| {
        let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
        Error::invalid(
            "parcel_type",
            format!("must be one of {}", names.join(", ")),
        )
    })?
    .clone();
    if let Some(w) = r.weight_g {
        if !(1..=100_000).contains(&w) {
            return Err(Error::invalid(
                "weight_g",
                "must be between 1 and 100000 grams",
            ));
        }
    }
    let mut tx = ctx.db.begin_write().await?;
    let backend = tx.backend();
    if let Some(k) = &key {
        if let Some(p) = pdb::parcel_by_close_key(tx.conn(), k).await? {
            drop(tx);
            return view(ctx, p.id).await;
        }
    }
    let station = station(tx.conn(), station_code).await?;
    let id = db::session(tx.conn(), &station)
        .await?
        .ok_or_else(|| Error::conflict("no_order", "no order is open at this station"))?;
    let o = orders_db::order_for_update(tx.conn(), backend, OrderRef::Id(id))
        .await?
        .ok_or_else(|| Error::NotFound(format!("order {id}")))?;
    match o.status {
        OrderStatus::Picked => {}
        OrderStatus::Packed => {
            return Err(Error::conflict(
                "already_packed",
                format!("order {} is packed", o.external_id),
            ))
        }
        s => {
            return Err(Error::conflict(
                "not_picked",
                format!(
                    "order {} is {}, not ready for packing",
                    o.external_id,
                    s.as_str()
                ),
            ))
        }
    }
    let c = contents(tx.conn(), &o).await?;
    let Some(parcel) = c.open.clone().filter(|_| !c.items.is_empty()) else {
        return Err(Error::conflict(
            "empty_parcel",
            "nothing has been scanned into the parcel",
        ));
    };
    // A lot blocked (or expired) after its packs went into the parcel does not leave.
    let today = super::today().to_string();
    for i in &c.items {
        if let Some(l) = c.lots.iter().find(|l| l.gtin == i.gtin && l.lot == i.lot) {
            if let Some(why) = &l.blocked {
                return Err(Error::conflict(
                    "lot_blocked",
                    format!(
                        "lot {} of {} in the parcel is blocked: {why}",
                        l.lot, l.product_name
                    ),
                ));
            }
        }
        if i.expiry < today {
            return Err(Error::conflict(
                "lot_expired",
                format!(
                    "lot {} of {} in the parcel expired on {}",
                    i.lot, i.product_name, i.expiry
                ),
            ));
        }
    }
    let last = c.missing.is_empty();
    if !last && !r.more {
        let what: Vec<&str> = c.missing.iter().map(|m| m.what.as_str()).collect();
        return Err(Error::conflict(
            "not_complete",
            format!("still missing: {}", what.join("; ")),
        ));
    }
    let packs: Vec<(String, Option<i64>, i64)> = c
        .items
        .iter()
        .map(|i| (i.product_name.clone(), i.weight_g, i.quantity))
        .collect();
    let (weight, source) = rules::parcel_weight(&packs, ptype.tare_g, r.weight_g).map_err(|name| {
        Error::invalid(
            "weight_g",
            format!("{name} has no weight in the product master: weigh the parcel and enter the weight"),
        )
    })?;
    if weight > i64::from(ptype.max_weight_g) {
        return Err(Error::conflict(
            "over_weight",
            format!(
                "{weight} g is over the {} g a {} parcel may weigh: split the order into more parcels",
                ptype.max_weight_g, ptype.name
            ),
        ));
    }
    let first = i64::try_from(plan.first()).unwrap_or(i64::MAX);
    let serial = pdb::take_sscc_serial(tx.conn(), &plan.key(), first).await?;
    let sscc = u64::try_from(serial)
        .ok()
        .and_then(|s| plan.sscc(s))
        .ok_or_else(|| {
            Error::conflict(
                "sscc_exhausted",
                format!(
                    "the SSCC serial range ends at {}: configure a new range or company prefix",
                    plan.last()
                ),
            )
        })?;
    // The ownership of every packed lot passes to the payer, the packs move to the station.
    let payer = crate::domain::stock::Owner::Payer(o.payer_code.to_ascii_uppercase()).to_string();
    let mut lots: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for i in &c.items {
        *lots
            .entry((i.gtin.clone(), i.lot.clone(), i.expiry.clone()))
            .or_default() += i.quantity;
    }
    let request = json!({ "parcel": parcel.id, "sscc": sscc.as_str(), "lots": lots.iter().map(|(k, q)| json!([k.0, k.1, k.2, q])).collect::<Vec<_>>() });
    let hash = super::auth::sha256_hex(&request.to_string());
    let op_id = stock_db::insert_op(
        tx.conn(),
        "transfer",
        Some(&format!("parcel:{}:close", parcel.id)),
        &hash,
        &actor.name,
    )
    .await?
    .ok_or_else(|| Error::conflict("already_packed", "this parcel is being closed"))?;
    let reference = format!("order {} parcel {}", o.external_id, sscc.as_str());
    let mut entries = Vec::new();
    for ((gtin, lot, expiry), qty) in &lots {
        let mut left = *qty;
        for u in c.units.iter().filter(|u| {
            &u.gtin == gtin && &u.lot == lot && &u.expiry == expiry && u.status == "available"
        }) {
            if left == 0 {
                break;
            }
            let take = left.min(u.qty);
            let unit = stock_db::unit(tx.conn(), u.unit_id)
                .await?
                .ok_or_else(|| Error::NotFound(format!("stock unit {}", u.unit_id)))?;
            entries.extend(
                transfer_leg(
                    &mut tx,
                    op_id,
                    &unit,
                    &station,
                    &payer,
                    take,
                    &reference,
                    &actor.name,
                )
                .await?,
            );
            pdb::insert_transfer(
                tx.conn(),
                &pdb::NewTransfer {
                    op_id,
                    parcel_id: parcel.id,
                    order_id: o.id,
                    sscc: sscc.as_str(),
                    gtin,
                    lot,
                    expiry,
                    quantity: take,
                    producer: &unit.owner,
                    payer: &payer,
                },
            )
            .await?;
            left -= take;
        }
        if left > 0 {
            return Err(Error::conflict(
                "tote_mismatch",
                format!("the tote holds {left} fewer packs of lot {lot} than were scanned"),
            ));
        }
    }
    pdb::close_parcel(
        tx.conn(),
        &pdb::Closing {
            id: parcel.id,
            sscc: sscc.as_str(),
            parcel_type: &ptype.name,
            weight_g: weight,
            weight_source: source,
            close_key: key.as_deref(),
            actor: &actor.name,
        },
    )
    .await?;
    tx.event(
        "stock.ownership_transferred",
        &format!("parcel:{}", parcel.id),
        &stock_db::event_payload("transfer", op_id, &entries),
    )
    .await?;
    // The booking leaves with the parcel: queued now, sent by the booking worker.
    super::bookings::queue(&mut tx, ctx, parcel.id, &ptype.name, &o.postcode).await?;
    tx.event(
        "parcel.closed",
        &format!("parcel:{}", parcel.id),
        &json!({ "parcel_id": parcel.id, "order": o.external_id, "sscc": sscc.as_str(), "parcel_type": ptype.name,
                 "weight_g": weight, "weight_source": source, "station": station, "last": last, "by": actor.name }),
    )
    .await?;
    if last {
        pdb::number_parcels(tx.conn(), o.id).await?;
        // The order stays on the station's screen (to reprint or void) until the next tote.
        orders_db::set_order_status(tx.conn(), o.id, OrderStatus::Packed).await?;
        let parcels = pdb::parcels_of_order(tx.conn(), o.id).await?;
        let ssccs: Vec<&str> = parcels
            .iter()
            .filter(|p| p.state == "closed")
            .filter_map(|p| p.sscc.as_deref())
            .collect();
        super::orders::event(
            &mut tx,
            "order.packed",
            (o.id, &o.external_id, OrderStatus::Packed),
            json!({ "parcels": ssccs, "tote": o.tote }),
        )
        .await?;
    }
    tx.commit().await?;
    ctx.metrics
        .parcels
        .get_or_create(&crate::metrics::OutcomeLabel {
            outcome: "closed".into(),
        })
        .inc();
    tracing::info!(order = %o.external_id, parcel = parcel.id, sscc = %sscc, weight, last, "parcel closed");
    let print_error = if last {
        super::parcel_docs::print_labels(ctx, o.id).await.err()
    } else {
        None
    };
    let mut v = view(ctx, parcel.id).await?;
    if let Some(e) = print_error {
        v.print_error = Some(e.to_string());
        v.print_error_code = Some((e.code().to_string(), e.field().map(str::to_string)));
    }
    Ok(v)
}

/// Voids a closed parcel before handover: the transfer is reversed by new ledger entries, the
/// packs go back into the tote (the order is `picked` again), the SSCC is never used again.
pub async fn void(ctx: &Ctx, actor: &Actor, id: i64, r: &VoidRequest) -> Result<ParcelView> {
    let reason = crate::domain::stock::note("reason", &r.reason, true)?.unwrap_or_default();
    let mut tx = ctx.db.begin_write().await?;
    let backend = tx.backend();
    let p = pdb::parcel(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("parcel {id}")))?;
    let o = orders_db::order_for_update(tx.conn(), backend, OrderRef::Id(p.order_id))
        .await?
        .ok_or_else(|| Error::NotFound(format!("order {}", p.order_id)))?;
    let p = pdb::parcel(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("parcel {id}")))?;
    if p.state != "closed" {
        return Err(Error::conflict(
            "not_closed",
            format!(
                "parcel {id} is {}: only a closed parcel can be voided",
                p.state
            ),
        ));
    }
    let cancellable = match crate::store::bookings::of_parcel(tx.conn(), id).await? {
        None => true,
        Some(b) if b.state != "booked" => true,
        Some(b) => ctx
            .carriers
            .get(&b.carrier)
            .is_some_and(|c| c.capabilities().cancel),
    };
    if !["waiting", "booked", "rejected"].contains(&p.booking_state.as_str()) || !cancellable {
        return Err(Error::conflict(
            "handed_over",
            format!(
                "parcel {id} is past booking ({}): it cannot be voided here",
                p.booking_state
            ),
        ));
    }
    let tote = match r.tote.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => {
            let t = crate::domain::catalog::LocationCode::parse(t)
                .map_err(|e| Error::invalid("tote", e.message))?
                .as_str()
                .to_string();
            let loc = crate::store::catalog::location(tx.conn(), &t).await?;
            if loc.as_ref().map(|l| l.kind.as_str()) != Some("tote") {
                return Err(Error::invalid("tote", format!("{t} is not a tote")));
            }
            t
        }
        None => p.tote.clone(),
    };
    if db::tote_taken(tx.conn(), &tote, o.id).await? {
        return Err(Error::conflict(
            "tote_in_use",
            format!("tote {tote} holds another order now: name a free tote"),
        ));
    }
    let transfers = pdb::transfers_of_parcel(tx.conn(), id).await?;
    let request = json!({ "parcel": id, "void": reason, "tote": tote });
    let hash = super::auth::sha256_hex(&request.to_string());
    let op_id = stock_db::insert_op(
        tx.conn(),
        "transfer",
        Some(&format!("parcel:{id}:void")),
        &hash,
        &actor.name,
    )
    .await?
    .ok_or_else(|| Error::conflict("not_closed", "this parcel is being voided"))?;
    let reference = format!(
        "void of parcel {} ({reason})",
        p.sscc.clone().unwrap_or_default()
    );
    let mut entries = Vec::new();
    for t in transfers.iter().filter(|t| t.quantity > 0) {
        let key = UnitKey {
            gtin: &t.gtin,
            lot: &t.lot,
            expiry: &t.expiry,
            location: &p.station,
            owner: &t.payer,
            status: "available",
        };
        let unit_id = stock_db::unit_id_by_key(tx.conn(), &key)
            .await?
            .ok_or_else(|| {
                Error::conflict("tote_mismatch", "the parcel's packs are not at the station")
            })?;
        let unit = stock_db::unit(tx.conn(), unit_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("stock unit {unit_id}")))?;
        entries.extend(
            transfer_leg(
                &mut tx,
                op_id,
                &unit,
                &tote,
                &t.producer,
                t.quantity,
                &reference,
                &actor.name,
            )
            .await?,
        );
        pdb::insert_transfer(
            tx.conn(),
            &pdb::NewTransfer {
                op_id,
                parcel_id: id,
                order_id: o.id,
                sscc: &t.sscc,
                gtin: &t.gtin,
                lot: &t.lot,
                expiry: &t.expiry,
                quantity: -t.quantity,
                producer: &t.producer,
                payer: &t.payer,
            },
        )
        .await?;
    }
    pdb::void_parcel(tx.conn(), id, &reason, &actor.name).await?;
    crate::store::bookings::cancel_of_parcel(tx.conn(), id).await?;
    if o.status == OrderStatus::Packed || o.tote.as_deref() != Some(tote.as_str()) {
        pdb::reopen_for_packing(tx.conn(), o.id, &tote).await?;
    }
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "parcel.void",
            subject: &format!("parcel:{id}"),
            purpose: None,
            detail: json!({ "sscc": p.sscc, "order": o.external_id, "reason": reason, "tote": tote }),
        },
    )
    .await?;
    tx.event(
        "stock.ownership_transferred",
        &format!("parcel:{id}"),
        &stock_db::event_payload("transfer", op_id, &entries),
    )
    .await?;
    tx.event(
        "parcel.voided",
        &format!("parcel:{id}"),
        &json!({ "parcel_id": id, "order": o.external_id, "sscc": p.sscc, "reason": reason, "tote": tote, "by": actor.name }),
    )
    .await?;
    if o.status == OrderStatus::Packed {
        super::orders::event(
            &mut tx,
            "order.picked",
            (o.id, &o.external_id, OrderStatus::Picked),
            json!({ "tote": tote, "reopened": "parcel voided" }),
        )
        .await?;
    }
    tx.commit().await?;
    ctx.metrics
        .parcels
        .get_or_create(&crate::metrics::OutcomeLabel {
            outcome: "voided".into(),
        })
        .inc();
    tracing::info!(parcel = id, order = %o.external_id, "parcel voided");
    view(ctx, id).await
}
