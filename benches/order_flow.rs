//! Order intake + allocation throughput through the HTTP API, and pick-scan latency.
//!
//! 1. Stock: 50 products in 200 pick locations (4 lots each, in different locations).
//! 2. Intake: ORDERS orders of 4 lines each (default 10,000) are posted by CLIENTS concurrent
//!    HTTP clients (default 8) with an integration token; every order is validated, stored and
//!    allocated FEFO in its request. Reported: orders/s and the time for the first 5,000.
//! 3. Picking: waves of 20 orders are made and picked through `POST /api/waves/{id}/scan` the
//!    way the picker's page does it (location label, then each pack); every scan's round trip is
//!    timed. Reported: p50/p90/p99/max in ms over PICK_SCANS scans (default 3,000).
//!
//!    Between two scans the same client asks `GET /healthz` (the floor of the HTTP path, on the
//!    same connection under the same load); each figure is reported with its ratio to that.
//!
//! The whole run is repeated RUNS times (default 3), each on a new database, with each run's
//! figures and the medians; the machine and its fsync are printed first.
//!
//! With `HISTORY_DAYS=365` (and `HISTORY_ORDERS_PER_DAY`, default 2,000) each run's database
//! first gets the demo data and a generated history (`konsign demo history`), so intake and
//! picking are measured on a full database, as issue 19 asks.
//!
//! With `HISTORY_TEMPLATE=<database>` as well (PostgreSQL), the history is generated once into
//! that database and each run starts from a copy of it; drop it to generate again.
//!
//! Run: `cargo bench --bench order_flow` (SQLite in a temporary folder), or with
//! `BENCH_DATABASE_URL=postgres://…/<empty database>` for PostgreSQL (emptied before each run).

#[path = "support/floor.rs"]
mod floor;

use anyhow::Context;
use floor::Stats;
use konsign::config::Config;
use konsign::domain::auth::Role;
use konsign::domain::catalog::{Location, ProductInput};
use konsign::domain::gtin::Gtin;
use konsign::service::{catalog, stock, Actor};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const PRODUCTS: usize = 50;
const LOCATIONS: usize = 200;

/// One run's figures.
struct Run {
    orders_per_s: f64,
    first_5000_s: Option<f64>,
    pick: Stats,
    healthz: Stats,
    /// Server time of one dashboard picture (`service::dashboard::read`) on the database the
    /// run left behind.
    dashboard: Stats,
}

fn main() -> anyhow::Result<()> {
    let orders = env_or("ORDERS", 10_000);
    let clients = env_or("CLIENTS", 8);
    let pick_scans = env_or("PICK_SCANS", 3_000);
    let runs = env_or("RUNS", 3).max(1);
    // BENCH_TRACE=sqlx=debug (a tracing filter) logs every statement with its time, to stderr.
    if let Ok(filter) = std::env::var("BENCH_TRACE") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let probe = tempfile::tempdir()?;
    println!("machine: {}", floor::machine());
    println!(
        "fsync (4 KiB, fdatasync, a temporary folder): {}",
        floor::fsync(probe.path(), 200)?
    );
    let mut all = Vec::new();
    for i in 1..=runs {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let dir = tempfile::tempdir()?;
        let mut config = Config::default();
        let history = env_or("HISTORY_DAYS", 0);
        if history > 0 {
            // The generator writes only into a demo database.
            config.environment = konsign::config::Environment::Development;
        }
        let template = std::env::var("HISTORY_TEMPLATE")
            .ok()
            .filter(|_| history > 0);
        let mut generated = false;
        config.database.url = match std::env::var("BENCH_DATABASE_URL") {
            Ok(url) => {
                match &template {
                    Some(t) => {
                        let mut c = config.clone();
                        c.database.url = url.clone();
                        rt.block_on(from_template(c, t, history))?;
                        generated = true;
                    }
                    None => rt.block_on(empty_postgres(&url))?,
                }
                url
            }
            Err(_) => format!("sqlite://{}/bench.db", dir.path().display()),
        };
        config.http.listen = "127.0.0.1:0".parse()?;
        // No hulklip here; an embedded broker would also keep its port after a run (rumqttd
        // runs on threads of its own), so the next run could not start.
        config.mqtt.enabled = false;
        config.log.filter = "warn".into();
        let r = rt.block_on(run(config, orders, clients, pick_scans, history, generated))?;
        println!(
            "run {i}: intake {:.0} orders/s, first 5,000 in {}; pick scan {}; /healthz {}; p99 ratio pick/healthz {:.2}; dashboard picture {}",
            r.orders_per_s,
            r.first_5000_s.map_or("n/a".into(), |d| format!("{d:.2} s")),
            r.pick,
            r.healthz,
            r.pick.p99 / r.healthz.p99,
            r.dashboard
        );
        all.push(r);
        rt.shutdown_timeout(Duration::from_secs(2));
    }
    let med = |f: &dyn Fn(&Run) -> f64| floor::median(&all.iter().map(f).collect::<Vec<_>>());
    println!(
        "median of {runs} runs: intake {:.0} orders/s, first 5,000 in {:.2} s; pick scan p50 {:.2} p99 {:.2} ms; /healthz p99 {:.2} ms; p99 ratio pick/healthz {:.2}; dashboard picture p50 {:.2} p99 {:.2} ms",
        med(&|r| r.orders_per_s),
        med(&|r| r.first_5000_s.unwrap_or(f64::NAN)),
        med(&|r| r.pick.p50),
        med(&|r| r.pick.p99),
        med(&|r| r.healthz.p99),
        med(&|r| r.pick.p99 / r.healthz.p99),
        med(&|r| r.dashboard.p50),
        med(&|r| r.dashboard.p99),
    );
    Ok(())
}

/// Drops every table of a PostgreSQL database meant for benchmarks (a new run starts empty).
async fn empty_postgres(url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(url).await?;
    sqlx::query("drop schema public cascade")
        .execute(&mut c)
        .await?;
    sqlx::query("create schema public").execute(&mut c).await?;
    Ok(())
}

/// `HISTORY_TEMPLATE=<database>` (PostgreSQL): the history is generated once into that
/// database, and each run's database starts as a copy of it (`create database … template`),
/// which takes seconds instead of minutes.
async fn from_template(config: Config, template: &str, days: usize) -> anyhow::Result<()> {
    use sqlx::Connection;
    let url = config.database.url.clone();
    let (server, target) = url
        .rsplit_once('/')
        .context("the database url has no name")?;
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres")).await?;
    let have: i64 = sqlx::query_scalar("select count(*) from pg_database where datname = $1")
        .bind(template)
        .fetch_one(&mut admin)
        .await?;
    if have == 0 {
        empty_postgres(&url).await?;
        let ctx = konsign::startup::context(config).await?;
        generate(&ctx, days).await?;
        ctx.db.pool().close().await;
        drop(ctx);
        sqlx::query(&format!("create database {template} template {target}"))
            .execute(&mut admin)
            .await?;
    }
    sqlx::query(&format!("drop database if exists {target} with (force)"))
        .execute(&mut admin)
        .await?;
    sqlx::query(&format!("create database {target} template {template}"))
        .execute(&mut admin)
        .await?;
    Ok(())
}

async fn generate(ctx: &konsign::service::Ctx, days: usize) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let r = konsign::service::demo_history::generate(
        ctx,
        konsign::service::demo_history::HistoryOptions {
            days: days as u32,
            orders_per_day: env_or("HISTORY_ORDERS_PER_DAY", 2_000) as u32,
            seed: 2026,
        },
        &mut |_| {},
    )
    .await?;
    println!(
        "history: {} days, {} orders, {} rows in {:.1} s",
        r.days_written,
        r.orders,
        r.rows,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn run(
    config: Config,
    orders: usize,
    clients: usize,
    pick_scans: usize,
    history_days: usize,
    generated: bool,
) -> anyhow::Result<Run> {
    let backend = if config.database.url.starts_with("sqlite") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let app = konsign::startup::App::build(config).await?;
    let base = format!("http://{}", app.addr());
    let ctx = app.ctx.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    if history_days > 0 && !generated {
        generate(&ctx, history_days).await?;
    }
    // Catalog and stock (the demo data, when there is a history, has the producer already).
    let a = Actor::system();
    if history_days == 0 {
        catalog::create_producer(&ctx, &a, "COLOPLAST", "Coloplast").await?;
    }
    for i in 0..LOCATIONS {
        let l = Location::new(&format!("P-{i:03}"), "P", "pick", 10 * i as i64)?;
        catalog::create_location(&ctx, &a, &l).await?;
    }
    for i in 0..400 {
        let l = Location::new(&format!("BT-{i:03}"), "T", "tote", 10_000 + i)?;
        catalog::create_location(&ctx, &a, &l).await?;
    }
    let today = konsign::service::today();
    let mut gtins = Vec::new();
    for p in 0..PRODUCTS {
        let gtin = Gtin::with_check_digit(&format!("570893{:06}", 20_000 + p))?.to_string();
        let input = ProductInput {
            gtin: gtin.clone(),
            name: format!("Produkt {p}"),
            producer: "COLOPLAST".into(),
            category: "pouch".into(),
            units_per_pack: 30,
            price_minor: 10_000,
            currency: "DKK".into(),
            min_shelf_life_days: 30,
            weight_g: None,
            ..Default::default()
        };
        catalog::put_product(&ctx, &a, &input, false).await?;
        for lot in 0..4 {
            let r = stock::ReceiveRequest {
                idempotency_key: None,
                gtin: gtin.clone(),
                lot: format!("L{p}-{lot}"),
                expiry: (today + chrono::Duration::days(200 + 40 * lot as i64)).to_string(),
                location: format!("P-{:03}", (p * 4 + lot) % LOCATIONS),
                quantity: 100_000,
                owner: None,
                reference: None,
            };
            stock::receive(&ctx, &a, &r).await?;
        }
        gtins.push(gtin);
    }
    let (_, token) =
        konsign::service::auth::create_token(&ctx, &a, "bench-web", Role::Integration, None)
            .await?;
    let (_, lead) =
        konsign::service::auth::create_token(&ctx, &a, "bench-lead", Role::Lead, None).await?;
    konsign::service::auth::create_user(&ctx, &a, "bench-picker", Role::Picker, "bench-picker-1")
        .await?;
    let (_, picker) =
        konsign::service::auth::create_token(&ctx, &a, "bench-picker-token", Role::Picker, None)
            .await?;
    eprintln!("{backend}: {PRODUCTS} products in {LOCATIONS} locations; posting {orders} orders of 4 lines with {clients} clients");

    // Intake.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;
    let delivery = (today + chrono::Duration::days(2)).to_string();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, base, token, gtins, next, delivery) = (
            http.clone(),
            base.clone(),
            token.clone(),
            gtins.clone(),
            next.clone(),
            delivery.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut done_at = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= orders {
                    return anyhow::Ok(done_at);
                }
                let lines: Vec<Value> = (0..4)
                    .map(|k| json!({ "gtin": gtins[(i * 7 + k * 13) % gtins.len()], "quantity": 1 + (i + k) % 3 }))
                    .collect();
                let body = json!({
                    "external_id": format!("B-{i:06}"),
                    "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
                    "grant_ref": "BEV-1", "citizen_id": format!("c-{i}"),
                    "recipient": { "name": "Bo Ås", "address_line1": "Vej 1", "postcode": "8000", "city": "Aarhus C" },
                    "delivery_date": delivery, "lines": lines,
                });
                let r = http.post(format!("{base}/api/orders")).bearer_auth(&token).json(&body).send().await?;
                anyhow::ensure!(r.status() == reqwest::StatusCode::CREATED, "intake failed: {}", r.text().await?);
                let v: Value = r.json().await?;
                anyhow::ensure!(v["status"] == "allocated", "order not allocated: {v}");
                done_at.push((i, start.elapsed()));
            }
        }));
    }
    let mut finished = Vec::new();
    for t in tasks {
        finished.extend(t.await??);
    }
    let total = start.elapsed();
    finished.sort_by_key(|(_, d)| *d);
    let first_5000 = finished.get(4_999).map(|(_, d)| *d);
    eprintln!(
        "intake+allocation ({backend}, {clients} clients): {orders} orders in {:.2} s = {:.0} orders/s; first 5,000 in {}",
        total.as_secs_f64(),
        orders as f64 / total.as_secs_f64(),
        first_5000.map_or("n/a".into(), |d| format!("{:.2} s", d.as_secs_f64()))
    );

    // Picking: waves of 20 orders, scanned one request at a time like one picker's page.
    let mut lat: Vec<f64> = Vec::new();
    let mut health: Vec<f64> = Vec::new();
    let mut scan_no = 0;
    // The slowest scans: time, number, wave, answer, whether it was the wave's last.
    let mut slowest: Vec<(f64, usize, i64, String, bool)> = Vec::new();
    while lat.len() < pick_scans {
        let r = http
            .post(format!("{base}/api/waves"))
            .bearer_auth(&lead)
            .json(&json!({ "max_orders": 20 }))
            .send()
            .await?;
        anyhow::ensure!(
            r.status() == reqwest::StatusCode::CREATED,
            "wave: {}",
            r.text().await?
        );
        let w: Value = r.json().await?;
        let wave = w["id"].as_i64().unwrap_or_default();
        let r = http
            .post(format!("{base}/api/waves/{wave}/take"))
            .bearer_auth(&picker)
            .json(&json!({}))
            .send()
            .await?;
        let mut next: Value = r.json().await?;
        while let Some(p) = next["pick"].as_object().cloned() {
            let expiry = chrono::NaiveDate::parse_from_str(
                p["expiry"].as_str().unwrap_or_default(),
                "%Y-%m-%d",
            )?;
            let product = format!(
                "01{}17{}10{}",
                p["gtin"].as_str().unwrap_or_default(),
                expiry.format("%y%m%d"),
                p["lot"].as_str().unwrap_or_default()
            );
            let remaining = p["quantity"].as_i64().unwrap_or(0) - p["picked"].as_i64().unwrap_or(0);
            let mut scans = vec![p["location"].as_str().unwrap_or_default().to_string()];
            // The first pack of an order goes into its tote: the tote is scanned first.
            if p["tote_ok"] == false {
                if let Some(tote) = p["tote"].as_str() {
                    scans.push(tote.to_string());
                }
            }
            scans.extend(std::iter::repeat_n(product, remaining as usize));
            for data in scans {
                scan_no += 1;
                let t0 = Instant::now();
                let r = http
                    .post(format!("{base}/api/waves/{wave}/scan"))
                    .bearer_auth(&picker)
                    .json(&json!({ "scan_id": format!("b{scan_no}"), "data": data }))
                    .send()
                    .await?;
                let v: Value = r.json().await?;
                let ms = t0.elapsed().as_secs_f64() * 1000.0;
                lat.push(ms);
                anyhow::ensure!(v["accepted"] == true, "scan refused: {v}");
                slowest.push((
                    ms,
                    scan_no,
                    wave,
                    v["code"].to_string(),
                    v["next"]["pick"].is_null(),
                ));
                slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
                slowest.truncate(5);
                next = v["next"].clone();
                let t0 = Instant::now();
                let r = http.get(format!("{base}/healthz")).send().await?;
                anyhow::ensure!(r.status().is_success(), "/healthz: {}", r.status());
                r.bytes().await?;
                health.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    // The dashboard's picture (what each live update reads) on the database as it now is.
    let mut dash = Vec::new();
    for _ in 0..100 {
        let t0 = Instant::now();
        konsign::service::dashboard::read(&ctx).await?;
        dash.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let dashboard = Stats::of(&dash);
    eprintln!("dashboard picture ({backend}, {orders} orders): {dashboard}");
    let (pick, healthz) = (Stats::of(&lat), Stats::of(&health));
    eprintln!("pick-scan round trip ({backend}, HTTP, one picker): {pick}; /healthz between them: {healthz}");
    for (ms, no, wave, code, last) in &slowest {
        eprintln!(
            "  slow scan: {ms:.2} ms, scan {no} of the run, wave {wave}, {code}{}",
            if *last { ", the wave's last" } else { "" }
        );
    }
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    Ok(Run {
        orders_per_s: orders as f64 / total.as_secs_f64(),
        first_5000_s: first_5000.map(|d| d.as_secs_f64()),
        pick,
        healthz,
        dashboard,
    })
}
