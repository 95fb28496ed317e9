//! The lead's dashboard on both backends: each figure of "flow now" against the same figure
//! counted independently from the orders table, the age limit, the page in both languages and
//! the wall-screen look.

mod common;

use common::{Backend, TestApp};
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

on_both_backends!(
    flow_now_counts_each_stage_as_the_orders_table_does,
    the_live_stream_pushes_each_change_and_resumes_after_a_lost_connection,
    throughput_counts_each_hour_as_the_confirmations_do,
    devices_are_listed_worst_first_with_their_health,
);

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
    assert_eq!(stages.len(), 11, "{stages:?}");
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
    // The bar downloads as SVG (the page's own) and as PNG; the wall look has no links.
    assert!(html.contains("/dashboard/chart/flow.png?lang=da"), "{html}");
    assert!(!en.contains("/dashboard/chart/"), "{en}");
    let svg = lead.get("/dashboard/chart/flow.svg").await;
    assert_eq!(svg.status, StatusCode::OK);
    assert!(svg
        .body
        .as_str()
        .unwrap()
        .contains("<title>Restordre: 1</title>"));
    let res = lead
        .req(
            reqwest::Method::GET,
            "/dashboard/chart/parcels_closed.png?lang=en",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    let png = image::load_from_memory(&res.bytes().await.unwrap()).expect("a PNG");
    assert_eq!(
        (png.width(), png.height()),
        (1200, 520),
        "600 x 220 and a heading, twice"
    );
    for bad in ["flow.gif", "secrets.png", "..%2Fflow.svg", "flow"] {
        assert_eq!(
            lead.get(&format!("/dashboard/chart/{bad}")).await.status,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
    // Prometheus sees the same figures.
    let metrics = app.anon().get("/metrics").await.body;
    let text = metrics.as_str().unwrap();
    for s in stages {
        let line = format!(
            "konsign_orders_in_stage{{stage=\"{}\"}} {}",
            s["stage"].as_str().unwrap(),
            s["orders"]
        );
        assert!(text.contains(&line), "{line} in {text}");
    }
    let waited: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("konsign_oldest_order_minutes{stage=\"allocated\"} "))
        .and_then(|v| v.parse().ok())
        .expect("the oldest allocated order's wait");
    assert!((299..=301).contains(&waited), "{waited}");
    // Not for pickers.
    let picker = app.user("pia", Role::Picker).await;
    assert_eq!(
        picker.get("/api/dashboard/flow").await.status,
        StatusCode::FORBIDDEN
    );
}

/// Reads Server-Sent Events from `res` until one named `flow` is complete: its id and data.
async fn next_flow(res: &mut reqwest::Response, buf: &mut String) -> (i64, Value) {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if !block.lines().any(|l| l == "event: flow") {
                continue;
            }
            let id = block
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .and_then(|v| v.parse().ok())
                .expect("an id");
            let data: String = block
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .collect();
            return (id, serde_json::from_str(&data).expect("json data"));
        }
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), res.chunk())
            .await
            .expect("an event within 10 s")
            .expect("the stream reads")
            .expect("the stream is open");
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

async fn the_live_stream_pushes_each_change_and_resumes_after_a_lost_connection(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    common::receive(
        &admin,
        &seed.pouch,
        "P-1",
        &common::in_days(300),
        "A-01-1",
        10,
    )
    .await;
    let lead = app.user("lone", Role::Lead).await;
    let open = || async {
        let res = lead
            .req(reqwest::Method::GET, "/dashboard/live?lang=en")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        res
    };
    let mut res = open().await;
    let mut buf = String::new();
    let (first, p) = next_flow(&mut res, &mut buf).await;
    assert_eq!(common::orders_in(&p, "allocated"), 0);
    // An order arrives: the open stream is told, with a newer event id.
    let r = admin.post("/api/orders", order("L-1", 1)).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let (second, p) = next_flow(&mut res, &mut buf).await;
    assert!(second > first, "{second} after {first}");
    assert_eq!(common::orders_in(&p, "allocated"), 1, "{p}");
    assert!(p["svg"]
        .as_str()
        .unwrap()
        .contains("<title>Allocated: 1</title>"));
    // The connection is lost; meanwhile another order arrives; the dashboard reconnects with
    // the last id it saw and gets the whole picture at once, the missed order in it.
    drop(res);
    let r = admin.post("/api/orders", order("L-2", 500)).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let mut res = lead
        .req(reqwest::Method::GET, "/dashboard/live?lang=da")
        .header("Last-Event-ID", second.to_string())
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    let (third, p) = next_flow(&mut res, &mut buf).await;
    assert!(third > second);
    assert_eq!(
        (
            common::orders_in(&p, "allocated"),
            common::orders_in(&p, "backordered")
        ),
        (1, 1),
        "{p}"
    );
    assert!(
        p["svg"].as_str().unwrap().contains("Restordre: 1"),
        "Danish on request"
    );
    // Only leads watch.
    let picker = app.user("pia", Role::Picker).await;
    let r = picker
        .req(reqwest::Method::GET, "/dashboard/live")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // An open dashboard does not hold up a shutdown: its stream ends.
    tokio::time::timeout(std::time::Duration::from_secs(5), app.stop())
        .await
        .expect("the service stops with a dashboard open");
    let end = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Ok(Some(_)) = res.chunk().await {}
    })
    .await;
    assert!(end.is_ok(), "the stream ended");
}

async fn throughput_counts_each_hour_as_the_confirmations_do(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let r = admin
        .post(
            "/api/locations",
            json!({ "code": "T-01", "zone": "T", "kind": "tote", "walk_seq": 0 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let exp = common::in_days(300);
    common::receive(&admin, &seed.pouch, "P-1", &exp, "A-01-1", 10).await;
    // The live hub's update after each change below: only the sections the change's events
    // can move are read again (`Sections`), and the picture is the one a whole read gives.
    use konsign::service::dashboard::{self as dash, Sections};
    let ctx = &app.ctx;
    let mut live = common::LiveCheck::start(ctx).await;
    let r = admin.post("/api/orders", order("H-1", 3)).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let u = live.step(ctx, "an intake").await;
    assert_eq!(
        u.changed,
        Sections {
            flow: true,
            cutoffs: true,
            exceptions: true,
            ..Sections::NONE
        },
        "an intake: {:?}",
        u.types
    );
    let r = admin.post("/api/waves", json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let wave = r.body["id"].as_i64().unwrap();
    // A wave: its orders' stage and the floor's waves (the orders stay among those to pack,
    // so the cut-offs are not read).
    let u = live.step(ctx, "a wave").await;
    assert_eq!(
        u.changed,
        Sections {
            flow: true,
            floor: true,
            ..Sections::NONE
        },
        "a wave: {:?}",
        u.types
    );
    let picker = app.user("pia", Role::Picker).await;
    let r = picker
        .post(&format!("/api/waves/{wave}/take"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let u = live.step(ctx, "a wave taken").await;
    assert_eq!(u.changed, Sections::EACH[3], "{:?}", u.types);
    let d = chrono::NaiveDate::parse_from_str(&exp, "%Y-%m-%d").unwrap();
    let pack = format!("010570893200002417{}10P-1", d.format("%y%m%d"));
    let mut confirmed = 0;
    for (i, data) in ["T-01", "A-99-9", "a-01-1", &pack, &pack, &pack]
        .iter()
        .enumerate()
    {
        let r = picker
            .post(
                &format!("/api/waves/{wave}/scan"),
                json!({ "scan_id": format!("s{i}"), "data": data }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        if r.body["code"] == "confirmed" {
            confirmed += 1;
        }
        let u = live.step(ctx, &format!("scan {i}")).await;
        let packs = |d: &dash::Dashboard| {
            d.throughput
                .series
                .iter()
                .find(|s| s.measure == "packs_picked")
                .map(|s| s.today_total)
        };
        if i == 1 {
            // A refused scan (the wrong place): the picker's refusals, nothing else.
            assert_eq!(u.changed, Sections::EACH[3], "{:?}", u.types);
            let pia = u.live.floor.pickers.iter().find(|p| p.name == "pia");
            assert_eq!(pia.map(|p| p.scans_refused_today), Some(1));
        }
        if i == 3 {
            // The first pack: packs picked and the picker's lines; the flow is not read.
            assert_eq!(
                u.changed,
                Sections {
                    throughput: true,
                    floor: true,
                    ..Sections::NONE
                },
                "{:?}",
                u.types
            );
            assert_eq!(packs(&u.live), Some(1));
        }
        if i == 5 {
            // The last pack moves the order on and ends the wave: the flow (which shows it
            // picked), the picks and the floor are read; not the cut-offs (the order is still
            // to pack), the devices or the exceptions.
            assert_eq!(
                u.changed,
                Sections {
                    flow: true,
                    throughput: true,
                    floor: true,
                    ..Sections::NONE
                },
                "{:?}",
                u.types
            );
            let picked = u
                .live
                .flow
                .stages
                .iter()
                .find(|s| s.stage.as_str() == "picked");
            assert_eq!(picked.map(|s| s.orders), Some(1));
        }
    }
    assert_eq!(confirmed, 3, "three packs picked");

    let lead = app.user("lone", Role::Lead).await;
    let t = lead.get("/api/dashboard/throughput").await;
    assert_eq!(t.status, StatusCode::OK, "{:?}", t.body);
    // The same figures, counted here from the confirmations themselves.
    let rows = sqlx::query("select at, qty from pick_confirms where undone = 0")
        .fetch_all(app.ctx.db.pool())
        .await
        .unwrap();
    let mut by_hour = [0i64; 24];
    for r in rows {
        use chrono::Timelike;
        let at: String = r.get("at");
        let t = chrono::DateTime::parse_from_rfc3339(&at).unwrap();
        by_hour[t.with_timezone(&chrono_tz::Europe::Copenhagen).hour() as usize] +=
            r.get::<i64, _>("qty");
    }
    let picked = t.body["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["measure"] == "packs_picked")
        .unwrap()
        .clone();
    let today: Vec<i64> = picked["today"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(today, by_hour.to_vec(), "{picked}");
    assert_eq!(picked["today_total"], 3);
    assert_eq!(picked["yesterday_total"], 0);
    // Nothing else happened today.
    for s in t.body["series"].as_array().unwrap() {
        if s["measure"] != "packs_picked" {
            assert_eq!(s["today_total"], 0, "{s}");
        }
    }
    assert_eq!(
        t.body["projected_parcels"],
        Value::Null,
        "no last week to go by"
    );
    // The page draws it.
    let html = lead.get("/dashboard").await.body;
    let html = html.as_str().unwrap();
    assert!(
        html.contains("data-measure=\"packs_picked\"") && html.contains("Pakninger plukket"),
        "{html}"
    );
}

async fn devices_are_listed_worst_first_with_their_health(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    // A printer switched off (yellow) and one that is on and answers nothing (soon red).
    for (id, enabled) in [("p-off", false), ("p-gone", true)] {
        let r = admin
            .put_json(
                &format!("/api/printers/{id}"),
                json!({ "host": "127.0.0.1", "port": common::listen_port(),
                "label_width_mm": 100.0, "label_height_mm": 150.0, "enabled": enabled }),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    }
    let lead = app.user("lone", Role::Lead).await;
    let d = lead.get("/api/dashboard/devices").await;
    assert_eq!(d.status, StatusCode::OK, "{:?}", d.body);
    let list = d.body.as_array().unwrap().clone();
    let off = list
        .iter()
        .find(|x| x["id"] == "p-off")
        .expect("the printer switched off");
    assert_eq!(
        (off["kind"].as_str(), off["health"].as_str()),
        (Some("printer"), Some("yellow")),
        "{off}"
    );
    assert_eq!(off["queue"], 0);
    // The worst come first.
    let rank = |h: &str| match h {
        "red" => 0,
        "yellow" => 1,
        _ => 2,
    };
    let ranks: Vec<i32> = list
        .iter()
        .map(|x| rank(x["health"].as_str().unwrap()))
        .collect();
    let mut sorted = ranks.clone();
    sorted.sort();
    assert_eq!(ranks, sorted, "{list:?}");
    // The printer that answers nothing turns red once the spooler has tried it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let list = lead.get("/api/dashboard/devices").await.body;
        let gone = list
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == "p-gone")
            .unwrap()
            .clone();
        if gone["health"] == "red" {
            assert_eq!(list[0]["id"], "p-gone", "red first: {list}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never red: {gone}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let html = lead.get("/dashboard").await.body;
    let html = html.as_str().unwrap();
    assert!(
        html.contains("data-device=\"printer:p-off\" class=\"h-yellow\""),
        "{html}"
    );
}
