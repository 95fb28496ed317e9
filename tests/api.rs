//! The HTTP spine: health, metrics, OpenAPI, authentication, roles, CSRF, lockout, audit, events,
//! catalog, CSV import and bad input.

mod common;

use common::{Backend, Client};
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(
    health_readiness_metrics_and_openapi_answer,
    protected_endpoints_refuse_anonymous_requests,
    wrong_role_is_refused,
    five_failed_logins_lock_the_account,
    setting_a_password_ends_the_users_sessions,
    session_posts_need_the_csrf_token,
    api_tokens_authenticate_until_revoked,
    audit_log_is_filterable_and_admin_only,
    event_feed_follows_a_cursor,
    csv_import_rejects_a_bad_file_and_writes_nothing,
    csv_import_of_a_good_file_creates_and_updates,
    bad_input_gets_a_precise_4xx,
    pages_are_danish_by_default_and_english_on_request,
);

async fn health_readiness_metrics_and_openapi_answer(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let c = app.anon();
    assert_eq!(c.get("/healthz").await.status, StatusCode::OK);
    assert_eq!(c.get("/readyz").await.status, StatusCode::OK);
    let doc = c.get("/api/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    // Cut jobs and print jobs are two schemas, not one name for both.
    let schemas = &doc.body["components"]["schemas"];
    assert!(schemas["CutJobRow"].is_object() && schemas["PrintJobRow"].is_object());
    assert!(schemas["JobRow"].is_null(), "one name for two shapes");
    assert!(schemas["CutJobRow"]["properties"]["station_id"].is_object());
    assert!(schemas["PrintJobRow"]["properties"]["printer_id"].is_object());
    for path in [
        "/api/stock/receive",
        "/api/stock/move",
        "/api/owners/{owner}/statement",
        "/api/audit",
        "/api/import/products",
        "/api/carriers/{carrier}/events",
        "/api/returns",
        "/api/bookings/{id}/resend",
    ] {
        assert!(
            doc.body["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    let r = c.get("/api/nothing-here").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_such_endpoint"))
    );
    let r = c.delete("/api/stock/receive").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let m = c.get("/metrics").await;
    assert_eq!(m.status, StatusCode::OK);
    let text = m.body.as_str().unwrap();
    assert!(text.contains("konsign_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/openapi.json\""), "{text}");
}

async fn protected_endpoints_refuse_anonymous_requests(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let c = app.anon();
    for path in [
        "/api/products",
        "/api/producers",
        "/api/locations",
        "/api/stock/units",
        "/api/stock/on-hand?group_by=owner",
        "/api/audit",
        "/api/events",
        "/api/users",
        "/api/tokens",
        "/api/auth/me",
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(r.body["code"], "unauthenticated", "{path}");
    }
    let r = c.post("/api/stock/receive", json!({})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let bad = Client {
        auth: common::Auth::Bearer("ks_not-a-token".into()),
        ..c.clone()
    };
    assert_eq!(
        bad.get("/api/products").await.status,
        StatusCode::UNAUTHORIZED
    );
    let bad = Client {
        auth: common::Auth::Session {
            cookie: "konsign_session=deadbeef".into(),
            csrf: "x".into(),
        },
        ..c
    };
    assert_eq!(
        bad.get("/api/products").await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn wrong_role_is_refused(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let picker = app.user("pia", Role::Picker).await;
    let finance = app.user("finn", Role::Finance).await;
    let integration = app.user("web", Role::Integration).await;
    let r = picker
        .post("/api/producers", json!({ "code": "X", "name": "X" }))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["code"], "forbidden");
    assert!(r.body["message"].as_str().unwrap().contains("picker"));
    assert_eq!(picker.get("/api/audit").await.status, StatusCode::FORBIDDEN);
    assert_eq!(picker.get("/api/users").await.status, StatusCode::FORBIDDEN);
    let unit = common::receive(
        &picker,
        &seed.plate,
        "L1",
        &common::in_days(400),
        "A-01-1",
        10,
    )
    .await;
    let scrap = json!({ "stock_unit_id": unit, "quantity": 1, "scrap_reason": "damaged", "reason": "dropped" });
    assert_eq!(
        picker.post("/api/stock/scrap", scrap.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    let rec = json!({ "gtin": seed.plate, "lot": "L2", "expiry": common::in_days(400), "location": "A-01-1", "quantity": 1 });
    assert_eq!(
        finance.post("/api/stock/receive", rec.clone()).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        integration.get("/api/stock/units").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        finance
            .get(&format!(
                "/api/owners/COLOPLAST/statement?from={}&to={}",
                common::in_days(0),
                common::in_days(0)
            ))
            .await
            .status,
        StatusCode::OK
    );
    // Nothing was changed by the refused requests.
    assert_eq!(
        admin.get(&format!("/api/stock/units/{unit}")).await.body["quantity"],
        10
    );
}

async fn five_failed_logins_lock_the_account(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    app.user("lars", Role::Lead).await;
    for i in 1..=5 {
        let r = app.login("lars", "wrong-password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        assert_eq!(r.body["code"], "bad_credentials");
    }
    // The right password no longer helps: the account is locked for 15 minutes. The answer is
    // the one of a wrong password or an unknown user: it does not tell that the user exists.
    let r = app.login("lars", "lars-password-1").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.body);
    assert_eq!(r.body["code"], "bad_credentials");
    assert_eq!(
        r.body,
        app.login("nobody-here", "lars-password-1").await.body
    );
    // An admin can lift the lock by setting a new password.
    let admin = app.admin().await;
    let r = Client::send(
        admin
            .http
            .put(format!("{}/api/users/lars/password", admin.base))
            .header(
                "cookie",
                match &admin.auth {
                    common::Auth::Session { cookie, .. } => cookie.clone(),
                    _ => unreachable!(),
                },
            )
            .header(
                "x-csrf-token",
                match &admin.auth {
                    common::Auth::Session { csrf, .. } => csrf.clone(),
                    _ => unreachable!(),
                },
            )
            .json(&json!({ "password": "a-new-password-2" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(
        app.login("lars", "a-new-password-2").await.status,
        StatusCode::OK
    );
    // Failed and successful logins are in the audit log.
    let audit = admin
        .get("/api/audit?subject=user:lars&limit=100")
        .await
        .body;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "login.failed").count(),
        5,
        "{actions:?}"
    );
    assert!(actions.contains(&"login.refused"));
    assert!(actions.contains(&"login.succeeded"));
    // Unknown users get the same answer as a wrong password.
    let r = app.login("nobody", "whatever-password").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["code"], "bad_credentials");
}

async fn session_posts_need_the_csrf_token(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let common::Auth::Session { cookie, .. } = admin.auth.clone() else {
        unreachable!()
    };
    let body = json!({ "code": "NOCSRF", "name": "x" });
    let no_token = Client::send(
        admin
            .http
            .post(format!("{}/api/producers", admin.base))
            .header("cookie", &cookie)
            .json(&body),
    )
    .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert_eq!(no_token.body["code"], "csrf_token_invalid");
    let wrong = Client::send(
        admin
            .http
            .post(format!("{}/api/producers", admin.base))
            .header("cookie", &cookie)
            .header("x-csrf-token", "0000")
            .json(&body),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let cross_site = Client::send(
        admin
            .http
            .post(format!("{}/api/auth/login", admin.base))
            .header("origin", "https://evil.example")
            .json(&json!({"username": "admin", "password": "admin-password-1"})),
    )
    .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    assert_eq!(cross_site.body["code"], "cross_site_request");
    assert_eq!(
        admin.post("/api/producers", body).await.status,
        StatusCode::CREATED
    );
    // The cookie is HttpOnly, SameSite=Strict and Secure.
    let r = app.login("admin", "admin-password-1").await;
    let set = r.set_cookie.unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Secure"),
        "{set}"
    );
    // Logging out ends the session.
    assert_eq!(
        admin.post("/api/auth/logout", json!({})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin.get("/api/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn api_tokens_authenticate_until_revoked(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let r = admin
        .post(
            "/api/tokens",
            json!({ "name": "webshop", "role": "integration" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let secret = r.body["token"].as_str().unwrap().to_string();
    let id = r.body["id"].as_i64().unwrap();
    let web = Client {
        auth: common::Auth::Bearer(secret.clone()),
        ..app.anon()
    };
    let me = web.get("/api/auth/me").await;
    assert_eq!(me.body["actor"], "token:webshop");
    assert_eq!(me.body["role"], "integration");
    // Bearer requests need no CSRF token.
    assert_eq!(web.get("/api/events").await.status, StatusCode::OK);
    // The secret is stored only hashed and never listed.
    let list = admin.get("/api/tokens").await.body.to_string();
    assert!(
        !list.contains(&secret[3..]),
        "token secret leaked in listing"
    );
    let stored: String = sqlx::query_scalar("select token_hash from api_tokens where id = $1")
        .bind(id)
        .fetch_one(app.ctx.db.pool())
        .await
        .unwrap();
    assert_ne!(stored, secret);
    assert_eq!(
        admin
            .post(
                "/api/tokens",
                json!({ "name": "webshop", "role": "integration" })
            )
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        admin.delete(&format!("/api/tokens/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        web.get("/api/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        admin.delete(&format!("/api/tokens/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn audit_log_is_filterable_and_admin_only(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let lead = app.user("lea", Role::Lead).await;
    assert_eq!(lead.get("/api/audit").await.status, StatusCode::FORBIDDEN);
    let all = admin.get("/api/audit").await;
    assert_eq!(all.status, StatusCode::OK);
    let by_lea = admin.get("/api/audit?actor=user:lea").await.body;
    let entries = by_lea.as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["actor"] == "user:lea"));
    let future = admin.get("/api/audit?from=2999-01-01T00:00:00Z").await.body;
    assert_eq!(future.as_array().unwrap().len(), 0);
    let past = admin.get("/api/audit?to=2000-01-01T00:00:00Z").await.body;
    assert_eq!(past.as_array().unwrap().len(), 0);
    let bad = admin.get("/api/audit?from=yesterday").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["field"], "from");
    // The audit log is append-only in the database itself.
    let edit = sqlx::query("update audit_log set actor = 'x'")
        .execute(app.ctx.db.pool())
        .await;
    assert!(edit.is_err(), "audit_log accepted an update");
    let delete = sqlx::query("delete from audit_log")
        .execute(app.ctx.db.pool())
        .await;
    assert!(delete.is_err(), "audit_log accepted a delete");
}

async fn event_feed_follows_a_cursor(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let first = admin.get("/api/events?after=0&limit=1000").await.body;
    let first = first.as_array().unwrap();
    let last = first.last().unwrap()["id"].as_i64().unwrap();
    assert!(first
        .windows(2)
        .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()));
    assert!(first
        .iter()
        .any(|e| e["event_type"] == "catalog.product_created"));
    common::receive(
        &admin,
        &seed.pouch,
        "P1",
        &common::in_days(300),
        "A-02-1",
        7,
    )
    .await;
    let next = admin.get(&format!("/api/events?after={last}")).await.body;
    let next = next.as_array().unwrap();
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(next[0]["event_type"], "stock.received");
    assert_eq!(next[0]["payload"]["entries"][0]["delta"], 7);
    assert_eq!(
        admin.get("/api/events?limit=0").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

const GOOD_PRODUCTS: &str = "gtin,name,producer,category,units_per_pack,price_minor,currency,cut_to_fit,cut_min_mm,cut_max_mm,cut_round,cut_oval,min_shelf_life_days
5708932000017,Basisplade flad 50 mm (ny tekst),COLOPLAST,baseplate,5,42000,DKK,true,10,43,true,true,90
5708932000031,Klæbefjerner spray,COLOPLAST,accessory,1,11000,DKK,false,,,,,30
";

async fn csv_import_rejects_a_bad_file_and_writes_nothing(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    app.seed(&admin).await;
    let products_before = common::count(&app.ctx, "products").await;
    let events_before = common::count(&app.ctx, "events").await;
    let bad = "gtin,name,producer,category,units_per_pack,price_minor,currency,min_shelf_life_days
5708932000048,Ok product,COLOPLAST,pouch,10,1000,DKK,30
5708932000040,Bad check digit,COLOPLAST,pouch,10,1000,DKK,30
5708932000055,Unknown producer,NOBODY,pouch,10,1000,DKK,30
5708932000062,Bad number,COLOPLAST,pouch,ten,1000,DKK,30
5708932000048,Duplicate,COLOPLAST,pouch,10,1000,DKK,30
";
    let r = admin
        .post_raw("/api/import/products", "text/csv", bad)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["code"], "invalid_rows");
    let problems: Vec<(i64, String)> = r.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["line"].as_i64().unwrap(),
                p["field"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        vec![
            (3, "gtin".into()),
            (4, "producer".into()),
            (5, "units_per_pack".into()),
            (6, "gtin".into())
        ]
    );
    assert!(r.body["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("check digit"));
    assert_eq!(
        common::count(&app.ctx, "products").await,
        products_before,
        "a product was imported from a bad file"
    );
    assert_eq!(common::count(&app.ctx, "events").await, events_before);
    // An unknown column is reported against the header line.
    let r = admin
        .post_raw(
            "/api/import/locations",
            "text/csv",
            "code,zone,kind,walk_seq,colour\nB-01-1,B,pick,5,red\n",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["problems"][0]["line"], 1);
    assert_eq!(r.body["problems"][0]["field"], "colour");
    let r = admin
        .post_raw(
            "/api/import/locations",
            "text/csv",
            "code,zone,kind,walk_seq\nB-01-1,B,pick,5\nB-01-2,B,shelf,6\n",
        )
        .await;
    assert_eq!(r.body["problems"][0]["line"], 3);
    assert_eq!(r.body["problems"][0]["field"], "kind");
    assert!(admin.get("/api/locations/B-01-1").await.status == StatusCode::NOT_FOUND);
    // Imports accept bodies larger than the JSON limit (1 MiB): this one is read, then refused for its content.
    let large = format!("code,zone,kind,walk_seq,{}\n", "x".repeat(1536 * 1024));
    let r = admin
        .post_raw("/api/import/locations", "text/csv", large)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["problems"][0]["line"], 1);
}

async fn csv_import_of_a_good_file_creates_and_updates(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    app.seed(&admin).await;
    let r = admin
        .post_raw("/api/import/products", "text/csv", GOOD_PRODUCTS)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["created"], 1);
    assert_eq!(r.body["updated"], 1);
    let p = admin.get("/api/products/5708932000017").await.body;
    assert_eq!(p["name"], "Basisplade flad 50 mm (ny tekst)");
    assert_eq!(p["price_minor"], 42000);
    let p = admin.get("/api/products/05708932000031").await.body;
    assert_eq!(p["cut_to_fit"], false);
    let r = admin
        .post_raw(
            "/api/import/locations",
            "text/csv",
            "code,zone,kind,walk_seq\nb-01-1,b,pick,5\nR-01,R,reserve,500\n",
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        admin.get("/api/locations/B-01-1").await.body["kind"],
        "pick"
    );
}

async fn bad_input_gets_a_precise_4xx(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let unit = common::receive(
        &admin,
        &seed.plate,
        "L1",
        &common::in_days(400),
        "A-01-1",
        5,
    )
    .await;
    let malformed = admin
        .post_raw("/api/stock/receive", "application/json", "{\"gtin\": ")
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.body["code"], "malformed_json");
    let not_json = admin
        .post_raw("/api/stock/receive", "text/plain", "hello")
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let wrong_type = admin.post("/api/stock/receive", json!({ "gtin": 5708932000017u64, "lot": "L", "expiry": "x", "location": "A", "quantity": 1 })).await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong_type.body["code"], "invalid_json_data");
    let base = json!({ "gtin": seed.plate, "lot": "L1", "expiry": common::in_days(400), "location": "A-01-1", "quantity": 1 });
    let cases = [
        ("gtin", json!("5708932000019"), "check digit"),
        ("gtin", json!("5708932000031"), "unknown product"),
        ("gtin", json!("57089320000AB"), "digits"),
        ("quantity", json!(-3), "positive"),
        ("quantity", json!(0), "positive"),
        ("quantity", json!(50_000_000), "at most"),
        ("lot", json!("x".repeat(10_000)), "at most 20"),
        ("lot", json!(""), "empty"),
        ("expiry", json!("2026-13-45"), "YYYY-MM-DD"),
        ("expiry", json!("2020-01-01"), "expired"),
        ("location", json!("NOWHERE"), "unknown location"),
        ("owner", json!("SALTS"), "does not own"),
    ];
    for (field, value, needle) in cases {
        let mut body = base.clone();
        body[field] = value;
        let r = admin.post("/api/stock/receive", body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {:?}",
            r.body
        );
        assert_eq!(r.body["field"], field, "{:?}", r.body);
        assert!(
            r.body["message"].as_str().unwrap().contains(needle),
            "{field}: {:?}",
            r.body
        );
    }
    let r = admin
        .post(
            "/api/stock/move",
            json!({ "stock_unit_id": 999999, "quantity": 1, "to_location": "A-02-1" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["message"], "stock unit 999999 not found");
    let r = admin
        .post(
            "/api/stock/move",
            json!({ "stock_unit_id": unit, "quantity": 1 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["field"], "to_location");
    assert_eq!(
        admin.get("/api/stock/units/not-a-number").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        admin.get("/api/products/5708932000019").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        admin.get("/api/products/5708932000031").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        admin.get("/api/stock/on-hand?group_by=colour").await.status,
        StatusCode::BAD_REQUEST
    );
    let r = admin.post("/api/products", json!({ "gtin": "5708932000048", "name": "x", "producer": "COLOPLAST", "category": "pouch",
        "units_per_pack": 1, "price_minor": 1, "currency": "DKK", "min_shelf_life_days": 0, "colour": "red" })).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "unknown fields are refused: {:?}",
        r.body
    );
    let r = admin.post("/api/products", json!({ "gtin": "5708932000048", "name": "x", "producer": "COLOPLAST", "category": "pouch",
        "units_per_pack": 1, "price_minor": 1, "currency": "DKK", "cut_range": { "min_mm": 50, "max_mm": 20, "round": true, "oval": false },
        "min_shelf_life_days": 0 })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["field"], "cut_max_mm");
    // An absurd body is refused with 413; the server may close the connection before the client
    // has sent it all, which the client sees as a send error. Either way nothing is written.
    let big = format!("{{\"gtin\": \"{}\"}}", "9".repeat(3 * 1024 * 1024));
    // A client of its own: the server may close this connection, and a pooled connection must
    // not carry that into the next request.
    let own = Client {
        http: reqwest::Client::new(),
        ..admin.clone()
    };
    let sent = own
        .req(reqwest::Method::POST, "/api/stock/receive")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await;
    if let Ok(r) = sent {
        let status = r.status();
        assert_eq!(
            status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{}",
            r.text().await.unwrap_or_default()
        );
    }
    assert_eq!(app.anon().get("/healthz").await.status, StatusCode::OK);
    // None of that changed the stock.
    assert_eq!(
        admin.get(&format!("/api/stock/units/{unit}")).await.body["quantity"],
        5
    );
    assert_eq!(common::count(&app.ctx, "ledger").await, 1);
}

async fn pages_are_danish_by_default_and_english_on_request(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let c = app.anon();
    let da = c.get("/login").await.body;
    assert!(da.as_str().unwrap().contains("Adgangskode"));
    let en = c.get("/login?lang=en").await.body;
    assert!(en.as_str().unwrap().contains("Password"));
    app.user("lone", Role::Lead).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = http
        .post(format!("{}/login", app.base))
        .form(&[("username", "lone"), ("password", "wrong-password")])
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("Forkert brugernavn"));
    let r = http
        .post(format!("{}/login", app.base))
        .form(&[("username", "lone"), ("password", "lone-password-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let home = http
        .get(format!("{}/", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Lager pr. ejer"), "{home}");
    let _ = Client::send(http.get(format!("{}/", app.base))).await;
    // The station page is live for a logged-in user and sends others to the login page.
    let page = http
        .get(format!("{}/stations/receiving-1", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("Station receiving-1")
            && page.contains("Opslag:")
            && page.contains("data-csrf="),
        "{page}"
    );
    // Its script is a static file under a hashed name (no inline script), and follows the scans.
    let src = page
        .split("<script src=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .find(|s| s.starts_with("/static/station."))
        .unwrap_or_else(|| panic!("no station script in {page}"));
    let script = http.get(format!("{}{src}", app.base)).send().await.unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(script.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert!(script.text().await.unwrap().contains("/api/scans?station="));
    assert!(
        !page.contains("<script>"),
        "an inline script is left: {page}"
    );
    let anon = http
        .get(format!("{}/stations/receiving-1", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), StatusCode::SEE_OTHER);
    // ... saying where they were going, and the login takes them there (only within this site).
    assert_eq!(
        anon.headers()["location"],
        "/login?next=%2Fstations%2Freceiving-1"
    );
    let form = http
        .get(format!("{}/login?next=%2Fstations%2Freceiving-1", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains(r#"name="next" value="/stations/receiving-1""#),
        "{form}"
    );
    for (next, to) in [
        ("/stations/receiving-1", "/stations/receiving-1"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
    ] {
        let r = http
            .post(format!("{}/login", app.base))
            .form(&[
                ("username", "lone"),
                ("password", "lone-password-1"),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            (r.status(), r.headers()["location"].to_str().unwrap()),
            (StatusCode::SEE_OTHER, to),
            "{next}"
        );
    }
}

async fn setting_a_password_ends_the_users_sessions(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let picker = app.user("pelle", Role::Picker).await;
    assert_eq!(picker.get("/api/auth/me").await.status, StatusCode::OK);
    konsign::service::auth::set_password(
        &app.ctx,
        &konsign::service::Actor::system(),
        "pelle",
        "another-password-3",
    )
    .await
    .unwrap();
    assert_eq!(
        picker.get("/api/auth/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("pelle", "another-password-3").await.status,
        StatusCode::OK
    );
}

/// No English on a Danish page: every page, rendered in Danish for a role that may see it (with
/// a station, printers, a wave and stock so its tables are there), contains none of the texts of
/// the English table (`src/http/pages/texts.rs`, where the English differs from the Danish), outside
/// its scripts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn danish_pages_carry_no_english_text() {
    let Some(app) = common::spawn_app(Backend::Sqlite).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    common::receive(
        &admin,
        &seed.pouch,
        "P-1",
        &common::in_days(200),
        "A-01-1",
        5,
    )
    .await;
    let r = admin
        .put_json("/api/cut-stations/cut-1", json!({ "name": "Hulklip 1" }))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // The English table: ("key", Lang::En) => "text" where the Danish text differs.
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/http/pages/texts.rs"
    ))
    .unwrap();
    let entry = |lang: &str| -> std::collections::HashMap<String, String> {
        source
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                let rest = l.strip_prefix("(\"")?;
                let (key, rest) = rest.split_once("\", ")?;
                let rest = rest.strip_prefix(&format!("Lang::{lang}) => \""))?;
                let text = rest.strip_suffix("\",")?;
                Some((key.to_string(), text.to_string()))
            })
            .collect()
    };
    let (en, da) = (entry("En"), entry("Da"));
    let english: Vec<&String> = en
        .iter()
        .filter(|(k, v)| da.get(*k) != Some(*v) && v.len() >= 5)
        .map(|(_, v)| v)
        .collect();
    assert!(
        english.len() > 50,
        "the English table was read: {}",
        english.len()
    );
    let without_scripts = |html: &str| -> String {
        let mut out = String::new();
        let mut rest = html;
        while let Some(at) = rest.find("<script") {
            out.push_str(&rest[..at]);
            rest = rest[at..]
                .find("</script>")
                .map_or("", |end| &rest[at + end + 9..]);
        }
        out.push_str(rest);
        // The texts a page's script shows are chosen by language; their JSON keys are names.
        let mut clean = String::new();
        let mut rest = out.as_str();
        while let Some(at) = rest.find("data-texts=\"") {
            clean.push_str(&rest[..at]);
            let after = &rest[at + 12..];
            rest = after.find('"').map_or("", |end| &after[end + 1..]);
        }
        clean.push_str(rest);
        clean
    };
    for (role, user, pages) in [
        (
            Role::Lead,
            "lea",
            vec![
                "/",
                "/pick",
                "/pack",
                "/handover",
                "/carriers",
                "/stock",
                "/stations/receiving-1",
                "/cut/cut-1",
            ],
        ),
        (Role::Picker, "pia", vec!["/", "/pick", "/stock"]),
        (Role::Operator, "ole", vec!["/", "/cut/cut-1"]),
        (
            Role::Packer,
            "per",
            vec!["/", "/pack", "/handover", "/stock"],
        ),
    ] {
        app.user(user, role).await;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = http
            .post(format!("{}/login", app.base))
            .form(&[
                ("username", user),
                ("password", &format!("{user}-password-1")),
            ])
            .send()
            .await
            .unwrap();
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        for page in pages {
            let r = http
                .get(format!("{}{page}", app.base))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{page} as {user}");
            let html = without_scripts(&r.text().await.unwrap());
            let found: Vec<&&String> = english
                .iter()
                .filter(|e| html.contains(e.as_str()))
                .collect();
            assert!(
                found.is_empty(),
                "{page} as {user} carries English: {found:?}"
            );
        }
    }
}
