//! A closed parcel's documents: the shipping label on the station's label printer and the A4
//! packing slip on its document printer, both through the spooler once the order's last parcel
//! has closed (so that every label carries its n/m), queued again after a restart if a stop came
//! between; their reprints; and the packing slip as a PDF to download.

use super::parcel_view::{view, ParcelView};
use super::{Actor, Ctx};
use crate::error::{Error, Result};
use crate::store::orders::{self as orders_db, OrderRow};
use crate::store::packing as db;
use crate::store::parcels::{self as pdb, ParcelRow};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Document {
    Label,
    Slip,
    /// The label the carrier returned with the booking (PostNord's).
    CarrierLabel,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ParcelReprintRequest)]
pub struct ReprintRequest {
    /// `label` (the shipping label), `slip` (the packing slip, on a document printer) or
    /// `carrier_label` (the carrier's own label, when it returned one).
    pub document: Document,
    /// Another printer than the station's.
    pub printer: Option<String>,
}

/// The label printer of a pack station: configured, or one registered with the station whose
/// labels fit the shipping label.
async fn label_printer(ctx: &Ctx, station: &str) -> Result<String> {
    if let Some(s) = ctx.config.packing.stations.iter().find(|s| s.id == station) {
        return Ok(s.label_printer.clone());
    }
    let printers = crate::store::printing::list_printers(ctx.db.pool()).await?;
    printers
        .iter()
        .filter(|p| p.enabled && p.kind == "zpl" && p.station.as_deref() == Some(station))
        .find(|p| p.label_width_mm + 1.0 >= 100.0 && p.label_height_mm + 1.0 >= 150.0)
        .map(|p| p.id.clone())
        .ok_or_else(|| {
            Error::conflict(
                "no_label_printer",
                format!("pack station {station} has no label printer for 100 x 150 mm labels"),
            )
        })
}

/// The document printer of a pack station, if it has one: configured, or a `pdf` printer
/// registered with the station.
async fn document_printer(ctx: &Ctx, station: &str) -> Result<Option<String>> {
    if let Some(s) = ctx.config.packing.stations.iter().find(|s| s.id == station) {
        if s.document_printer.is_some() {
            return Ok(s.document_printer.clone());
        }
    }
    let printers = crate::store::printing::list_printers(ctx.db.pool()).await?;
    Ok(printers
        .into_iter()
        .find(|p| p.enabled && p.kind == "pdf" && p.station.as_deref() == Some(station))
        .map(|p| p.id))
}

fn shipping_data(ctx: &Ctx, o: &OrderRow, p: &ParcelRow) -> serde_json::Value {
    let cfg = &ctx.config.packing;
    let address = match &o.address_line2 {
        Some(l2) if !l2.trim().is_empty() => format!("{}, {l2}", o.address_line1),
        _ => o.address_line1.clone(),
    };
    json!({
        "sender_name": cfg.sender_name,
        "sender_address": cfg.sender_address,
        "recipient_name": o.recipient_name,
        "recipient_address": address,
        "recipient_postcode": o.postcode,
        "recipient_city": o.city,
        "carrier": cfg.carrier,
        "service": cfg.service,
        "parcel": format!("{}/{}", p.seq.unwrap_or(1), p.parcels_total.unwrap_or(1)),
        "order_ref": o.external_id,
        "sscc": p.sscc,
    })
}

/// Queues the shipping label and the packing slip of every closed parcel of a packed order
/// that has none yet (the request keys make a repeat, after a restart for example, answer the
/// same job). A station without a document printer prints no slip (it stays a PDF to open).
pub async fn print_labels(ctx: &Ctx, order_id: i64) -> Result<()> {
    let (o, parcels) = {
        let mut conn = ctx.db.pool().acquire().await?;
        let o = orders_db::order_by_id(&mut conn, order_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("order {order_id}")))?;
        (o, pdb::parcels_of_order(&mut conn, order_id).await?)
    };
    for p in parcels
        .iter()
        .filter(|p| p.state == "closed" && p.label_job.is_none())
    {
        let printer = label_printer(ctx, &p.station).await?;
        let job = super::printing::print(
            ctx,
            &Actor::system(),
            &super::printing::PrintRequest {
                printer,
                template: "shipping".into(),
                data: Some(shipping_data(ctx, &o, p)),
                sample: false,
                request_key: Some(format!(
                    "parcel-{}-label-{}of{}",
                    p.id,
                    p.seq.unwrap_or(1),
                    p.parcels_total.unwrap_or(1)
                )),
                subject: p.sscc.as_ref().map(|s| format!("parcel {s}")),
            },
        )
        .await?;
        let mut tx = ctx.db.begin_write().await?;
        pdb::set_jobs(tx.conn(), p.id, Some(&job.id), None).await?;
        tx.commit().await?;
    }
    for p in parcels
        .iter()
        .filter(|p| p.state == "closed" && p.slip_job.is_none())
    {
        let Some(printer) = document_printer(ctx, &p.station).await? else {
            continue;
        };
        let (pdf, _) = slip_pdf(ctx, p.id).await?;
        let job = super::printing::print_document(
            ctx,
            &Actor::system(),
            &printer,
            "packing-slip",
            &pdf,
            &format!("parcel-{}-slip", p.id),
            p.sscc.as_ref().map(|s| format!("parcel {s}")).as_deref(),
        )
        .await?;
        let mut tx = ctx.db.begin_write().await?;
        pdb::set_jobs(tx.conn(), p.id, None, Some(&job.id)).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Prints the label a carrier returned with a booking on the parcel's pack station's label
/// printer, once (the request key makes a repeat answer the same job).
pub(crate) async fn print_carrier_label(ctx: &Ctx, booking_id: i64) -> Result<()> {
    let (b, label, p) = {
        let mut conn = ctx.db.pool().acquire().await?;
        let b = crate::store::bookings::booking(&mut conn, booking_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("booking {booking_id}")))?;
        let Some(label) = crate::store::bookings::carrier_label(&mut conn, booking_id).await?
        else {
            return Ok(());
        };
        let p = pdb::parcel(&mut conn, b.parcel_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("parcel {}", b.parcel_id)))?;
        (b, label, p)
    };
    if label.0 != "zpl" {
        return Err(Error::conflict(
            "label_format",
            format!(
                "{} returned a {} label; label printers take zpl",
                b.carrier, label.0
            ),
        ));
    }
    let printer = label_printer(ctx, &p.station).await?;
    let job = super::printing::print_zpl(
        ctx,
        &Actor::system(),
        &printer,
        &format!("carrier-{}", b.carrier),
        &label.1,
        &format!("booking-{booking_id}-carrier-label"),
        p.sscc.as_ref().map(|s| format!("parcel {s}")).as_deref(),
    )
    .await?;
    let mut tx = ctx.db.begin_write().await?;
    crate::store::bookings::set_label_job(tx.conn(), booking_id, &job.id).await?;
    tx.commit().await?;
    Ok(())
}

/// At start: prints the labels a stop between closing and printing left unprinted.
pub async fn resume_printing(ctx: &Ctx) -> Result<usize> {
    let mut orders: Vec<i64> = pdb::unprinted(ctx.db.pool(), 1000)
        .await?
        .into_iter()
        .map(|p| p.order_id)
        .collect();
    orders.dedup();
    for id in &orders {
        if let Err(e) = print_labels(ctx, *id).await {
            tracing::warn!(order_id = id, error = %e, "cannot print a parcel's label");
        }
    }
    Ok(orders.len())
}

/// Prints a closed parcel's shipping label or packing slip again, as a new job (audit-logged:
/// both name the recipient).
pub async fn reprint(ctx: &Ctx, actor: &Actor, id: i64, r: &ReprintRequest) -> Result<ParcelView> {
    let p = {
        let mut conn = ctx.db.pool().acquire().await?;
        pdb::parcel(&mut conn, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("parcel {id}")))?
    };
    if p.state != "closed" {
        return Err(Error::conflict(
            "not_closed",
            format!(
                "parcel {id} is {}: only a closed parcel's label is printed",
                p.state
            ),
        ));
    }
    let booking = {
        let mut conn = ctx.db.pool().acquire().await?;
        crate::store::bookings::of_parcel(&mut conn, id).await?
    };
    let carrier_job = booking.as_ref().and_then(|b| b.label_job.clone());
    let (job, what) = match r.document {
        Document::Label => (&p.label_job, "shipping label"),
        Document::Slip => (&p.slip_job, "packing slip"),
        Document::CarrierLabel => (&carrier_job, "carrier label"),
    };
    let Some(job) = job else {
        return Err(Error::conflict(
            "not_printed",
            format!(
                "parcel {id}'s {what} has not been printed (the order has parcels still open, or the station has no document printer: open packing-slip.pdf)"
            ),
        ));
    };
    let j = super::printing::reprint(
        ctx,
        actor,
        job,
        r.printer.as_deref(),
        Some("the parcel's label or slip printed again at the pack station"),
    )
    .await?;
    let mut tx = ctx.db.begin_write().await?;
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "parcel.reprint",
            subject: &format!("parcel:{id}"),
            purpose: Some(what),
            detail: json!({ "job": j.id, "reprint_of": job, "printer": j.printer_id }),
        },
    )
    .await?;
    match (r.document, &booking) {
        (Document::Label, _) => pdb::set_jobs(tx.conn(), id, Some(&j.id), None).await?,
        (Document::Slip, _) => pdb::set_jobs(tx.conn(), id, None, Some(&j.id)).await?,
        (Document::CarrierLabel, Some(b)) => {
            crate::store::bookings::set_label_job(tx.conn(), b.id, &j.id).await?
        }
        (Document::CarrierLabel, None) => {}
    }
    tx.commit().await?;
    view(ctx, id).await
}

/// The packing slip of a parcel as an A4 PDF for a person to open: the read is audit-logged.
pub async fn packing_slip(ctx: &Ctx, actor: &Actor, id: i64) -> Result<Vec<u8>> {
    let (pdf, o) = slip_pdf(ctx, id).await?;
    let mut tx = ctx.db.begin_write().await?;
    crate::store::audit::append(
        tx.conn(),
        crate::store::audit::NewAudit {
            actor: &actor.name,
            action: "parcel.packing_slip",
            subject: &format!("order:{}", o.external_id),
            purpose: Some("packing slip"),
            detail: json!({ "parcel": id, "citizen_id": o.citizen_id }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(pdf)
}

/// The packing slip of a parcel as an A4 PDF: order, recipient and every line with product,
/// producer, quantity, lot, expiry and cut spec; no prices.
async fn slip_pdf(ctx: &Ctx, id: i64) -> Result<(Vec<u8>, OrderRow)> {
    let (p, o, items, jobs) = {
        let mut conn = ctx.db.pool().acquire().await?;
        let p = pdb::parcel(&mut conn, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("parcel {id}")))?;
        let o = orders_db::order_by_id(&mut conn, p.order_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("order {}", p.order_id)))?;
        let items = db::items_of_parcel(&mut conn, id).await?;
        let jobs = db::cut_jobs_of_order(&mut conn, o.id).await?;
        (p, o, items, jobs)
    };
    let producers = crate::store::catalog::list_producers(ctx.db.pool()).await?;
    let producer = |code: &str| {
        producers
            .iter()
            .find(|p| p.code == code)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| code.to_string())
    };
    // One line per product, lot and cut box, however many scans put it in.
    let mut merged: Vec<db::ItemRow> = Vec::new();
    for i in items {
        match merged.iter_mut().find(|m| {
            m.gtin == i.gtin && m.lot == i.lot && m.expiry == i.expiry && m.cut_job == i.cut_job
        }) {
            Some(m) => m.quantity += i.quantity,
            None => merged.push(i),
        }
    }
    let lines: Vec<serde_json::Value> = merged
        .iter()
        .map(|i| {
            let cut = i
                .cut_job
                .as_ref()
                .and_then(|j| jobs.iter().find(|x| &x.id == j))
                .and_then(|j| serde_json::from_str::<serde_json::Value>(&j.sticker).ok())
                .and_then(|v| v["cut_spec"].as_str().map(str::to_string))
                .unwrap_or_default();
            json!({ "product": i.product_name, "producer": producer(&i.producer), "quantity": format!("{} stk", i.quantity),
                    "lot": i.lot, "expiry": i.expiry, "cut": cut })
        })
        .collect();
    let cfg = &ctx.config.packing;
    let address = match &o.address_line2 {
        Some(l2) if !l2.trim().is_empty() => format!("{}, {l2}", o.address_line1),
        _ => o.address_line1.clone(),
    };
    let packed_at = p
        .closed_at
        .as_deref()
        .and_then(crate::domain::time::from_db)
        .map(|t| {
            t.with_timezone(&chrono_tz::Europe::Copenhagen)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "-".into());
    let data = json!({
        "sender_name": cfg.sender_name, "sender_address": cfg.sender_address, "order_ref": o.external_id,
        "delivery_date": o.delivery_date.to_string(), "recipient_name": o.recipient_name,
        "recipient_address": address, "recipient_postcode": o.postcode, "recipient_city": o.city,
        "packed_at": packed_at, "lines": lines,
    });
    let pdf = super::printing::render(
        ctx,
        "packing-slip",
        Some(&data),
        crate::labels::Format::Pdf,
        203,
    )
    .await?;
    Ok((pdf, o))
}
