//! Handover to the carrier on both backends: booked parcels are scanned onto a cage and leave
//! when it closes (the ledger's `ship`, the orders `shipped`); refusals for a voided, an
//! unbooked, a foreign or a repeated parcel; the expected parcel that was not scanned; the
//! handover list as a PDF.

mod common;

use common::packing::*;
use common::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    a_full_cage_ships_its_orders_and_takes_the_packs_out_of_the_warehouse,
    refused_scans_and_a_missing_parcel_are_shown_when_the_cage_closes,
);

async fn cage_scan(p: &Packing, cage: i64, id: &str, data: &str) -> Value {
    let r = p
        .packer
        .post(
            &format!("/api/cages/{cage}/scan"),
            json!({ "scan_id": id, "data": data }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

async fn a_full_cage_ships_its_orders_and_takes_the_packs_out_of_the_warehouse(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let one = booked_parcel(&p, "W-1").await;
    let two = booked_parcel(&p, "W-2").await;
    // The live dashboard through the handover (`common::LiveCheck`).
    let ctx = &p.app.ctx;
    let mut live = common::LiveCheck::start(ctx).await;
    let r = p.packer.post("/api/cages", json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let cage = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["carrier"], "local");
    assert!(r.body["code"].as_str().unwrap().starts_with("CAGE-LOCAL-"));
    let s1 = one["sscc"].as_str().unwrap();
    let s2 = two["sscc"].as_str().unwrap();
    // The label's GS1-128 as a wedge types it, and the bracket form.
    live.step(ctx, "a cage opened").await;
    let r = cage_scan(&p, cage, "c1", &format!("00{s1}")).await;
    assert_eq!(r["code"], "on_cage", "{r}");
    let u = live.step(ctx, "a parcel on the cage").await;
    assert!(
        u.changed.throughput && u.changed.cutoffs && !u.changed.floor,
        "{:?} {:?}",
        u.changed,
        u.types
    );
    let r = cage_scan(&p, cage, "c1", &format!("00{s1}")).await;
    assert_eq!(r["cage"]["parcels"], 1, "a retried scan counts once");
    let r = cage_scan(&p, cage, "c2", &format!("(00){s2}")).await;
    assert_eq!(
        (r["code"].as_str(), r["cage"]["parcels"].as_i64()),
        (Some("on_cage"), Some(2))
    );
    assert_eq!(owned(&p, "payer:0751", "LW-1").await, 1);
    let c = p
        .packer
        .post(&format!("/api/cages/{cage}/close"), json!({}))
        .await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    let u = live.step(ctx, "a cage closed").await;
    let handed = u
        .live
        .flow
        .stages
        .iter()
        .find(|s| s.stage.as_str() == "shipped");
    assert_eq!(handed.map(|s| s.orders), Some(2), "{:?}", u.types);
    assert_eq!(c.body["shipped"], json!(["W-1", "W-2"]));
    assert_eq!(c.body["missing"].as_array().unwrap().len(), 0);
    assert_eq!(c.body["cage"]["state"], "closed");
    // The packs left the warehouse: the payer holds nothing at the station any more.
    assert_eq!(owned(&p, "payer:0751", "LW-1").await, 0);
    assert_eq!(owned(&p, "payer:0751", "LW-2").await, 0);
    let s = p.web.get("/api/orders/W-1/status").await.body;
    assert_eq!(s["status"], "shipped", "{s}");
    // What the ordering system sees: the parcel, its carrier and tracking number.
    assert_eq!(s["parcels"][0]["sscc"], s1, "{s}");
    assert_eq!(s["parcels"][0]["carrier"], "local");
    assert_eq!(s["parcels"][0]["tracking_number"], s1);
    assert_eq!(s["parcels"][0]["booking_state"], "handed_over");
    let parcel = p
        .packer
        .get(&format!("/api/parcels/{}", one["id"]))
        .await
        .body;
    assert_eq!(parcel["booking_state"], "handed_over");
    // A handed-over parcel cannot be voided any more.
    let v = p
        .packer
        .post(
            &format!("/api/parcels/{}/void", one["id"]),
            json!({ "reason": "late" }),
        )
        .await;
    assert_eq!(v.body["code"], "handed_over", "{:?}", v.body);
    let again = p
        .packer
        .post(&format!("/api/cages/{cage}/close"), json!({}))
        .await;
    assert_eq!(again.body["code"], "cage_closed");
    // The handover list names both SSCCs.
    let pdf = p
        .packer
        .req(reqwest::Method::GET, &format!("/api/cages/{cage}/list.pdf"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    if let Some(text) = pdftotext(&pdf) {
        assert!(text.contains(s1) && text.contains(s2), "{text}");
        assert!(text.contains("2 kolli"), "{text}");
    }
    p.printer.stop();
}

async fn refused_scans_and_a_missing_parcel_are_shown_when_the_cage_closes(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let one = booked_parcel(&p, "W-1").await;
    let two = booked_parcel(&p, "W-2").await;
    let voided = booked_parcel(&p, "W-3").await;
    let r = p
        .packer
        .post(
            &format!("/api/parcels/{}/void", voided["id"]),
            json!({ "reason": "label torn" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let cage = p.packer.post("/api/cages", json!({})).await.body["id"]
        .as_i64()
        .unwrap();
    let r = cage_scan(&p, cage, "x1", voided["sscc"].as_str().unwrap()).await;
    assert_eq!(r["code"], "voided", "{r}");
    let r = cage_scan(&p, cage, "x2", "106141411234567897").await;
    assert_eq!(r["code"], "unknown_parcel", "{r}");
    let r = cage_scan(&p, cage, "x3", "hello").await;
    assert_eq!(r["code"], "unreadable", "{r}");
    let r = cage_scan(&p, cage, "x4", one["sscc"].as_str().unwrap()).await;
    assert_eq!(r["code"], "on_cage", "{r}");
    let other = p.packer.post("/api/cages", json!({})).await.body["id"]
        .as_i64()
        .unwrap();
    let r = cage_scan(&p, other, "y1", one["sscc"].as_str().unwrap()).await;
    assert_eq!(r["code"], "already_handed_over", "{r}");
    let r = p
        .packer
        .post("/api/cages", json!({ "carrier": "nobody" }))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let c = p
        .packer
        .post(&format!("/api/cages/{cage}/close"), json!({}))
        .await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    let missing: Vec<&str> = c.body["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["sscc"].as_str().unwrap())
        .collect();
    assert_eq!(
        missing,
        [two["sscc"].as_str().unwrap()],
        "the booked parcel not scanned"
    );
    let codes: Vec<&str> = c.body["unexpected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["voided", "unknown_parcel", "unreadable"]);
    assert_eq!(c.body["shipped"], json!(["W-1"]));
    assert_eq!(
        p.web.get("/api/orders/W-2/status").await.body["status"],
        "packed"
    );
    assert_eq!(
        owned(&p, "payer:0751", "LW-2").await,
        1,
        "the missing parcel's packs are still here"
    );
    p.printer.stop();
}
