//! A day's cutting jobs, parcels, bookings, cages, handovers and deliveries.

use super::rows::{insert, insert_auto, row};
use super::{CutJob, Day};
use crate::store::Backend;
use sqlx::AnyConnection;

pub(super) async fn write_cuts(
    conn: &mut AnyConnection,
    backend: Backend,
    day: &Day,
) -> Result<usize, sqlx::Error> {
    let id = |j: &CutJob| format!("H{:08}", j.seq);
    let jobs = day.cut_jobs.iter().map(|j| {
        row![
            j.seq,
            id(j),
            j.order_id,
            j.line_id,
            "history",
            &j.line_ref,
            &j.gtin,
            &j.lot,
            &j.expiry,
            j.quantity,
            j.shape,
            1.0f64,
            "",
            "finished",
            j.station.as_deref(),
            j.quantity,
            &j.queued_at,
            &j.finished_at,
        ]
    });
    let mut n = insert(
        conn,
        backend,
        "cut_jobs",
        &[
            "seq",
            "id",
            "order_id",
            "line_id",
            "content_hash",
            "line_ref",
            "gtin",
            "lot",
            "expiry",
            "quantity",
            "shape",
            "tolerance_mm",
            "sticker",
            "state",
            "station_id",
            "done",
            "created_at",
            "updated_at",
        ],
        jobs.collect(),
    )
    .await?;
    let log = day.cut_jobs.iter().flat_map(|j| {
        [
            row![id(j), "queued", None::<&str>, "history", &j.queued_at],
            row![
                id(j),
                "finished",
                j.station.as_deref(),
                "history",
                &j.finished_at
            ],
        ]
    });
    n += insert_auto(
        conn,
        backend,
        "cut_job_log",
        &["job_id", "state", "station_id", "detail", "at"],
        log.collect(),
    )
    .await?;
    Ok(n)
}

pub(super) async fn write_parcels(
    conn: &mut AnyConnection,
    backend: Backend,
    day: &Day,
    first_serial: i64,
    sscc: &dyn Fn(i64) -> Option<String>,
) -> Result<usize, sqlx::Error> {
    let cages = day.cages.iter().map(|c| {
        row![
            c.id,
            &c.code,
            &c.carrier,
            &c.day,
            "closed",
            &day.actor,
            &c.opened_at,
            &day.actor,
            &c.closed_at,
        ]
    });
    let mut n = insert(
        conn,
        backend,
        "cages",
        &[
            "id",
            "code",
            "carrier",
            "day",
            "state",
            "opened_by",
            "opened_at",
            "closed_by",
            "closed_at",
        ],
        cages.collect(),
    )
    .await?;
    let parcels = day.parcels.iter().enumerate().map(|(i, p)| {
        row![
            p.id,
            p.order_id,
            1i64,
            "closed",
            &p.station,
            "HISTORY",
            sscc(first_serial + i as i64),
            "M",
            p.weight_g,
            "computed",
            1i64,
            "handed_over",
            &p.packer,
            &p.opened_at,
            &p.packer,
            &p.closed_at,
        ]
    });
    n += insert(
        conn,
        backend,
        "parcels",
        &[
            "id",
            "order_id",
            "seq",
            "state",
            "station",
            "tote",
            "sscc",
            "parcel_type",
            "weight_g",
            "weight_source",
            "parcels_total",
            "booking_state",
            "opened_by",
            "opened_at",
            "closed_by",
            "closed_at",
        ],
        parcels.collect(),
    )
    .await?;
    let bookings = day.parcels.iter().map(|p| {
        let (status, at) = match &p.delivered_at {
            Some(d) => ("delivered", d),
            None => ("in_transit", &p.handed_at),
        };
        row![
            p.booking_id,
            p.id,
            &p.carrier,
            "17",
            "booked",
            1i64,
            &p.closed_at,
            &p.tracking_number,
            &p.closed_at,
            at,
            status,
            at,
        ]
    });
    n += insert(
        conn,
        backend,
        "bookings",
        &[
            "id",
            "parcel_id",
            "carrier",
            "service",
            "state",
            "attempts",
            "next_attempt_at",
            "tracking_number",
            "created_at",
            "updated_at",
            "tracking_status",
            "tracked_at",
        ],
        bookings.collect(),
    )
    .await?;
    let handed = day.parcels.iter().map(|p| {
        row![
            p.cage_id,
            p.id,
            format!("history:cage:{}", p.id),
            &p.packer,
            &p.handed_at
        ]
    });
    n += insert_auto(
        conn,
        backend,
        "cage_parcels",
        &["cage_id", "parcel_id", "scan_key", "actor", "at"],
        handed.collect(),
    )
    .await?;
    let delivered = day.parcels.iter().filter_map(|p| {
        let at = p.delivered_at.as_ref()?;
        Some(row![
            p.booking_id,
            p.id,
            &p.carrier,
            "DELIVERED",
            "DELIVERED",
            "delivered",
            "Leveret",
            at,
            "pull",
            at,
        ])
    });
    n += insert_auto(
        conn,
        backend,
        "tracking_events",
        &[
            "booking_id",
            "parcel_id",
            "carrier",
            "code",
            "raw_status",
            "status",
            "text",
            "at",
            "source",
            "received_at",
        ],
        delivered.collect(),
    )
    .await?;
    Ok(n)
}
