//! The dashboard's people and stations, carrier cut-off and exceptions on both backends, each
//! figure against the same figure counted by the test from the tables; and a wall screen that
//! shows the dashboard with its key alone.

mod common;

use common::packing::{self, picked, wedge, POUCH};
use common::Backend;
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    people_stations_cutoffs_and_exceptions_agree_with_the_tables,
    a_wall_screen_shows_the_dashboard_with_its_key_alone,
);

fn order(id: &str, gtin: &str, delivery: &str) -> Value {
    json!({
        "external_id": id,
        "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
        "grant_ref": "BEV-77",
        "citizen_id": "cit-4f9a",
        "recipient": { "name": "Åse Ørnbøl", "address_line1": "Søndergade 12", "postcode": "8000", "city": "Aarhus C" },
        "delivery_date": delivery,
        "lines": [{ "gtin": gtin, "quantity": 1 }],
    })
}

async fn people_stations_cutoffs_and_exceptions_agree_with_the_tables(b: Backend) {
    let Some((p, _dir)) = packing::setup_with(b, |c| {
        let local = c.carrier.default.clone();
        c.carrier.cutoff.insert(local, "23:59".into());
    })
    .await
    else {
        return;
    };
    let pool = p.app.ctx.db.pool().clone();
    let exp = common::in_days(200);
    common::receive(&p.admin, POUCH, "L1", &exp, "A-01-1", 10).await;
    // W-1 is picked (by the admin) and packed into a closed parcel at PAK-01.
    let tote = picked(&p, "W-1", json!([{ "gtin": POUCH, "quantity": 2 }])).await;
    let r = p
        .packer
        .post("/api/pack-stations/PAK-01/open", json!({ "code": tote }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = p
        .packer
        .post(
            "/api/pack-stations/PAK-01/scan",
            json!({ "scan_id": "k1", "data": wedge(POUCH, &exp, "L1"), "quantity": 2 }),
        )
        .await;
    assert_eq!(r.body["code"], "packed", "{:?}", r.body);
    let closed = packing::close(&p.packer, "PAK-01", json!({ "request_key": "c1" })).await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    // W-4's wave is taken by Pia, who scans a wrong product and confirms nothing: idle.
    let r = p
        .web
        .post("/api/orders", order("W-4", POUCH, &common::in_days(3)))
        .await;
    assert_eq!(r.body["status"], "allocated", "{:?}", r.body);
    let w = p.admin.post("/api/waves", json!({ "max_orders": 1 })).await;
    let wave = w.body["id"].as_i64().unwrap();
    let pia = p.app.user("pia", Role::Picker).await;
    let r = pia
        .post(&format!("/api/waves/{wave}/take"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = pia
        .post(
            &format!("/api/waves/{wave}/scan"),
            json!({ "scan_id": "x1", "data": "05708932000017" }),
        )
        .await;
    assert_eq!(r.body["code"], "wrong_product", "{:?}", r.body);
    // The same scan id again counts once.
    pia.post(
        &format!("/api/waves/{wave}/scan"),
        json!({ "scan_id": "x1", "data": "05708932000017" }),
    )
    .await;
    // W-3 must leave today (delivery tomorrow) and is not packed.
    let r = p
        .web
        .post("/api/orders", order("W-3", POUCH, &common::in_days(1)))
        .await;
    assert_eq!(r.body["status"], "allocated", "{:?}", r.body);

    let f = p.admin.get("/api/dashboard/floor").await;
    assert_eq!(f.status, StatusCode::OK, "{:?}", f.body);
    let pickers = f.body["pickers"].as_array().unwrap();
    let who = |n: &str| {
        pickers
            .iter()
            .find(|x| x["name"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("{n} in {pickers:?}"))
    };
    let admin_lines = common::scalar(
        &pool,
        "select count(distinct pick_id) from pick_confirms where actor = 'user:admin' and undone = 0",
    )
    .await;
    assert!(admin_lines > 0);
    assert_eq!(who("admin")["lines_today"], admin_lines);
    assert_eq!(who("admin")["lines_last_hour"], admin_lines);
    assert_eq!(who("admin")["idle"], false, "holds no wave");
    let pia_row = who("pia");
    assert_eq!(pia_row["scans_refused_today"], 1, "{pia_row}");
    assert_eq!(
        common::scalar(
            &pool,
            "select count(*) from pick_refusals where actor = 'user:pia'"
        )
        .await,
        1
    );
    assert_eq!(pia_row["wave"], wave);
    assert_eq!(pia_row["idle"], true, "holds a wave, confirmed nothing");
    assert_eq!(pickers[0]["name"], "pia", "the idle first");
    let stations = f.body["stations"].as_array().unwrap();
    let pak = stations
        .iter()
        .find(|s| s["station"] == "PAK-01" && s["kind"] == "pack")
        .unwrap_or_else(|| panic!("{stations:?}"));
    let closed_at_pak = common::scalar(
        &pool,
        "select count(*) from parcels where station = 'PAK-01' and closed_at is not null",
    )
    .await;
    assert_eq!(closed_at_pak, 1);
    assert_eq!(
        (pak["today"].as_i64(), pak["last_hour"].as_i64()),
        (Some(1), Some(1))
    );

    let c = p.admin.get("/api/dashboard/cutoffs").await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    let c = &c.body[0];
    assert_eq!(c["carrier"], "local", "{c}");
    let waiting = common::scalar(
        &pool,
        "select count(*) from parcels where state = 'closed' and booking_state not in ('handed_over', 'void')",
    )
    .await;
    assert_eq!(waiting, 1);
    assert_eq!(c["packed_waiting"], waiting);
    let tomorrow = common::in_days(1);
    let due = common::scalar(
        &pool,
        &format!(
            "select count(*) from orders where status in ('received', 'allocated', 'picking', 'cutting', 'picked')
             and delivery_date <= '{tomorrow}'"
        ),
    )
    .await;
    assert_eq!(due, 1, "W-3");
    assert_eq!(c["to_pack"], due);
    assert_eq!(c["handed_over_last_hour"], 0);
    if c["minutes_left"].as_i64().unwrap() > 0 {
        assert_eq!(
            c["status"], "behind",
            "two parcels left, none handed over in the last hour: {c}"
        );
        assert!(c["needed_per_hour"].as_f64().unwrap() > 0.0);
    } else {
        assert_eq!(c["status"], "missed");
    }

    // Exceptions: nothing yet; then Pia reports W-4's pick short (no stock elsewhere) and W-5
    // has been backordered for five days.
    let e = p.admin.get("/api/dashboard/exceptions").await;
    assert_eq!(e.body, json!([]), "{:?}", e.body);
    let next = pia.get(&format!("/api/waves/{wave}/next")).await.body;
    let pick_id = next["pick"]["id"].as_i64().unwrap();
    let r = pia
        .post(
            &format!("/api/waves/{wave}/short"),
            json!({ "pick_id": pick_id, "note": "tom hylde" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = p
        .web
        .post(
            "/api/orders",
            order("W-5", packing::PLATE, &common::in_days(3)),
        )
        .await;
    assert_eq!(r.body["status"], "backordered", "{:?}", r.body);
    let five_days_ago =
        konsign::domain::time::to_db(chrono::Utc::now() - chrono::Duration::days(5));
    sqlx::query(&format!(
        "update orders set updated_at = '{five_days_ago}' where external_id = 'W-5'"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let e = p.admin.get("/api/dashboard/exceptions").await;
    assert_eq!(e.status, StatusCode::OK, "{:?}", e.body);
    let group = |k: &str| {
        e.body
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["kind"] == k)
            .cloned()
            .unwrap_or_else(|| panic!("{k} in {:?}", e.body))
    };
    let shorts = common::scalar(&pool, "select count(*) from pick_exceptions").await;
    assert_eq!(shorts, 1);
    let short = group("short_pick");
    assert_eq!(short["total"], shorts);
    assert_eq!(short["items"][0]["order"], "W-4");
    assert_eq!(short["items"][0]["detail"], "A-01-1");
    assert_eq!(short["link"], "/#exceptions");
    let backorders = common::scalar(
        &pool,
        &format!(
            "select count(*) from orders where status = 'backordered' and updated_at < '{}'",
            konsign::domain::time::to_db(chrono::Utc::now() - chrono::Duration::days(3))
        ),
    )
    .await;
    assert_eq!(backorders, 1);
    let old = group("old_backorder");
    assert_eq!(old["total"], backorders);
    assert_eq!(old["items"][0]["order"], "W-5");
    assert_eq!(old["link"], "/#backorders");
    assert_eq!(
        e.body.as_array().unwrap().len(),
        2,
        "no other kinds: {:?}",
        e.body
    );

    // Prometheus (and so the Grafana dashboard) sees the same figures.
    let metrics = p.app.anon().get("/metrics").await.body;
    let metrics = metrics.as_str().unwrap();
    assert_eq!(
        gauge(metrics, "konsign_exceptions_open{kind=\"short_pick\"}"),
        Some(shorts)
    );
    assert_eq!(
        gauge(metrics, "konsign_exceptions_open{kind=\"old_backorder\"}"),
        Some(backorders)
    );
    assert_eq!(
        gauge(metrics, "konsign_exceptions_open{kind=\"cut_failed\"}"),
        Some(0)
    );
    let c = p.admin.get("/api/dashboard/cutoffs").await.body;
    let left = c[0]["packed_waiting"].as_i64().unwrap() + c[0]["to_pack"].as_i64().unwrap();
    assert_eq!(
        gauge(metrics, "konsign_cutoff_parcels_left{carrier=\"local\"}"),
        Some(left)
    );
    let t = p.admin.get("/api/dashboard/throughput").await.body;
    for s in t["series"].as_array().unwrap() {
        let series = format!(
            "konsign_throughput_today{{measure=\"{}\"}}",
            s["measure"].as_str().unwrap()
        );
        assert_eq!(
            gauge(metrics, &series),
            s["today_total"].as_i64(),
            "{series}"
        );
    }
    let f = p.admin.get("/api/dashboard/floor").await.body;
    let pickers = f["pickers"].as_array().unwrap();
    let idle = pickers.iter().filter(|x| x["idle"] == true).count() as i64;
    assert_eq!(
        gauge(metrics, "konsign_pickers{state=\"idle\"}"),
        Some(idle)
    );
    assert_eq!(
        gauge(metrics, "konsign_pickers{state=\"active\"}"),
        Some(pickers.len() as i64 - idle)
    );

    // The page shows the three sections, in Danish and in English, with the links.
    let html = p.admin.get("/dashboard").await.body;
    let html = html.as_str().unwrap_or_default();
    for text in [
        "Afvigelser",
        "Gamle restordrer",
        "href=\"/#backorders\"",
        "Sidste afhentning",
        "Folk og stationer",
        "pia",
        "Pakkebord",
    ] {
        assert!(html.contains(text), "the page shows {text}");
    }
    let en = p.admin.get("/dashboard?lang=en").await.body;
    for text in [
        "Old backorders",
        "Carrier cut-off",
        "People and stations",
        "idle",
        "Pack station",
    ] {
        assert!(
            en.as_str().unwrap_or_default().contains(text),
            "the English page shows {text}"
        );
    }
}

/// A wall screen's key: an API token of role `dashboard`. Given to `/dashboard/wall`, it is kept
/// in a cookie for the dashboard only; the page and its stream take it in place of a login, the
/// rest of the app does not, and a revoked key sends the screen back to the key form.
async fn a_wall_screen_shows_the_dashboard_with_its_key_alone(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let r = admin
        .post(
            "/api/tokens",
            json!({ "name": "wall-1", "role": "dashboard" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let key = r.body["token"].as_str().unwrap().to_string();
    let token_id = r.body["id"].as_i64().unwrap();
    let r = admin
        .post(
            "/api/tokens",
            json!({ "name": "shop", "role": "integration" }),
        )
        .await;
    let other = r.body["token"].as_str().unwrap().to_string();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post_key = |k: String| {
        http.post(format!("{}/dashboard/wall", app.base))
            .json(&json!({ "key": k }))
            .send()
    };
    // Another role's token, or nonsense, is no key; nothing is set.
    for k in [other.clone(), "ks_nonsense".into(), String::new()] {
        let r = post_key(k).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().get("set-cookie").is_none());
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "bad_key");
    }
    let r = post_key(key.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("konsign_wall=ks_")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/dashboard;"),
        "{cookie}"
    );
    let jar = cookie.split(';').next().unwrap().to_string();
    let get = |path: &str| {
        http.get(format!("{}{path}", app.base))
            .header("cookie", jar.clone())
            .send()
    };
    let page = get("/dashboard").await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("class=\"wall\" id=\"dash\""),
        "the wall look without asking"
    );
    let live = get("/dashboard/live").await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    drop(live);
    // The cookie is no session: nothing else opens with it.
    for path in ["/", "/carriers", "/pick"] {
        let r = get(path).await.unwrap();
        assert!(
            r.status().is_redirection()
                && r.headers()["location"]
                    .to_str()
                    .unwrap()
                    .starts_with("/login"),
            "{path}: {}",
            r.status()
        );
    }
    // The key as a bearer token reads the dashboard's data and nothing else.
    let bearer = |path: &str| {
        http.get(format!("{}{path}", app.base))
            .bearer_auth(&key)
            .send()
    };
    assert_eq!(
        bearer("/api/dashboard/flow").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        bearer("/api/orders").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    // Revoked: the screen is sent back to the key form, which says why.
    let r = admin.delete(&format!("/api/tokens/{token_id}")).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let r = get("/dashboard").await.unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()["location"], "/dashboard/wall?expired=1");
    let form = http
        .get(format!("{}/dashboard/wall?expired=1", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("id=\"expired\""), "{form}");
}

/// A gauge's value in `/metrics` text, by its full series (`name{label="value"}`).
pub fn gauge(metrics: &str, series: &str) -> Option<i64> {
    metrics.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}
