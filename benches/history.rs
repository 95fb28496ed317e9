//! The lead's dashboard and reports on a year of history (issue 19).
//!
//! 1. `konsign demo history` (`service::demo_history::generate`) fills a new database with
//!    DAYS (default 365) days of ORDERS_PER_DAY (default 2,000) orders. Reported: its rate.
//! 2. `konsign serve` serves it, as a process of its own (the generator's memory is not the
//!    service's). Measured against the same run's `GET /healthz` floor (keep-alive):
//!    - the dashboard's first render, `GET /dashboard` with a wall screen's key (REPEAT times, default 200);
//!    - the server time of one live update (REPEAT times each, default 200): the whole picture
//!      (`service::dashboard::read`, a dashboard's first), with each section alone (the hub's
//!      refresh reads one in turn); and the update after each kind of change of a working day
//!      (`dashboard::read_changed` with the sections its events name). One read serves every
//!      open dashboard of the instance;
//!    - the 365-day report, `GET /api/reports/throughput`: the first (which counts and keeps the
//!      past days), then by month and by day (20 times each);
//!    - before all of these, BACKLOG (default 1,000) orders for tomorrow are taken in and a
//!      quarter of them put on waves (`busy_floor`): a working day's middle, not the quiet
//!      small hours the generated year ends in.
//! 3. SSE_CLIENTS (default 20) dashboards stay open on `/dashboard/live` for SSE_SECONDS
//!    (default 60) while a stock receipt and an order for it every 500 ms change the picture;
//!    reported: the service's resident memory (VmRSS) at the start, every tenth of the time and
//!    at the end, how many updates the clients got, and the hub's own server time per picture
//!    (`konsign_dashboard_update_seconds`).
//!
//! Run: `cargo bench --bench history` (SQLite in a temporary folder), or with
//! `BENCH_DATABASE_URL=postgres://…/<empty database>` for PostgreSQL (emptied first, unless
//! HISTORY_KEEP is set). `HISTORY_DIR` keeps the SQLite file, and a second run on it measures
//! again without generating.

#[path = "support/floor.rs"]
mod floor;

use floor::Stats;
use konsign::config::Config;
use konsign::domain::auth::Role;
use konsign::service::demo_history::{generate, HistoryOptions};
use konsign::service::Actor;
use std::time::{Duration, Instant};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Awaits `f` and adds its time (ms) to `v`.
async fn timed<T>(
    v: &mut Vec<f64>,
    f: impl std::future::Future<Output = konsign::error::Result<T>>,
) -> anyhow::Result<()> {
    let t = Instant::now();
    f.await?;
    v.push(t.elapsed().as_secs_f64() * 1000.0);
    Ok(())
}

/// A process's resident memory in MB.
fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> anyhow::Result<()> {
    let probe = tempfile::tempdir()?;
    println!("machine: {}", floor::machine());
    println!(
        "fsync (4 KiB, fdatasync, a temporary folder): {}",
        floor::fsync(probe.path(), 200)?
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let mut config = Config {
        environment: konsign::config::Environment::Development,
        ..Config::default()
    };
    config.database.url = match std::env::var("BENCH_DATABASE_URL") {
        Ok(url) => {
            // HISTORY_KEEP=1 measures again on the history a run before left (its days are
            // not generated again).
            if std::env::var("HISTORY_KEEP").is_err() {
                rt.block_on(empty_postgres(&url))?;
            }
            url
        }
        // HISTORY_DIR keeps the SQLite database there (for a look at its queries afterwards).
        Err(_) => match std::env::var("HISTORY_DIR") {
            Ok(d) => format!("sqlite://{d}/history.db"),
            Err(_) => format!("sqlite://{}/history.db", dir.path().display()),
        },
    };
    config.mqtt.enabled = false;
    config.log.filter = "warn".into();
    // A cut-off for the default carrier, as a warehouse has one: the cut-offs section then
    // reads what it reads in use (without one it returns at once).
    if config.carrier.cutoff.is_empty() {
        let carrier = config.carrier.default.clone();
        config.carrier.cutoff.insert(carrier, "16:30".into());
    }
    rt.block_on(run(config))?;
    rt.shutdown_timeout(Duration::from_secs(2));
    Ok(())
}

/// The first product's GTIN: what the bench's receipts and orders carry.
async fn first_gtin(ctx: &konsign::service::Ctx) -> anyhow::Result<String> {
    use sqlx::Row;
    Ok(sqlx::query("select gtin from products order by gtin")
        .fetch_one(ctx.db.pool())
        .await?
        .try_get("gtin")?)
}

/// A receipt of `quantity` packs of `gtin` in lot `lot` at the receiving bay.
fn receipt(
    key: String,
    gtin: String,
    lot: String,
    quantity: i64,
) -> konsign::service::stock::ReceiveRequest {
    konsign::service::stock::ReceiveRequest {
        idempotency_key: Some(key),
        gtin,
        lot,
        expiry: (konsign::service::today() + chrono::Duration::days(400)).to_string(),
        location: "RCV-01".into(),
        quantity,
        owner: None,
        reference: None,
    }
}

/// An order of one pack of `gtin` for tomorrow, as the ordering system sends one.
fn order_body(external_id: &str, citizen: &str, postcode: &str, gtin: &str) -> serde_json::Value {
    serde_json::json!({
        "external_id": external_id,
        "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
        "grant_ref": "BEV-1", "citizen_id": citizen,
        "recipient": { "name": "Bo Ås", "address_line1": "Vej 1", "postcode": postcode, "city": "Aarhus C" },
        "delivery_date": (konsign::service::today() + chrono::Duration::days(1)).to_string(),
        "lines": [{ "gtin": gtin, "quantity": 1 }],
    })
}

/// A working day's middle: the generated year's last day is written up to the small hours, so
/// its floor holds a few dozen orders in flight, where a real one holds hundreds. Takes in
/// `n` orders for tomorrow (due for today's cut-off) on one receipt, then puts about a
/// quarter of them on waves of 50, so the flow, the cut-offs and the floor read a busy day.
async fn busy_floor(
    ctx: &konsign::service::Ctx,
    a: &Actor,
    n: usize,
    run_id: u32,
    backend: &str,
) -> anyhow::Result<()> {
    use sqlx::Row;
    let t = Instant::now();
    let gtin = first_gtin(ctx).await?;
    let req = receipt(
        format!("bench-busy-{run_id}"),
        gtin.clone(),
        format!("BUSY{run_id}"),
        n as i64,
    );
    konsign::service::stock::receive(ctx, a, &req).await?;
    for i in 0..n {
        let input: konsign::domain::order::OrderInput = serde_json::from_value(order_body(
            &format!("BUSY-{run_id}-{i}"),
            &format!("c-busy-{i}"),
            &format!("{}", 1000 + (i % 90) * 100),
            &gtin,
        ))?;
        konsign::service::orders::intake(ctx, a, &input).await?;
    }
    for _ in 0..n.div_ceil(4 * 50) {
        let r = konsign::service::picking::WaveRequest {
            max_orders: Some(50),
            ..Default::default()
        };
        if let Err(e) = konsign::service::picking::create_wave(ctx, a, &r).await {
            eprintln!("busy floor: no more waves ({e})");
            break;
        }
    }
    let waved: i64 = sqlx::query("select count(*) as n from orders where status = 'picking'")
        .fetch_one(ctx.db.pool())
        .await?
        .try_get("n")?;
    println!(
        "busy floor ({backend}): {n} orders for tomorrow taken in; {waved} orders on waves; in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn empty_postgres(url: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(url).await?;
    sqlx::query("drop schema public cascade")
        .execute(&mut c)
        .await?;
    sqlx::query("create schema public").execute(&mut c).await?;
    Ok(())
}

async fn run(config: Config) -> anyhow::Result<()> {
    let backend = if config.database.url.starts_with("sqlite") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let opts = HistoryOptions {
        days: env_or("DAYS", 365) as u32,
        orders_per_day: env_or("ORDERS_PER_DAY", 2_000) as u32,
        seed: 2026,
    };
    let repeat = env_or("REPEAT", 200) as usize;
    let url = config.database.url.clone();
    let ctx = konsign::startup::context(config).await?;
    let t0 = Instant::now();
    let mut last_tenth = 0;
    let r = generate(&ctx, opts, &mut |p| {
        let tenth = p.day * 10 / p.days.max(1);
        if tenth > last_tenth {
            last_tenth = tenth;
            eprintln!(
                "  day {}/{}: {} orders, {:.0} orders/s",
                p.day,
                p.days,
                p.orders,
                p.orders as f64 / t0.elapsed().as_secs_f64()
            );
        }
    })
    .await?;
    println!(
        "history ({backend}): {} days, {} orders, {} rows in {:.1} s = {:.0} orders/s, {:.0} rows/s",
        r.days_written,
        r.orders,
        r.rows,
        r.seconds,
        r.orders as f64 / r.seconds,
        r.rows as f64 / r.seconds
    );

    // The service, on the database the generator left.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_konsign"))
        .args([
            "--database-url",
            &url,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "serve",
        ])
        .env("KONSIGN_ENVIRONMENT", "development")
        .env("KONSIGN_MQTT__ENABLED", "false")
        .env(
            format!(
                "KONSIGN_CARRIER__CUTOFF__{}",
                ctx.config.carrier.default.to_uppercase()
            ),
            "16:30",
        )
        .env("KONSIGN_LOG__FILTER", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let pid = server.id();
    let http = reqwest::Client::new();
    let up = Instant::now();
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        anyhow::ensure!(
            up.elapsed() < Duration::from_secs(60),
            "konsign serve did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let a = Actor::system();
    // Named per run: a kept database (HISTORY_DIR) has the last run's tokens.
    let run_id = std::process::id();
    let (_, wall) = konsign::service::auth::create_token(
        &ctx,
        &a,
        &format!("bench-wall-{run_id}"),
        Role::Dashboard,
        None,
    )
    .await?;
    let (_, lead) = konsign::service::auth::create_token(
        &ctx,
        &a,
        &format!("bench-lead-{run_id}"),
        Role::Lead,
        None,
    )
    .await?;
    let (_, web) = konsign::service::auth::create_token(
        &ctx,
        &a,
        &format!("bench-web-{run_id}"),
        Role::Integration,
        None,
    )
    .await?;
    let cookie = format!("konsign_wall={wall}");
    let backlog = env_or("BACKLOG", 1_000) as usize;
    if backlog > 0 {
        busy_floor(&ctx, &a, backlog, run_id, backend).await?;
    }

    // Warm up: the first requests after the generator meet the checkpoint of its WAL and the
    // app's start.
    for _ in 0..20 {
        http.get(format!("{base}/healthz"))
            .send()
            .await?
            .bytes()
            .await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut health = Vec::new();
    let mut render = Vec::new();
    for _ in 0..repeat {
        let t = Instant::now();
        http.get(format!("{base}/healthz"))
            .send()
            .await?
            .bytes()
            .await?;
        health.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let r = http
            .get(format!("{base}/dashboard"))
            .header("cookie", &cookie)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "/dashboard: {}", r.status());
        r.bytes().await?;
        render.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut update = Vec::new();
    for _ in 0..repeat {
        timed(&mut update, konsign::service::dashboard::read(&ctx)).await?;
    }
    // The live update after each kind of change of a working day: the sections its events can
    // change read again, the rest kept (`dashboard::read_changed`, what the hub runs per change),
    // taken in turn REPEAT times each so that the machine's noise falls on all of them alike.
    let changes: [(&str, &[&str]); 16] = [
        ("an intake", &["order.received", "order.allocated"]),
        ("a wave", &["wave.created", "order.picking"]),
        (
            "a pick scan (handheld)",
            &["pick.confirmed", "stock.picked"],
        ),
        (
            "a pick scan (serial scanner)",
            &["scan.recorded", "pick.confirmed", "stock.picked"],
        ),
        ("a refused pick scan", &["pick.refused"]),
        (
            "a wave's last pick",
            &[
                "pick.confirmed",
                "stock.picked",
                "order.picked",
                "wave.done",
            ],
        ),
        ("a cutting station's event", &["cut_station.event"]),
        ("a cut's end", &["cut_station.event", "order.cut"]),
        ("a pack scan", &["parcel.item_packed"]),
        (
            "a close",
            &[
                "stock.ownership_transferred",
                "parcel.closed",
                "order.packed",
            ],
        ),
        ("a booking", &["parcel.booked"]),
        ("a parcel onto a cage", &["parcel.on_cage"]),
        (
            "a cage closed",
            &["cage.closed", "order.shipped", "stock.shipped"],
        ),
        ("a delivery", &["parcel.tracking", "order.delivered"]),
        ("a printer's state", &["printer.state"]),
        // The refresh's turn: its largest section alone (the sections' lines below).
        ("the refresh's turn (floor)", &[]),
    ];
    let mut after: Vec<Vec<f64>> = vec![Vec::new(); changes.len()];
    {
        use konsign::service::dashboard as dash;
        let prev = dash::read(&ctx).await?;
        for _ in 0..repeat {
            for ((_, types), v) in changes.iter().zip(after.iter_mut()) {
                let read = if types.is_empty() {
                    dash::Sections::EACH[3]
                } else {
                    dash::Sections::touched_by_all(types.iter().copied())
                };
                timed(v, dash::read_changed(&ctx, &prev, read)).await?;
            }
        }
    }
    // Where an update's time goes: each of its sections alone, REPEAT times.
    let mut sections: [(&str, Vec<f64>); 6] = [
        ("flow", Vec::new()),
        ("throughput", Vec::new()),
        ("devices", Vec::new()),
        ("floor", Vec::new()),
        ("cutoffs", Vec::new()),
        ("exceptions", Vec::new()),
    ];
    for _ in 0..repeat {
        use konsign::service::dashboard as dash;
        timed(&mut sections[0].1, dash::flow_now(&ctx)).await?;
        timed(&mut sections[1].1, dash::throughput(&ctx)).await?;
        timed(&mut sections[2].1, dash::devices(&ctx)).await?;
        timed(&mut sections[3].1, dash::floor(&ctx)).await?;
        timed(&mut sections[4].1, dash::cutoffs(&ctx)).await?;
        timed(&mut sections[5].1, dash::exceptions(&ctx)).await?;
    }
    let today = konsign::service::today();
    let from = today - chrono::Duration::days(365);
    let (health, render, update) = (Stats::of(&health), Stats::of(&render), Stats::of(&update));
    println!("/healthz ({backend}): {health}");
    println!(
        "dashboard first render ({backend}, GET /dashboard): {render}; p99 ratio to /healthz {:.1}",
        render.p99 / health.p99
    );
    println!(
        "live update's server time ({backend}, dashboard::read): {update}; p99 ratio to /healthz {:.1}",
        update.p99 / health.p99
    );
    for (name, v) in &sections {
        println!("  update section {name} ({backend}): {}", Stats::of(v));
    }
    let mut worst: Option<(&str, f64)> = None;
    for ((what, types), v) in changes.iter().zip(&after) {
        use konsign::service::dashboard as dash;
        let read = if types.is_empty() {
            dash::Sections::EACH[3]
        } else {
            dash::Sections::touched_by_all(types.iter().copied())
        };
        let st = Stats::of(v);
        println!(
            "live update after {what} ({backend}, {} of 6 sections): {st}; p99 ratio to /healthz {:.1}",
            read.count(),
            st.p99 / health.p99
        );
        if worst.is_none_or(|(_, p)| st.p99 > p) {
            worst = Some((what, st.p99));
        }
    }
    if let Some((what, p99)) = worst {
        println!("slowest live update ({backend}): after {what}, p99 {p99:.2} ms");
    }

    // Open dashboards and memory.
    let clients = env_or("SSE_CLIENTS", 20) as usize;
    let seconds = env_or("SSE_SECONDS", 60);
    let got = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut streams = Vec::new();
    for _ in 0..clients {
        let (http, url, cookie, got) = (
            http.clone(),
            format!("{base}/dashboard/live"),
            cookie.clone(),
            got.clone(),
        );
        streams.push(tokio::spawn(async move {
            let mut r = http.get(url).header("cookie", cookie).send().await?;
            anyhow::ensure!(r.status().is_success(), "live: {}", r.status());
            while let Some(chunk) = r.chunk().await? {
                let events = chunk.windows(6).filter(|w| w == b"event:").count();
                got.fetch_add(events as u64, std::sync::atomic::Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    let start_rss = rss_mb(pid);
    let mut samples = vec![start_rss];
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        n += 1;
        let gtin = first_gtin(&ctx).await?;
        let req = receipt(
            format!("bench-live-{run_id}-{n}"),
            gtin,
            format!("LIVE{run_id}-{n}"),
            1,
        );
        if let Err(e) = konsign::service::stock::receive(&ctx, &a, &req).await {
            eprintln!("receipt {n}: {e}");
        }
        // And an order for it, over HTTP, as the ordering system sends one.
        let body = order_body(
            &format!("LIVE-{run_id}-{n}"),
            &format!("c-live-{n}"),
            "8000",
            &req.gtin,
        );
        let r = http
            .post(format!("{base}/api/orders"))
            .bearer_auth(&web)
            .json(&body)
            .send()
            .await?;
        if !r.status().is_success() {
            eprintln!("order {n}: {}", r.text().await?);
        }
        if n % (seconds * 2 / 10).max(1) == 0 {
            samples.push(rss_mb(pid));
        }
    }
    samples.push(rss_mb(pid));
    let max = samples.iter().copied().fold(0.0, f64::max);
    println!(
        "{clients} open dashboards for {seconds} s ({backend}), {n} receipts and orders: {} updates received; the service's resident memory {:.1} MB at the start, {:.1} MB at the end, {:.1} MB at most; samples {:?}",
        got.load(std::sync::atomic::Ordering::Relaxed),
        start_rss,
        samples.last().copied().unwrap_or(f64::NAN),
        max,
        samples.iter().map(|m| (m * 10.0).round() / 10.0).collect::<Vec<_>>()
    );
    for s in streams {
        s.abort();
    }
    // The hub's own server time for each picture it published meanwhile, from its histogram
    // (`konsign_dashboard_update_seconds`, by how much it read).
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    for kind in ["whole", "sections", "none"] {
        let label = format!("kind=\"{kind}\"");
        let value = |name: &str, le: Option<&str>| {
            metrics
                .lines()
                .filter(|l| l.starts_with(name) && l.contains(&label))
                .find(|l| le.is_none_or(|le| l.contains(&format!("le=\"{le}\""))))
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse::<f64>().ok())
        };
        let Some(count) = value("konsign_dashboard_update_seconds_count", None) else {
            continue;
        };
        let sum = value("konsign_dashboard_update_seconds_sum", None).unwrap_or(f64::NAN);
        let under = |le: &str| {
            value("konsign_dashboard_update_seconds_bucket", Some(le)).unwrap_or(f64::NAN)
        };
        println!(
            "the hub's pictures ({backend}, read {kind}): {count} in {seconds} s, mean {:.2} ms; {:.1}% within 2 ms, {:.1}% within 5 ms, {:.1}% within 10 ms",
            sum / count * 1000.0,
            under("0.002") / count * 100.0,
            under("0.005") / count * 100.0,
            under("0.01") / count * 100.0,
        );
    }
    // The year's report last: the first one reads every handover of the year, and the memory
    // that takes stays with the service's allocator (the figure after it).
    let get_report = |period: &'static str| {
        let (http, url, lead) = (
            http.clone(),
            format!("{base}/api/reports/throughput?from={from}&to={today}&period={period}"),
            lead.clone(),
        );
        async move {
            let t = Instant::now();
            let r = http.get(url).bearer_auth(&lead).send().await?;
            anyhow::ensure!(r.status().is_success(), "report: {}", r.status());
            r.bytes().await?;
            anyhow::Ok(t.elapsed().as_secs_f64() * 1000.0)
        }
    };
    // The first report counts the days not kept yet and keeps them (`service::report_days`).
    let first = get_report("day").await?;
    println!(
        "365-day report, the first ({backend}: counts and keeps the past days): {first:.1} ms"
    );
    for period in ["month", "day"] {
        let mut v = Vec::new();
        for _ in 0..20 {
            v.push(get_report(period).await?);
        }
        println!(
            "365-day report by {period} ({backend}, GET /api/reports/throughput): {}",
            Stats::of(&v)
        );
    }
    println!(
        "the service's resident memory after the reports: {:.1} MB",
        rss_mb(pid)
    );
    let _ = server.kill();
    let _ = server.wait();
    Ok(())
}
