//! Carrier bookings on both backends: closing a parcel queues its booking in the same
//! transaction, the booking worker books it once with the configured carrier (here `local`,
//! which books nothing outside), a stop before the booking leaves it to the next start, and a
//! voided parcel's booking is cancelled.

mod common;

use common::packing::*;
use common::Backend;
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

on_both_backends!(
    a_closed_parcel_is_booked_once_with_the_local_carrier,
    a_booking_left_by_a_stop_is_made_after_the_restart,
);

async fn a_closed_parcel_is_booked_once_with_the_local_carrier(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let c = closed_parcel(&p, "W-1").await;
    let id = c["id"].as_i64().unwrap();
    let sscc = c["sscc"].as_str().unwrap();
    let bk = booking(&p.packer, id, "booked").await;
    assert_eq!(bk["carrier"], "local");
    assert_eq!(bk["service"], "17");
    assert_eq!(
        bk["tracking_number"], sscc,
        "the local carrier tracks by the SSCC"
    );
    assert_eq!(bk["attempts"], 1);
    assert_eq!(bk["sscc"], sscc);
    let parcel = p.packer.get(&format!("/api/parcels/{id}")).await.body;
    assert_eq!(parcel["booking_state"], "booked");
    // Booked once: one attempt, one event, however long the worker runs.
    tokio::time::sleep(Duration::from_millis(600)).await;
    use sqlx::Row;
    let attempts: i64 = sqlx::query("select count(*) as n from booking_attempts")
        .fetch_one(p.app.ctx.db.pool())
        .await
        .unwrap()
        .get("n");
    assert_eq!(attempts, 1);
    let events = p.admin.get("/api/events?limit=500").await.body;
    let booked = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "parcel.booked")
        .count();
    assert_eq!(booked, 1, "{events}");
    // Voided before handover: the local booking is cancelled with it.
    let r = p
        .packer
        .post(
            &format!("/api/parcels/{id}/void"),
            json!({ "reason": "wrong box" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    booking(&p.packer, id, "cancelled").await;
    let lead = p.app.user("lene", Role::Lead).await;
    let pending = lead.get("/api/bookings?state=pending").await.body;
    assert_eq!(pending.as_array().unwrap().len(), 0);
    let bad = lead.get("/api/bookings?state=lost").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    p.printer.stop();
}

async fn a_booking_left_by_a_stop_is_made_after_the_restart(b: Backend) {
    // The worker's first round runs at start (nothing to book), then it sleeps an hour.
    let Some((p, _dir)) = setup_with(b, |c| c.carrier.poll_ms = 3_600_000).await else {
        return;
    };
    let c = closed_parcel(&p, "W-1").await;
    let id = c["id"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bk = booking(&p.packer, id, "pending").await;
    assert_eq!(bk["attempts"], 0, "closed and queued, not sent yet");
    let url = p.url.clone();
    p.printer.stop();
    p.app.stop().await;
    let app = common::start_app(url, None, |c| c.picking.require_location_scan = false).await;
    let packer = app.user("pelle2", Role::Packer).await;
    let bk = booking(&packer, id, "booked").await;
    assert_eq!(bk["tracking_number"], c["sscc"]);
    assert_eq!(bk["attempts"], 1);
}
