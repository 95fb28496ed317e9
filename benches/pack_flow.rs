//! Packing through the HTTP API: parcels closed per second at one pack station and at four at
//! once, the close's latency (SSCC, ownership transfer, order packed, and the shipping label
//! rendered and queued for the printer), and the pack scan's scan-to-verdict round trip; each
//! against floors measured in the same run: a bare `GET /healthz` round trip and the disk's
//! fsync.
//!
//! 1. Stock and PARCELS orders (default 400) of two lines, picked into their totes by scan.
//! 2. One station packs the first half: open the tote, scan each pack, close.
//! 3. Four stations pack the second half at once.
//!
//! The labels go to the simulated printer on a loopback socket, through the spooler.
//! Run: `cargo bench --bench pack_flow` (SQLite in a temporary folder), or with
//! `BENCH_DATABASE_URL=postgres://…/<empty database>` for PostgreSQL.

use konsign::config::{Config, PackStationSetting};
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

const STATIONS: usize = 4;

fn main() -> anyhow::Result<()> {
    let parcels = env_or("PARCELS", 400).max(8);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.database.url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    config.http.listen = "127.0.0.1:0".parse()?;
    config.log.filter = "warn".into();
    config.mqtt.enabled = false;
    config.picking.require_location_scan = false;
    config.picking.wave_max_orders = 50;
    rt.block_on(run(config, parcels, dir.path()))
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn line(what: &str, v: &mut [f64]) -> (f64, f64) {
    let (p50, p99) = (pct(v, 0.50), pct(v, 0.99));
    println!(
        "{what}: n {}, ms p50 {p50:.2}, p90 {:.2}, p99 {p99:.2}, max {:.2}",
        v.len(),
        pct(v, 0.90),
        v.last().copied().unwrap_or(0.0)
    );
    (p50, p99)
}

/// The fsync of a 4 KiB write, the floor under every commit.
fn fsync_floor(dir: &std::path::Path) -> anyhow::Result<Vec<f64>> {
    use std::io::Write;
    let mut f = std::fs::File::create(dir.join("fsync.probe"))?;
    let mut out = Vec::new();
    for _ in 0..200 {
        f.write_all(&[7u8; 4096])?;
        let t0 = Instant::now();
        f.sync_data()?;
        out.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(out)
}

struct Order {
    tote: String,
    scans: Vec<String>,
}

async fn run(mut config: Config, parcels: usize, dir: &std::path::Path) -> anyhow::Result<()> {
    let backend = if config.database.url.starts_with("sqlite") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let printer =
        konsign::devices::printer::sim::Simulator::start("127.0.0.1:0", None, None).await?;
    config.packing.stations = (1..=STATIONS)
        .map(|i| PackStationSetting {
            id: format!("PAK-{i:02}"),
            label_printer: format!("pack-{i}"),
            document_printer: None,
        })
        .collect();
    let app = konsign::startup::App::build(config).await?;
    let base = format!("http://{}", app.addr());
    let ctx = app.ctx.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let a = Actor::system();
    catalog::create_producer(&ctx, &a, "COLOPLAST", "Coloplast").await?;
    for i in 0..20 {
        let l = Location::new(&format!("P-{i:03}"), "P", "pick", 10 * i)?;
        catalog::create_location(&ctx, &a, &l).await?;
    }
    for i in 0..parcels {
        let l = Location::new(&format!("TOTE-{i:04}"), "T", "tote", 10_000 + i as i64)?;
        catalog::create_location(&ctx, &a, &l).await?;
    }
    for i in 1..=STATIONS {
        let l = Location::new(&format!("PAK-{i:02}"), "PAK", "packing", 20_000 + i as i64)?;
        catalog::create_location(&ctx, &a, &l).await?;
        konsign::service::printing::put_printer(
            &ctx,
            &a,
            &format!("pack-{i}"),
            &konsign::service::printing::PrinterInput {
                name: None,
                host: "127.0.0.1".into(),
                port: Some(printer.addr().port()),
                dpi: None,
                label_width_mm: 102.0,
                label_height_mm: 152.0,
                station: Some(format!("PAK-{i:02}")),
                enabled: None,
                kind: None,
                templates: None,
            },
        )
        .await?;
    }
    let today = konsign::service::today();
    let mut gtins = Vec::new();
    for p in 0..10 {
        let gtin = Gtin::with_check_digit(&format!("570893{:06}", 30_000 + p))?.to_string();
        let input = ProductInput {
            gtin: gtin.clone(),
            name: format!("Produkt {p}"),
            producer: "COLOPLAST".into(),
            category: "pouch".into(),
            units_per_pack: 30,
            price_minor: 10_000,
            currency: "DKK".into(),
            min_shelf_life_days: 30,
            weight_g: Some(150),
            ..Default::default()
        };
        catalog::put_product(&ctx, &a, &input, false).await?;
        let r = stock::ReceiveRequest {
            idempotency_key: None,
            gtin: gtin.clone(),
            lot: format!("L{p}"),
            expiry: (today + chrono::Duration::days(300)).to_string(),
            location: format!("P-{:03}", p * 2),
            quantity: 100_000,
            owner: None,
            reference: None,
        };
        stock::receive(&ctx, &a, &r).await?;
        gtins.push(gtin);
    }
    let token = |name: &str, role| {
        let ctx = ctx.clone();
        let name = name.to_string();
        async move {
            konsign::service::auth::create_token(&ctx, &Actor::system(), &name, role, None)
                .await
                .map(|(_, t)| t)
        }
    };
    let web = token("bench-web", Role::Integration).await?;
    let lead = token("bench-lead", Role::Lead).await?;
    let packer = token("bench-packer", Role::Packer).await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(8)
        .build()?;
    let delivery = (today + chrono::Duration::days(2)).to_string();
    eprintln!("{backend}: {parcels} orders of 2 lines, picked by scan before packing");
    for i in 0..parcels {
        let lines = json!([{ "gtin": gtins[i % 10], "quantity": 2 }, { "gtin": gtins[(i + 3) % 10], "quantity": 1 }]);
        let body = json!({
            "external_id": format!("P-{i:05}"),
            "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
            "grant_ref": "BEV-1", "citizen_id": format!("c-{i}"),
            "recipient": { "name": "Bo Ås", "address_line1": "Vej 1", "postcode": "8000", "city": "Aarhus C" },
            "delivery_date": delivery, "lines": lines,
        });
        let r = http
            .post(format!("{base}/api/orders"))
            .bearer_auth(&web)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "intake: {}", r.text().await?);
    }
    // Pick everything (each pick confirmed with one scan of its whole quantity).
    let mut orders: Vec<Order> = Vec::new();
    let mut n = 0;
    while orders.len() < parcels {
        let w: Value = http
            .post(format!("{base}/api/waves"))
            .bearer_auth(&lead)
            .json(&json!({ "max_orders": 50 }))
            .send()
            .await?
            .json()
            .await?;
        let wave = w["id"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("wave: {w}"))?;
        let mut by_tote: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        loop {
            let next: Value = http
                .get(format!("{base}/api/waves/{wave}/next"))
                .bearer_auth(&lead)
                .send()
                .await?
                .json()
                .await?;
            let Some(p) = next["pick"].as_object() else {
                break;
            };
            let expiry =
                chrono::NaiveDate::parse_from_str(p["expiry"].as_str().unwrap_or(""), "%Y-%m-%d")?;
            let data = format!(
                "01{}17{}10{}",
                p["gtin"].as_str().unwrap_or(""),
                expiry.format("%y%m%d"),
                p["lot"].as_str().unwrap_or("")
            );
            let qty = p["quantity"].as_i64().unwrap_or(0) - p["picked"].as_i64().unwrap_or(0);
            n += 1;
            let v: Value = http
                .post(format!("{base}/api/waves/{wave}/scan"))
                .bearer_auth(&lead)
                .json(&json!({ "scan_id": format!("p{n}"), "data": data, "quantity": qty }))
                .send()
                .await?
                .json()
                .await?;
            anyhow::ensure!(v["accepted"] == true, "pick: {v}");
            let e = by_tote
                .entry(p["tote"].as_str().unwrap_or("").to_string())
                .or_default();
            e.extend(std::iter::repeat_n(data, qty as usize));
        }
        orders.extend(
            by_tote
                .into_iter()
                .map(|(tote, scans)| Order { tote, scans }),
        );
    }

    // Floors, in the same run.
    let mut health = Vec::new();
    for _ in 0..1000 {
        let t0 = Instant::now();
        let r = http.get(format!("{base}/healthz")).send().await?;
        r.bytes().await?;
        health.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let (_, health_p99) = line("floor: bare GET /healthz round trip", &mut health);
    let mut fsync = fsync_floor(dir)?;
    line("floor: fsync of a 4 KiB write", &mut fsync);

    let second = orders.split_off(orders.len() / 2);
    let pack = |station: String, orders: Vec<Order>, tag: String| {
        let (http, base, packer) = (http.clone(), base.clone(), packer.clone());
        tokio::spawn(async move {
            let (mut scans, mut closes) = (Vec::new(), Vec::new());
            for (k, o) in orders.iter().enumerate() {
                let url = format!("{base}/api/pack-stations/{station}");
                let r = http
                    .post(format!("{url}/open"))
                    .bearer_auth(&packer)
                    .json(&json!({ "code": o.tote }))
                    .send()
                    .await?;
                anyhow::ensure!(r.status().is_success(), "open: {}", r.text().await?);
                r.bytes().await?;
                for (j, data) in o.scans.iter().enumerate() {
                    let t0 = Instant::now();
                    let v: Value = http
                        .post(format!("{url}/scan"))
                        .bearer_auth(&packer)
                        .json(&json!({ "scan_id": format!("{tag}-{k}-{j}"), "data": data }))
                        .send()
                        .await?
                        .json()
                        .await?;
                    scans.push(t0.elapsed().as_secs_f64() * 1000.0);
                    anyhow::ensure!(v["accepted"] == true, "pack scan: {}", v["message"]);
                }
                let t0 = Instant::now();
                let r = http
                    .post(format!("{url}/close"))
                    .bearer_auth(&packer)
                    .json(&json!({ "request_key": format!("{tag}-c{k}") }))
                    .send()
                    .await?;
                let ok = r.status().is_success();
                let v: Value = r.json().await?;
                closes.push(t0.elapsed().as_secs_f64() * 1000.0);
                anyhow::ensure!(ok && v["label_job"].is_string(), "close: {v}");
            }
            anyhow::Ok((scans, closes))
        })
    };
    // One station.
    let start = Instant::now();
    let count = orders.len();
    let (mut scans, mut closes) = pack("PAK-01".into(), orders, "a".into()).await??;
    let one = count as f64 / start.elapsed().as_secs_f64();
    println!(
        "one pack station ({backend}): {count} parcels (open, scan, close) at {one:.1} parcels/s"
    );
    let (_, scan_p99) = line("pack scan round trip, one station", &mut scans);
    let (_, close_p99) = line(
        "close (SSCC + transfer + label queued), one station",
        &mut closes,
    );
    println!(
        "ratios to the /healthz p99: pack scan {:.1}x, close {:.1}x",
        scan_p99 / health_p99,
        close_p99 / health_p99
    );
    // Four at once.
    let per = second.len().div_ceil(STATIONS);
    let mut chunks = Vec::new();
    let mut rest = second;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(per));
        chunks.push(rest);
        rest = tail;
    }
    let count: usize = chunks.iter().map(Vec::len).sum();
    let start = Instant::now();
    let tasks: Vec<_> = chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| pack(format!("PAK-{:02}", i + 1), c, format!("b{i}")))
        .collect();
    let (mut scans4, mut closes4) = (Vec::new(), Vec::new());
    for t in tasks {
        let (s, c) = t.await??;
        scans4.extend(s);
        closes4.extend(c);
    }
    let four = count as f64 / start.elapsed().as_secs_f64();
    println!(
        "{STATIONS} pack stations at once ({backend}): {count} parcels at {four:.1} parcels/s"
    );
    line("pack scan round trip, four stations", &mut scans4);
    line("close, four stations", &mut closes4);
    // Every label reached the printer.
    let deadline = Instant::now() + Duration::from_secs(30);
    while printer.printed().len() < parcels && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "labels printed by the simulated printer: {} of {parcels}",
        printer.printed().len()
    );
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    printer.stop();
    Ok(())
}
