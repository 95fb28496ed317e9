//! The pack station: a packer scans a tote (or an order reference) to open the order at the
//! station, then scans every pack and cut box into the parcel; each scan is judged against what
//! lies in the tote and stored once (its scan id is the idempotency key). A pack found damaged
//! is scrapped from the tote and picked again without losing what was verified. Closing, voiding
//! and reprinting are in `parcels`.

use super::{Actor, Ctx};
use crate::domain::order::OrderStatus;
use crate::domain::packing::{self as rules, CutBox, Missing, ParcelType, ToteLot};
use crate::error::{Error, Result};
use crate::service::views;
use crate::store::orders::{self as orders_db, OrderRow};
use crate::store::packing::{self as db, ItemRow};
use crate::store::parcels::{self as pdb, ParcelRow};
use crate::store::WriteTx;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;
use std::collections::BTreeMap;

/// The recipient as the packer needs to see it (an audited read).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Recipient {
    pub name: String,
    pub postcode: String,
}

/// One order line with how much of it was picked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PackLine {
    pub line_no: i64,
    pub gtin: String,
    pub product_name: String,
    pub quantity: i64,
    pub picked: i64,
    /// The cut spec in words for a cut-to-fit line.
    pub cut: Option<String>,
}

/// Everything the pack station shows for the order it is packing.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PackView {
    pub station: String,
    pub order_id: i64,
    /// The ordering system's reference (pseudonymous).
    pub external_id: String,
    pub status: OrderStatus,
    pub tote: Option<String>,
    /// Only when asked for (`with_recipient`); the read is audit-logged.
    pub recipient: Option<Recipient>,
    pub lines: Vec<PackLine>,
    /// The packs in the tote by lot, with what is already scanned.
    pub lots: Vec<ToteLot>,
    pub cut_boxes: Vec<CutBox>,
    /// The parcel being filled, with what was scanned into it.
    pub open_parcel: Option<views::parcels::Parcel>,
    pub items: Vec<views::packing::PackItem>,
    /// The order's closed and voided parcels.
    pub parcels: Vec<views::parcels::Parcel>,
    pub shorts: Vec<views::packing::ShortItem>,
    /// What must still go in before the last parcel may close.
    pub missing: Vec<Missing>,
    /// Nothing is missing: the parcel can close as the order's last.
    pub complete: bool,
    /// The open parcel's weight from the product master, when every product has a weight.
    pub estimated_weight_g: Option<i64>,
    pub parcel_types: Vec<ParcelType>,
}

/// Opening an order at a station: a tote label or the order's reference.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenRequest {
    pub code: String,
}

/// The station code, checked: a location of kind `packing`.
pub(crate) async fn station(conn: &mut AnyConnection, code: &str) -> Result<String> {
    let code = crate::domain::catalog::LocationCode::parse(code)
        .map_err(|e| Error::invalid("station", e.message))?;
    match crate::store::catalog::location(conn, code.as_str()).await? {
        Some(l) if l.kind == "packing" => Ok(l.code),
        Some(l) => Err(Error::invalid(
            "station",
            format!("{} is a {} location, not a pack station", l.code, l.kind),
        )),
        None => Err(Error::NotFound(format!("pack station {}", code.as_str()))),
    }
}

/// The pack stations: the locations of kind `packing`.
pub async fn stations(ctx: &Ctx) -> Result<Vec<String>> {
    Ok(
        crate::store::catalog::list_locations(ctx.db.pool(), Some("packing"), None)
            .await?
            .into_iter()
            .map(|l| l.code)
            .collect(),
    )
}

/// What lies in the order's tote, its cut boxes and what is short: the state every verdict and
/// the view are built from.
pub(crate) struct Contents {
    pub lines: Vec<orders_db::LineRow>,
    pub lots: Vec<ToteLot>,
    pub boxes: Vec<CutBox>,
    pub units: Vec<db::ToteUnit>,
    pub parcels: Vec<ParcelRow>,
    pub open: Option<ParcelRow>,
    pub items: Vec<ItemRow>,
    pub missing: Vec<Missing>,
    jobs: Vec<db::CutJobRow>,
    blocks: Vec<(String, String, String)>,
}

pub(crate) async fn contents(conn: &mut AnyConnection, o: &OrderRow) -> Result<Contents> {
    let lines = orders_db::lines(conn, o.id).await?;
    let units = match &o.tote {
        Some(t)
            if matches!(
                o.status,
                OrderStatus::Picking | OrderStatus::Picked | OrderStatus::Cutting
            ) =>
        {
            db::tote_units(conn, t).await?
        }
        _ => Vec::new(),
    };
    let parcels = pdb::parcels_of_order(conn, o.id).await?;
    let open = parcels.iter().find(|p| p.state == "open").cloned();
    let items = match &open {
        Some(p) => db::items_of_parcel(conn, p.id).await?,
        None => Vec::new(),
    };
    let jobs = db::cut_jobs_of_order(conn, o.id).await?;
    let mut gtins: Vec<String> = units.iter().map(|u| u.gtin.clone()).collect();
    gtins.sort();
    gtins.dedup();
    let blocks = db::blocks_of(conn, &gtins).await?;
    Ok(assemble(Contents {
        lines,
        lots: Vec::new(),
        boxes: Vec::new(),
        units,
        parcels,
        open,
        items,
        missing: Vec::new(),
        jobs,
        blocks,
    }))
}

/// Reads the parcel being filled again (after a scan went into it) and assembles anew.
pub(crate) async fn refresh_open(
    conn: &mut AnyConnection,
    o: &OrderRow,
    mut c: Contents,
) -> Result<Contents> {
    if c.open.is_none() {
        c.parcels = pdb::parcels_of_order(conn, o.id).await?;
        c.open = c.parcels.iter().find(|p| p.state == "open").cloned();
    }
    if let Some(p) = &c.open {
        c.items = db::items_of_parcel(conn, p.id).await?;
        c.jobs = db::cut_jobs_of_order(conn, o.id).await?;
    }
    Ok(assemble(c))
}

/// What is in the tote by lot, the cut boxes, and what is missing, from what was read.
fn assemble(mut c: Contents) -> Contents {
    let (units, jobs, blocks, items, lines) = (&c.units, &c.jobs, &c.blocks, &c.items, &c.lines);
    let mut by_lot: BTreeMap<(String, String, String), ToteLot> = BTreeMap::new();
    for u in units {
        let l = by_lot
            .entry((u.gtin.clone(), u.lot.clone(), u.expiry.clone()))
            .or_insert_with(|| ToteLot {
                gtin: u.gtin.clone(),
                product_name: u.product_name.clone(),
                lot: u.lot.clone(),
                expiry: u.expiry.clone(),
                in_tote: 0,
                in_cut_boxes: 0,
                verified: 0,
                blocked: None,
            });
        l.in_tote += u.qty;
        if u.status != "available" {
            l.blocked = Some(format!("{} packs are in quarantine", u.qty));
        }
    }
    for l in by_lot.values_mut() {
        if let Some((_, _, why)) = blocks.iter().find(|b| b.0 == l.gtin && b.1 == l.lot) {
            l.blocked = Some(why.clone());
        }
    }
    let mut boxes = Vec::new();
    for j in jobs {
        let packed = j.parcel.as_ref().is_some_and(|(_, s)| s == "closed");
        let verified = j.parcel.as_ref().is_some_and(|(_, s)| s == "open");
        if !packed {
            if let Some(l) = by_lot.get_mut(&(j.gtin.clone(), j.lot.clone(), j.expiry.clone())) {
                l.in_cut_boxes += j.quantity;
            }
        }
        let cut_spec = serde_json::from_str::<serde_json::Value>(&j.sticker)
            .ok()
            .and_then(|v| v["cut_spec"].as_str().map(str::to_string))
            .unwrap_or_default();
        boxes.push(CutBox {
            job_id: j.id.clone(),
            order_id: j.order_id,
            gtin: j.gtin.clone(),
            product_name: j.product_name.clone(),
            lot: j.lot.clone(),
            expiry: j.expiry.clone(),
            quantity: j.quantity,
            cut_spec,
            state: j.state.clone(),
            verified,
            packed,
        });
    }
    for i in items.iter().filter(|i| i.cut_job.is_none()) {
        if let Some(l) = by_lot.get_mut(&(i.gtin.clone(), i.lot.clone(), i.expiry.clone())) {
            l.verified += i.quantity;
        }
    }
    let lots: Vec<ToteLot> = by_lot.into_values().collect();
    let short: Vec<(String, i64)> = lines
        .iter()
        .filter(|l| l.picked < l.quantity)
        .map(|l| (l.product_name.clone(), l.quantity - l.picked))
        .collect();
    c.missing = rules::missing(&lots, &boxes, &short);
    c.lots = lots;
    c.boxes = boxes;
    c
}

pub(crate) async fn view_of(
    ctx: &Ctx,
    conn: &mut AnyConnection,
    station: &str,
    o: &OrderRow,
) -> Result<PackView> {
    let c = contents(conn, o).await?;
    view_from(ctx, conn, station, o, c).await
}

pub(crate) async fn view_from(
    ctx: &Ctx,
    conn: &mut AnyConnection,
    station: &str,
    o: &OrderRow,
    c: Contents,
) -> Result<PackView> {
    let parcels: Vec<ParcelRow> = c
        .parcels
        .iter()
        .filter(|p| p.state != "open")
        .cloned()
        .collect();
    let shorts = db::shorts_of_order(conn, o.id).await?;
    let packs: Vec<(String, Option<i64>, i64)> = c
        .items
        .iter()
        .map(|i| (i.product_name.clone(), i.weight_g, i.quantity))
        .collect();
    let estimated_weight_g = ctx
        .config
        .packing
        .parcel_types
        .first()
        .filter(|_| !packs.is_empty())
        .and_then(|t| rules::parcel_weight(&packs, t.tare_g, None).ok())
        .map(|(g, _)| g);
    Ok(PackView {
        station: station.to_string(),
        order_id: o.id,
        external_id: o.external_id.clone(),
        status: o.status,
        tote: o.tote.clone(),
        recipient: None,
        lines: c
            .lines
            .iter()
            .map(|l| PackLine {
                line_no: l.line_no,
                gtin: l.gtin.clone(),
                product_name: l.product_name.clone(),
                quantity: l.quantity,
                picked: l.picked,
                cut: l.cut.as_ref().map(|s| s.describe()),
            })
            .collect(),
        complete: c.missing.is_empty() && o.status == OrderStatus::Picked,
        lots: c.lots,
        cut_boxes: c.boxes,
        open_parcel: c.open.map(Into::into),
        items: views::all(c.items),
        parcels: views::all(parcels),
        shorts: views::all(shorts),
        missing: c.missing,
        estimated_weight_g,
        parcel_types: ctx.config.packing.parcel_types.clone(),
    })
}

/// Finds the order a code names: the order in a tote, or an order by its reference.
pub(crate) async fn find_order(conn: &mut AnyConnection, code: &str) -> Result<Option<OrderRow>> {
    let code = code.trim();
    if code.is_empty() || code.len() > 64 {
        return Ok(None);
    }
    if let Some(id) = db::order_in_tote(conn, &code.to_ascii_uppercase()).await? {
        return Ok(orders_db::order_by_id(conn, id).await?);
    }
    Ok(orders_db::order_by_external(conn, code).await?)
}

/// Reads the recipient for the packer: audit-logged with the station as the purpose's context.
async fn read_recipient(
    tx: &mut WriteTx,
    actor: &Actor,
    station: &str,
    o: &OrderRow,
) -> Result<Recipient> {
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "order.read",
            subject: &format!("order:{}", o.external_id),
            purpose: Some("packing"),
            detail: json!({ "citizen_id": o.citizen_id, "station": station, "fields": ["name", "postcode"] }),
        },
    )
    .await?;
    Ok(Recipient {
        name: o.recipient_name.clone(),
        postcode: o.postcode.clone(),
    })
}

/// Opens the order in a tote (or by reference) at the station.
pub async fn open(ctx: &Ctx, actor: &Actor, station_code: &str, code: &str) -> Result<PackView> {
    let mut tx = ctx.db.begin_write().await?;
    let station = station(tx.conn(), station_code).await?;
    let o = find_order(tx.conn(), code).await?.ok_or_else(|| {
        Error::NotFound(format!(
            "an order in tote or with reference {}",
            code.trim()
        ))
    })?;
    db::put_session(tx.conn(), &station, o.id, &actor.name).await?;
    let recipient = read_recipient(&mut tx, actor, &station, &o).await?;
    let mut v = view_of(ctx, tx.conn(), &station, &o).await?;
    tx.commit().await?;
    v.recipient = Some(recipient);
    Ok(v)
}

/// The order packed at the station now, if any; with the recipient (an audited read) on request.
pub async fn current(
    ctx: &Ctx,
    actor: &Actor,
    station_code: &str,
    with_recipient: bool,
) -> Result<Option<PackView>> {
    // A read (the page polls it): no write lock unless the recipient's read is to be logged.
    let mut conn = ctx.db.pool().acquire().await?;
    let station = station(&mut conn, station_code).await?;
    let Some(id) = db::session(&mut conn, &station).await? else {
        return Ok(None);
    };
    let Some(o) = orders_db::order_by_id(&mut conn, id).await? else {
        return Ok(None);
    };
    let mut v = view_of(ctx, &mut conn, &station, &o).await?;
    drop(conn);
    if with_recipient {
        let mut tx = ctx.db.begin_write().await?;
        v.recipient = Some(read_recipient(&mut tx, actor, &station, &o).await?);
        tx.commit().await?;
    }
    Ok(Some(v))
}

/// Ends the station's session (the packer walks away from an order).
pub async fn leave(ctx: &Ctx, station_code: &str) -> Result<()> {
    let mut tx = ctx.db.begin_write().await?;
    let station = station(tx.conn(), station_code).await?;
    if let Some(id) = db::session(tx.conn(), &station).await? {
        db::end_sessions_of(tx.conn(), id).await?;
    }
    tx.commit().await?;
    Ok(())
}
