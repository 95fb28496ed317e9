//! A day's orders, lines, reservations, waves, picks and their confirmations.

use super::rows::{insert, insert_auto, row};
use super::ship::{write_cuts, write_parcels};
use super::Day;
use crate::store::Db;

/// Writes one day in one transaction. `sscc_prefix`/`first` name the SSCC counter: the day's
/// parcels take a block of serials from it, so no parcel packed later repeats one; `sscc`
/// makes each parcel's SSCC from its serial. Returns how many rows were written.
pub async fn write_day(
    db: &Db,
    day: &Day,
    sscc_prefix: &str,
    sscc_first: i64,
    sscc: &dyn Fn(i64) -> Option<String>,
) -> Result<usize, sqlx::Error> {
    let backend = db.backend();
    let mut tx = db.begin_write().await?;
    let conn = tx.conn();
    let mut n = 0;
    if let Some((id, key, at)) = &day.op {
        n += insert(
            conn,
            backend,
            "stock_ops",
            &[
                "id",
                "kind",
                "idempotency_key",
                "request_hash",
                "actor",
                "at",
            ],
            vec![row![*id, "pick", key, "history", &day.actor, at]],
        )
        .await?;
    }
    let serial = if day.parcels.is_empty() {
        0
    } else {
        crate::store::parcels::take_sscc_serials(
            conn,
            sscc_prefix,
            sscc_first,
            day.parcels.len() as i64,
        )
        .await?
    };
    let waves = day.waves.iter().map(|w| {
        row![
            w.id,
            "done",
            &w.picker,
            &day.actor,
            &w.created_at,
            &w.created_at,
            &w.done_at
        ]
    });
    n += insert(
        conn,
        backend,
        "waves",
        &[
            "id",
            "status",
            "picker",
            "created_by",
            "created_at",
            "started_at",
            "done_at",
        ],
        waves.collect(),
    )
    .await?;
    let orders = day.orders.iter().map(|o| {
        row![
            o.id,
            &o.external_id,
            "history",
            o.status,
            o.payer.0,
            o.payer.1,
            o.payer.2,
            "BEV-H",
            &o.citizen_id,
            &o.recipient_name,
            &o.address_line1,
            &o.postcode,
            &o.city,
            "DK",
            &o.delivery_date,
            i64::from(o.has_cut),
            o.wave_id,
            "history",
            &o.created_at,
            &o.updated_at,
        ]
    });
    n += insert(
        conn,
        backend,
        "orders",
        &[
            "id",
            "external_id",
            "request_hash",
            "status",
            "payer_code",
            "payer_name",
            "payer_ean",
            "grant_ref",
            "citizen_id",
            "recipient_name",
            "address_line1",
            "postcode",
            "city",
            "country",
            "delivery_date",
            "has_cut",
            "wave_id",
            "created_by",
            "created_at",
            "updated_at",
        ],
        orders.collect(),
    )
    .await?;
    let lines = day.lines.iter().map(|l| {
        row![
            l.id,
            l.order_id,
            l.line_no,
            &l.gtin,
            l.quantity,
            l.cut.map(|c| c.0),
            l.cut.map(|c| c.1),
            l.quantity,
        ]
    });
    n += insert(
        conn,
        backend,
        "order_lines",
        &[
            "id",
            "order_id",
            "line_no",
            "gtin",
            "quantity",
            "cut_shape",
            "cut_a_mm",
            "picked",
        ],
        lines.collect(),
    )
    .await?;
    let created = |order_id: i64| {
        day.orders
            .binary_search_by_key(&order_id, |o| o.id)
            .map(|i| day.orders[i].created_at.clone())
            .unwrap_or_default()
    };
    let reservations = day.lines.iter().map(|l| {
        row![
            l.reservation_id,
            l.order_id,
            l.id,
            l.unit_id,
            0i64,
            created(l.order_id)
        ]
    });
    n += insert(
        conn,
        backend,
        "reservations",
        &[
            "id",
            "order_id",
            "line_id",
            "stock_unit_id",
            "qty",
            "created_at",
        ],
        reservations.collect(),
    )
    .await?;
    let wave_of = |order_id: i64| {
        day.orders
            .binary_search_by_key(&order_id, |o| o.id)
            .map(|i| day.orders[i].wave_id)
            .unwrap_or_default()
    };
    let picks = day.lines.iter().map(|l| {
        row![
            l.pick_id,
            wave_of(l.order_id),
            l.order_id,
            l.id,
            l.reservation_id,
            l.line_no,
            l.line_no,
            &l.location,
            l.unit_id,
            &l.gtin,
            &l.lot,
            &l.expiry,
            "HISTORY",
            l.quantity,
            l.quantity,
            "done",
            1i64,
            1i64,
        ]
    });
    n += insert(
        conn,
        backend,
        "picks",
        &[
            "id",
            "wave_id",
            "order_id",
            "line_id",
            "reservation_id",
            "seq",
            "walk_seq",
            "location",
            "stock_unit_id",
            "gtin",
            "lot",
            "expiry",
            "tote",
            "quantity",
            "picked",
            "status",
            "location_ok",
            "tote_ok",
        ],
        picks.collect(),
    )
    .await?;
    if let Some((op, _, _)) = &day.op {
        let confirms = day.lines.iter().map(|l| {
            row![
                wave_of(l.order_id),
                l.pick_id,
                format!("history:{}", l.pick_id),
                l.unit_id,
                l.unit_id,
                l.quantity,
                *op,
                &l.picker,
                &l.picked_at,
            ]
        });
        n += insert_auto(
            conn,
            backend,
            "pick_confirms",
            &[
                "wave_id",
                "pick_id",
                "scan_key",
                "from_unit",
                "to_unit",
                "qty",
                "op_id",
                "actor",
                "at",
            ],
            confirms.collect(),
        )
        .await?;
    }
    let refusals = day
        .refusals
        .iter()
        .map(|r| row![r.wave_id, &r.key, r.code, &r.actor, &r.at]);
    n += insert_auto(
        conn,
        backend,
        "pick_refusals",
        &["wave_id", "scan_key", "code", "actor", "at"],
        refusals.collect(),
    )
    .await?;
    n += write_cuts(conn, backend, day).await?;
    n += write_parcels(conn, backend, day, serial, sscc).await?;
    tx.commit().await?;
    Ok(n)
}
