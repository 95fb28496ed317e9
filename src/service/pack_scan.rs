//! Scans at a pack station: a tote or order reference opens the order there; a pack's barcode
//! or a cut box's sticker is judged against the tote (`domain::packing`) and, when it belongs,
//! goes into the parcel once (its scan id is the idempotency key). A pack found damaged is
//! scrapped from the tote and picked again without losing what was verified.

use super::packing::{contents, find_order, refresh_open, station, view_from, view_of, PackView};
use super::{today, Actor, Ctx};
use crate::domain::order::OrderStatus;
use crate::domain::pack_scan::{self as reading, PackScanned};
use crate::domain::packing::{self as rules, Accepted, CutBox, Refusal};
use crate::error::{Error, Result};
use crate::store::orders::{self as orders_db, OrderRef};
use crate::store::packing as db;
use crate::store::parcels as pdb;
use crate::store::stock::{self as stock_db, NewLedger};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// One scan at the pack station.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackScanRequest {
    /// Client-made id of this scan: a retried scan is never counted twice.
    pub scan_id: String,
    /// The scan as typed by a keyboard-wedge handheld (or with its AIM id).
    pub data: String,
    /// Packs proven by this scan (default 1).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: Option<i64>,
}

/// The verdict on a pack scan, with the station's view after it (no personal data).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PackScanResult {
    pub accepted: bool,
    /// `packed`, `opened`, or the refusal: `not_in_order`, `wrong_lot`, `extra_item`,
    /// `lot_required`, `expiry_mismatch`, `lot_blocked`, `lot_expired`, `scan_cut_box`,
    /// `wrong_order`, `unknown_cut_box`, `cut_not_finished`, `already_packed`, `not_picked`,
    /// `no_order`, `unknown_code`, `unreadable`.
    pub code: String,
    pub message: String,
    pub message_da: String,
    pub replayed: bool,
    pub view: Option<PackView>,
}

/// A pack found damaged (or missing) at packing.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PackShortRequest)]
pub struct ShortRequest {
    /// Makes a retried report count once.
    pub request_key: Option<String>,
    pub gtin: String,
    pub lot: String,
    /// Packs (default 1).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: Option<i64>,
    /// What the packer found, for the ledger and the lead.
    pub reason: String,
}

fn name_of(lines: &[orders_db::LineRow], gtin: &str) -> String {
    lines
        .iter()
        .find(|l| l.gtin == gtin)
        .map(|l| l.product_name.clone())
        .unwrap_or_else(|| gtin.to_string())
}

enum Input<'a> {
    Wedge(&'a str),
    Serial(&'a [u8]),
}

fn refused(r: Refusal, view: Option<PackView>) -> PackScanResult {
    PackScanResult {
        accepted: false,
        code: r.code.into(),
        message: r.message,
        message_da: r.message_da,
        replayed: false,
        view,
    }
}

/// Judges one scan at the station (typed or from the page's wedge scanner).
pub async fn scan(
    ctx: &Ctx,
    actor: &Actor,
    station_code: &str,
    r: &PackScanRequest,
) -> Result<PackScanResult> {
    if r.data.chars().count() > 512 {
        return Err(Error::invalid("data", "a scan is at most 512 characters"));
    }
    let id = r.scan_id.trim();
    if id.is_empty() || id.chars().count() > 128 || id.chars().any(char::is_control) {
        return Err(Error::invalid("scan_id", "must be 1 to 128 characters"));
    }
    let qty = r.quantity.unwrap_or(1);
    if !(1..=1000).contains(&qty) {
        return Err(Error::invalid("quantity", "must be between 1 and 1000"));
    }
    scan_input(ctx, actor, station_code, id, Input::Wedge(&r.data), qty).await
}

/// A scan from a serial scanner bound to a pack station (workflow `packing`).
pub async fn station_scan(
    ctx: &Ctx,
    station_code: &str,
    key: &str,
    bytes: &[u8],
) -> Result<PackScanResult> {
    let actor = Actor {
        name: format!("station:{station_code}"),
        role: crate::domain::auth::Role::Packer,
    };
    scan_input(ctx, &actor, station_code, key, Input::Serial(bytes), 1).await
}

async fn scan_input(
    ctx: &Ctx,
    actor: &Actor,
    station_code: &str,
    scan_id: &str,
    input: Input<'_>,
    qty: i64,
) -> Result<PackScanResult> {
    let today = today();
    let mut tx = ctx.db.begin_write().await?;
    let backend = tx.backend();
    let station = station(tx.conn(), station_code).await?;
    let session = db::session(tx.conn(), &station).await?;
    let order = match session {
        Some(id) => orders_db::order_for_update(tx.conn(), backend, OrderRef::Id(id)).await?,
        None => None,
    };
    // What the open order's tote holds, read once for the verdict and the answer.
    let mut loaded = match &order {
        Some(o) => Some(contents(tx.conn(), o).await?),
        None => None,
    };
    let known_lots: Vec<String> = loaded
        .as_ref()
        .map(|c| c.units.iter().map(|u| u.lot.clone()).collect())
        .unwrap_or_default();
    let scanned = match input {
        Input::Wedge(t) => reading::read_wedge(t, &known_lots, today),
        Input::Serial(b) => reading::read_serial(b, today),
    };
    let outcome = |code: &str| {
        ctx.metrics
            .pack_scans
            .get_or_create(&crate::metrics::OutcomeLabel {
                outcome: code.into(),
            })
            .inc();
    };
    let scanned = match scanned {
        Ok(s) => s,
        Err(e) => {
            outcome("unreadable");
            let view = match (&order, loaded.take()) {
                (Some(o), Some(c)) => Some(view_from(ctx, tx.conn(), &station, o, c).await?),
                _ => None,
            };
            return Ok(refused(
                rules::refuse("unreadable", e.message, e.message_da),
                view,
            ));
        }
    };
    if let PackScanned::Code(code) = &scanned {
        let Some(o) = find_order(tx.conn(), code).await? else {
            outcome("unknown_code");
            let view = match (&order, loaded.take()) {
                (Some(o), Some(c)) => Some(view_from(ctx, tx.conn(), &station, o, c).await?),
                _ => None,
            };
            return Ok(refused(
                rules::refuse(
                    "unknown_code",
                    format!("{code} is no tote in use, order, product or cut box"),
                    format!("{code} er hverken en kasse i brug, en ordre, en vare eller en hulklip-æske"),
                ),
                view,
            ));
        };
        db::put_session(tx.conn(), &station, o.id, &actor.name).await?;
        let view = view_of(ctx, tx.conn(), &station, &o).await?;
        tx.commit().await?;
        outcome("opened");
        return Ok(PackScanResult {
            accepted: true,
            code: "opened".into(),
            message: format!("order {} opened at {station}", o.external_id),
            message_da: format!("Ordre {} åbnet på {station}", o.external_id),
            replayed: false,
            view: Some(view),
        });
    }
    let (Some(o), Some(c)) = (order, loaded) else {
        outcome("no_order");
        return Ok(refused(
            rules::refuse(
                "no_order",
                "scan the tote (or the order reference) first",
                "Scan kassen (eller ordrenummeret) først",
            ),
            None,
        ));
    };
    let key = format!("pack:{}:{scan_id}", o.id);
    if db::item_by_key(tx.conn(), &key).await?.is_some() {
        let view = view_from(ctx, tx.conn(), &station, &o, c).await?;
        return Ok(PackScanResult {
            accepted: true,
            code: "packed".into(),
            message: "already packed".into(),
            message_da: "Allerede pakket".into(),
            replayed: true,
            view: Some(view),
        });
    }
    if o.status != OrderStatus::Picked {
        outcome("not_picked");
        let r = if o.status == OrderStatus::Packed {
            rules::refuse(
                "already_packed",
                format!("order {} is packed", o.external_id),
                format!("Ordre {} er pakket", o.external_id),
            )
        } else {
            rules::refuse(
                "not_picked",
                format!(
                    "order {} is {}, not ready for packing",
                    o.external_id,
                    o.status.as_str()
                ),
                format!(
                    "Ordre {} er ikke klar til pakning ({})",
                    o.external_id,
                    o.status.as_str()
                ),
            )
        };
        let view = view_from(ctx, tx.conn(), &station, &o, c).await?;
        return Ok(refused(r, Some(view)));
    }
    let verdict = match &scanned {
        PackScanned::Item { gtin, lot, expiry } => {
            rules::judge_item(&c.lots, gtin, lot.as_deref(), *expiry, qty, today)
        }
        PackScanned::CutBox(job) => {
            let row = c.boxes.iter().find(|b| &b.job_id == job).cloned();
            let row = match row {
                Some(r) => Some(r),
                None => db::cut_job(tx.conn(), job).await?.map(|j| CutBox {
                    job_id: j.id,
                    order_id: j.order_id,
                    gtin: j.gtin,
                    product_name: j.product_name,
                    lot: j.lot,
                    expiry: j.expiry,
                    quantity: j.quantity,
                    cut_spec: String::new(),
                    state: j.state,
                    verified: false,
                    packed: j.parcel.is_some(),
                }),
            };
            rules::judge_cut_box(o.id, job, row.as_ref(), &c.lots, today)
        }
        PackScanned::Code(_) => unreachable!("codes open orders above"),
    };
    let accepted = match verdict {
        Err(r) => {
            outcome(r.code);
            tracing::info!(order = %o.external_id, %station, code = r.code, "pack scan refused");
            let view = view_from(ctx, tx.conn(), &station, &o, c).await?;
            return Ok(refused(r, Some(view)));
        }
        Ok(a) => a,
    };
    let parcel_id = match &c.open {
        Some(p) => {
            if p.station != station {
                pdb::set_parcel_station(tx.conn(), p.id, &station).await?;
            }
            p.id
        }
        None => {
            let tote = o.tote.clone().unwrap_or_default();
            pdb::insert_parcel(tx.conn(), o.id, &station, &tote, &actor.name).await?
        }
    };
    let (gtin, lot, expiry, n, job) = match &accepted {
        Accepted::Packs {
            gtin,
            lot,
            expiry,
            qty,
        } => (gtin, lot, expiry, *qty, None),
        Accepted::CutBox {
            job_id,
            gtin,
            lot,
            expiry,
            qty,
        } => (gtin, lot, expiry, *qty, Some(job_id.as_str())),
    };
    db::insert_item(
        tx.conn(),
        &db::NewItem {
            parcel_id,
            order_id: o.id,
            scan_key: &key,
            gtin,
            lot,
            expiry,
            quantity: n,
            cut_job: job,
            actor: &actor.name,
        },
    )
    .await?;
    tx.event(
        "parcel.item_packed",
        &format!("parcel:{parcel_id}"),
        &json!({ "parcel_id": parcel_id, "order": o.external_id, "gtin": gtin, "lot": lot, "qty": n,
                 "cut_job": job, "station": station, "by": actor.name }),
    )
    .await?;
    let name = name_of(&c.lines, gtin);
    let lot = lot.clone();
    let job = job.map(str::to_string);
    let c = refresh_open(tx.conn(), &o, c).await?;
    let view = view_from(ctx, tx.conn(), &station, &o, c).await?;
    tx.commit().await?;
    outcome("packed");
    let (message, message_da) = match job {
        Some(j) => (
            format!("cut box {j} ({n} x {name}) packed"),
            format!("Hulklip-æske {j} ({n} stk {name}) pakket"),
        ),
        None => (
            format!("{n} x {name} lot {lot} packed"),
            format!("{n} stk {name} lot {lot} pakket"),
        ),
    };
    Ok(PackScanResult {
        accepted: true,
        code: "packed".into(),
        message,
        message_da,
        replayed: false,
        view: Some(view),
    })
}

/// A pack found damaged at packing: scrapped from the tote (ledger `scrap`), the line's picked
/// count lowered, and a replacement wave picks it again into the same tote. What was scanned
/// into the parcel stays.
pub async fn short(
    ctx: &Ctx,
    actor: &Actor,
    station_code: &str,
    r: &ShortRequest,
) -> Result<PackView> {
    let qty = r.quantity.unwrap_or(1);
    if !(1..=1000).contains(&qty) {
        return Err(Error::invalid("quantity", "must be between 1 and 1000"));
    }
    let reason = crate::domain::stock::note("reason", &r.reason, true)?.unwrap_or_default();
    let gtin = crate::domain::gtin::Gtin::parse(&r.gtin)
        .map_err(|e| Error::invalid("gtin", e.to_string()))?
        .to_string();
    let lot = crate::domain::stock::Lot::parse(&r.lot)?;
    let key = match r.request_key.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(k) if k.len() > 128 => {
            return Err(Error::invalid(
                "request_key",
                "must be at most 128 characters",
            ))
        }
        Some(k) => Some(format!("packshort:{k}")),
    };
    let mut tx = ctx.db.begin_write().await?;
    let backend = tx.backend();
    let station = station(tx.conn(), station_code).await?;
    let id = db::session(tx.conn(), &station)
        .await?
        .ok_or_else(|| Error::conflict("no_order", "no order is open at this station"))?;
    let o = orders_db::order_for_update(tx.conn(), backend, OrderRef::Id(id))
        .await?
        .ok_or_else(|| Error::NotFound(format!("order {id}")))?;
    if let Some(k) = &key {
        if db::short_by_key(tx.conn(), k).await?.is_some() {
            let v = view_of(ctx, tx.conn(), &station, &o).await?;
            return Ok(v);
        }
    }
    if o.status != OrderStatus::Picked {
        return Err(Error::conflict(
            "not_picked",
            format!(
                "order {} is {}, not at packing",
                o.external_id,
                o.status.as_str()
            ),
        ));
    }
    let c = contents(tx.conn(), &o).await?;
    let Some(l) = c
        .lots
        .iter()
        .find(|l| l.gtin == gtin && l.lot == lot.as_str())
    else {
        return Err(Error::conflict(
            "not_in_order",
            format!("lot {} of {gtin} is not in the tote", lot.as_str()),
        ));
    };
    if l.to_scan() < qty {
        return Err(Error::conflict(
            "cut_or_scanned",
            format!(
                "only {} unscanned plain pack(s) of lot {} are in the tote (a damaged cut plate is reported at the cutting station)",
                l.to_scan(),
                lot.as_str()
            ),
        ));
    }
    let line = c
        .lines
        .iter()
        .filter(|x| x.gtin == gtin && x.cut.is_none() && x.picked >= qty)
        .max_by_key(|x| x.picked)
        .ok_or_else(|| Error::conflict("not_in_order", format!("no picked line of {gtin}")))?
        .clone();
    let unit = c
        .units
        .iter()
        .find(|u| u.gtin == gtin && u.lot == lot.as_str() && u.qty >= qty)
        .ok_or_else(|| Error::conflict("not_in_order", "the tote has no such unit"))?
        .clone();
    let op_key = key.clone().unwrap_or_else(|| {
        format!(
            "packshort:{}:{}",
            o.id,
            crate::service::auth::random_secret(8)
        )
    });
    let hash = super::auth::sha256_hex(&format!("{}:{gtin}:{}:{qty}", o.id, lot.as_str()));
    let op_id = stock_db::insert_op(tx.conn(), "scrap", Some(&op_key), &hash, &actor.name)
        .await?
        .ok_or_else(|| Error::conflict("idempotency_key_in_use", "this short is being reported"))?;
    let Ok((before, after)) = stock_db::change_qty(tx.conn(), unit.unit_id, -qty).await? else {
        return Err(Error::conflict(
            "not_in_order",
            "the tote holds fewer packs",
        ));
    };
    let why = format!("damaged: found at packing: {reason}");
    let reference = format!(
        "order {} tote {}",
        o.external_id,
        o.tote.clone().unwrap_or_default()
    );
    let entry = stock_db::insert_ledger(
        tx.conn(),
        &NewLedger {
            op_id,
            unit_id: unit.unit_id,
            kind: "scrap",
            gtin: &gtin,
            owner: &unit.owner,
            location: o.tote.as_deref().unwrap_or_default(),
            delta: -qty,
            before,
            after,
            reason: Some(&why),
            reference: Some(&reference),
            actor: &actor.name,
        },
    )
    .await?;
    db::unpick_line(tx.conn(), line.id, qty).await?;
    let wave = super::picking::replacement_wave(&mut tx, o.id, line.id, qty).await?;
    db::insert_short(
        tx.conn(),
        &db::NewShort {
            order_id: o.id,
            line_id: line.id,
            gtin: &gtin,
            lot: lot.as_str(),
            quantity: qty,
            reason: &reason,
            state: if wave.is_some() { "picking" } else { "short" },
            wave_id: wave,
            request_key: key.as_deref(),
            actor: &actor.name,
        },
    )
    .await?;
    tx.event(
        "stock.scrapped",
        &format!("stock_unit:{}", unit.unit_id),
        &stock_db::event_payload("scrap", op_id, std::slice::from_ref(&entry)),
    )
    .await?;
    tx.event(
        "order.pack_short",
        &format!("order:{}", o.external_id),
        &json!({ "order": o.external_id, "gtin": gtin, "lot": lot.as_str(), "qty": qty,
                 "replacement_wave": wave, "by": actor.name }),
    )
    .await?;
    let v = view_of(ctx, tx.conn(), &station, &o).await?;
    tx.commit().await?;
    tracing::info!(order = %o.external_id, %gtin, qty, ?wave, "short at packing: scrapped and picked again");
    Ok(v)
}

/// Damaged packs whose replacement found no stock: they wait for a lead.
pub async fn open_shorts(ctx: &Ctx) -> Result<Vec<db::ShortRow>> {
    Ok(db::open_shorts(ctx.db.pool()).await?)
}

/// A lead tries a short's replacement pick again once stock has come in; refused while the stock
/// is still missing. Audit-logged.
pub async fn retry_short(ctx: &Ctx, actor: &Actor, id: i64) -> Result<db::ShortRow> {
    let mut tx = ctx.db.begin_write().await?;
    let s = db::short(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("pack short {id}")))?;
    if s.state != "short" {
        return Err(Error::conflict(
            "short_not_waiting",
            format!(
                "short {id} is {}: only one waiting for stock is tried again",
                s.state
            ),
        ));
    }
    let Some(wave) =
        super::picking::replacement_wave(&mut tx, s.order_id, s.line_id, s.quantity).await?
    else {
        return Err(Error::conflict(
            "no_stock",
            format!(
                "there is still no stock for {} pack(s) of {}",
                s.quantity, s.gtin
            ),
        ));
    };
    db::short_to_wave(tx.conn(), id, wave).await?;
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "pack_short.retry",
            subject: &format!("pack_short:{id}"),
            purpose: None,
            detail: json!({ "wave_id": wave, "order_id": s.order_id }),
        },
    )
    .await?;
    let s = db::short(tx.conn(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("pack short {id}")))?;
    tx.commit().await?;
    Ok(s)
}
