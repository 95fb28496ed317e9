//! Test harness: the whole app on an ephemeral port with a fresh database per test, on SQLite
//! (always) and PostgreSQL (when `TEST_DATABASE_URL` is set).
#![allow(dead_code)]

pub mod decode;
pub mod packing;
pub mod pty;
pub mod webdriver;

use konsign::config::Config;
use konsign::domain::auth::Role;
use konsign::service::{Actor, Ctx};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed `async fn name(backend: Backend)` once per backend, as `sqlite::name` and
/// `postgres::name`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::common::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name($crate::common::Backend::Postgres).await } )*
        }
    };
}

pub struct TestApp {
    pub base: String,
    pub ctx: Ctx,
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestApp {
    /// Stops the app and waits until it has closed its database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A fresh PostgreSQL database on the server of `TEST_DATABASE_URL`, or `None` (with the reason
/// printed) when no server is configured and services are not required.
pub async fn postgres_url() -> Option<String> {
    let base = match std::env::var("TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            if std::env::var("TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
                panic!("TEST_REQUIRE_SERVICES=1 but TEST_DATABASE_URL is not set");
            }
            eprintln!("skipped: PostgreSQL test needs TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)");
            return None;
        }
    };
    let mut conn = match sqlx::PgConnection::connect(&base).await {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
                panic!("PostgreSQL at TEST_DATABASE_URL is unreachable: {e}");
            }
            eprintln!("skipped: PostgreSQL at TEST_DATABASE_URL is unreachable: {e}");
            return None;
        }
    };
    let name = format!("konsign_t_{}", konsign::service::auth::random_secret(8));
    sqlx::query(&format!("create database {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let _ = conn.close().await;
    let (prefix, _) = base.rsplit_once('/').expect("database url has a path");
    Some(format!("{prefix}/{name}"))
}

pub async fn database_url(backend: Backend, dir: &std::path::Path) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(format!("sqlite://{}/konsign.db", dir.display())),
        Backend::Postgres => postgres_url().await,
    }
}

/// A migrated service context on a fresh database (no HTTP).
pub async fn context(backend: Backend) -> Option<(Ctx, tempfile::TempDir)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = database_url(backend, dir.path()).await?;
    let mut config = Config {
        environment: konsign::config::Environment::Test,
        ..Config::default()
    };
    config.database.url = url;
    config.database.max_connections = 5;
    Some((
        konsign::startup::context(config).await.expect("context"),
        dir,
    ))
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = database_url(backend, dir.path()).await?;
    Some(start_app(url, Some(dir), |_| {}).await)
}

/// The app on `url` (an existing database is kept: a restart), with the configuration changed
/// by `tweak`.
pub async fn start_app(
    url: String,
    dir: Option<tempfile::TempDir>,
    tweak: impl FnOnce(&mut Config),
) -> TestApp {
    let mut config = Config {
        environment: konsign::config::Environment::Test,
        ..Config::default()
    };
    config.database.url = url;
    config.database.max_connections = 5;
    config.http.listen = "127.0.0.1:0".parse().unwrap();
    // Only the cutting-station tests talk MQTT; they switch it on.
    config.mqtt.enabled = false;
    // The tests of the picking flow scan the tote (they switch it on); the others pick without.
    config.picking.require_tote_scan = false;
    tweak(&mut config);
    let app = konsign::startup::App::build(config)
        .await
        .expect("app builds");
    let addr = app.addr();
    let ctx = app.ctx.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        base: format!("http://{addr}"),
        ctx,
        http: reqwest::Client::new(),
        shutdown: Some(tx),
        task: Some(task),
        _dir: dir,
    }
}

/// How a test client authenticates.
#[derive(Clone)]
pub enum Auth {
    None,
    Session { cookie: String, csrf: String },
    Bearer(String),
}

/// A client bound to one app and one identity.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub auth: Auth,
}

pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub set_cookie: Option<String>,
    pub retry_after: Option<String>,
}

impl Client {
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        match &self.auth {
            Auth::None => {}
            Auth::Session { cookie, csrf } => {
                r = r.header("cookie", cookie);
                if method != reqwest::Method::GET {
                    r = r.header("x-csrf-token", csrf);
                }
            }
            Auth::Bearer(t) => r = r.bearer_auth(t),
        }
        r
    }

    pub async fn send(r: reqwest::RequestBuilder) -> Resp {
        let res = r.send().await.expect("request is sent");
        let status = res.status();
        let set_cookie = res
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp {
            status,
            body,
            set_cookie,
            retry_after,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        Self::send(self.req(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        Self::send(self.req(reqwest::Method::POST, path).json(&body)).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        Self::send(
            self.req(reqwest::Method::POST, path)
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    pub async fn put_json(&self, path: &str, body: Value) -> Resp {
        Self::send(self.req(reqwest::Method::PUT, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        Self::send(self.req(reqwest::Method::DELETE, path)).await
    }
}

impl TestApp {
    pub fn anon(&self) -> Client {
        Client {
            base: self.base.clone(),
            http: self.http.clone(),
            auth: Auth::None,
        }
    }

    pub async fn login(&self, username: &str, password: &str) -> Resp {
        self.anon()
            .post(
                "/api/auth/login",
                json!({ "username": username, "password": password }),
            )
            .await
    }

    /// Creates a user with `role` and returns a client logged in as that user.
    pub async fn user(&self, username: &str, role: Role) -> Client {
        let password = format!("{username}-password-1");
        konsign::service::auth::create_user(&self.ctx, &Actor::system(), username, role, &password)
            .await
            .expect("user created");
        let r = self.login(username, &password).await;
        assert_eq!(r.status, StatusCode::OK, "login: {:?}", r.body);
        let cookie = r
            .set_cookie
            .expect("session cookie")
            .split(';')
            .next()
            .unwrap()
            .to_string();
        let csrf = r.body["csrf_token"].as_str().unwrap().to_string();
        Client {
            base: self.base.clone(),
            http: self.http.clone(),
            auth: Auth::Session { cookie, csrf },
        }
    }

    pub async fn admin(&self) -> Client {
        self.user("admin", Role::Admin).await
    }

    /// A producer, a cut-to-fit baseplate, a pouch, and a receiving, two pick and a quarantine location.
    pub async fn seed(&self, c: &Client) -> Seed {
        assert_eq!(
            c.post(
                "/api/producers",
                json!({ "code": "COLOPLAST", "name": "Coloplast A/S" })
            )
            .await
            .status,
            StatusCode::CREATED
        );
        assert_eq!(
            c.post(
                "/api/producers",
                json!({ "code": "SALTS", "name": "Salts Healthcare" })
            )
            .await
            .status,
            StatusCode::CREATED
        );
        let plate = c
            .post("/api/products", json!({
                "gtin": "5708932000017", "name": "Basisplade flad 50 mm", "producer": "COLOPLAST", "category": "baseplate",
                "units_per_pack": 5, "price_minor": 41500, "currency": "DKK",
                "cut_range": { "min_mm": 10, "max_mm": 43, "round": true, "oval": true }, "min_shelf_life_days": 90 }))
            .await;
        assert_eq!(plate.status, StatusCode::CREATED, "{:?}", plate.body);
        let pouch = c
            .post("/api/products", json!({
                "gtin": "5708932000024", "name": "Lukket pose 50 mm", "producer": "COLOPLAST", "category": "pouch",
                "units_per_pack": 30, "price_minor": 54000, "currency": "DKK", "cut_range": null, "min_shelf_life_days": 60 }))
            .await;
        assert_eq!(pouch.status, StatusCode::CREATED, "{:?}", pouch.body);
        for (code, zone, kind, seq) in [
            ("RCV-01", "RCV", "receiving", 1),
            ("A-01-1", "A", "pick", 10),
            ("A-02-1", "A", "pick", 20),
            ("QUA-01", "QUA", "quarantine", 90),
        ] {
            let r = c
                .post(
                    "/api/locations",
                    json!({ "code": code, "zone": zone, "kind": kind, "walk_seq": seq }),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        }
        Seed {
            plate: "05708932000017".into(),
            pouch: "05708932000024".into(),
        }
    }
}

pub struct Seed {
    pub plate: String,
    pub pouch: String,
}

/// An expiry date `days` from today, as the API takes it.
pub fn in_days(days: i64) -> String {
    (konsign::service::today() + chrono::Duration::days(days)).to_string()
}

/// Receives `qty` packs and returns the stock unit id.
pub async fn receive(
    c: &Client,
    gtin: &str,
    lot: &str,
    expiry: &str,
    location: &str,
    qty: i64,
) -> i64 {
    let r = c.post("/api/stock/receive", json!({ "gtin": gtin, "lot": lot, "expiry": expiry, "location": location, "quantity": qty })).await;
    assert_eq!(r.status, StatusCode::OK, "receive: {:?}", r.body);
    r.body["entries"][0]["stock_unit_id"].as_i64().unwrap()
}

/// A query's one integer (a count or a sum), read straight from the database.
pub async fn scalar(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(pool)
        .await
        .unwrap()
}

pub async fn count(ctx: &Ctx, table: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(&format!("select count(*) as n from {table}"))
        .fetch_one(ctx.db.pool())
        .await
        .unwrap()
        .get::<i64, _>("n")
}

/// A free port for a server a test starts itself (the embedded broker, a private Mosquitto),
/// outside the kernel's range of ephemeral ports (32768-60999 here): a port taken from that
/// range (bind to port 0, then let go) can meanwhile become the local port of any client
/// connection of a test running beside it, and the server then cannot listen on it. Each call
/// in a process gets another port; the start is spread by the process id.
#[allow(dead_code)]
pub fn listen_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7919);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20_000 + (start.wrapping_add(n) % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// The orders in `stage` of a dashboard flow (`/api/dashboard/flow`, or a live picture).
pub fn orders_in(flow: &Value, stage: &str) -> i64 {
    flow["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["stage"] == stage)
        .unwrap_or_else(|| panic!("no stage {stage} in {flow}"))["orders"]
        .as_i64()
        .expect("a count")
}

/// The live hub's update after the events written since `after`, as the hub makes it: the
/// sections those events name read again, the rest kept from `prev`; beside it a whole read.
pub struct LiveUpdate {
    pub changed: konsign::service::dashboard::Sections,
    pub types: Vec<String>,
    pub live: konsign::service::dashboard::Dashboard,
    pub whole: konsign::service::dashboard::Dashboard,
    /// The cursor the update reached.
    pub upto: i64,
}

/// The live hub's update after the events since `after`, next to a whole read. When an event
/// commits between the two reads (a device's message in flight), both are read again, so the
/// two pictures are of the same events.
pub async fn live_update(
    ctx: &Ctx,
    prev: &konsign::service::dashboard::Dashboard,
    after: i64,
) -> LiveUpdate {
    use konsign::service::dashboard::{self as dash, Sections};
    let pool = ctx.db.pool();
    let last = || konsign::store::events::last_id(pool, ctx.db.backend());
    for _ in 0..20 {
        let upto = last().await.unwrap();
        let types = konsign::store::events::types_between(pool, after, upto, 1000)
            .await
            .unwrap()
            .expect("a few events");
        let changed = Sections::touched_by_all(types.iter().map(String::as_str));
        let live = dash::read_changed(ctx, prev, changed).await.unwrap();
        let whole = dash::read(ctx).await.unwrap();
        if last().await.unwrap() == upto {
            return LiveUpdate {
                changed,
                live,
                whole,
                types,
                upto,
            };
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the event log did not stand still for a live update");
}

/// Follows the live dashboard through a test as the hub does: after each step, the sections
/// its events name are read again and the rest kept, and that picture must show what a whole
/// read shows (`LiveUpdate::assert_same`).
pub struct LiveCheck {
    pub prev: konsign::service::dashboard::Dashboard,
    pub cursor: i64,
}

impl LiveCheck {
    pub async fn start(ctx: &Ctx) -> LiveCheck {
        // The cursor first: a picture read after it may show more, never less.
        let cursor = konsign::store::events::last_id(ctx.db.pool(), ctx.db.backend())
            .await
            .unwrap();
        LiveCheck {
            prev: konsign::service::dashboard::read(ctx).await.unwrap(),
            cursor,
        }
    }

    /// The update after `what`, checked, and kept as the next step's picture.
    pub async fn step(&mut self, ctx: &Ctx, what: &str) -> LiveUpdate {
        let u = live_update(ctx, &self.prev, self.cursor).await;
        u.assert_same(what);
        self.prev = u.live.clone();
        self.cursor = u.upto;
        u
    }
}

impl LiveUpdate {
    /// Asserts that the narrowed picture shows what a whole read shows: each device's health
    /// and state, the orders and late marks per stage, today's total of each hourly measure, each picker's packs and refused scans, each station's work, each
    /// carrier's parcels waiting and orders still to pack, and the exceptions' counts (the
    /// ages, which move with the clock, are left out).
    pub fn assert_same(&self, what: &str) {
        use konsign::service::dashboard::Dashboard;
        type Figures = (
            Vec<(String, String, String)>,
            Vec<(String, i64, bool)>,
            Vec<(String, i64)>,
            Vec<(String, i64, i64)>,
            Vec<(String, i64, i64)>,
            Vec<(String, i64, i64)>,
            Vec<(String, i64)>,
        );
        fn figures(d: &Dashboard) -> Figures {
            (
                // A printer's queue depth moves without an event (its jobs are no events):
                // the hub's refresh reads it in its turn.
                d.devices
                    .iter()
                    .map(|v| {
                        (
                            format!("{}:{}", v.kind, v.id),
                            format!("{:?}", v.health),
                            v.state.clone(),
                        )
                    })
                    .collect(),
                d.flow
                    .stages
                    .iter()
                    .map(|s| (s.stage.as_str().to_string(), s.orders, s.late))
                    .collect(),
                d.throughput
                    .series
                    .iter()
                    .map(|s| (s.measure.clone(), s.today_total))
                    .collect(),
                d.floor
                    .pickers
                    .iter()
                    .map(|p| (p.name.clone(), p.packs_today, p.scans_refused_today))
                    .collect(),
                d.floor
                    .stations
                    .iter()
                    .map(|s| (s.station.clone(), s.today, s.faults_today))
                    .collect(),
                d.cutoffs
                    .iter()
                    .map(|c| (c.carrier.clone(), c.packed_waiting, c.to_pack))
                    .collect(),
                d.exceptions
                    .iter()
                    .map(|g| (g.kind.clone(), g.total))
                    .collect(),
            )
        }
        assert_eq!(
            figures(&self.live),
            figures(&self.whole),
            "{what}: the narrowed update ({:?}, from {:?}) differs from a whole read",
            self.changed,
            self.types
        );
    }
}
