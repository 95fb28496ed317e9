//! The small findings of security review 16: demo data only into an empty, non-production
//! database (and a band on every page while it is there), secrets in URLs masked, the CSRF
//! check, LIKE wildcards in the product search, bounded metric labels, the printer poll range.

mod common;

use common::{Backend, TestApp};
use konsign::config::{Config, Environment, Overrides};
use konsign::service::{demo, Actor};
use reqwest::StatusCode;
use serde_json::json;

const BAND_DA: &str = "DEMO – testdata, ikke til drift";
const BAND_EN: &str = "DEMO – test data, not for production";

/// A migrated context on a fresh database in `environment` (no HTTP).
async fn context_in(
    backend: Backend,
    environment: Environment,
) -> Option<(konsign::service::Ctx, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let url = common::database_url(backend, dir.path()).await?;
    let mut config = Config {
        environment,
        ..Config::default()
    };
    config.database.url = url;
    config.database.max_connections = 5;
    let ctx = konsign::startup::context(config).await.expect("context");
    Some((ctx, dir))
}

fn refused(r: konsign::error::Result<demo::DemoReport>) -> String {
    match r {
        Err(e) => {
            assert_eq!(e.code(), "demo_refused", "{e}");
            e.to_string()
        }
        Ok(report) => panic!("demo data was loaded: {report:?}"),
    }
}

async fn demo_data_is_refused_in_production(b: Backend) {
    let Some((ctx, _dir)) = context_in(b, Environment::Production).await else {
        return;
    };
    let why = refused(demo::load(&ctx).await);
    assert!(why.contains("environment is production"), "{why}");
    assert_eq!(common::count(&ctx, "users").await, 0);
    assert_eq!(common::count(&ctx, "instance_meta").await, 0);
    assert!(!ctx.demo.loaded());
}

async fn demo_data_is_refused_on_a_database_with_users_or_products(b: Backend) {
    // A user of its own: the known-password demo users are not added next to it.
    let Some((ctx, _dir)) = context_in(b, Environment::Development).await else {
        return;
    };
    konsign::service::auth::create_user(
        &ctx,
        &Actor::system(),
        "birgit",
        konsign::domain::auth::Role::Admin,
        "a-long-password",
    )
    .await
    .unwrap();
    let why = refused(demo::load(&ctx).await);
    assert!(why.contains("not empty (users 1,"), "{why}");
    assert_eq!(common::count(&ctx, "users").await, 1);
    assert_eq!(common::count(&ctx, "producers").await, 0);
    assert!(!ctx.demo.loaded());

    // Products but no users: refused as well.
    let Some((ctx, _dir)) = context_in(b, Environment::Test).await else {
        return;
    };
    let actor = Actor::system();
    konsign::service::catalog::create_producer(&ctx, &actor, "ACME", "Acme A/S")
        .await
        .unwrap();
    konsign::service::catalog::put_product(&ctx, &actor, &product("Pose", 1), false)
        .await
        .unwrap();
    let why = refused(demo::load(&ctx).await);
    assert!(why.contains("products 1)"), "{why}");
    assert_eq!(common::count(&ctx, "users").await, 0);
    assert_eq!(common::count(&ctx, "instance_meta").await, 0);
}

async fn get_html(http: &reqwest::Client, url: String, cookie: Option<&str>) -> String {
    let mut r = http.get(url);
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

async fn demo_data_puts_a_band_on_every_page_also_after_a_restart(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = common::database_url(b, dir.path()).await else {
        return;
    };
    let app = common::start_app(url.clone(), None, |_| {}).await;
    let http = reqwest::Client::new();
    let login = format!("{}/login", app.base);
    assert!(!get_html(&http, login.clone(), None).await.contains("DEMO"));

    let report = demo::load(&app.ctx).await.unwrap();
    assert!(report.loaded && report.products > 0);
    assert_eq!(report.users.len(), konsign::domain::auth::Role::ALL.len());
    let page = get_html(&http, login.clone(), None).await;
    assert!(page.contains(BAND_DA), "{page}");
    let page = get_html(&http, format!("{login}?lang=en"), None).await;
    assert!(page.contains(BAND_EN), "{page}");
    // A page behind the login, as a demo user.
    let lead = app.login("lead", "konsign-lead").await;
    assert_eq!(lead.status, StatusCode::OK, "{:?}", lead.body);
    let cookie = lead.set_cookie.unwrap();
    let cookie = cookie.split(';').next().unwrap();
    for path in ["/", "/stock", "/pick"] {
        let page = get_html(&http, format!("{}{path}", app.base), Some(cookie)).await;
        assert!(page.contains(BAND_DA), "{path}: {page}");
    }
    // Loading again changes nothing and creates no users.
    let again = demo::load(&app.ctx).await.unwrap();
    assert!(!again.loaded && again.users.is_empty());
    app.stop().await;

    // After a restart the band is still there (here in production, which also logs an error).
    let app = common::start_app(url, None, |c| c.environment = Environment::Production).await;
    assert!(app.ctx.demo.loaded());
    let page = get_html(&http, format!("{}/login", app.base), None).await;
    assert!(page.contains(BAND_DA), "{page}");
    // And production refuses to load demo data even there.
    refused(demo::load(&app.ctx).await);
    app.stop().await;
    drop(dir);
}

fn product(name: &str, n: usize) -> konsign::domain::catalog::ProductInput {
    konsign::domain::catalog::ProductInput {
        gtin: konsign::domain::gtin::Gtin::with_check_digit(&format!("5790000{n:06}"))
            .unwrap()
            .to_string(),
        name: name.into(),
        producer: "ACME".into(),
        category: "accessory".into(),
        units_per_pack: 1,
        price_minor: 1000,
        currency: "DKK".into(),
        cut_to_fit: false,
        cut_min_mm: None,
        cut_max_mm: None,
        cut_round: false,
        cut_oval: false,
        min_shelf_life_days: 30,
        weight_g: None,
    }
}

async fn product_search_takes_percent_underscore_and_the_escape_char_literally(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let actor = Actor::system();
    konsign::service::catalog::create_producer(&app.ctx, &actor, "ACME", "Acme A/S")
        .await
        .unwrap();
    let names = [
        "Hudpasta 50% ekstra",
        "Hudpasta 500 g",
        "Pose_A",
        "Pose A",
        "Pose AB",
        "Spray!",
    ];
    for (i, name) in names.iter().enumerate() {
        konsign::service::catalog::put_product(&app.ctx, &actor, &product(name, i + 1), false)
            .await
            .unwrap();
    }
    for (q, expected) in [
        ("50%25", vec!["Hudpasta 50% ekstra"]),
        ("%25", vec!["Hudpasta 50% ekstra"]),
        ("_", vec!["Pose_A"]),
        ("e_a", vec!["Pose_A"]),
        ("%21", vec!["Spray!"]),
        ("pose%20a", vec!["Pose A", "Pose AB"]),
        ("hudpasta", vec!["Hudpasta 50% ekstra", "Hudpasta 500 g"]),
    ] {
        let r = admin.get(&format!("/api/products?q={q}")).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let mut found: Vec<&str> = r
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        found.sort();
        assert_eq!(found, expected, "q={q}");
    }
}

async fn csrf_token_must_match_exactly(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let common::Auth::Session { cookie, csrf } = admin.auth.clone() else {
        panic!("a session");
    };
    let body = json!({ "code": "ACME", "name": "Acme A/S" });
    let mut wrong = csrf.clone().into_bytes();
    let last = wrong.len() - 1;
    wrong[last] = if wrong[last] == b'a' { b'b' } else { b'a' };
    let wrong = String::from_utf8(wrong).unwrap();
    for bad in [&wrong, &csrf[..csrf.len() - 1], ""] {
        let c = common::Client {
            auth: common::Auth::Session {
                cookie: cookie.clone(),
                csrf: bad.to_string(),
            },
            ..admin.clone()
        };
        let r = c.post("/api/producers", body.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{bad:?}: {:?}", r.body);
        assert_eq!(r.body["code"], "csrf_token_invalid");
    }
    let r = admin.post("/api/producers", body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
}

on_both_backends!(
    demo_data_is_refused_in_production,
    demo_data_is_refused_on_a_database_with_users_or_products,
    demo_data_puts_a_band_on_every_page_also_after_a_restart,
    product_search_takes_percent_underscore_and_the_escape_char_literally,
    csrf_token_must_match_exactly,
);

/// Metric labels stay bounded: a made-up method is `other`, a route is its template (ids and
/// unknown paths never become labels).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_labels_take_no_made_up_methods_or_raw_paths() {
    let Some(app): Option<TestApp> = common::spawn_app(Backend::Sqlite).await else {
        return;
    };
    let http = reqwest::Client::new();
    for (method, path) in [
        ("XYZZY1", "/api/orders/ORDER-98765"),
        ("XYZZY2", "/healthz"),
        ("GET", "/api/orders/ORDER-98765"),
        ("GET", "/no/such/page-4242"),
        ("XYZZY3", "/no/such/page-4243"),
    ] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        http.request(m, format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
    }
    let text = http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let requests: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("konsign_http_requests_total{"))
        .collect();
    assert!(!text.contains("XYZZY"), "{requests:#?}");
    assert!(!text.contains("ORDER-98765"), "{requests:#?}");
    assert!(!text.contains("page-424"), "{requests:#?}");
    assert!(
        requests
            .iter()
            .any(|l| l.contains("method=\"other\"") && l.contains("route=\"/healthz\"")),
        "{requests:#?}"
    );
    assert!(
        requests
            .iter()
            .any(|l| l.contains("method=\"GET\"")
                && l.contains("route=\"/api/orders/{external_id}\"")),
        "{requests:#?}"
    );
    assert!(
        requests
            .iter()
            .any(|l| l.contains("method=\"other\"") && l.contains("route=\"unmatched\"")),
        "{requests:#?}"
    );
}

/// A secret in a query parameter of a URL is masked when the configuration is printed.
#[test]
fn printed_configuration_masks_secret_query_parameters() {
    let mut c = Config::default();
    c.database.url = "postgres://app@db:5432/k?password=s3cret-pw&sslmode=require".into();
    c.mqtt.url = Some("mqtt://konsign:mq-s3cret@broker:1883".into());
    let t = c.to_masked_toml().unwrap();
    assert!(!t.contains("s3cret"), "{t}");
    assert!(
        t.contains("postgres://app@db:5432/k?password=***&sslmode=require"),
        "{t}"
    );
    assert!(t.contains("mqtt://konsign:***@broker:1883"), "{t}");
}

/// `printing.idle_poll_ms` below 20 made the spooler panic; the range is checked at start.
#[test]
fn printer_idle_poll_outside_its_range_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k.toml");
    for (ms, ok) in [
        (15, false),
        (99, false),
        (100, true),
        (20_000, true),
        (20_001, false),
    ] {
        std::fs::write(&file, format!("[printing]\nidle_poll_ms = {ms}\n")).unwrap();
        let r = Config::load(Some(&file), &Overrides::default());
        match (ok, r) {
            (true, Ok(c)) => assert_eq!(c.printing.idle_poll_ms, ms),
            (false, Err(e)) => assert!(
                e.to_string().contains(&format!(
                    "printing.idle_poll_ms must be between 100 and 20000 (is {ms})"
                )),
                "{e}"
            ),
            (ok, r) => panic!("idle_poll_ms = {ms}: expected ok={ok}, got {r:?}"),
        }
    }
}

/// With `http.metrics_token`, `/metrics` answers only that bearer token (and the token is
/// masked when the configuration is printed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_metrics_token_when_one_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = common::database_url(Backend::Sqlite, dir.path()).await else {
        return;
    };
    let app = common::start_app(url, Some(dir), |c| {
        c.http.metrics_token = Some("scrape-s3cret".into());
    })
    .await;
    let http = reqwest::Client::new();
    let get = |auth: Option<&str>| {
        let mut r = http.get(format!("{}/metrics", app.base));
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        async move { r.send().await.unwrap() }
    };
    for bad in [
        None,
        Some("Bearer wrong"),
        Some("Bearer scrape-s3cre"),
        Some("scrape-s3cret"),
    ] {
        let r = get(bad).await;
        assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED, "{bad:?}");
        assert!(!r.text().await.unwrap().contains("konsign_"));
    }
    let r = get(Some("Bearer scrape-s3cret")).await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert!(r.text().await.unwrap().contains("konsign_http_requests"));
    let t = app.ctx.config.to_masked_toml().unwrap();
    assert!(!t.contains("scrape-s3cret"), "{t}");
}

/// The event feeds are read at most `http.feed_reads_per_minute` times a minute per caller
/// (each read waits for the writers in flight on PostgreSQL): beyond, 429 with `Retry-After`;
/// another caller has a bucket of its own, and the caller's other requests go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_polling_the_feeds_too_often_is_told_when_to_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = common::database_url(Backend::Sqlite, dir.path()).await else {
        return;
    };
    let app = common::start_app(url, Some(dir), |c| {
        c.http.feed_reads_per_minute = 3;
    })
    .await;
    let admin = app.admin().await;
    // One bucket for both feeds.
    for path in ["/api/events", "/api/order-changes", "/api/events?after=1"] {
        let r = admin.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {:?}", r.body);
    }
    let r = admin.get("/api/order-changes").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", r.body);
    assert_eq!(r.body["code"], "too_many_requests");
    // Three a minute: the next read is allowed within 20 s.
    let secs: u64 = r
        .retry_after
        .as_deref()
        .and_then(|s| s.parse().ok())
        .expect("a Retry-After in seconds");
    assert!((1..=20).contains(&secs), "Retry-After {secs}");
    assert_eq!(
        admin.get("/api/events").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        admin.get("/api/orders?limit=1").await.status,
        StatusCode::OK
    );
    let lead = app.user("lisa", konsign::domain::auth::Role::Lead).await;
    assert_eq!(lead.get("/api/events").await.status, StatusCode::OK);
    // The service's own readers are not counted.
    let ctx = &app.ctx;
    for _ in 0..5 {
        konsign::service::log::events_after(ctx, &Actor::system(), 0, 10)
            .await
            .expect("the service's own read");
    }
}
