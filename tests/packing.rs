//! The pack station over HTTP on both backends: orders picked by scan are packed by scan into
//! a parcel and closed with an SSCC, its label and the ownership transfer; refusals with their
//! reasons; a lot blocked after picking; a damaged pack picked again; a serial scanner bound to
//! the station. Every test checks the ledger. Labels go to the simulated printer.

mod common;

use common::packing::*;
use common::Backend;
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends!(
    a_complete_parcel_is_closed_with_its_sscc_label_and_ownership_transfer,
    missing_extra_and_foreign_items_are_refused_with_the_reason,
    a_lot_blocked_after_picking_is_refused_at_packing,
    a_damaged_pack_is_scrapped_and_picked_again_without_losing_what_was_scanned,
    a_damaged_pack_without_stock_waits_until_a_lead_tries_again,
    an_order_is_packed_with_a_serial_scanner_bound_to_a_pack_station,
);

async fn a_complete_parcel_is_closed_with_its_sscc_label_and_ownership_transfer(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let exp = common::in_days(200);
    common::receive(&p.admin, POUCH, "L1", &exp, "A-01-1", 10).await;
    let tote = picked(&p, "W-1", json!([{ "gtin": POUCH, "quantity": 3 }])).await;
    assert_eq!(owned(&p, "COLOPLAST", "L1").await, 10);

    // The tote opens the order: name and postcode shown, and the read is audit-logged.
    let r = p
        .packer
        .post("/api/pack-stations/PAK-01/open", json!({ "code": tote }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["external_id"], "W-1");
    assert_eq!(r.body["recipient"]["name"], "Åse Ørnbøl");
    assert_eq!(r.body["recipient"]["postcode"], "8000");
    assert_eq!(r.body["lots"][0]["in_tote"], 3);
    assert_eq!(r.body["complete"], false);
    let audit = p.admin.get("/api/audit?action=order.read").await.body;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["subject"] == "order:W-1"
                && a["purpose"] == "packing"
                && a["actor"] == "user:pelle"),
        "{audit}"
    );
    // The poll without the recipient carries no personal data.
    let v = p.packer.get("/api/pack-stations/PAK-01").await;
    assert_eq!(v.body["recipient"], Value::Null);
    assert!(!v.body.to_string().contains("Ørnbøl"));

    let pack = wedge(POUCH, &exp, "L1");
    let ctx = &p.app.ctx;
    let mut live = common::LiveCheck::start(ctx).await;
    let r = p
        .packer
        .post(
            "/api/pack-stations/PAK-01/scan",
            json!({ "scan_id": "s1", "data": pack, "quantity": 2 }),
        )
        .await;
    assert_eq!(r.body["code"], "packed", "{:?}", r.body);
    // The live dashboard after a pack scan reads the floor and the devices only, and shows
    // what a whole read shows.
    // A pack into an open parcel moves no section (the close does): nothing is read again.
    let u = live.step(ctx, "a pack scan").await;
    assert_eq!(
        u.changed,
        konsign::service::dashboard::Sections::NONE,
        "{:?}",
        u.types
    );
    assert_eq!(
        r.body["message_da"],
        "2 stk Lukket pose 50 mm lot L1 pakket"
    );
    // The same scan again (a retry) counts once.
    let again = p
        .packer
        .post(
            "/api/pack-stations/PAK-01/scan",
            json!({ "scan_id": "s1", "data": pack, "quantity": 2 }),
        )
        .await;
    assert_eq!(again.body["replayed"], true);
    let early = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert_eq!(early.body["code"], "not_complete", "{:?}", early.body);
    let r = scan(&p.packer, "PAK-01", "s2", &pack).await;
    assert_eq!(r["code"], "packed");
    assert_eq!(r["view"]["complete"], true);
    let r = scan(&p.packer, "PAK-01", "s3", &pack).await;
    assert_eq!(
        (r["accepted"].as_bool(), r["code"].as_str()),
        (Some(false), Some("extra_item"))
    );
    live.step(ctx, "more pack scans").await;

    let closed = close(
        &p.packer,
        "PAK-01",
        json!({ "request_key": "c1", "parcel_type": "S" }),
    )
    .await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    // A close: the order's stage, parcels closed, the station's work, the carrier's parcels
    // waiting; not the devices (a label's print job is no event). (A booking made at once may
    // fall into the same update and add what it moves.)
    let u = live.step(ctx, "a close").await;
    assert!(
        u.changed.flow && u.changed.throughput && u.changed.floor && u.changed.cutoffs,
        "{:?} {:?}",
        u.changed,
        u.types
    );
    assert!(!u.changed.devices, "{:?} {:?}", u.changed, u.types);
    let sscc = closed.body["sscc"].as_str().unwrap().to_string();
    check_sscc(&sscc);
    assert_eq!(closed.body["state"], "closed");
    // Closed: waiting for its carrier booking, or booked already by the booking worker.
    assert!(
        ["waiting", "booked"].contains(&closed.body["booking_state"].as_str().unwrap()),
        "{:?}",
        closed.body
    );
    assert_eq!(
        closed.body["weight_g"],
        120 + 3 * 180,
        "tare plus three pouches"
    );
    assert_eq!(closed.body["weight_source"], "computed");
    assert_eq!(
        (
            closed.body["seq"].as_i64(),
            closed.body["parcels_total"].as_i64()
        ),
        (Some(1), Some(1))
    );
    let t = &closed.body["transfers"];
    assert_eq!(t.as_array().unwrap().len(), 1, "{t}");
    assert_eq!(t[0]["quantity"], 3);
    assert_eq!(t[0]["producer"], "COLOPLAST");
    assert_eq!(t[0]["payer"], "payer:0751");
    assert_eq!(t[0]["lot"], "L1");
    assert_eq!(t[0]["expiry"], exp.as_str());
    // A retried close answers the same parcel and transfers nothing again.
    let again = close(&p.packer, "PAK-01", json!({ "request_key": "c1" })).await;
    assert_eq!(again.body["id"], closed.body["id"]);
    assert_eq!(transfers_total(&p).await, 3);

    // The ledger: the producer's on-hand fell by exactly 3, the payer owns them at the station.
    assert_eq!(owned(&p, "COLOPLAST", "L1").await, 7);
    assert_eq!(owned(&p, "payer:0751", "L1").await, 3);
    let s = p.web.get("/api/orders/W-1/status").await.body;
    assert_eq!(s["status"], "packed");
    // The tote is free for the next wave.
    let units = p
        .admin
        .get(&format!("/api/stock/units?location={tote}"))
        .await
        .body;
    assert!(
        units.as_array().unwrap().iter().all(|u| u["quantity"] == 0),
        "{units}"
    );

    let labels = printed_label(&p, 1).await;
    assert_eq!(labels.len(), 1);
    assert!(
        labels[0].contains(&sscc),
        "the label carries the SSCC: {}",
        labels[0]
    );
    assert!(
        labels[0].contains("Åse Ørnbøl") || labels[0].contains("_C3_85se"),
        "{}",
        labels[0]
    );
    for secret in ["pose", "Pose", "Coloplast", "stomi"] {
        assert!(!labels[0].contains(secret), "{secret} on the label");
    }
    // A reprint is a new job, audit-logged.
    let id = closed.body["id"].as_i64().unwrap();
    let r = p
        .packer
        .post(
            &format!("/api/parcels/{id}/reprint"),
            json!({ "document": "label" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_ne!(r.body["label_job"], closed.body["label_job"]);
    assert_eq!(printed_label(&p, 2).await.len(), 2);
    let audit = p.admin.get("/api/audit?action=parcel.reprint").await.body;
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit[0]["purpose"], "shipping label");
    // The packing slip came out of PAK-01's document printer: a PDF listing every line with
    // its lot; a reprint is a new job.
    let docs = printed_documents(&p, 1).await;
    assert_eq!(docs.len(), 1, "one packing slip");
    if let Some(text) = pdftotext(&docs[0]) {
        assert!(
            text.contains("Lukket pose 50 mm") && text.contains("L1") && text.contains("3 stk"),
            "{text}"
        );
    }
    let r = p
        .packer
        .post(
            &format!("/api/parcels/{id}/reprint"),
            json!({ "document": "slip" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_ne!(r.body["slip_job"], closed.body["slip_job"]);
    assert_eq!(printed_documents(&p, 2).await.len(), 2);
    // The same PDF opens from the page (an audited read).
    let slip = p
        .packer
        .req(
            reqwest::Method::GET,
            &format!("/api/parcels/{id}/packing-slip.pdf"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(slip.status(), StatusCode::OK);
    let pdf = slip.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    if let Some(text) = pdftotext(&pdf) {
        assert!(
            text.contains("Lukket pose 50 mm") && text.contains("L1"),
            "{text}"
        );
        assert!(text.contains("W-1"), "{text}");
    }
    let listed = p.packer.get("/api/parcels?state=closed").await.body;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains("Ørnbøl"),
        "no personal data in the list"
    );
    p.printer.stop();
}

async fn missing_extra_and_foreign_items_are_refused_with_the_reason(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let (e1, e2) = (common::in_days(200), common::in_days(220));
    common::receive(&p.admin, POUCH, "L1", &e1, "A-01-1", 2).await;
    common::receive(&p.admin, POUCH, "L2", &e2, "A-02-1", 2).await;
    common::receive(&p.admin, PLATE, "PL1", &e2, "A-02-1", 2).await;
    let t1 = picked(&p, "W-1", json!([{ "gtin": POUCH, "quantity": 2 }])).await;
    let t2 = picked(&p, "W-2", json!([{ "gtin": POUCH, "quantity": 1 }])).await;
    assert_ne!(t1, t2);

    // No order open yet: an item is refused with what to do.
    let r = scan(&p.packer, "PAK-01", "a0", &wedge(POUCH, &e1, "L1")).await;
    assert_eq!(r["code"], "no_order");
    // Scanning the tote opens its order, like the open call.
    let r = scan(&p.packer, "PAK-01", "a1", &t1).await;
    assert_eq!(
        (r["code"].as_str(), r["view"]["external_id"].as_str()),
        (Some("opened"), Some("W-1"))
    );
    let r = scan(&p.packer, "PAK-01", "a2", &wedge(PLATE, &e2, "PL1")).await;
    assert_eq!(r["code"], "not_in_order", "{r}");
    assert!(r["message_da"]
        .as_str()
        .unwrap()
        .contains("ikke plukket til denne ordre"));
    // W-2's pack (lot L2) is from another order's tote.
    let r = scan(&p.packer, "PAK-01", "a3", &wedge(POUCH, &e2, "L2")).await;
    assert_eq!(r["code"], "wrong_lot", "{r}");
    let r = scan(&p.packer, "PAK-01", "a4", &wedge(POUCH, &e2, "L1")).await;
    assert_eq!(r["code"], "expiry_mismatch", "{r}");
    let r = scan(&p.packer, "PAK-01", "a5", "XYZ-404").await;
    assert_eq!(r["code"], "unknown_code", "{r}");
    let r = scan(&p.packer, "PAK-01", "a6", &wedge(POUCH, &e1, "L1")).await;
    assert_eq!(r["code"], "packed");
    // Missing: one pack short of the order.
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.body["code"], "not_complete");
    assert!(
        c.body["message"]
            .as_str()
            .unwrap()
            .contains("1 x Lukket pose 50 mm lot L1"),
        "{:?}",
        c.body
    );
    let r = scan(&p.packer, "PAK-01", "a7", &wedge(POUCH, &e1, "L1")).await;
    assert_eq!(r["code"], "packed");
    let r = scan(&p.packer, "PAK-01", "a8", &wedge(POUCH, &e1, "L1")).await;
    assert_eq!(r["code"], "extra_item");
    // Nothing refused was written: two packs in the parcel, the tote untouched.
    assert_eq!(r["view"]["items"].as_array().unwrap().len(), 2);
    assert_eq!(transfers_total(&p).await, 0);
    // W-2 cannot be packed at the same time at another station by its reference, until W-1 closes.
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    let r = p
        .packer
        .post("/api/pack-stations/PAK-02/open", json!({ "code": "W-2" }))
        .await;
    assert_eq!(r.body["tote"], t2.as_str());
    // A packed order is refused with its reason.
    let r = scan(&p.packer, "PAK-02", "a9", "W-1").await;
    assert_eq!(r["code"], "opened");
    let r = scan(&p.packer, "PAK-02", "a10", &wedge(POUCH, &e1, "L1")).await;
    assert_eq!(r["code"], "already_packed", "{r}");
    assert_eq!(owned(&p, "COLOPLAST", "L1").await, 0);
    assert_eq!(owned(&p, "payer:0751", "L1").await, 2);
    p.printer.stop();
}

async fn a_lot_blocked_after_picking_is_refused_at_packing(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let exp = common::in_days(200);
    common::receive(&p.admin, POUCH, "L1", &exp, "A-01-1", 5).await;
    let tote = picked(&p, "W-1", json!([{ "gtin": POUCH, "quantity": 1 }])).await;
    let lead = p.app.user("lene", Role::Lead).await;
    let r = lead
        .post(
            "/api/lot-blocks",
            json!({ "gtin": POUCH, "lot": "L1", "reason": "recall R-17" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = p
        .packer
        .post(
            "/api/lot-blocks",
            json!({ "gtin": POUCH, "lot": "L1", "reason": "x" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "only a lead blocks a lot");
    scan(&p.packer, "PAK-01", "b1", &tote).await;
    let r = scan(&p.packer, "PAK-01", "b2", &wedge(POUCH, &exp, "L1")).await;
    assert_eq!(r["code"], "lot_blocked", "{r}");
    assert!(
        r["message_da"].as_str().unwrap().contains("recall R-17"),
        "{r}"
    );
    assert_eq!(r["view"]["lots"][0]["blocked"], "recall R-17");
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.body["code"], "empty_parcel");
    let r = lead
        .post(
            "/api/lot-blocks/release",
            json!({ "gtin": POUCH, "lot": "L1", "reason": "recall withdrawn" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = scan(&p.packer, "PAK-01", "b3", &wedge(POUCH, &exp, "L1")).await;
    assert_eq!(r["code"], "packed", "{r}");
    // Blocked again after it went into the parcel: the parcel does not close with it.
    let r = lead
        .post(
            "/api/lot-blocks",
            json!({ "gtin": POUCH, "lot": "L1", "reason": "recall R-18" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.body["code"], "lot_blocked", "{:?}", c.body);
    assert_eq!(transfers_total(&p).await, 0);
    lead.post(
        "/api/lot-blocks/release",
        json!({ "gtin": POUCH, "lot": "L1", "reason": "recall withdrawn" }),
    )
    .await;
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    assert_eq!(owned(&p, "COLOPLAST", "L1").await, 4);
    assert_eq!(owned(&p, "payer:0751", "L1").await, 1);
    let audit = p.admin.get("/api/audit?action=lot.blocked").await.body;
    assert_eq!(
        audit.as_array().unwrap().len(),
        2,
        "blocked twice, each logged"
    );
    p.printer.stop();
}

async fn a_damaged_pack_is_scrapped_and_picked_again_without_losing_what_was_scanned(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let (e1, e2) = (common::in_days(200), common::in_days(260));
    common::receive(&p.admin, POUCH, "L1", &e1, "A-01-1", 2).await;
    common::receive(&p.admin, POUCH, "L2", &e2, "A-02-1", 3).await;
    let tote = picked(&p, "W-1", json!([{ "gtin": POUCH, "quantity": 2 }])).await;
    scan(&p.packer, "PAK-01", "d1", &tote).await;
    assert_eq!(
        scan(&p.packer, "PAK-01", "d2", &wedge(POUCH, &e1, "L1")).await["code"],
        "packed"
    );
    // The second pack is torn: scrapped from the tote and picked again.
    let r = p
        .packer
        .post(
            "/api/pack-stations/PAK-01/short",
            json!({ "request_key": "k1", "gtin": POUCH, "lot": "L1", "reason": "torn foil" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["shorts"][0]["state"], "picking");
    assert_eq!(
        r.body["items"].as_array().unwrap().len(),
        1,
        "what was scanned stays"
    );
    assert!(
        r.body["missing"].to_string().contains("still to be picked"),
        "{:?}",
        r.body["missing"]
    );
    // Reported twice (a retry): scrapped once.
    p.packer
        .post(
            "/api/pack-stations/PAK-01/short",
            json!({ "request_key": "k1", "gtin": POUCH, "lot": "L1", "reason": "torn foil" }),
        )
        .await;
    let scrap = p.admin.get("/api/stock/units?owner=COLOPLAST").await.body;
    let total: i64 = scrap
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["quantity"].as_i64().unwrap())
        .sum();
    assert_eq!(
        total, 4,
        "5 received - 1 scrapped (the scanned one is still in the tote)"
    );
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.body["code"], "not_complete", "{:?}", c.body);
    // The replacement is picked into the same tote (lot L2, the only one left).
    let wave = r.body["shorts"][0]["wave_id"].as_i64().unwrap();
    pick_wave(&p, wave).await;
    let v = p.packer.get("/api/pack-stations/PAK-01").await.body;
    assert_eq!(v["tote"], tote.as_str());
    assert_eq!(v["status"], "picked");
    let r = scan(&p.packer, "PAK-01", "d3", &wedge(POUCH, &e2, "L2")).await;
    assert_eq!(r["code"], "packed", "{r}");
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    assert_eq!(c.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(owned(&p, "payer:0751", "L1").await, 1);
    assert_eq!(owned(&p, "payer:0751", "L2").await, 1);
    assert_eq!(owned(&p, "COLOPLAST", "L1").await, 0);
    assert_eq!(owned(&p, "COLOPLAST", "L2").await, 2);
    assert_eq!(transfers_total(&p).await, 2);
    p.printer.stop();
}

/// A serial scanner on a real pseudo-terminal, bound to a pack station (workflow `packing`):
/// the tote opens the order, a wrong pack is refused with the scanner's bad feedback, the right
/// ones are taken with the good one; every verdict is stored with the scan, and the packer
/// closes the parcel the scanner filled.
async fn an_order_is_packed_with_a_serial_scanner_bound_to_a_pack_station(b: Backend) {
    use std::io::{Read, Write};
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(pty) = common::pty::Pty::plug(dir.path()) else {
        p.printer.stop();
        return;
    };
    let exp = common::in_days(200);
    common::receive(&p.admin, POUCH, "L1", &exp, "A-01-1", 5).await;
    common::receive(&p.admin, PLATE, "PL1", &exp, "A-02-1", 5).await;
    let tote = picked(&p, "W-1", json!([{ "gtin": POUCH, "quantity": 2 }])).await;
    let r = common::Client::send(
        p.admin
            .req(reqwest::Method::PUT, "/api/stations/PAK-01/workflow")
            .json(&json!({ "workflow": "packing" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = common::Client::send(
        p.admin
            .req(reqwest::Method::PUT, "/api/scanners/pak-scn")
            .json(&json!({
                "path": pty.dev.display().to_string(), "station": "PAK-01", "baud": 115200,
                "good_feedback": "07", "bad_feedback": "1b42",
            })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while p.admin.get("/api/scanners").await.body[0]["status"]["connected"] != true {
        assert!(
            std::time::Instant::now() < deadline,
            "scanner never connected"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut host = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&pty.host)
        .unwrap();
    let d = chrono::NaiveDate::parse_from_str(&exp, "%Y-%m-%d").unwrap();
    let pouch = format!("]d201{POUCH}17{}10L1\r\n", d.format("%y%m%d"));
    let plate = format!("]d201{PLATE}17{}10PL1\r\n", d.format("%y%m%d"));
    let stored = |n: usize| {
        let admin = p.admin.clone();
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            loop {
                let s = admin.get("/api/scans?station=PAK-01").await.body;
                if s.as_array().unwrap().len() >= n {
                    return s;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "scans not stored: {s}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    // One scan at a time, each answered before the next, as a person scans.
    for (i, scan) in [
        format!("]C0{tote}\r\n"),
        plate,
        pouch.clone(),
        pouch.clone(),
        pouch,
    ]
    .iter()
    .enumerate()
    {
        host.write_all(scan.as_bytes()).unwrap();
        stored(i + 1).await;
    }
    let scans = stored(5).await;
    let verdicts: Vec<(&str, &str)> = scans
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["used_for"].as_str().unwrap(),
                s["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("packing", "ok"),
            ("packing", "rejected"),
            ("packing", "ok"),
            ("packing", "ok"),
            ("packing", "rejected")
        ],
        "{scans}"
    );
    assert!(
        scans[1]["message_da"]
            .as_str()
            .unwrap()
            .contains("ikke plukket til denne ordre"),
        "the reason, in Danish: {scans}"
    );
    assert!(
        scans[4]["message_da"]
            .as_str()
            .unwrap()
            .contains("allerede i pakken"),
        "{scans}"
    );
    // The feedback reached the scanner in order: good, bad, good, good, bad.
    let mut fb = [0u8; 7];
    let fb = tokio::task::spawn_blocking(move || host.read_exact(&mut fb).map(|_| fb))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&fb, b"\x07\x1bB\x07\x07\x1bB");
    let v = p.packer.get("/api/pack-stations/PAK-01").await.body;
    assert_eq!(v["complete"], true, "{v}");
    assert_eq!(v["items"][0]["actor"], "station:PAK-01");
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    assert_eq!(owned(&p, "payer:0751", "L1").await, 2);
    assert_eq!(owned(&p, "COLOPLAST", "L1").await, 3);
    pty.unplug();
    p.printer.stop();
}

/// A damaged pack with no stock left for its replacement: the short waits (`short`), the order
/// cannot close, a lead's retry is refused while stock is missing, and goes through once a
/// delivery came in; the order then packs and closes.
async fn a_damaged_pack_without_stock_waits_until_a_lead_tries_again(b: Backend) {
    let Some((p, _dir)) = setup(b).await else {
        return;
    };
    let exp = common::in_days(200);
    common::receive(&p.admin, POUCH, "L1", &exp, "A-01-1", 1).await;
    let tote = picked(&p, "W-1", json!([{ "gtin": POUCH, "quantity": 1 }])).await;
    scan(&p.packer, "PAK-01", "n0", &tote).await;
    let r = p
        .packer
        .post(
            "/api/pack-stations/PAK-01/short",
            json!({ "gtin": POUCH, "lot": "L1", "reason": "crushed" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["shorts"][0]["state"], "short");
    let id = r.body["shorts"][0]["id"].as_i64().unwrap();
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.status, StatusCode::CONFLICT);
    let lead = p.app.user("lene", Role::Lead).await;
    let open = lead.get("/api/pack-shorts").await.body;
    assert_eq!(open[0]["id"], id, "{open}");
    let r = lead
        .post(&format!("/api/pack-shorts/{id}/retry"), json!({}))
        .await;
    assert_eq!(r.body["code"], "no_stock", "{:?}", r.body);
    let r = p
        .packer
        .post(&format!("/api/pack-shorts/{id}/retry"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a lead decides");
    let exp2 = common::in_days(240);
    common::receive(&p.admin, POUCH, "L2", &exp2, "A-02-1", 3).await;
    let r = lead
        .post(&format!("/api/pack-shorts/{id}/retry"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "picking");
    pick_wave(&p, r.body["wave_id"].as_i64().unwrap()).await;
    let r = scan(&p.packer, "PAK-01", "n1", &wedge(POUCH, &exp2, "L2")).await;
    assert_eq!(r["code"], "packed", "{r}");
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    assert_eq!(owned(&p, "payer:0751", "L2").await, 1);
    assert_eq!(
        owned(&p, "COLOPLAST", "L1").await,
        0,
        "the crushed pack was scrapped"
    );
    let audit = p.admin.get("/api/audit?action=pack_short.retry").await.body;
    assert_eq!(audit.as_array().unwrap().len(), 1);
    p.printer.stop();
}
