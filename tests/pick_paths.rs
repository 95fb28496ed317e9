//! On SQLite a pick scan has two write paths: the writer thread's one step for the common case
//! (`store::sqlite_writer::pick`) and the general sqlx path for the rest. The same wave, scanned
//! the same way once with the one-step path and once without it, must give the same answers
//! and leave the same rows: ledger, stock operations, units, reservations, picks,
//! confirmations, order lines, orders, waves and events (timestamps aside).

mod common;

use common::packing::wedge;
use common::{Backend, Client};
use konsign::domain::auth::Role;
use konsign::metrics::PathLabel;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

fn order(id: &str, lines: Value) -> Value {
    json!({
        "external_id": id,
        "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
        "grant_ref": "BEV-77",
        "citizen_id": "cit-4f9a",
        "recipient": { "name": "Åse Ørnbøl", "address_line1": "Søndergade 12, 2. th", "postcode": "8000",
                       "city": "Aarhus C" },
        "delivery_date": common::in_days(2),
        "lines": lines,
    })
}

async fn scan(c: &Client, wave: i64, id: &str, data: &str) -> Value {
    let r = c
        .post(
            &format!("/api/waves/{wave}/scan"),
            json!({ "scan_id": id, "data": data }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{id} {data}: {:?}", r.body);
    r.body
}

/// Every row of the tables a pick scan writes, as text, timestamps left out.
async fn rows(ctx: &konsign::service::Ctx) -> Vec<String> {
    let tables: [(&str, &str); 11] = [
        ("ledger", "id, op_id, stock_unit_id, kind, gtin, owner, location, delta, qty_before, qty_after, reason, reference, actor"),
        ("stock_ops", "id, kind, idempotency_key, request_hash, actor"),
        ("stock_units", "id, gtin, lot, expiry, location, owner, status, qty, reserved"),
        ("reservations", "id, order_id, line_id, stock_unit_id, qty"),
        ("picks", "id, wave_id, order_id, seq, stock_unit_id, reservation_id, lot, expiry, tote, quantity, picked, status, location_ok, tote_ok"),
        ("pick_confirms", "id, wave_id, pick_id, scan_key, from_unit, to_unit, qty, op_id, actor, undone"),
        ("order_lines", "id, order_id, quantity, picked"),
        ("orders", "id, external_id, status, tote, wave_id"),
        ("waves", "id, status, picker"),
        ("pick_refusals", "id, wave_id, scan_key, code, actor"),
        ("events", "id, event_type, subject"),
    ];
    let mut out = Vec::new();
    for (table, cols) in tables {
        let expr: Vec<String> = cols
            .split(", ")
            .map(|c| format!("coalesce(cast({c} as text), '-')"))
            .collect();
        let sql = format!(
            "select {} as r from {table} order by id",
            expr.join(" || '|' || ")
        );
        for r in sqlx::query(&sql).fetch_all(ctx.db.pool()).await.unwrap() {
            out.push(format!("{table}: {}", r.get::<String, _>("r")));
        }
    }
    for r in sqlx::query("select id, payload from events order by id")
        .fetch_all(ctx.db.pool())
        .await
        .unwrap()
    {
        let mut payload: Value = serde_json::from_str(&r.get::<String, _>("payload")).unwrap();
        strip_times(&mut payload);
        out.push(format!("event {}: {payload}", r.get::<i64, _>("id")));
    }
    out
}

fn strip_times(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, _| k != "at" && !k.ends_with("_at"));
            m.values_mut().for_each(strip_times);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_times),
        _ => {}
    }
}

/// One wave of two orders picked to its end with every kind of scan: refusals (product before
/// location or tote, an unknown label, a wrong location, a wrong product), locations, totes,
/// confirmations, a replayed scan id, a lot swap and the wave's last scan. Returns the answers,
/// the rows and how many scans each path wrote.
async fn pick_a_wave(one_step: bool) -> Option<(Vec<Value>, Vec<String>, u64, u64)> {
    let dir = tempfile::tempdir().unwrap();
    let url = common::database_url(Backend::Sqlite, dir.path()).await?;
    let app = common::start_app(url, Some(dir), |c| {
        c.picking.require_tote_scan = true;
        c.picking.require_location_scan = true;
    })
    .await;
    app.ctx
        .db
        .sqlite_writer()
        .expect("SQLite has a writer")
        .set_pick_scans(one_step);
    let admin = app.admin().await;
    app.seed(&admin).await;
    for (code, kind, seq) in [
        ("A-03-1", "pick", 30),
        ("T-01", "tote", 900),
        ("T-02", "tote", 901),
    ] {
        let r = admin
            .post(
                "/api/locations",
                json!({ "code": code, "zone": "Z", "kind": kind, "walk_seq": seq }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let pouch = "05708932000024";
    let plate = "05708932000017";
    let (e1, e2, e3) = (
        common::in_days(200),
        common::in_days(250),
        common::in_days(300),
    );
    common::receive(&admin, pouch, "L1", &e1, "A-01-1", 3).await;
    common::receive(&admin, pouch, "L2", &e2, "A-01-1", 5).await;
    common::receive(&admin, plate, "PL1", &e3, "A-02-1", 5).await;
    let web = app.user("web", Role::Integration).await;
    for (id, lines) in [
        (
            "W-1",
            json!([{ "gtin": pouch, "quantity": 2 }, { "gtin": plate, "quantity": 1 }]),
        ),
        ("W-2", json!([{ "gtin": pouch, "quantity": 3 }])),
    ] {
        let r = web.post("/api/orders", order(id, lines)).await;
        assert_eq!(r.body["status"], "allocated", "{:?}", r.body);
    }
    let w = admin.post("/api/waves", json!({ "max_orders": 2 })).await;
    assert_eq!(w.status, StatusCode::CREATED, "{:?}", w.body);
    let wave = w.body["id"].as_i64().unwrap();
    let picker = app.user("pia", Role::Picker).await;
    let r = picker
        .post(&format!("/api/waves/{wave}/take"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // The wave starts with its first accepted scan (the general path's part).
    let mut answers = vec![scan(&picker, wave, "start", "A-01-1").await];
    let mut next = answers[0]["next"].clone();
    let mut n = 0;
    let mut swapped = false;
    while let Some(p) = next["pick"].as_object().cloned() {
        n += 1;
        assert!(n < 40, "the wave never ends: {next}");
        let (gtin, lot, exp) = (
            p["gtin"].as_str().unwrap().to_string(),
            p["lot"].as_str().unwrap().to_string(),
            p["expiry"].as_str().unwrap().to_string(),
        );
        let mut script: Vec<String> = Vec::new();
        if p["location_ok"] != true {
            script.push(wedge(&gtin, &exp, &lot)); // product before location: refused
            script.push("ZZ-99".into()); // no such location: unreadable
            script.push("A-03-1".into()); // a real location, the wrong one
            script.push(p["location"].as_str().unwrap().to_string());
        }
        if p["tote_ok"] != true {
            script.push(wedge(&gtin, &exp, &lot)); // the order's first pack before its tote: refused
            script.push(p["tote"].as_str().unwrap().to_string());
        }
        script.push(if gtin == pouch { plate } else { pouch }.to_string()); // wrong product
                                                                            // The other pouch lot at the location, once: the reservation follows it (a swap).
        let other = if lot == "L1" {
            ("L2", &e2)
        } else {
            ("L1", &e1)
        };
        if gtin == pouch && !swapped && lot == "L1" {
            swapped = true;
            script.push(wedge(&gtin, other.1, other.0));
        } else {
            script.push(wedge(&gtin, &exp, &lot));
        }
        for data in script {
            let id = format!("s{}", answers.len());
            let a = scan(&picker, wave, &id, &data).await;
            if a["code"] == "confirmed" && answers.len() % 3 == 0 {
                // The same scan id again: answered as already done, nothing written twice.
                let again = scan(&picker, wave, &id, &data).await;
                assert_eq!(again["replayed"], true, "{again}");
                answers.push(again);
            }
            next = a["next"].clone();
            answers.push(a);
        }
    }
    assert_eq!(next["wave_status"], "done", "{next}");
    assert!(swapped, "the script swapped a lot");
    let paths = |path| {
        app.ctx
            .metrics
            .pick_scan_path
            .get_or_create(&PathLabel { path })
            .get()
    };
    let (writer, general) = (paths("writer"), paths("general"));
    let rows = rows(&app.ctx).await;
    app.stop().await;
    Some((answers, rows, writer, general))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_pick_scan_paths_give_the_same_answers_and_rows() {
    let Some((a1, r1, writer, general)) = pick_a_wave(true).await else {
        return;
    };
    let Some((a2, r2, writer_off, general_off)) = pick_a_wave(false).await else {
        return;
    };
    let codes: Vec<&str> = a1.iter().filter_map(|a| a["code"].as_str()).collect();
    for code in [
        "scan_location_first",
        "unreadable",
        "wrong_location",
        "location_ok",
        "wrong_product",
        "scan_tote_first",
        "tote_ok",
        "confirmed",
    ] {
        assert!(codes.contains(&code), "the script gave {code}: {codes:?}");
    }
    assert!(
        a1.iter().any(|a| a["replayed"] == true),
        "a replay was scanned"
    );
    assert!(
        a1.iter().any(|a| a["message"]
            .as_str()
            .unwrap()
            .contains("instead of the reserved one")),
        "a lot was swapped"
    );
    assert!(
        writer >= 15 && general >= 4,
        "most scans took the one-step path, the start, replays, the swap and the end the general one: {writer} / {general}"
    );
    assert_eq!(
        (writer_off, general_off),
        (0, a2.len() as u64),
        "switched off, every scan is general"
    );
    assert_eq!(a1.len(), a2.len(), "the same number of answers");
    for (i, (x, y)) in a1.iter().zip(&a2).enumerate() {
        assert_eq!(x, y, "answer {i} differs");
    }
    let only1: Vec<_> = r1.iter().filter(|r| !r2.contains(r)).collect();
    let only2: Vec<_> = r2.iter().filter(|r| !r1.contains(r)).collect();
    assert!(
        only1.is_empty() && only2.is_empty(),
        "rows of one path only: {only1:#?} {only2:#?}"
    );
    assert_eq!(r1.len(), r2.len(), "the same number of rows");
    for (x, y) in r1.iter().zip(&r2) {
        assert_eq!(x, y);
    }
}
