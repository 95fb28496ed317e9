//! The lead's dashboard on both backends: each figure of "flow now" against the same figure
//! counted independently from the orders table, the age limit, the page in both languages and
//! the wall-screen look.

mod common;

use common::{Backend, TestApp};
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

on_both_backends!(flow_now_counts_each_stage_as_the_orders_table_does);

fn order(id: &str, qty: i64) -> Value {
    json!({
        "external_id": id,
        "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
        "grant_ref": "BEV-77",
        "citizen_id": "cit-4f9a",
        "recipient": { "name": "Åse Ørnbøl", "address_line1": "Søndergade 12", "postcode": "8000", "city": "Aarhus C" },
        "delivery_date": common::in_days(2),
        "lines": [{ "gtin": "5708932000024", "quantity": qty }],
    })
}

/// Orders per status, read straight from the table (not through the dashboard's query).
async fn counted(app: &TestApp) -> std::collections::BTreeMap<String, i64> {
    let rows = sqlx::query("select status, id from orders")
        .fetch_all(app.ctx.db.pool())
        .await
        .unwrap();
    let mut m = std::collections::BTreeMap::new();
    for r in rows {
        *m.entry(r.get::<String, _>("status")).or_insert(0) += 1;
    }
    m
}

async fn flow_now_counts_each_stage_as_the_orders_table_does(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    for t in ["T-01", "T-02"] {
        let r = admin
            .post(
                "/api/locations",
                json!({ "code": t, "zone": "T", "kind": "tote", "walk_seq": 0 }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    common::receive(
        &admin,
        &seed.pouch,
        "P-1",
        &common::in_days(300),
        "A-01-1",
        10,
    )
    .await;
    for (id, qty) in [("D-1", 1), ("D-2", 2), ("D-3", 1), ("D-4", 500)] {
        let r = admin.post("/api/orders", order(id, qty)).await;
        assert!(r.status.is_success(), "{id}: {:?}", r.body);
    }
    // One order goes into a wave (picking); D-4 waits for stock (backordered).
    let r = admin.post("/api/waves", json!({ "max_orders": 1 })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    // D-3 has waited five hours in its stage (the default limit is four).
    let five_hours_ago =
        konsign::domain::time::to_db(chrono::Utc::now() - chrono::Duration::hours(5));
    sqlx::query("update orders set updated_at = $1 where external_id = 'D-3'")
        .bind(&five_hours_ago)
        .execute(app.ctx.db.pool())
        .await
        .unwrap();

    let lead = app.user("lone", Role::Lead).await;
    let flow = lead.get("/api/dashboard/flow").await;
    assert_eq!(flow.status, StatusCode::OK, "{:?}", flow.body);
    let by_status = counted(&app).await;
    let stages = flow.body["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 9, "{stages:?}");
    for s in stages {
        let name = s["stage"].as_str().unwrap();
        let want = by_status.get(name).copied().unwrap_or(0);
        assert_eq!(s["orders"], want, "stage {name}: {s}");
    }
    let stage = |name: &str| stages.iter().find(|s| s["stage"] == name).unwrap().clone();
    assert_eq!(stage("allocated")["orders"], 2);
    assert_eq!(stage("backordered")["orders"], 1);
    assert!(stage("allocated")["oldest_minutes"].as_i64().unwrap() >= 299);
    assert_eq!(stage("allocated")["late"], true);
    assert_eq!(stage("backordered")["late"], false);
    assert_eq!(stage("shipped")["oldest_minutes"], Value::Null);
    let open: i64 = by_status
        .iter()
        .filter(|(s, _)| !["shipped", "delivered", "cancelled"].contains(&s.as_str()))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(flow.body["in_warehouse"], open);

    // The page: Danish by default, English on request, the late stage marked, the bar drawn.
    let page = lead.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.body.as_str().unwrap().to_string();
    assert!(
        html.contains("Flow nu") && html.contains("Reserveret"),
        "{html}"
    );
    assert!(
        html.contains("data-stage=\"allocated\" class=\"late\""),
        "{html}"
    );
    assert!(
        html.contains("<svg") && html.contains("<title>Restordre: 1</title>"),
        "{html}"
    );
    let en = lead.get("/dashboard?lang=en&wall=1").await.body;
    let en = en.as_str().unwrap();
    assert!(
        en.contains("Flow now") && en.contains("class=\"wall\" id=\"dash\""),
        "{en}"
    );
    // Not for pickers.
    let picker = app.user("pia", Role::Picker).await;
    assert_eq!(
        picker.get("/api/dashboard/flow").await.status,
        StatusCode::FORBIDDEN
    );
}
