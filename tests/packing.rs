//! The pack station over HTTP on both backends: orders picked by scan are packed by scan into
//! parcels, closed with an SSCC and the ownership transfer, split, voided and reprinted; every
//! test checks the ledger. Labels go to the simulated printer on a loopback socket.

mod common;

use common::{Backend, Client, TestApp};
use konsign::devices::printer::sim::Simulator;
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends!(
    a_complete_parcel_is_closed_with_its_sscc_label_and_ownership_transfer,
    missing_extra_and_foreign_items_are_refused_with_the_reason,
    a_lot_blocked_after_picking_is_refused_at_packing,
    a_damaged_pack_is_scrapped_and_picked_again_without_losing_what_was_scanned,
    a_split_order_leaves_in_two_parcels_transferred_once,
    a_voided_parcel_gives_the_packs_back_and_its_sscc_is_never_used_again,
    four_pack_stations_closing_at_once_and_a_restart_never_repeat_an_sscc,
    an_over_weight_parcel_is_refused,
    the_printed_shipping_label_decodes_to_the_parcels_sscc_and_postcode,
    an_order_is_packed_with_a_serial_scanner_bound_to_a_pack_station,
);

const POUCH: &str = "05708932000024";
const PLATE: &str = "05708932000017";

struct Packing {
    app: TestApp,
    admin: Client,
    web: Client,
    packer: Client,
    printer: Simulator,
    url: String,
}

/// Products with weights, pick locations with stock, four totes, two pack stations with a
/// label printer, and the site's picking without location scans.
async fn setup(b: Backend) -> Option<(Packing, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let url = common::database_url(b, dir.path()).await?;
    let app = common::start_app(url.clone(), None, |c| {
        c.picking.require_location_scan = false;
    })
    .await;
    let admin = app.admin().await;
    app.seed(&admin).await;
    for (code, kind, seq) in [
        ("T-01", "tote", 900),
        ("T-02", "tote", 901),
        ("T-03", "tote", 902),
        ("T-04", "tote", 903),
        ("T-05", "tote", 904),
        ("PAK-01", "packing", 950),
        ("PAK-02", "packing", 951),
        ("PAK-03", "packing", 952),
        ("PAK-04", "packing", 953),
    ] {
        let r = admin
            .post(
                "/api/locations",
                json!({ "code": code, "zone": "Z", "kind": kind, "walk_seq": seq }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    for (gtin, grams) in [(POUCH, 180), (PLATE, 90)] {
        let mut p = admin.get(&format!("/api/products/{gtin}")).await.body;
        let o = p.as_object_mut().unwrap();
        o.remove("cut_to_fit");
        o.insert("weight_g".into(), json!(grams));
        let r = admin.put_json(&format!("/api/products/{gtin}"), p).await;
        assert!(r.status.is_success(), "{:?}", r.body);
    }
    let printer = Simulator::start("127.0.0.1:0", None, None).await.unwrap();
    for station in ["PAK-01", "PAK-02", "PAK-03", "PAK-04"] {
        let id = station.to_lowercase();
        let r = admin
            .put_json(
                &format!("/api/printers/{id}"),
                json!({ "host": "127.0.0.1", "port": printer.addr().port(), "label_width_mm": 102,
                        "label_height_mm": 152, "station": station }),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    }
    let web = app.user("web", Role::Integration).await;
    let packer = app.user("pelle", Role::Packer).await;
    Some((
        Packing {
            app,
            admin,
            web,
            packer,
            printer,
            url,
        },
        dir,
    ))
}

fn wedge(gtin: &str, expiry: &str, lot: &str) -> String {
    let d = chrono::NaiveDate::parse_from_str(expiry, "%Y-%m-%d").unwrap();
    format!("01{gtin}17{}10{lot}", d.format("%y%m%d"))
}

/// Takes in an order of pouches and picks it into a tote by scanning; returns the tote.
async fn picked(p: &Packing, id: &str, lines: Value) -> String {
    let order = json!({
        "external_id": id,
        "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
        "grant_ref": "BEV-77",
        "citizen_id": "cit-4f9a",
        "recipient": { "name": "Åse Ørnbøl", "address_line1": "Søndergade 12", "postcode": "8000", "city": "Aarhus C" },
        "delivery_date": common::in_days(2),
        "lines": lines,
    });
    let r = p.web.post("/api/orders", order).await;
    assert_eq!(r.body["status"], "allocated", "{:?}", r.body);
    let w = p.admin.post("/api/waves", json!({ "max_orders": 1 })).await;
    assert_eq!(w.status, StatusCode::CREATED, "{:?}", w.body);
    let wave = w.body["id"].as_i64().unwrap();
    pick_wave(p, wave).await;
    let s = p.web.get(&format!("/api/orders/{id}/status")).await;
    assert_eq!(s.body["status"], "picked", "{:?}", s.body);
    w.body["picks"][0]["tote"].as_str().unwrap().to_string()
}

/// Picks every open pick of a wave by scanning its pack.
async fn pick_wave(p: &Packing, wave: i64) {
    for i in 0..50 {
        let next = p.admin.get(&format!("/api/waves/{wave}/next")).await.body;
        let Some(pick) = next["pick"].as_object() else {
            return;
        };
        let data = wedge(
            pick["gtin"].as_str().unwrap(),
            pick["expiry"].as_str().unwrap(),
            pick["lot"].as_str().unwrap(),
        );
        let left = pick["quantity"].as_i64().unwrap() - pick["picked"].as_i64().unwrap();
        let r = p
            .admin
            .post(
                &format!("/api/waves/{wave}/scan"),
                json!({ "scan_id": format!("w{wave}-{i}"), "data": data, "quantity": left }),
            )
            .await;
        assert_eq!(r.body["code"], "confirmed", "{:?}", r.body);
    }
    panic!("wave {wave} never finished");
}

async fn scan(c: &Client, station: &str, id: &str, data: &str) -> Value {
    let r = c
        .post(
            &format!("/api/pack-stations/{station}/scan"),
            json!({ "scan_id": id, "data": data }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

async fn close(c: &Client, station: &str, body: Value) -> common::Resp {
    c.post(&format!("/api/pack-stations/{station}/close"), body)
        .await
}

/// Packs (by owner) of one product's lot, summed over the stock units.
async fn owned(p: &Packing, owner: &str, lot: &str) -> i64 {
    let units = p
        .admin
        .get(&format!("/api/stock/units?owner={owner}"))
        .await
        .body;
    units
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["lot"] == lot)
        .map(|u| u["quantity"].as_i64().unwrap())
        .sum()
}

async fn transfers_total(p: &Packing) -> i64 {
    use sqlx::Row;
    sqlx::query("select cast(coalesce(sum(quantity), 0) as bigint) as n from ownership_transfers")
        .fetch_one(p.app.ctx.db.pool())
        .await
        .unwrap()
        .get::<i64, _>("n")
}

fn check_sscc(sscc: &str) {
    konsign::domain::sscc::Sscc::parse(sscc).expect("a valid SSCC");
    let scan = konsign::domain::gs1::parse(
        format!("]C100{sscc}").as_bytes(),
        chrono::Utc::now().date_naive(),
    )
    .expect("the GS1 engine reads it");
    assert_eq!(scan.sscc.as_deref(), Some(sscc));
    assert!(
        sscc.starts_with("05790002"),
        "extension 0, prefix 5790002: {sscc}"
    );
}

async fn printed_label(p: &Packing, n: usize) -> Vec<String> {
    for _ in 0..200 {
        if p.printer.printed().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    p.printer.printed()
}

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
    let r = p
        .packer
        .post(
            "/api/pack-stations/PAK-01/scan",
            json!({ "scan_id": "s1", "data": pack, "quantity": 2 }),
        )
        .await;
    assert_eq!(r.body["code"], "packed", "{:?}", r.body);
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

    let closed = close(
        &p.packer,
        "PAK-01",
        json!({ "request_key": "c1", "parcel_type": "S" }),
    )
    .await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    let sscc = closed.body["sscc"].as_str().unwrap().to_string();
    check_sscc(&sscc);
    assert_eq!(closed.body["state"], "closed");
    assert_eq!(
        closed.body["booking_state"], "waiting",
        "the seam for the carrier"
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
    // The packing slip lists every line with its lot (and is an audited read).
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

/// The text of a PDF by `pdftotext`, or `None` (with the reason) without poppler.
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("slip.pdf");
    std::fs::write(&f, pdf).unwrap();
    match std::process::Command::new("pdftotext")
        .arg(&f)
        .arg("-")
        .output()
    {
        Ok(o) if o.status.success() => Some(String::from_utf8_lossy(&o.stdout).to_string()),
        _ => {
            assert!(
                !common::decode::required(),
                "pdftotext (poppler-utils) is needed"
            );
            eprintln!("skipped: the packing slip text check needs pdftotext");
            None
        }
    }
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
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    assert_eq!(owned(&p, "COLOPLAST", "L1").await, 4);
    assert_eq!(owned(&p, "payer:0751", "L1").await, 1);
    let audit = p.admin.get("/api/audit?action=lot.blocked").await.body;
    assert_eq!(audit.as_array().unwrap().len(), 1);
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
        scans[1]["message"]
            .as_str()
            .unwrap()
            .contains("ikke plukket til denne ordre"),
        "the reason, in Danish: {scans}"
    );
    assert!(
        scans[4]["message"]
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
