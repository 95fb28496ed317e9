//! Parcels over HTTP on both backends: an order split into two parcels, a parcel voided and
//! packed again, four pack stations closing at once and a restart (no SSCC twice), the weight
//! limit, the printed label read back by independent tools, and what a start prints again.

mod common;

use common::packing::*;
use common::Backend;
use konsign::devices::printer::sim::Simulator;
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends!(
    a_split_order_leaves_in_two_parcels_transferred_once,
    a_voided_parcel_gives_the_packs_back_and_its_sscc_is_never_used_again,
    four_pack_stations_closing_at_once_and_a_restart_never_repeat_an_sscc,
    an_over_weight_parcel_is_refused,
    the_printed_shipping_label_decodes_to_the_parcels_sscc_and_postcode,
    a_document_printer_out_of_paper_holds_the_slip_until_it_has_paper,
    a_start_prints_what_a_stop_left_unprinted_but_not_for_a_parcel_that_has_left,
);

async fn a_split_order_leaves_in_two_parcels_transferred_once(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let exp = common::in_days(200);
    common::receive(&p.admin, POUCH, "L1", &exp, "A-01-1", 6).await;
    let tote = picked(&p, "W-1", json!([{ "gtin": POUCH, "quantity": 4 }])).await;
    scan(&p.packer, "PAK-01", "x0", &tote).await;
    let pack = wedge(POUCH, &exp, "L1");
    for i in 1..=2 {
        assert_eq!(
            scan(&p.packer, "PAK-01", &format!("x{i}"), &pack).await["code"],
            "packed"
        );
    }
    let first = close(&p.packer, "PAK-01", json!({ "more": true })).await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(
        first.body["label_job"],
        Value::Null,
        "its label waits for the count"
    );
    let s = p.web.get("/api/orders/W-1/status").await.body;
    assert_eq!(s["status"], "picked", "the order is not packed yet");
    assert_eq!(owned(&p, "payer:0751", "L1").await, 2);
    for i in 3..=4 {
        assert_eq!(
            scan(&p.packer, "PAK-01", &format!("x{i}"), &pack).await["code"],
            "packed"
        );
    }
    assert_eq!(
        scan(&p.packer, "PAK-01", "x5", &pack).await["code"],
        "extra_item"
    );
    let second = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(second.status, StatusCode::OK, "{:?}", second.body);
    assert_ne!(first.body["sscc"], second.body["sscc"]);
    let one = p
        .packer
        .get(&format!("/api/parcels/{}", first.body["id"]))
        .await
        .body;
    assert_eq!(
        (one["seq"].as_i64(), one["parcels_total"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(
        (
            second.body["seq"].as_i64(),
            second.body["parcels_total"].as_i64()
        ),
        (Some(2), Some(2))
    );
    let labels = printed_label(&p, 2).await;
    assert_eq!(
        labels.len(),
        2,
        "both labels print when the order is complete"
    );
    assert!(labels
        .iter()
        .any(|l| l.contains("1/2") && l.contains(first.body["sscc"].as_str().unwrap())));
    assert!(labels
        .iter()
        .any(|l| l.contains("2/2") && l.contains(second.body["sscc"].as_str().unwrap())));
    assert_eq!(
        transfers_total(&p).await,
        4,
        "every pack transferred exactly once"
    );
    assert_eq!(owned(&p, "COLOPLAST", "L1").await, 2);
    assert_eq!(owned(&p, "payer:0751", "L1").await, 4);
    assert_eq!(
        p.web.get("/api/orders/W-1/status").await.body["status"],
        "packed"
    );
    p.printer.stop();
}

async fn a_voided_parcel_gives_the_packs_back_and_its_sscc_is_never_used_again(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let exp = common::in_days(200);
    common::receive(&p.admin, POUCH, "L1", &exp, "A-01-1", 5).await;
    let tote = picked(&p, "W-1", json!([{ "gtin": POUCH, "quantity": 2 }])).await;
    scan(&p.packer, "PAK-01", "v0", &tote).await;
    let pack = wedge(POUCH, &exp, "L1");
    scan(&p.packer, "PAK-01", "v1", &pack).await;
    scan(&p.packer, "PAK-01", "v2", &pack).await;
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    let id = c.body["id"].as_i64().unwrap();
    let sscc = c.body["sscc"].as_str().unwrap().to_string();
    assert_eq!(owned(&p, "COLOPLAST", "L1").await, 3);

    let r = p
        .packer
        .post(&format!("/api/parcels/{id}/void"), json!({ "reason": "" }))
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason is required"
    );
    let r = p
        .packer
        .post(
            &format!("/api/parcels/{id}/void"),
            json!({ "reason": "wrong box, label torn" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "voided");
    assert_eq!(r.body["booking_state"], "void");
    let t: Vec<i64> = r.body["transfers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["quantity"].as_i64().unwrap())
        .collect();
    assert_eq!(t, [2, -2], "reversed by a new entry, never by deleting one");
    assert_eq!(
        owned(&p, "COLOPLAST", "L1").await,
        5,
        "the producer owns them again"
    );
    assert_eq!(owned(&p, "payer:0751", "L1").await, 0);
    let units = p
        .admin
        .get(&format!("/api/stock/units?location={tote}"))
        .await
        .body;
    let in_tote: i64 = units
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["quantity"].as_i64().unwrap())
        .sum();
    assert_eq!(in_tote, 2, "the packs are back in the tote");
    assert_eq!(
        p.web.get("/api/orders/W-1/status").await.body["status"],
        "picked"
    );
    let again = p
        .packer
        .post(
            &format!("/api/parcels/{id}/void"),
            json!({ "reason": "twice" }),
        )
        .await;
    assert_eq!(again.body["code"], "not_closed");
    let audit = p.admin.get("/api/audit?action=parcel.void").await.body;
    assert_eq!(audit.as_array().unwrap().len(), 1);

    // Re-opened: packed again into a new parcel with a new SSCC.
    scan(&p.packer, "PAK-01", "v3", &tote).await;
    scan(&p.packer, "PAK-01", "v4", &pack).await;
    let r = scan(&p.packer, "PAK-01", "v5", &pack).await;
    assert_eq!(r["view"]["complete"], true, "{r}");
    let c2 = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c2.status, StatusCode::OK, "{:?}", c2.body);
    let sscc2 = c2.body["sscc"].as_str().unwrap();
    assert_ne!(sscc2, sscc);
    assert!(sscc2 > sscc.as_str(), "serials only move up");
    assert_eq!(transfers_total(&p).await, 2);
    assert_eq!(owned(&p, "payer:0751", "L1").await, 2);
    p.printer.stop();
}

async fn four_pack_stations_closing_at_once_and_a_restart_never_repeat_an_sscc(b: Backend) {
    let Some((p, dir)) = setup(b).await else {
        return;
    };
    let exp = common::in_days(200);
    common::receive(&p.admin, POUCH, "L1", &exp, "A-01-1", 20).await;
    let pack = wedge(POUCH, &exp, "L1");
    let stations = ["PAK-01", "PAK-02", "PAK-03", "PAK-04"];
    let mut totes = Vec::new();
    for i in 0..4 {
        totes.push(
            picked(
                &p,
                &format!("W-{i}"),
                json!([{ "gtin": POUCH, "quantity": 1 }]),
            )
            .await,
        );
    }
    let mut packers = Vec::new();
    for (i, st) in stations.iter().enumerate() {
        let c = p.app.user(&format!("packer{i}"), Role::Packer).await;
        scan(&c, st, &format!("o{i}"), &totes[i]).await;
        assert_eq!(
            scan(&c, st, &format!("p{i}"), &pack).await["code"],
            "packed"
        );
        packers.push(c);
    }
    // The four closes race: each in its own task.
    let tasks: Vec<_> = stations
        .iter()
        .zip(&packers)
        .map(|(st, c)| {
            let (st, c) = (st.to_string(), c.clone());
            tokio::spawn(async move { close(&c, &st, json!({})).await })
        })
        .collect();
    let mut ssccs = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        ssccs.push(r.body["sscc"].as_str().unwrap().to_string());
    }
    // A restart of the service, then one more parcel.
    let url = p.url.clone();
    p.printer.stop();
    p.app.stop().await;
    let app = common::start_app(url, None, |c| c.picking.require_location_scan = false).await;
    let admin = app.user("admin2", Role::Admin).await;
    let web = app.user("web2", Role::Integration).await;
    let packer = app.user("pelle2", Role::Packer).await;
    let printer = Simulator::start("127.0.0.1:0", None, None).await.unwrap();
    admin
        .put_json(
            "/api/printers/pak-01",
            json!({ "host": "127.0.0.1", "port": printer.addr().port(), "label_width_mm": 102,
                    "label_height_mm": 152, "station": "PAK-01" }),
        )
        .await;
    let q = Packing {
        app,
        admin,
        web,
        packer,
        printer,
        url: String::new(),
    };
    let tote = picked(&q, "W-9", json!([{ "gtin": POUCH, "quantity": 1 }])).await;
    scan(&q.packer, "PAK-01", "r0", &tote).await;
    scan(&q.packer, "PAK-01", "r1", &pack).await;
    let c = close(&q.packer, "PAK-01", json!({})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    let last = c.body["sscc"].as_str().unwrap().to_string();
    assert!(
        ssccs.iter().all(|s| s < &last),
        "after the restart the counter goes on"
    );
    ssccs.push(last);
    for s in &ssccs {
        check_sscc(s);
    }
    let n = ssccs.len();
    ssccs.sort();
    ssccs.dedup();
    assert_eq!(ssccs.len(), n, "no SSCC twice: {ssccs:?}");
    q.printer.stop();
    drop(dir);
}

async fn an_over_weight_parcel_is_refused(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let exp = common::in_days(200);
    common::receive(&p.admin, POUCH, "L1", &exp, "A-01-1", 5).await;
    let tote = picked(&p, "W-1", json!([{ "gtin": POUCH, "quantity": 1 }])).await;
    scan(&p.packer, "PAK-01", "w0", &tote).await;
    scan(&p.packer, "PAK-01", "w1", &wedge(POUCH, &exp, "L1")).await;
    let c = close(
        &p.packer,
        "PAK-01",
        json!({ "parcel_type": "S", "weight_g": 6200 }),
    )
    .await;
    assert_eq!(c.status, StatusCode::CONFLICT);
    assert_eq!(c.body["code"], "over_weight", "{:?}", c.body);
    let c = close(&p.packer, "PAK-01", json!({ "parcel_type": "XXL" })).await;
    assert_eq!(c.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(transfers_total(&p).await, 0, "nothing half-written");
    let c = close(
        &p.packer,
        "PAK-01",
        json!({ "parcel_type": "M", "weight_g": 6200 }),
    )
    .await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    assert_eq!(c.body["weight_source"], "scale");
    p.printer.stop();
}

/// The label as printed (the ZPL the printer received), drawn by the independent renderer
/// zpl-renderer-js and read by ZXingReader: exactly the parcel's SSCC and (421) 208 + postcode.
/// Each barcode is read from its own strip of the picture (ZXingReader 1.4 aborts on two).
async fn the_printed_shipping_label_decodes_to_the_parcels_sscc_and_postcode(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let Some(node_modules) = common::decode::tools() else {
        p.printer.stop();
        return;
    };
    let exp = common::in_days(200);
    common::receive(&p.admin, POUCH, "L1", &exp, "A-01-1", 2).await;
    let tote = picked(&p, "W-1", json!([{ "gtin": POUCH, "quantity": 1 }])).await;
    scan(&p.packer, "PAK-01", "l0", &tote).await;
    scan(&p.packer, "PAK-01", "l1", &wedge(POUCH, &exp, "L1")).await;
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    let sscc = c.body["sscc"].as_str().unwrap();
    let zpl = printed_label(&p, 1).await.remove(0);
    let dir = tempfile::tempdir().unwrap();
    let png = common::decode::to_png(&node_modules, &zpl, 100.0, 150.0, dir.path(), "shipping");
    let img = image::open(&png).unwrap();
    let dots = f64::from(img.width()) / 100.0;
    let strip = |name: &str, from_mm: f64, to_mm: f64| {
        let (y, h) = ((from_mm * dots) as u32, ((to_mm - from_mm) * dots) as u32);
        let out = dir.path().join(format!("{name}.png"));
        img.crop_imm(0, y, img.width(), h).save(&out).unwrap();
        common::decode::zxing(&out)
    };
    assert_eq!(
        strip("postcode", 66.0, 95.0),
        ("4212088000".to_string(), "]C1".to_string())
    );
    assert_eq!(
        strip("sscc", 96.0, 140.0),
        (format!("00{sscc}"), "]C1".to_string())
    );
    p.printer.stop();
}

/// The packing slip goes to the station's document printer as a PDF in a PJL job; while that
/// printer reports paper out (to `@PJL INFO STATUS`) the slip waits in its queue and the printer
/// shows the alarm; with paper again it prints, once.
async fn a_document_printer_out_of_paper_holds_the_slip_until_it_has_paper(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let exp = common::in_days(200);
    common::receive(&p.admin, POUCH, "L1", &exp, "A-01-1", 2).await;
    let tote = picked(&p, "W-1", json!([{ "gtin": POUCH, "quantity": 1 }])).await;
    p.printer.set(|s| s.paper_out = true);
    scan(&p.packer, "PAK-01", "d0", &tote).await;
    scan(&p.packer, "PAK-01", "d1", &wedge(POUCH, &exp, "L1")).await;
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    let job = c.body["slip_job"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let printers = p.admin.get("/api/printers").await.body;
        let doc = printers
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == "doc-1")
            .cloned()
            .unwrap();
        if doc["state"] == "paper_out" {
            assert_eq!(doc["kind"], "pdf");
            assert_eq!(doc["alarm"], true);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no alarm: {doc}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let j = p.admin.get(&format!("/api/print-jobs/{job}")).await.body;
    assert_eq!(j["state"], "queued", "held, not sent: {j}");
    assert!(p.printer.documents().is_empty());
    p.printer.set(|s| s.paper_out = false);
    let docs = printed_documents(&p, 1).await;
    assert_eq!(docs.len(), 1);
    assert!(docs[0].starts_with(b"%PDF") && docs[0].ends_with(b"%%EOF"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while p.admin.get(&format!("/api/print-jobs/{job}")).await.body["state"] != "confirmed" {
        assert!(std::time::Instant::now() < deadline, "never confirmed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A label template is refused on a document printer, with the reason.
    let r = p
        .admin
        .post(
            "/api/print",
            json!({ "printer": "doc-1", "template": "shipping", "sample": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["field"], "printer");
    p.printer.stop();
}

/// A stop between closing a parcel and printing its documents leaves them unprinted; the next
/// start prints them. A parcel handed over to the carrier has left, so nothing is printed for
/// it however its columns look, and the parcels looked at are the ones still here (before,
/// the first 1,000 closed parcels of all time were).
async fn a_start_prints_what_a_stop_left_unprinted_but_not_for_a_parcel_that_has_left(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let here = closed_parcel(&p, "W-1").await["id"].as_i64().unwrap();
    let gone = closed_parcel(&p, "W-2").await["id"].as_i64().unwrap();
    printed_label(&p, 2).await;
    let pool = p.app.ctx.db.pool();
    // The stop: neither parcel's documents reached a print job; W-2 has been handed over since.
    sqlx::query("update parcels set label_job = null, slip_job = null where id in ($1, $2)")
        .bind(here)
        .bind(gone)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("update parcels set booking_state = 'handed_over' where id = $1")
        .bind(gone)
        .execute(pool)
        .await
        .unwrap();
    let jobs = common::count(&p.app.ctx, "print_jobs").await;
    let resumed = konsign::service::parcel_docs::resume_printing(&p.app.ctx)
        .await
        .unwrap();
    assert_eq!(resumed, 1, "only the parcel still in the warehouse");
    let job_of = |id: i64| {
        sqlx::query_scalar::<_, Option<String>>("select label_job from parcels where id = $1")
            .bind(id)
            .fetch_one(pool)
    };
    assert!(
        job_of(here).await.unwrap().is_some(),
        "its label is printed"
    );
    assert_eq!(
        job_of(gone).await.unwrap(),
        None,
        "nothing for the parcel that left"
    );
    assert_eq!(
        common::count(&p.app.ctx, "print_jobs").await,
        jobs,
        "the jobs made before the stop are found by their keys: nothing prints twice"
    );
    assert_eq!(
        konsign::service::parcel_docs::resume_printing(&p.app.ctx)
            .await
            .unwrap(),
        0,
        "a second start has nothing left to print"
    );
    p.printer.stop();
}
