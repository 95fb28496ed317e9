//! Orders over HTTP on both backends: intake validation and idempotency, FEFO allocation,
//! shelf life, backorders released when stock arrives, concurrent allocation, waves, and picking
//! by scan with lot swap, short pick, re-allocation and undo.

mod common;

use common::{Backend, Client, TestApp};
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    intake_names_the_line_and_field_and_writes_nothing_on_error,
    the_same_order_twice_is_received_once,
    allocation_takes_the_earliest_expiry_across_lots_and_locations,
    short_dated_stock_backorders_and_arriving_stock_allocates_oldest_first,
    concurrent_orders_never_promise_the_same_pack,
    orders_change_and_cancel_until_picking_starts,
    a_lead_releases_a_backorder_partially,
    reading_personal_data_is_audit_logged,
    a_wave_is_picked_by_scan_with_lot_swap_short_pick_and_undo,
    concurrent_scans_of_one_wave_never_pick_more_than_reserved,
    waves_take_cut_orders_first_within_cut_off_limits_and_totes,
    concurrent_waves_never_share_an_order_or_a_tote,
    a_new_order_never_takes_stock_an_older_backorder_waits_for,
    the_same_order_sent_four_times_at_once_is_received_once,
    an_order_of_which_nothing_could_be_picked_goes_back_to_backordered,
);

/// An order body for the pouch (and optionally the cut plate).
fn order(id: &str, lines: Value) -> Value {
    json!({
        "external_id": id,
        "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
        "grant_ref": "BEV-77",
        "citizen_id": "cit-4f9a",
        "recipient": { "name": "Åse Ørnbøl", "address_line1": "Søndergade 12, 2. th", "postcode": "8000",
                       "city": "Aarhus C", "phone": "+45 20 30 40 50" },
        "delivery_date": common::in_days(2),
        "lines": lines,
    })
}

fn pouch(q: i64) -> Value {
    json!({ "gtin": "05708932000024", "quantity": q })
}

fn plate(q: i64, mm: i64) -> Value {
    json!({ "gtin": "05708932000017", "quantity": q,
            "cut": { "shape": "round", "diameter_mm": mm, "measured_on": common::in_days(-10) } })
}

async fn setup(b: Backend) -> Option<(TestApp, Client, Client)> {
    let app = common::spawn_app(b).await?;
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
    let web = app.user("web", Role::Integration).await;
    Some((app, admin, web))
}

async fn status(c: &Client, id: &str) -> Value {
    let r = c.get(&format!("/api/orders/{id}/status")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

async fn unit(c: &Client, id: i64) -> Value {
    c.get(&format!("/api/stock/units/{id}")).await.body
}

async fn intake_names_the_line_and_field_and_writes_nothing_on_error(b: Backend) {
    let Some((app, _, web)) = setup(b).await else {
        return;
    };
    let cases = [
        (
            order(
                "W-1",
                json!([pouch(1), { "gtin": "05708932000031", "quantity": 1 }]),
            ),
            "lines[2].gtin",
            "unknown product",
        ),
        (
            order("W-1", json!([plate(1, 60)])),
            "lines[1].cut.diameter_mm",
            "outside the cut range",
        ),
        (
            order(
                "W-1",
                json!([{ "gtin": "05708932000024", "quantity": 1,
                "cut": { "shape": "round", "diameter_mm": 20, "measured_on": common::in_days(-1) } }]),
            ),
            "lines[1].cut",
            "not cut-to-fit",
        ),
        (
            order("W-1", json!([pouch(0)])),
            "lines[1].quantity",
            "between 1 and 999",
        ),
        (order("W-1", json!([])), "lines", "at least one line"),
    ];
    for (body, field, message) in cases {
        let r = web.post("/api/orders", body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
        assert_eq!(r.body["field"], field, "{:?}", r.body);
        assert!(
            r.body["message"].as_str().unwrap().contains(message),
            "{:?}",
            r.body
        );
    }
    let mut cpr = order("W-1", json!([pouch(1)]));
    cpr["citizen_id"] = json!("010203-1234");
    let r = web.post("/api/orders", cpr).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["field"], "citizen_id");
    assert!(r.body["message"].as_str().unwrap().contains("CPR"));
    let mut extra = order("W-1", json!([pouch(1)]));
    extra["cpr"] = json!("0102031234");
    let r = web.post("/api/orders", extra).await;
    assert!(
        r.status.is_client_error(),
        "an unknown field is refused: {:?}",
        r.body
    );
    let r = web
        .post_raw("/api/orders", "application/json", "{\"external_id\": ")
        .await;
    assert!(r.status.is_client_error());
    assert_eq!(common::count(&app.ctx, "orders").await, 0);
    assert_eq!(common::count(&app.ctx, "order_lines").await, 0);
    // A picker may not hand over orders.
    let picker = app.user("pia", Role::Picker).await;
    assert_eq!(
        picker
            .post("/api/orders", order("W-1", json!([pouch(1)])))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

async fn the_same_order_twice_is_received_once(b: Backend) {
    let Some((app, admin, web)) = setup(b).await else {
        return;
    };
    common::receive(
        &admin,
        "05708932000024",
        "P1",
        &common::in_days(300),
        "A-01-1",
        10,
    )
    .await;
    let body = order("W-2", json!([pouch(3)]));
    let first = web.post("/api/orders", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(first.body["created"], true);
    assert_eq!(first.body["status"], "allocated");
    let again = web.post("/api/orders", body.clone()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["created"], false);
    assert_eq!(again.body["status"], "allocated");
    let mut other = body.clone();
    other["lines"] = json!([pouch(4)]);
    let r = web.post("/api/orders", other).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "order_conflict");
    assert_eq!(common::count(&app.ctx, "orders").await, 1);
    let units = admin.get("/api/stock/units?gtin=05708932000024").await.body;
    assert_eq!(units[0]["reserved"], 3, "reserved once: {units:?}");
    // The change feed tells the ordering system what happened, in order.
    let feed = web.get("/api/order-changes?after=0").await.body;
    let types: Vec<&str> = feed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["order.received", "order.allocated"]);
    let cursor = feed[1]["id"].as_i64().unwrap();
    assert_eq!(
        web.get(&format!("/api/order-changes?after={cursor}"))
            .await
            .body,
        json!([])
    );
    assert!(
        !feed.to_string().contains("Ørnbøl"),
        "no personal data in events"
    );
}

async fn allocation_takes_the_earliest_expiry_across_lots_and_locations(b: Backend) {
    let Some((_app, admin, web)) = setup(b).await else {
        return;
    };
    let late = common::receive(
        &admin,
        "05708932000024",
        "LATE",
        &common::in_days(400),
        "A-01-1",
        10,
    )
    .await;
    let early = common::receive(
        &admin,
        "05708932000024",
        "EARLY",
        &common::in_days(200),
        "A-02-1",
        2,
    )
    .await;
    let mid = common::receive(
        &admin,
        "05708932000024",
        "MID",
        &common::in_days(300),
        "A-01-1",
        3,
    )
    .await;
    // Earlier still, but quarantined or not in a pick location: never allocated.
    let q = common::receive(
        &admin,
        "05708932000024",
        "QUA",
        &common::in_days(100),
        "A-01-1",
        5,
    )
    .await;
    let r = admin
        .post(
            "/api/stock/quarantine",
            json!({ "stock_unit_id": q, "quantity": 5, "reason": "damaged box" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    common::receive(
        &admin,
        "05708932000024",
        "RCV",
        &common::in_days(100),
        "RCV-01",
        5,
    )
    .await;
    let r = web
        .post("/api/orders", order("W-3", json!([pouch(4)])))
        .await;
    assert_eq!(r.body["status"], "allocated", "{:?}", r.body);
    assert_eq!(unit(&admin, early).await["reserved"], 2);
    assert_eq!(unit(&admin, mid).await["reserved"], 2);
    assert_eq!(unit(&admin, late).await["reserved"], 0);
    // Reserved stock cannot be moved away: only the free rest.
    let r = admin
        .post(
            "/api/stock/move",
            json!({ "stock_unit_id": early, "quantity": 1, "to_location": "A-03-1" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["code"], "insufficient_stock");
    let r = admin
        .post(
            "/api/stock/move",
            json!({ "stock_unit_id": mid, "quantity": 1, "to_location": "A-03-1" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

async fn short_dated_stock_backorders_and_arriving_stock_allocates_oldest_first(b: Backend) {
    let Some((_app, admin, web)) = setup(b).await else {
        return;
    };
    // The plate needs 90 days of shelf life at delivery: a lot with 60 days left is no use.
    let short = common::receive(
        &admin,
        "05708932000017",
        "SHORT",
        &common::in_days(60),
        "A-01-1",
        10,
    )
    .await;
    let r = web
        .post(
            "/api/orders",
            order("W-OLD", json!([plate(3, 30), pouch(1)])),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["status"], "backordered", "{:?}", r.body);
    let missing = r.body["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 2, "both lines are named: {missing:?}");
    assert_eq!(
        missing[0],
        json!({ "line_no": 1, "gtin": "05708932000017", "missing": 3 })
    );
    assert_eq!(unit(&admin, short).await["reserved"], 0);
    let r = web
        .post("/api/orders", order("W-NEW", json!([plate(3, 30)])))
        .await;
    assert_eq!(r.body["status"], "backordered");
    // Stock arrives: enough plates for one of the two; the older order gets them and holds
    // them while it still waits for its pouch.
    let good = common::receive(
        &admin,
        "05708932000017",
        "GOOD",
        &common::in_days(365),
        "A-02-1",
        3,
    )
    .await;
    for _ in 0..200 {
        if unit(&admin, good).await["reserved"] == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status(&web, "W-OLD").await["status"], "backordered");
    assert_eq!(
        status(&web, "W-OLD").await["missing"],
        json!([{ "line_no": 2, "gtin": "05708932000024", "missing": 1 }])
    );
    common::receive(
        &admin,
        "05708932000024",
        "P1",
        &common::in_days(365),
        "A-02-1",
        5,
    )
    .await;
    let mut allocated = false;
    for _ in 0..200 {
        if status(&web, "W-OLD").await["status"] == "allocated" {
            allocated = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        allocated,
        "the backordered order is allocated when stock arrives"
    );
    assert_eq!(status(&web, "W-OLD").await["missing"], json!([]));
    assert_eq!(status(&web, "W-NEW").await["status"], "backordered");
}

async fn concurrent_orders_never_promise_the_same_pack(b: Backend) {
    let Some((app, admin, web)) = setup(b).await else {
        return;
    };
    let a = common::receive(
        &admin,
        "05708932000024",
        "C1",
        &common::in_days(300),
        "A-01-1",
        6,
    )
    .await;
    let c = common::receive(
        &admin,
        "05708932000024",
        "C2",
        &common::in_days(310),
        "A-02-1",
        4,
    )
    .await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let web = web.clone();
        tasks.push(tokio::spawn(async move {
            web.post("/api/orders", order(&format!("W-C{i}"), json!([pouch(1)])))
                .await
        }));
    }
    let mut allocated = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        if r.body["status"] == "allocated" {
            allocated += 1;
        }
    }
    assert_eq!(allocated, 10, "exactly the 10 packs on hand are promised");
    let reserved = unit(&admin, a).await["reserved"].as_i64().unwrap()
        + unit(&admin, c).await["reserved"].as_i64().unwrap();
    assert_eq!(reserved, 10);
    let backordered = web.get("/api/orders?status=backordered").await.body;
    assert_eq!(backordered.as_array().unwrap().len(), 6);
    assert_eq!(common::count(&app.ctx, "orders").await, 16);
}

async fn orders_change_and_cancel_until_picking_starts(b: Backend) {
    let Some((_app, admin, web)) = setup(b).await else {
        return;
    };
    let u = common::receive(
        &admin,
        "05708932000024",
        "P1",
        &common::in_days(300),
        "A-01-1",
        10,
    )
    .await;
    web.post("/api/orders", order("W-5", json!([pouch(2)])))
        .await;
    assert_eq!(unit(&admin, u).await["reserved"], 2);
    let r = admin
        .put_json("/api/orders/W-5", order("W-5", json!([pouch(5)])))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["status"], "allocated");
    assert_eq!(unit(&admin, u).await["reserved"], 5);
    let r = web
        .post(
            "/api/orders/W-5/cancel",
            json!({ "reason": "citizen moved" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(unit(&admin, u).await["reserved"], 0);
    let r = web
        .post("/api/orders/W-5/cancel", json!({ "reason": "again" }))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "order_not_changeable");
    // Once in a wave, an order can no longer be changed.
    web.post("/api/orders", order("W-6", json!([pouch(1)])))
        .await;
    let w = admin.post("/api/waves", json!({})).await;
    assert_eq!(w.status, StatusCode::CREATED, "{:?}", w.body);
    let r = web
        .post("/api/orders/W-6/cancel", json!({ "reason": "late" }))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = web.get("/api/orders/NOPE/status").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn a_lead_releases_a_backorder_partially(b: Backend) {
    let Some((_app, admin, web)) = setup(b).await else {
        return;
    };
    common::receive(
        &admin,
        "05708932000024",
        "P1",
        &common::in_days(300),
        "A-01-1",
        1,
    )
    .await;
    let r = web
        .post("/api/orders", order("W-7", json!([pouch(3)])))
        .await;
    assert_eq!(r.body["status"], "backordered");
    assert_eq!(
        r.body["missing"],
        json!([{ "line_no": 1, "gtin": "05708932000024", "missing": 2 }]),
        "the pack on hand is held"
    );
    assert_eq!(
        web.post("/api/orders/W-7/release", json!({ "reason": "x" }))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = admin
        .post(
            "/api/orders/W-7/release",
            json!({ "reason": "ship what we have" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "allocated");
    assert_eq!(r.body["partial_release"], true);
    assert_eq!(
        r.body["missing"],
        json!([{ "line_no": 1, "gtin": "05708932000024", "missing": 2 }])
    );
}

async fn reading_personal_data_is_audit_logged(b: Backend) {
    let Some((_app, admin, web)) = setup(b).await else {
        return;
    };
    web.post("/api/orders", order("W-8", json!([pouch(1)])))
        .await;
    status(&web, "W-8").await;
    let before = admin
        .get("/api/audit?action=order.personal_data_read")
        .await
        .body;
    assert_eq!(
        before,
        json!([]),
        "the status endpoint reads no personal data"
    );
    let r = web
        .get("/api/orders/W-8?purpose=delivery%20question%20from%20citizen")
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["recipient"]["name"], "Åse Ørnbøl");
    assert_eq!(r.body["lines"][0]["quantity"], 1);
    let log = admin
        .get("/api/audit?action=order.personal_data_read")
        .await
        .body;
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["actor"], "user:web");
    assert_eq!(log[0]["subject"], "order:W-8");
    assert_eq!(log[0]["purpose"], "delivery question from citizen");
    assert_eq!(log[0]["detail"]["citizen_id"], "cit-4f9a");
}

/// A wedge scan of a pack: GTIN, expiry and lot typed without GS.
fn pack(gtin: &str, expiry: &str, lot: &str) -> String {
    let d = chrono::NaiveDate::parse_from_str(expiry, "%Y-%m-%d").unwrap();
    format!("01{gtin}17{}10{lot}", d.format("%y%m%d"))
}

async fn scan(c: &Client, wave: i64, id: &str, data: &str) -> Value {
    let r = c
        .post(
            &format!("/api/waves/{wave}/scan"),
            json!({ "scan_id": id, "data": data }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

async fn a_wave_is_picked_by_scan_with_lot_swap_short_pick_and_undo(b: Backend) {
    let Some((app, admin, web)) = setup(b).await else {
        return;
    };
    let (p_exp, p2_exp) = (common::in_days(200), common::in_days(250));
    let l1 = common::receive(&admin, "05708932000024", "L1", &p_exp, "A-01-1", 3).await;
    let l2 = common::receive(&admin, "05708932000024", "L2", &p2_exp, "A-01-1", 5).await;
    let pl1 = common::receive(
        &admin,
        "05708932000017",
        "PL1",
        &common::in_days(300),
        "A-02-1",
        2,
    )
    .await;
    let pl2 = common::receive(
        &admin,
        "05708932000017",
        "PL2",
        &common::in_days(320),
        "A-03-1",
        5,
    )
    .await;
    let old_exp = common::in_days(30);
    common::receive(&admin, "05708932000017", "OLD", &old_exp, "A-03-1", 5).await;
    let r = web
        .post("/api/orders", order("W-9", json!([pouch(2), plate(2, 30)])))
        .await;
    assert_eq!(r.body["status"], "allocated", "{:?}", r.body);
    web.post("/api/orders", order("W-10", json!([pouch(1)])))
        .await;

    let w = admin.post("/api/waves", json!({ "max_orders": 1 })).await;
    assert_eq!(w.status, StatusCode::CREATED, "{:?}", w.body);
    let wave = w.body["id"].as_i64().unwrap();
    let picks = w.body["picks"].as_array().unwrap();
    assert_eq!(
        picks.len(),
        2,
        "the cut order comes first, alone: {picks:?}"
    );
    assert_eq!(picks[0]["location"], "A-01-1", "walking order");
    assert_eq!(picks[0]["external_id"], "W-9");
    assert_eq!(picks[1]["location"], "A-02-1");
    assert_eq!(status(&web, "W-9").await["status"], "picking");
    assert_eq!(status(&web, "W-10").await["status"], "allocated");
    let tote = picks[0]["tote"].as_str().unwrap().to_string();
    assert_eq!(tote, "T-01");

    let picker = app.user("pia", Role::Picker).await;
    let r = picker
        .post(&format!("/api/waves/{wave}/take"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["pick"]["location"], "A-01-1");

    let pouch_gtin = "05708932000024";
    let s = scan(&picker, wave, "s1", &pack(pouch_gtin, &p2_exp, "L2")).await;
    assert_eq!(
        (s["accepted"].as_bool(), s["code"].as_str()),
        (Some(false), Some("scan_location_first"))
    );
    let s = scan(&picker, wave, "s2", "a-01-1").await;
    assert_eq!(s["code"], "location_ok", "{s:?}");
    let s = scan(&picker, wave, "s3", "05708932000017").await;
    assert_eq!(s["code"], "wrong_product");
    // A different valid lot at the location: the reservation follows it.
    let s = scan(&picker, wave, "s4", &pack(pouch_gtin, &p2_exp, "L2")).await;
    assert_eq!(s["code"], "confirmed", "{s:?}");
    assert_eq!(s["next"]["pick"]["lot"], "L2");
    assert_eq!(
        unit(&admin, l1).await["reserved"],
        1,
        "still reserved for W-10"
    );
    assert_eq!(unit(&admin, l2).await["reserved"], 1);
    assert_eq!(unit(&admin, l2).await["quantity"], 4);
    let s = scan(&picker, wave, "s5", &pack(pouch_gtin, &p2_exp, "L2")).await;
    assert_eq!(s["code"], "confirmed");
    assert_eq!(s["next"]["pick"]["location"], "A-02-1");
    // The same scan again is not counted twice.
    let s = scan(&picker, wave, "s5", &pack(pouch_gtin, &p2_exp, "L2")).await;
    assert_eq!(s["replayed"], true);
    assert_eq!(unit(&admin, l2).await["quantity"], 3);
    // Undo the last pick: the pack goes back to its shelf and is reserved again. Only the
    // last scan can be undone, and undoing it twice takes back one pack.
    let r = picker
        .post(
            &format!("/api/waves/{wave}/undo"),
            json!({ "scan_id": "s4" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "not_last_pick");
    for _ in 0..2 {
        let r = picker
            .post(
                &format!("/api/waves/{wave}/undo"),
                json!({ "scan_id": "s5" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["pick"]["location"], "A-01-1");
    }
    let other = app.user("otto", Role::Picker).await;
    let r = other
        .post(
            &format!("/api/waves/{wave}/scan"),
            json!({ "scan_id": "x1", "data": "A-01-1" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "another picker's wave");
    assert_eq!(r.body["code"], "wave_taken");
    assert_eq!(unit(&admin, l2).await["quantity"], 4);
    assert_eq!(unit(&admin, l2).await["reserved"], 1);
    let s = scan(&picker, wave, "s6", &pack(pouch_gtin, &p2_exp, "L2")).await;
    assert_eq!(s["code"], "confirmed", "{s:?}");

    // The plate at A-02-1 is short: the rest is re-allocated from A-03-1, not from the
    // short-dated lot there.
    let s = scan(&picker, wave, "s7", "A-02-1").await;
    assert_eq!(s["code"], "location_ok");
    let pick_id = s["next"]["pick"]["id"].as_i64().unwrap();
    let r = picker
        .post(
            &format!("/api/waves/{wave}/short"),
            json!({ "pick_id": pick_id, "note": "shelf empty" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["pick"]["location"], "A-03-1");
    assert_eq!(r.body["pick"]["lot"], "PL2");
    assert_eq!(unit(&admin, pl1).await["reserved"], 0);
    // The packs that were not there are held in quarantine at the location for a count.
    assert_eq!(unit(&admin, pl1).await["quantity"], 0);
    let held = admin.get("/api/stock/units?location=A-02-1").await.body;
    let held: Vec<&Value> = held
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] == "quarantined")
        .collect();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(
        (held[0]["lot"].as_str(), held[0]["quantity"].as_i64()),
        (Some("PL1"), Some(2))
    );
    let s = scan(&picker, wave, "s8", "A-03-1").await;
    assert_eq!(s["code"], "location_ok");
    let s = scan(
        &picker,
        wave,
        "s9",
        &pack("05708932000017", &old_exp, "OLD"),
    )
    .await;
    assert_eq!(s["code"], "lot_short_dated", "{s:?}");
    let r = picker
        .post(&format!("/api/waves/{wave}/scan"), json!({ "scan_id": "s10", "data": pack("05708932000017", &common::in_days(320), "PL2"), "quantity": 2 }))
        .await;
    assert_eq!(r.body["code"], "confirmed", "{:?}", r.body);
    assert_eq!(r.body["next"]["wave_status"], "done");
    assert!(r.body["next"]["pick"].is_null());

    // The order goes on to cutting; the tote holds what was picked; the ledger reconciles.
    assert_eq!(status(&web, "W-9").await["status"], "cutting");
    let in_tote = admin
        .get(&format!("/api/stock/units?location={tote}"))
        .await
        .body;
    let mut held: Vec<(String, i64)> = in_tote
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["lot"].as_str().unwrap().to_string(),
                u["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    held.sort();
    assert_eq!(held, vec![("L2".to_string(), 2), ("PL2".to_string(), 2)]);
    assert_eq!(unit(&admin, pl2).await["reserved"], 0);
    assert!(konsign::store::stock::unreconciled_units(app.ctx.db.pool())
        .await
        .unwrap()
        .is_empty());
    let wave_view = admin.get(&format!("/api/waves/{wave}")).await.body;
    assert_eq!(wave_view["status"], "done");
    assert_eq!(wave_view["exceptions"][0]["kind"], "short");
    assert_eq!(wave_view["exceptions"][0]["reallocated"], 2);
    assert_eq!(wave_view["exceptions"][0]["location"], "A-02-1");
    let r = picker
        .post(&format!("/api/waves/{wave}/undo"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "wave_done");
    let events = admin.get("/api/events?limit=1000").await.body;
    assert!(events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event_type"] == "order.cutting"));
}

async fn concurrent_scans_of_one_wave_never_pick_more_than_reserved(b: Backend) {
    let Some((app, admin, web)) = setup(b).await else {
        return;
    };
    let exp = common::in_days(200);
    let u = common::receive(&admin, "05708932000024", "L1", &exp, "A-01-1", 10).await;
    web.post("/api/orders", order("W-20", json!([pouch(3)])))
        .await;
    let w = admin.post("/api/waves", json!({})).await;
    let wave = w.body["id"].as_i64().unwrap();
    let picker = app.user("pia", Role::Picker).await;
    picker
        .post(&format!("/api/waves/{wave}/take"), json!({}))
        .await;
    assert_eq!(
        scan(&picker, wave, "loc", "A-01-1").await["code"],
        "location_ok"
    );
    let mut tasks = Vec::new();
    for i in 0..8 {
        let picker = picker.clone();
        let data = pack("05708932000024", &exp, "L1");
        tasks.push(tokio::spawn(async move {
            picker
                .post(
                    &format!("/api/waves/{wave}/scan"),
                    json!({ "scan_id": format!("c{i}"), "data": data }),
                )
                .await
        }));
    }
    let mut confirmed = 0;
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == StatusCode::OK && r.body["code"] == "confirmed" {
            confirmed += 1;
        } else {
            assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
        }
    }
    assert_eq!(confirmed, 3, "exactly the reserved packs are picked");
    assert_eq!(unit(&admin, u).await["quantity"], 7);
    assert_eq!(unit(&admin, u).await["reserved"], 0);
    let tote = admin.get("/api/stock/units?location=T-01").await.body;
    assert_eq!(tote[0]["quantity"], 3);
    assert_eq!(common::count(&app.ctx, "pick_confirms").await, 3);
    assert_eq!(status(&web, "W-20").await["status"], "picked");
}

async fn waves_take_cut_orders_first_within_cut_off_limits_and_totes(b: Backend) {
    let Some((_app, admin, web)) = setup(b).await else {
        return;
    };
    common::receive(
        &admin,
        "05708932000024",
        "P1",
        &common::in_days(300),
        "A-01-1",
        20,
    )
    .await;
    common::receive(
        &admin,
        "05708932000017",
        "B1",
        &common::in_days(300),
        "A-02-1",
        20,
    )
    .await;
    let mut soon = order("W-SOON", json!([pouch(1)]));
    soon["delivery_date"] = json!(common::in_days(1));
    let mut later = order("W-LATER", json!([pouch(1)]));
    later["delivery_date"] = json!(common::in_days(6));
    let mut cut = order("W-CUT", json!([plate(1, 20), pouch(1)]));
    cut["delivery_date"] = json!(common::in_days(6));
    for o in [soon, later, cut] {
        assert_eq!(web.post("/api/orders", o).await.body["status"], "allocated");
    }
    // The cut-off leaves out what is delivered later.
    let w = admin
        .post(
            "/api/waves",
            json!({ "delivery_until": common::in_days(3) }),
        )
        .await;
    assert_eq!(w.status, StatusCode::CREATED, "{:?}", w.body);
    let orders: Vec<&str> = w.body["picks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(orders, vec!["W-SOON"]);
    // One order: the one with a cut line goes first.
    let w = admin.post("/api/waves", json!({ "max_orders": 1 })).await;
    assert_eq!(w.status, StatusCode::CREATED, "{:?}", w.body);
    assert!(w.body["picks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["external_id"] == "W-CUT"));
    assert_eq!(w.body["picks"].as_array().unwrap().len(), 2);
    // Both totes are in use now.
    let r = admin.post("/api/waves", json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "no_free_tote");
    let r = admin
        .post("/api/waves", json!({ "delivery_until": "soon" }))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["field"], "delivery_until");
    let r = admin.post("/api/waves", json!({ "max_orders": 0 })).await;
    assert_eq!(r.body["field"], "max_orders");
    assert_eq!(
        web.post("/api/waves", json!({})).await.status,
        StatusCode::FORBIDDEN,
        "only leads make waves"
    );
}

async fn concurrent_waves_never_share_an_order_or_a_tote(b: Backend) {
    let Some((app, admin, web)) = setup(b).await else {
        return;
    };
    common::receive(
        &admin,
        "05708932000024",
        "P1",
        &common::in_days(300),
        "A-01-1",
        20,
    )
    .await;
    for i in 0..4 {
        let r = web
            .post("/api/orders", order(&format!("W-CW{i}"), json!([pouch(1)])))
            .await;
        assert_eq!(r.body["status"], "allocated");
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let admin = admin.clone();
        tasks.push(tokio::spawn(async move {
            admin.post("/api/waves", json!({ "max_orders": 1 })).await
        }));
    }
    let mut made = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            StatusCode::CREATED => made += 1,
            StatusCode::CONFLICT => assert_eq!(r.body["code"], "no_free_tote", "{:?}", r.body),
            s => panic!("{s}: {:?}", r.body),
        }
    }
    assert_eq!(made, 2, "two totes, two waves");
    let picking = web.get("/api/orders?status=picking").await.body;
    let mut totes: Vec<&str> = picking
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["tote"].as_str().unwrap())
        .collect();
    totes.sort();
    assert_eq!(
        totes,
        vec!["T-01", "T-02"],
        "each order in one wave, each tote once"
    );
    assert_eq!(common::count(&app.ctx, "picks").await, 2);
}

/// Without the service running (no backorder worker), stock arrives while an order is
/// backordered: a newer order for the same product must not take it.
async fn a_new_order_never_takes_stock_an_older_backorder_waits_for(b: Backend) {
    use konsign::domain::catalog::{Location, ProductInput};
    use konsign::domain::order::OrderInput;
    use konsign::service::{catalog, orders, stock, Actor};
    let Some((ctx, _dir)) = common::context(b).await else {
        return;
    };
    let a = Actor::system();
    catalog::create_producer(&ctx, &a, "COLOPLAST", "Coloplast A/S")
        .await
        .unwrap();
    let p = ProductInput {
        gtin: "05708932000024".into(),
        name: "Lukket pose".into(),
        producer: "COLOPLAST".into(),
        category: "pouch".into(),
        units_per_pack: 30,
        price_minor: 100,
        currency: "DKK".into(),
        min_shelf_life_days: 30,
        weight_g: None,
        ..Default::default()
    };
    catalog::put_product(&ctx, &a, &p, false).await.unwrap();
    catalog::create_location(&ctx, &a, &Location::new("A-01-1", "A", "pick", 10).unwrap())
        .await
        .unwrap();
    let intake = |id: &str, q: i64| {
        let body: OrderInput = serde_json::from_value(order(id, json!([pouch(q)]))).unwrap();
        let ctx = ctx.clone();
        async move { orders::intake(&ctx, &Actor::system(), &body).await.unwrap() }
    };
    assert_eq!(intake("OLD", 3).await.order.status.as_str(), "backordered");
    let r = stock::ReceiveRequest {
        idempotency_key: None,
        gtin: "05708932000024".into(),
        lot: "L1".into(),
        expiry: common::in_days(300),
        location: "A-01-1".into(),
        quantity: 4,
        owner: None,
        reference: None,
    };
    stock::receive(&ctx, &a, &r).await.unwrap();
    // Four packs are free, three of them wanted by the older order: the new one for two waits.
    let new = intake("NEW", 2).await;
    assert_eq!(new.order.status.as_str(), "backordered");
    assert_eq!(
        new.order.missing[0].missing, 1,
        "it holds the one pack nobody waits for"
    );
    assert_eq!(orders::allocate_backorders(&ctx).await.unwrap(), 1);
    assert_eq!(
        orders::status(&ctx, "OLD").await.unwrap().status.as_str(),
        "allocated"
    );
    assert_eq!(
        orders::status(&ctx, "NEW").await.unwrap().status.as_str(),
        "backordered"
    );
}

async fn the_same_order_sent_four_times_at_once_is_received_once(b: Backend) {
    let Some((app, admin, web)) = setup(b).await else {
        return;
    };
    let u = common::receive(
        &admin,
        "05708932000024",
        "P1",
        &common::in_days(300),
        "A-01-1",
        10,
    )
    .await;
    let body = order("W-DUP", json!([pouch(2)]));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (web, body) = (web.clone(), body.clone());
        tasks.push(tokio::spawn(
            async move { web.post("/api/orders", body).await },
        ));
    }
    let mut created = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert!(
            r.status == StatusCode::CREATED || r.status == StatusCode::OK,
            "{:?}",
            r.body
        );
        assert_eq!(r.body["status"], "allocated");
        if r.body["created"] == true {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    assert_eq!(common::count(&app.ctx, "orders").await, 1);
    assert_eq!(unit(&admin, u).await["reserved"], 2, "reserved once");
}

async fn an_order_of_which_nothing_could_be_picked_goes_back_to_backordered(b: Backend) {
    let Some((app, admin, web)) = setup(b).await else {
        return;
    };
    let u = common::receive(
        &admin,
        "05708932000024",
        "P1",
        &common::in_days(300),
        "A-01-1",
        2,
    )
    .await;
    web.post("/api/orders", order("W-EMPTY", json!([pouch(2)])))
        .await;
    let w = admin.post("/api/waves", json!({})).await;
    let wave = w.body["id"].as_i64().unwrap();
    let pick_id = w.body["picks"][0]["id"].as_i64().unwrap();
    let picker = app.user("pia", Role::Picker).await;
    picker
        .post(&format!("/api/waves/{wave}/take"), json!({}))
        .await;
    let r = picker
        .post(
            &format!("/api/waves/{wave}/short"),
            json!({ "pick_id": pick_id, "note": "empty" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["wave_status"], "done");
    let s = status(&web, "W-EMPTY").await;
    assert_eq!(s["status"], "backordered", "{s:?}");
    assert_eq!((s["wave_id"].is_null(), s["tote"].is_null()), (true, true));
    assert_eq!(
        s["missing"],
        json!([{ "line_no": 1, "gtin": "05708932000024", "missing": 2 }])
    );
    // The two packs that were not there wait in quarantine for a count; nothing is reserved.
    assert_eq!(unit(&admin, u).await["quantity"], 0);
    assert_eq!(unit(&admin, u).await["reserved"], 0);
    let w = admin.get(&format!("/api/waves/{wave}")).await.body;
    assert_eq!(w["exceptions"][0]["kind"], "short_unresolved");
    // The lead sees it on the start page, with the backorder it left.
    let home = admin.get("/").await.body;
    let home = home.as_str().unwrap();
    assert!(
        home.contains("Mangler ved pluk") && home.contains("A-01-1"),
        "{home}"
    );
    assert!(
        home.contains("Restordrer") && home.contains("W-EMPTY"),
        "{home}"
    );
    assert!(konsign::store::stock::unreconciled_units(app.ctx.db.pool())
        .await
        .unwrap()
        .is_empty());
}

/// With `picking.require_tote_scan` (the default outside these tests), the picker scans each
/// order's tote before its first pack: a pack before that is refused, another tote is refused,
/// and the order's later picks need no second tote scan; the next order of the wave asks for its
/// own tote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_pick_of_each_order_confirms_its_tote() {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = common::database_url(Backend::Sqlite, dir.path()).await else {
        return;
    };
    let app = common::start_app(url, Some(dir), |c| {
        c.picking.require_tote_scan = true;
        c.picking.require_location_scan = false;
    })
    .await;
    let admin = app.admin().await;
    app.seed(&admin).await;
    for (code, seq) in [("T-01", 900), ("T-02", 901)] {
        let r = admin
            .post(
                "/api/locations",
                json!({ "code": code, "zone": "Z", "kind": "tote", "walk_seq": seq }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let web = app.user("web", Role::Integration).await;
    let exp = common::in_days(200);
    common::receive(&admin, "05708932000024", "L1", &exp, "A-01-1", 5).await;
    common::receive(
        &admin,
        "05708932000017",
        "PL1",
        &common::in_days(300),
        "A-02-1",
        5,
    )
    .await;
    web.post(
        "/api/orders",
        order(
            "W-T1",
            json!([pouch(1), json!({ "gtin": "05708932000017", "quantity": 1 })]),
        ),
    )
    .await;
    web.post("/api/orders", order("W-T2", json!([pouch(1)])))
        .await;
    let w = admin.post("/api/waves", json!({ "max_orders": 2 })).await;
    assert_eq!(w.status, StatusCode::CREATED, "{:?}", w.body);
    let wave = w.body["id"].as_i64().unwrap();
    let picker = app.user("pia", Role::Picker).await;
    let r = picker
        .post(&format!("/api/waves/{wave}/take"), json!({}))
        .await;
    assert_eq!(
        (
            r.body["require_tote_scan"].as_bool(),
            r.body["pick"]["tote_ok"].as_bool()
        ),
        (Some(true), Some(false)),
        "{:?}",
        r.body
    );
    let first = r.body["pick"].clone();
    let (tote, other) = if first["tote"] == "T-01" {
        ("T-01", "T-02")
    } else {
        ("T-02", "T-01")
    };
    let pouch_pack = pack("05708932000024", &exp, "L1");
    // A pack before the tote: refused, nothing picked.
    let r = scan(&picker, wave, "s1", &pouch_pack).await;
    assert_eq!(
        (r["accepted"].as_bool(), r["code"].as_str()),
        (Some(false), Some("scan_tote_first")),
        "{r}"
    );
    assert!(r["message_da"].as_str().unwrap().contains(tote), "{r}");
    // The other order's tote: refused.
    let r = scan(&picker, wave, "s2", other).await;
    assert_eq!(r["accepted"], false, "{r}");
    // The right tote, then the pack.
    let r = scan(&picker, wave, "s3", tote).await;
    assert_eq!(
        (r["accepted"].as_bool(), r["code"].as_str()),
        (Some(true), Some("tote_ok")),
        "{r}"
    );
    let r = scan(&picker, wave, "s4", &pouch_pack).await;
    assert_eq!(r["code"], "confirmed", "{r}");
    // Each later pick: the same order needs no second tote scan; a new order asks for its own.
    let mut n = 5;
    loop {
        let next = picker.get(&format!("/api/waves/{wave}/next")).await.body;
        let Some(p) = next["pick"].as_object() else {
            break;
        };
        let same_order = p["external_id"] == first["external_id"];
        assert_eq!(p["tote_ok"].as_bool(), Some(same_order), "{next}");
        if !same_order {
            let r = scan(&picker, wave, &format!("s{n}"), p["tote"].as_str().unwrap()).await;
            assert_eq!(r["code"], "tote_ok", "{r}");
            n += 1;
        }
        let data = if p["gtin"] == "05708932000024" {
            pouch_pack.clone()
        } else {
            pack("05708932000017", &common::in_days(300), "PL1")
        };
        let r = scan(&picker, wave, &format!("s{n}"), &data).await;
        assert_eq!(r["code"], "confirmed", "{r}");
        n += 1;
    }
    let done = admin.get(&format!("/api/waves/{wave}")).await.body;
    assert_eq!(done["status"], "done", "{done}");
}
