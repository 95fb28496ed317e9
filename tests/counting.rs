//! Counting locations over HTTP: a short pick's count task closed by a blind count, counts that
//! find more, less or unknown lots, refusals that write nothing, a count that lost a race, and
//! a lead's cycle count runs with their progress.

mod common;

use common::{Backend, Client, TestApp};
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    a_short_pick_becomes_a_count_task_that_a_count_closes,
    a_blind_count_books_surplus_unknown_lots_and_empty_locations,
    a_count_that_lost_a_race_writes_nothing,
    cycle_counts_by_zone_product_and_age_show_their_progress,
);

const POUCH: &str = "05708932000024";
const PLATE: &str = "05708932000017";

async fn setup(b: Backend) -> Option<(TestApp, Client)> {
    let app = common::spawn_app(b).await?;
    let admin = app.admin().await;
    app.seed(&admin).await;
    for (code, kind, seq) in [("T-01", "tote", 900), ("DSP-1", "dispatch", 950)] {
        let r = admin
            .post(
                "/api/locations",
                json!({ "code": code, "zone": "Z", "kind": kind, "walk_seq": seq }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    Some((app, admin))
}

async fn units_at(c: &Client, location: &str) -> Vec<Value> {
    let r = c
        .get(&format!(
            "/api/stock/units?location={location}&include_empty=true"
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body.as_array().unwrap().clone()
}

fn qty_of(units: &[Value], status: &str) -> i64 {
    units
        .iter()
        .filter(|u| u["status"] == status)
        .map(|u| u["quantity"].as_i64().unwrap())
        .sum()
}

fn line(gtin: &str, lot: &str, expiry: &str, counted: i64) -> Value {
    json!({ "gtin": gtin, "lot": lot, "expiry": expiry, "counted": counted })
}

async fn a_short_pick_becomes_a_count_task_that_a_count_closes(b: Backend) {
    let Some((app, admin)) = setup(b).await else {
        return;
    };
    let exp = common::in_days(300);
    common::receive(&admin, POUCH, "P1", &exp, "A-01-1", 5).await;
    let web = app.user("web", Role::Integration).await;
    let r = web
        .post("/api/orders", json!({
            "external_id": "W-1", "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
            "grant_ref": "BEV-1", "citizen_id": "cit-1",
            "recipient": { "name": "Åse Ørnbøl", "address_line1": "Søndergade 12", "postcode": "8000", "city": "Aarhus C" },
            "delivery_date": common::in_days(2), "lines": [{ "gtin": POUCH, "quantity": 2 }] }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
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
            json!({ "pick_id": pick_id, "note": "tom hylde" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // The short is a count task for the location; the picker may see it.
    let tasks = picker.get("/api/count-tasks?status=open").await;
    assert_eq!(tasks.status, StatusCode::OK, "{:?}", tasks.body);
    let tasks = tasks.body.as_array().unwrap().clone();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let task = &tasks[0];
    assert_eq!(
        (
            &task["location"],
            &task["source"],
            &task["hold_qty"],
            &task["pick_id"]
        ),
        (
            &json!("A-01-1"),
            &json!("short_pick"),
            &json!(2),
            &json!(pick_id)
        )
    );
    // A picker does not count; a lead reads the sheet: 5 packs, 2 of them held.
    assert_eq!(
        picker.get("/api/count-sheets/A-01-1").await.status,
        StatusCode::FORBIDDEN
    );
    let sheet = admin.get("/api/count-sheets/A-01-1").await;
    assert_eq!(sheet.status, StatusCode::OK, "{:?}", sheet.body);
    assert_eq!(sheet.body["tasks"].as_array().unwrap().len(), 1);
    let lot = &sheet.body["lots"][0];
    assert_eq!(
        (&lot["expected"], &lot["quarantined"], &lot["held"]),
        (&json!(5), &json!(2), &json!(2)),
        "{lot:?}"
    );

    // Refusals write nothing: a lot left out, a difference without a reason, a count at a
    // location that is not counted, a lot counted twice.
    let ops_before = common::count(&app.ctx, "stock_ops").await;
    let r = admin
        .post("/api/counts", json!({ "location": "A-01-1", "lines": [] }))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["field"], "lines");
    let r = admin
        .post(
            "/api/counts",
            json!({ "location": "A-01-1", "lines": [line(POUCH, "P1", &exp, 4)] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["field"], "reason");
    let r = admin
        .post(
            "/api/counts",
            json!({ "location": "DSP-1", "lines": [], "reason": "x" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let r = admin
        .post(
            "/api/counts",
            json!({ "location": "A-01-1", "reason": "x",
            "lines": [line(POUCH, "P1", &exp, 4), line(POUCH, "P1", &exp, 1)] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(common::count(&app.ctx, "stock_ops").await, ops_before);

    // 4 found: one held pack is written off, the other was there after all.
    let body = json!({ "idempotency_key": "count-1", "location": "a-01-1", "reason": "en pakning mangler",
        "lines": [line(POUCH, "P1", &exp, 4)] });
    let r = admin.post("/api/counts", body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["replayed"], false);
    assert_eq!(
        (
            &r.body["lots"][0]["expected"],
            &r.body["lots"][0]["difference"]
        ),
        (&json!(5), &json!(-1))
    );
    let closed = r.body["tasks"].as_array().unwrap();
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(
        (
            &closed[0]["id"],
            &closed[0]["status"],
            &closed[0]["difference"]
        ),
        (&task["id"], &json!("done"), &json!(-1))
    );
    let entries = r.body["entries"].as_array().unwrap();
    assert!(entries.iter().all(|e| e["kind"] == "count"), "{entries:?}");
    assert_eq!(
        entries
            .iter()
            .map(|e| e["delta"].as_i64().unwrap())
            .sum::<i64>(),
        -1
    );
    let here = units_at(&admin, "A-01-1").await;
    assert_eq!(
        (qty_of(&here, "available"), qty_of(&here, "quarantined")),
        (4, 0),
        "{here:?}"
    );
    // The same request again is the same count, not a second one.
    let again = admin.post("/api/counts", body).await;
    assert_eq!(again.status, StatusCode::OK, "{:?}", again.body);
    assert_eq!(
        (&again.body["replayed"], &again.body["op_id"]),
        (&json!(true), &r.body["op_id"])
    );
    let here = units_at(&admin, "A-01-1").await;
    assert_eq!(qty_of(&here, "available"), 4);
    let open = admin.get("/api/count-tasks?status=open").await.body;
    assert_eq!(open, json!([]));
    let done = admin.get("/api/count-tasks?location=A-01-1").await.body;
    assert_eq!(done[0]["counted_by"], "user:admin", "{done:?}");
    // The owner's statement books the difference as an adjustment and still reconciles.
    let today = common::in_days(0);
    let st = admin
        .get(&format!(
            "/api/owners/COLOPLAST/statement?from={today}&to={today}"
        ))
        .await;
    assert_eq!(st.status, StatusCode::OK, "{:?}", st.body);
    assert_eq!(
        (&st.body["adjustments"], &st.body["reconciles"]),
        (&json!(-1), &json!(true)),
        "{:?}",
        st.body
    );
}

async fn a_blind_count_books_surplus_unknown_lots_and_empty_locations(b: Backend) {
    let Some((app, admin)) = setup(b).await else {
        return;
    };
    let exp = common::in_days(300);
    let plate_exp = common::in_days(200);
    common::receive(&admin, POUCH, "P1", &exp, "A-02-1", 3).await;
    // A lot the system holds elsewhere only, and an unknown product: refused by name.
    let r = admin
        .post(
            "/api/counts",
            json!({ "location": "A-02-1", "reason": "x",
            "lines": [line(POUCH, "P1", &exp, 3), line("05708932000031", "Z", &exp, 1)] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("unknown product"),
        "{:?}",
        r.body
    );
    // One more pouch than the system holds, and two plates of a lot it does not know here.
    let r = admin
        .post(
            "/api/counts",
            json!({ "location": "A-02-1", "reason": "fundet ved optælling",
            "lines": [line(POUCH, "P1", &exp, 4), line(PLATE, "X9", &plate_exp, 2)] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let tasks = r.body["tasks"].as_array().unwrap();
    assert_eq!(
        (
            tasks.len(),
            &tasks[0]["source"],
            &tasks[0]["difference"],
            &tasks[0]["lines"]
        ),
        (1, &json!("adhoc"), &json!(3), &json!(2))
    );
    let here = units_at(&admin, "A-02-1").await;
    let plate = here.iter().find(|u| u["gtin"] == PLATE).unwrap();
    assert_eq!(
        (&plate["lot"], &plate["quantity"], &plate["owner"]),
        (&json!("X9"), &json!(2), &json!("COLOPLAST"))
    );
    assert_eq!(qty_of(&here, "available"), 6);
    // A count that matches needs no reason, and is still recorded as the location's last count.
    let r = admin
        .post(
            "/api/counts",
            json!({ "location": "A-02-1",
            "lines": [line(POUCH, "P1", &exp, 4), line(PLATE, "X9", &plate_exp, 2)] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["entries"], json!([]));
    let sheet = admin.get("/api/count-sheets/A-02-1").await.body;
    assert!(sheet["last_counted_at"].is_string(), "{sheet:?}");
    // An empty location counted empty.
    let r = admin
        .post("/api/counts", json!({ "location": "RCV-01", "lines": [] }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["tasks"][0]["difference"], 0);
    // Every count is one operation of kind count.
    let kinds: Vec<String> = {
        use sqlx::Row;
        sqlx::query("select kind from stock_ops order by id")
            .fetch_all(app.ctx.db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect()
    };
    assert_eq!(kinds, ["receive", "count", "count", "count"]);
}

async fn a_count_that_lost_a_race_writes_nothing(b: Backend) {
    use konsign::store::counting::CountClose;
    use konsign::store::stock::{execute, Amount, Leg, LegTarget, OpPlan, Outcome};
    let Some((app, admin)) = setup(b).await else {
        return;
    };
    let exp = common::in_days(300);
    let unit = common::receive(&admin, POUCH, "P1", &exp, "A-02-1", 3).await;
    let r = admin
        .post(
            "/api/counts",
            json!({ "location": "A-02-1", "lines": [line(POUCH, "P1", &exp, 3)] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // A second count read the location before the first one committed: it knew no last count.
    let plan = OpPlan {
        kind: "count",
        event_type: "stock.counted",
        idempotency_key: Some("late".into()),
        request_hash: "h".into(),
        actor: "user:lead2".into(),
        legs: vec![Leg {
            target: LegTarget::Unit(unit),
            amount: Amount::By(-1),
            gtin: POUCH.into(),
            owner: "COLOPLAST".into(),
            location: "A-02-1".into(),
            reason: Some("late".into()),
            reference: None,
        }],
        count: Some(CountClose {
            location: "A-02-1".into(),
            task_ids: vec![],
            last_count_id: None,
            lines: 1,
            difference: -1,
        }),
    };
    let ops = common::count(&app.ctx, "stock_ops").await;
    let ledger = common::count(&app.ctx, "ledger").await;
    let out = execute(&app.ctx.db, plan).await.unwrap();
    assert!(matches!(out, Outcome::Superseded), "{out:?}");
    assert_eq!(common::count(&app.ctx, "stock_ops").await, ops);
    assert_eq!(common::count(&app.ctx, "ledger").await, ledger);
    let here = units_at(&admin, "A-02-1").await;
    assert_eq!(qty_of(&here, "available"), 3);
}

async fn cycle_counts_by_zone_product_and_age_show_their_progress(b: Backend) {
    let Some((app, admin)) = setup(b).await else {
        return;
    };
    let exp = common::in_days(300);
    common::receive(&admin, POUCH, "P1", &exp, "A-01-1", 4).await;
    let picker = app.user("pia", Role::Picker).await;
    let r = picker.post("/api/count-runs", json!({ "zone": "A" })).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    for bad in [
        json!({}),
        json!({ "zone": "A", "gtin": POUCH }),
        json!({ "not_counted_for_days": 0 }),
    ] {
        let r = admin.post("/api/count-runs", bad.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {:?}",
            r.body
        );
    }
    let r = admin
        .post("/api/count-runs", json!({ "zone": "NOPE" }))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["code"], "nothing_to_count");

    let zone = admin.post("/api/count-runs", json!({ "zone": "A" })).await;
    assert_eq!(zone.status, StatusCode::OK, "{:?}", zone.body);
    assert_eq!(
        (&zone.body["tasks"], &zone.body["done"]),
        (&json!(2), &json!(0))
    );
    let product = admin
        .post(
            "/api/count-runs",
            json!({ "gtin": POUCH, "title": "Poser" }),
        )
        .await;
    assert_eq!(
        (&product.body["tasks"], &product.body["title"]),
        (&json!(1), &json!("Poser"))
    );
    // Never counted: every countable location (receiving, two pick, quarantine and the returns
    // location; not the tote or the dispatch location).
    let stale = admin
        .post("/api/count-runs", json!({ "not_counted_for_days": 30 }))
        .await;
    assert_eq!(stale.body["tasks"], 5, "{:?}", stale.body);

    // One count of A-01-1 closes its task in all three runs.
    let r = admin
        .post(
            "/api/counts",
            json!({ "location": "A-01-1", "lines": [line(POUCH, "P1", &exp, 4)] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["tasks"].as_array().unwrap().len(), 3);
    let runs = picker.get("/api/count-runs").await.body;
    let progress = |id: &Value| {
        let r = runs
            .as_array()
            .unwrap()
            .iter()
            .find(|r| &r["id"] == id)
            .unwrap();
        (r["done"].as_i64().unwrap(), r["tasks"].as_i64().unwrap())
    };
    assert_eq!(progress(&zone.body["id"]), (1, 2));
    assert_eq!(progress(&product.body["id"]), (1, 1));
    assert_eq!(progress(&stale.body["id"]), (1, 5));
    // Counted today: the next age-based run leaves it out.
    let again = admin
        .post("/api/count-runs", json!({ "not_counted_for_days": 30 }))
        .await;
    assert_eq!(again.body["tasks"], 4, "{:?}", again.body);
    // Cancelling a run cancels its open tasks only.
    let id = zone.body["id"].as_i64().unwrap();
    let c = admin
        .post(&format!("/api/count-runs/{id}/cancel"), json!({}))
        .await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    assert_eq!(
        (&c.body["done"], &c.body["cancelled"]),
        (&json!(1), &json!(1))
    );
    let open = admin
        .get(&format!("/api/count-tasks?status=open&run_id={id}"))
        .await
        .body;
    assert_eq!(open, json!([]));
    assert_eq!(
        admin
            .post("/api/count-runs/999/cancel", json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin.get("/api/count-tasks?status=bogus").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}
