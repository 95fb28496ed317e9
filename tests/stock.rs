//! Consignment stock over HTTP: every operation and its ledger entries, refusals that write
//! nothing, idempotency, expiry, statements and concurrency.

mod common;

use common::{Backend, Client};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    receive_creates_stock_with_a_ledger_entry_and_an_event,
    receiving_twice_with_one_idempotency_key_returns_the_first_result,
    move_quarantine_release_scrap_adjust_and_transfer_each_write_the_ledger,
    stock_never_goes_negative_and_a_refusal_writes_nothing,
    expired_stock_is_never_available,
    owner_statement_reconciles_with_the_ledger,
    concurrent_operations_never_lose_or_invent_stock,
);

async fn ledger(c: &Client, unit: i64) -> Vec<Value> {
    c.get(&format!("/api/stock/units/{unit}/ledger"))
        .await
        .body
        .as_array()
        .unwrap()
        .clone()
}

async fn qty(c: &Client, unit: i64) -> i64 {
    c.get(&format!("/api/stock/units/{unit}")).await.body["quantity"]
        .as_i64()
        .unwrap()
}

async fn receive_creates_stock_with_a_ledger_entry_and_an_event(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let expiry = common::in_days(365);
    let r = admin
        .post(
            "/api/stock/receive",
            json!({ "gtin": "5708932000017", "lot": "A123", "expiry": expiry,
        "location": "rcv-01", "quantity": 40, "reference": "ASN-77" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let e = &r.body["entries"][0];
    assert_eq!(e["kind"], "receive");
    assert_eq!(e["gtin"], seed.plate);
    assert_eq!(e["owner"], "COLOPLAST");
    assert_eq!(e["location"], "RCV-01");
    assert_eq!(
        (
            e["delta"].as_i64(),
            e["qty_before"].as_i64(),
            e["qty_after"].as_i64()
        ),
        (Some(40), Some(0), Some(40))
    );
    assert_eq!(e["reference"], "ASN-77");
    assert_eq!(e["actor"], "user:admin");
    let unit = e["stock_unit_id"].as_i64().unwrap();
    let u = admin.get(&format!("/api/stock/units/{unit}")).await.body;
    assert_eq!(u["lot"], "A123");
    assert_eq!(u["expiry"], expiry);
    assert_eq!(u["quantity"], 40);
    assert_eq!(
        u["available"], false,
        "stock in receiving is not yet available for picking"
    );
    // A second receipt of the same lot into the same place adds to the same unit.
    let again = common::receive(&admin, "05708932000017", "A123", &expiry, "RCV-01", 2).await;
    assert_eq!(again, unit);
    assert_eq!(qty(&admin, unit).await, 42);
    let events = admin.get("/api/events?limit=1000").await.body;
    let received: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "stock.received")
        .collect();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0]["subject"], format!("stock_unit:{unit}"));
}

async fn receiving_twice_with_one_idempotency_key_returns_the_first_result(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let body = json!({ "idempotency_key": "asn-9-line-1", "gtin": seed.pouch, "lot": "P9", "expiry": common::in_days(200),
        "location": "A-01-1", "quantity": 12 });
    let first = admin.post("/api/stock/receive", body.clone()).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body["replayed"], false);
    let second = admin.post("/api/stock/receive", body.clone()).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body["replayed"], true);
    assert_eq!(second.body["op_id"], first.body["op_id"]);
    assert_eq!(second.body["entries"], first.body["entries"]);
    let unit = first.body["entries"][0]["stock_unit_id"].as_i64().unwrap();
    assert_eq!(qty(&admin, unit).await, 12);
    assert_eq!(ledger(&admin, unit).await.len(), 1);
    // The same key with different content is a client error, not a second receipt.
    let mut other = body.clone();
    other["quantity"] = json!(13);
    let r = admin.post("/api/stock/receive", other).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.body["code"], "idempotency_key_reused");
    assert_eq!(qty(&admin, unit).await, 12);
    assert_eq!(common::count(&app.ctx, "stock_ops").await, 1);
}

async fn move_quarantine_release_scrap_adjust_and_transfer_each_write_the_ledger(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let expiry = common::in_days(500);
    let rcv = common::receive(&admin, &seed.plate, "M1", &expiry, "RCV-01", 50).await;

    let mv = admin
        .post(
            "/api/stock/move",
            json!({ "stock_unit_id": rcv, "quantity": 30, "to_location": "A-01-1" }),
        )
        .await;
    assert_eq!(mv.status, StatusCode::OK, "{:?}", mv.body);
    let legs = mv.body["entries"].as_array().unwrap();
    assert_eq!(legs.len(), 2);
    assert_eq!(
        (
            legs[0]["delta"].as_i64(),
            legs[0]["qty_after"].as_i64(),
            legs[0]["location"].as_str()
        ),
        (Some(-30), Some(20), Some("RCV-01"))
    );
    assert_eq!(
        (
            legs[1]["delta"].as_i64(),
            legs[1]["qty_after"].as_i64(),
            legs[1]["location"].as_str()
        ),
        (Some(30), Some(30), Some("A-01-1"))
    );
    let pick = legs[1]["stock_unit_id"].as_i64().unwrap();
    assert_eq!(
        admin.get(&format!("/api/stock/units/{pick}")).await.body["available"],
        true
    );

    let q = admin
        .post(
            "/api/stock/quarantine",
            json!({ "stock_unit_id": pick, "quantity": 4, "reason": "crushed box" }),
        )
        .await;
    assert_eq!(q.status, StatusCode::OK, "{:?}", q.body);
    let blocked = q.body["entries"][1]["stock_unit_id"].as_i64().unwrap();
    let bu = admin.get(&format!("/api/stock/units/{blocked}")).await.body;
    assert_eq!(
        (
            bu["status"].as_str(),
            bu["quantity"].as_i64(),
            bu["available"].as_bool()
        ),
        (Some("quarantined"), Some(4), Some(false))
    );
    assert_eq!(q.body["entries"][0]["reason"], "crushed box");
    let no_reason = admin
        .post(
            "/api/stock/quarantine",
            json!({ "stock_unit_id": pick, "quantity": 1 }),
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_reason.body["field"], "reason");
    let wrong = admin
        .post(
            "/api/stock/release",
            json!({ "stock_unit_id": pick, "quantity": 1, "reason": "ok" }),
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::CONFLICT,
        "releasing available stock is refused"
    );

    let rel = admin
        .post(
            "/api/stock/release",
            json!({ "stock_unit_id": blocked, "quantity": 1, "reason": "inspected, fine" }),
        )
        .await;
    assert_eq!(rel.status, StatusCode::OK);
    assert_eq!(qty(&admin, pick).await, 27);
    let scrap = admin.post("/api/stock/scrap", json!({ "stock_unit_id": blocked, "quantity": 3, "scrap_reason": "damaged", "reason": "wet" })).await;
    assert_eq!(scrap.status, StatusCode::OK, "{:?}", scrap.body);
    assert_eq!(scrap.body["entries"][0]["reason"], "damaged: wet");
    assert_eq!(qty(&admin, blocked).await, 0);

    let adj = admin
        .post(
            "/api/stock/adjust",
            json!({ "stock_unit_id": pick, "quantity": 25, "reason": "cycle count" }),
        )
        .await;
    assert_eq!(adj.status, StatusCode::OK);
    let e = &adj.body["entries"][0];
    assert_eq!(
        (
            e["delta"].as_i64(),
            e["qty_before"].as_i64(),
            e["qty_after"].as_i64()
        ),
        (Some(-2), Some(27), Some(25))
    );

    let tr = admin.post("/api/stock/transfer", json!({ "stock_unit_id": pick, "quantity": 5, "new_owner": "payer:0751", "reference": "order 1" })).await;
    assert_eq!(tr.status, StatusCode::OK, "{:?}", tr.body);
    let legs = tr.body["entries"].as_array().unwrap();
    assert_eq!(
        (legs[0]["owner"].as_str(), legs[0]["delta"].as_i64()),
        (Some("COLOPLAST"), Some(-5))
    );
    assert_eq!(
        (legs[1]["owner"].as_str(), legs[1]["delta"].as_i64()),
        (Some("payer:0751"), Some(5))
    );
    let bad_owner = admin
        .post(
            "/api/stock/transfer",
            json!({ "stock_unit_id": pick, "quantity": 1, "new_owner": "NOBODY" }),
        )
        .await;
    assert_eq!(bad_owner.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The unit's ledger tells its whole story, and each entry chains to the next.
    let l = ledger(&admin, pick).await;
    let kinds: Vec<&str> = l.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["move", "quarantine", "release", "adjust", "transfer"]
    );
    for w in l.windows(2) {
        assert_eq!(w[0]["qty_after"], w[1]["qty_before"]);
    }
    assert_eq!(
        l.last().unwrap()["qty_after"].as_i64().unwrap(),
        qty(&admin, pick).await
    );
    let events = admin.get("/api/events?limit=1000").await.body;
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .filter(|t| t.starts_with("stock."))
        .collect();
    assert_eq!(
        types,
        [
            "stock.received",
            "stock.moved",
            "stock.quarantined",
            "stock.released",
            "stock.scrapped",
            "stock.adjusted",
            "stock.ownership_transferred"
        ]
    );
    let unreconciled = konsign::store::stock::unreconciled_units(app.ctx.db.pool())
        .await
        .unwrap();
    assert!(unreconciled.is_empty(), "{unreconciled:?}");
}

async fn stock_never_goes_negative_and_a_refusal_writes_nothing(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let unit = common::receive(
        &admin,
        &seed.pouch,
        "N1",
        &common::in_days(300),
        "A-01-1",
        5,
    )
    .await;
    let before = [
        common::count(&app.ctx, "ledger").await,
        common::count(&app.ctx, "events").await,
        common::count(&app.ctx, "stock_ops").await,
        common::count(&app.ctx, "stock_units").await,
    ];
    for (path, body) in [
        (
            "/api/stock/move",
            json!({ "stock_unit_id": unit, "quantity": 6, "to_location": "A-02-1" }),
        ),
        (
            "/api/stock/scrap",
            json!({ "stock_unit_id": unit, "quantity": 6, "scrap_reason": "expired" }),
        ),
        (
            "/api/stock/quarantine",
            json!({ "stock_unit_id": unit, "quantity": 6, "reason": "x" }),
        ),
        (
            "/api/stock/transfer",
            json!({ "stock_unit_id": unit, "quantity": 6, "new_owner": "payer:101" }),
        ),
    ] {
        let r = admin.post(path, body).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{path}: {:?}", r.body);
        assert_eq!(r.body["code"], "insufficient_stock");
        assert_eq!(
            r.body["message"],
            "not enough stock: 5 on hand, 6 requested"
        );
    }
    let after = [
        common::count(&app.ctx, "ledger").await,
        common::count(&app.ctx, "events").await,
        common::count(&app.ctx, "stock_ops").await,
        common::count(&app.ctx, "stock_units").await,
    ];
    assert_eq!(before, after, "a refused operation left something behind");
    assert_eq!(qty(&admin, unit).await, 5);
    // A counted quantity below zero is not a count.
    let r = admin
        .post(
            "/api/stock/adjust",
            json!({ "stock_unit_id": unit, "quantity": -1, "reason": "count" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The database refuses a negative quantity even if a bug asked for one.
    let raw = sqlx::query("update stock_units set qty = -1 where id = $1")
        .bind(unit)
        .execute(app.ctx.db.pool())
        .await;
    assert!(raw.is_err());
}

async fn expired_stock_is_never_available(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let fresh = common::receive(
        &admin,
        &seed.plate,
        "FRESH",
        &common::in_days(400),
        "A-01-1",
        10,
    )
    .await;
    let short = common::receive(
        &admin,
        &seed.plate,
        "SHORT",
        &common::in_days(30),
        "A-01-1",
        3,
    )
    .await;
    let aging = common::receive(&admin, &seed.plate, "OLD", &common::in_days(1), "A-02-1", 7).await;
    // Time passes: the lot's expiry is now in the past (the stock itself does not change).
    sqlx::query("update stock_units set expiry = $1 where id = $2")
        .bind(common::in_days(-1))
        .bind(aging)
        .execute(app.ctx.db.pool())
        .await
        .unwrap();
    let u = admin.get(&format!("/api/stock/units/{aging}")).await.body;
    assert_eq!(
        (u["freshness"].as_str(), u["available"].as_bool()),
        (Some("expired"), Some(false))
    );
    let u = admin.get(&format!("/api/stock/units/{short}")).await.body;
    assert_eq!(
        (u["freshness"].as_str(), u["available"].as_bool()),
        (Some("short_dated"), Some(true))
    );
    let u = admin.get(&format!("/api/stock/units/{fresh}")).await.body;
    assert_eq!(u["freshness"], "ok");
    let by_product = admin
        .get(&format!(
            "/api/stock/on-hand?group_by=product&gtin={}",
            seed.plate
        ))
        .await
        .body;
    let row = &by_product[0];
    assert_eq!(
        (row["on_hand"].as_i64(), row["available"].as_i64()),
        (Some(20), Some(13))
    );
    assert_eq!(
        (row["expired"].as_i64(), row["short_dated"].as_i64()),
        (Some(7), Some(3))
    );
    let report = admin.get("/api/stock/expiring?days=60").await.body;
    let lots: Vec<&str> = report
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["lot"].as_str().unwrap())
        .collect();
    assert_eq!(lots, ["OLD", "SHORT"]);
    assert_eq!(
        admin.get("/api/stock/expiring?days=-1").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Scrapping the expired lot empties it.
    let r = admin
        .post(
            "/api/stock/scrap",
            json!({ "stock_unit_id": aging, "quantity": 7, "scrap_reason": "expired" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let by_lot = admin
        .get(&format!(
            "/api/stock/on-hand?group_by=lot&gtin={}",
            seed.plate
        ))
        .await
        .body;
    assert_eq!(by_lot.as_array().unwrap().len(), 2);
}

async fn owner_statement_reconciles_with_the_ledger(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let a = common::receive(
        &admin,
        &seed.plate,
        "S1",
        &common::in_days(300),
        "A-01-1",
        100,
    )
    .await;
    let p = common::receive(
        &admin,
        &seed.pouch,
        "S2",
        &common::in_days(300),
        "A-02-1",
        60,
    )
    .await;
    let ok = |r: common::Resp| assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    ok(admin
        .post(
            "/api/stock/move",
            json!({ "stock_unit_id": a, "quantity": 10, "to_location": "A-02-1" }),
        )
        .await);
    ok(admin
        .post(
            "/api/stock/scrap",
            json!({ "stock_unit_id": a, "quantity": 4, "scrap_reason": "damaged" }),
        )
        .await);
    ok(admin
        .post(
            "/api/stock/adjust",
            json!({ "stock_unit_id": p, "quantity": 58, "reason": "count" }),
        )
        .await);
    ok(admin
        .post(
            "/api/stock/transfer",
            json!({ "stock_unit_id": a, "quantity": 20, "new_owner": "payer:0751" }),
        )
        .await);
    ok(admin
        .post(
            "/api/stock/quarantine",
            json!({ "stock_unit_id": p, "quantity": 5, "reason": "leak" }),
        )
        .await);
    let today = common::in_days(0);
    let s = admin
        .get(&format!(
            "/api/owners/COLOPLAST/statement?from={today}&to={today}"
        ))
        .await;
    assert_eq!(s.status, StatusCode::OK, "{:?}", s.body);
    let f = &s.body;
    assert_eq!(f["opening"], 0);
    assert_eq!(f["receipts"], 160);
    assert_eq!(f["scrap"], -4);
    assert_eq!(f["adjustments"], -2);
    assert_eq!(f["issues"], -20);
    assert_eq!(f["transfers_in"], 0);
    assert_eq!(f["internal"], 0);
    assert_eq!(f["closing"], 134);
    assert_eq!(f["reconciles"], true);
    assert_eq!(f["on_hand_now"], 134);
    let payer = admin
        .get(&format!(
            "/api/owners/payer:0751/statement?from={today}&to={today}"
        ))
        .await
        .body;
    assert_eq!(
        (
            payer["transfers_in"].as_i64(),
            payer["closing"].as_i64(),
            payer["reconciles"].as_bool()
        ),
        (Some(20), Some(20), Some(true))
    );
    // Tomorrow's statement opens where today's closes and has no movements.
    let tomorrow = common::in_days(1);
    let next = admin
        .get(&format!(
            "/api/owners/COLOPLAST/statement?from={tomorrow}&to={tomorrow}"
        ))
        .await
        .body;
    assert_eq!(
        (
            next["opening"].as_i64(),
            next["receipts"].as_i64(),
            next["closing"].as_i64()
        ),
        (Some(134), Some(0), Some(134))
    );
    let yesterday = common::in_days(-1);
    let before = admin
        .get(&format!(
            "/api/owners/COLOPLAST/statement?from={yesterday}&to={yesterday}"
        ))
        .await
        .body;
    assert_eq!(before["closing"], 0);
    let bad = admin
        .get(&format!(
            "/api/owners/COLOPLAST/statement?from={today}&to={yesterday}"
        ))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["field"], "to");
}

async fn concurrent_operations_never_lose_or_invent_stock(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let unit = common::receive(
        &admin,
        &seed.pouch,
        "C1",
        &common::in_days(300),
        "A-01-1",
        20,
    )
    .await;
    // 30 concurrent moves of 1 pack from a unit holding 20: exactly 20 succeed.
    let mut tasks = Vec::new();
    for i in 0..30 {
        let c = admin.clone();
        tasks.push(tokio::spawn(async move {
            c.post("/api/stock/move", json!({ "idempotency_key": format!("mv-{i}"), "stock_unit_id": unit, "quantity": 1, "to_location": "A-02-1" })).await.status
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok, 20);
    assert_eq!(qty(&admin, unit).await, 0);
    let moved = admin
        .get(&format!(
            "/api/stock/units?location=A-02-1&gtin={}",
            seed.pouch
        ))
        .await
        .body;
    assert_eq!(moved[0]["quantity"], 20);
    // The same idempotent receipt sent concurrently is booked once.
    let body = json!({ "idempotency_key": "same", "gtin": seed.plate, "lot": "C2", "expiry": common::in_days(300), "location": "A-01-1", "quantity": 9 });
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (c, body) = (admin.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            c.post("/api/stock/receive", body).await
        }));
    }
    let mut ops = std::collections::HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == StatusCode::OK {
            ops.insert(r.body["op_id"].as_i64().unwrap());
        } else {
            assert_eq!(r.body["code"], "idempotency_key_in_use", "{:?}", r.body);
        }
    }
    assert_eq!(ops.len(), 1);
    let units = admin
        .get(&format!("/api/stock/units?lot=C2&gtin={}", seed.plate))
        .await
        .body;
    assert_eq!(units[0]["quantity"], 9);
    assert!(konsign::store::stock::unreconciled_units(app.ctx.db.pool())
        .await
        .unwrap()
        .is_empty());
    // Event cursors are unique and increasing.
    let events = admin.get("/api/events?limit=1000").await.body;
    let ids: Vec<i64> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}
