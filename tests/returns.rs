//! Returns on both backends: a handed-over parcel that comes back is scanned in by its SSCC, its
//! packs go into quarantine at the returns location owned by the payer (never back into pickable
//! stock), a repeated scan answers the same return, the order's status and change feed show it,
//! and a parcel that never left is refused.

mod common;

use common::packing::*;
use common::Backend;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;

on_both_backends!(a_returned_parcel_goes_into_quarantine_owned_by_the_payer);

async fn a_returned_parcel_goes_into_quarantine_owned_by_the_payer(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let one = booked_parcel(&p, "W-1").await;
    let kept = booked_parcel(&p, "W-2").await;
    let s1 = one["sscc"].as_str().unwrap().to_string();
    // Not handed over yet: it cannot come back.
    let r = p
        .packer
        .post(
            "/api/returns",
            json!({ "scan_id": "r0", "data": format!("00{s1}") }),
        )
        .await;
    assert_eq!(r.body["code"], "not_handed_over", "{:?}", r.body);
    let cage = p.packer.post("/api/cages", json!({})).await.body["id"]
        .as_i64()
        .unwrap();
    for (i, v) in [&one, &kept].iter().enumerate() {
        let r = p
            .packer
            .post(
                &format!("/api/cages/{cage}/scan"),
                json!({ "scan_id": format!("c{i}"), "data": format!("00{}", v["sscc"].as_str().unwrap()) }),
            )
            .await;
        assert_eq!(r.body["code"], "on_cage", "{:?}", r.body);
    }
    let c = p
        .packer
        .post(&format!("/api/cages/{cage}/close"), json!({}))
        .await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    // The parcel comes back: scanned in as its label's bracket form.
    let r = p
        .packer
        .post(
            "/api/returns",
            json!({ "scan_id": "r1", "data": format!("(00){s1}") }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["packs"], 1);
    assert_eq!(r.body["location"], "RETUR");
    assert_eq!(r.body["order"], "W-1");
    let again = p
        .packer
        .post(
            "/api/returns",
            json!({ "scan_id": "r2", "data": format!("00{s1}") }),
        )
        .await;
    assert_eq!(
        again.body["id"], r.body["id"],
        "a repeated scan answers the same return"
    );
    // The pack is the payer's, in quarantine at the returns shelf: not pickable.
    let units = sqlx::query(
        "select owner, status, qty from stock_units where location = 'RETUR' and lot = 'LW-1'",
    )
    .fetch_all(p.app.ctx.db.pool())
    .await
    .unwrap();
    assert_eq!(units.len(), 1);
    assert_eq!(units[0].get::<String, _>("owner"), "payer:0751");
    assert_eq!(units[0].get::<String, _>("status"), "quarantine");
    assert_eq!(units[0].get::<i64, _>("qty"), 1);
    let ledger: i64 = sqlx::query("select count(*) as n from ledger where kind = 'return'")
        .fetch_one(p.app.ctx.db.pool())
        .await
        .unwrap()
        .get("n");
    assert_eq!(ledger, 1, "booked into the ledger once");
    let s = p.web.get("/api/orders/W-1/status").await.body;
    assert_eq!(s["parcels"][0]["returned"], true, "{s}");
    let s = p.web.get("/api/orders/W-2/status").await.body;
    assert_eq!(s["parcels"][0]["returned"], false, "{s}");
    let feed = p.admin.get("/api/events?limit=1000").await.body;
    let kinds: Vec<&str> = feed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"order.returned") && kinds.contains(&"stock.returned"),
        "{kinds:?}"
    );
    // The local carrier has no tracking: a lead enters W-2's delivery by hand.
    let lead = p.app.user("lene", konsign::domain::auth::Role::Lead).await;
    let bookings = lead.get("/api/bookings").await.body;
    let b2 = bookings
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["parcel_id"] == kept["id"])
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = lead
        .post(
            &format!("/api/bookings/{b2}/tracking"),
            json!({ "status": "delivered", "text": "Kvittering fra chauffør" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["delivered"], json!(["W-2"]));
    let r = lead
        .post(
            &format!("/api/bookings/{b2}/tracking"),
            json!({ "status": "lost" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = p
        .packer
        .post(
            &format!("/api/bookings/{b2}/tracking"),
            json!({ "status": "delivered" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        p.web.get("/api/orders/W-2/status").await.body["status"],
        "delivered"
    );
    let bad = p
        .packer
        .post("/api/returns", json!({ "scan_id": "r3", "data": "hello" }))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    p.printer.stop();
}
