//! The booking outbox against PostNord's test double on loopback: bookings per second with the
//! double answering each request in 50 ms and in 500 ms, and how long the parcels that waited
//! through a carrier outage take to book once it ends. Floors measured in the same run: one
//! booking request straight through the adapter (the carrier's round trip with nothing of
//! konsign's around it), and the ideal rate of `max_batch` parcels per round trip.
//!
//! 1. Throughput: PARCELS (default 400) closed parcels wait with their bookings not yet due;
//!    all are made due at once and the clock runs until every one is booked.
//! 2. Outage: the double is down for OUTAGE_SECS (default 600) while PARCELS parcels close at an
//!    even pace (as packing goes on); the worker fails, backs off and opens its breaker with the
//!    default timings. The clock starts when the double is back and stops when every parcel is
//!    booked; the double counts parcels booked more than once (must be none).
//!
//! Run: `cargo bench --bench booking_flow` (SQLite in a temporary folder; OUTAGE_SECS=600 takes
//! ten minutes), or with `BENCH_DATABASE_URL=postgres://…/<empty database>` for PostgreSQL.

use konsign::carrier::double::Double;
use konsign::carrier::Carrier as _;
use konsign::config::{Config, PostNordConfig};
use sqlx::Row;
use std::time::{Duration, Instant};

const KEY: &str = "0123456789abcdef0123456789abcdef";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(dir: &std::path::Path, name: &str, base: &str) -> Config {
    let mut c = Config::default();
    c.database.url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/{name}.db", dir.display()));
    c.http.listen = "127.0.0.1:0".parse().unwrap();
    c.log.filter = "error".into();
    c.mqtt.enabled = false;
    c.carrier.default = "postnord".into();
    c.carrier.poll_ms = 100;
    c.carrier.track_every_seconds = 0;
    c.carrier.postnord = Some(PostNordConfig {
        base_url: base.into(),
        api_key: KEY.into(),
        customer_number: "12345678".into(),
        print_label: false,
        ..Default::default()
    });
    c
}

fn main() -> anyhow::Result<()> {
    let parcels = env_or("PARCELS", 400);
    let outage = env_or("OUTAGE_SECS", 600);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let dir = tempfile::tempdir()?;
        for latency in [50u64, 500] {
            throughput(dir.path(), parcels, latency).await?;
        }
        after_outage(dir.path(), parcels, outage).await
    })
}

struct Running {
    ctx: konsign::service::Ctx,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(config: Config) -> anyhow::Result<Running> {
    let app = konsign::startup::App::build(config).await?;
    let ctx = app.ctx.clone();
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    Ok(Running { ctx, stop, task })
}

async fn stop(r: Running) {
    let _ = r.stop.send(());
    let _ = r.task.await;
}

/// Writes `n` closed parcels of new orders with pending PostNord bookings due at `due`.
async fn waiting(pool: &sqlx::AnyPool, from: u64, n: u64, due: &str) -> anyhow::Result<()> {
    let now = konsign::domain::time::to_db(chrono::Utc::now());
    let plan = konsign::domain::sscc::SsccPlan::new(0, "5790002", None, None)?;
    for i in from..from + n {
        let order: i64 = sqlx::query(
            "insert into orders (external_id, request_hash, status, payer_code, payer_name, payer_ean, grant_ref, citizen_id,
                recipient_name, address_line1, postcode, city, country, phone, delivery_date, has_cut, created_by, created_at, updated_at)
             values ($1, 'h', 'packed', 'K-0751', 'Aarhus Kommune', '5798000000001', 'G-1', 'c-1', 'Karen Jensen', 'Søndergade 1',
                '8000', 'Aarhus C', 'DK', '20304050', '2026-12-10', 0, 'bench', $2, $2) returning id",
        )
        .bind(format!("BENCH-{i:05}"))
        .bind(&now)
        .fetch_one(pool)
        .await?
        .get("id");
        let sscc = plan.sscc(1_000 + i).expect("in range").as_str().to_string();
        let parcel: i64 = sqlx::query(
            "insert into parcels (order_id, seq, state, station, tote, sscc, parcel_type, weight_g, parcels_total, booking_state,
                opened_by, opened_at, closed_by, closed_at)
             values ($1, 1, 'closed', 'PAK-01', 'T-01', $2, 'S', 400, 1, 'waiting', 'bench', $3, 'bench', $3) returning id",
        )
        .bind(order)
        .bind(&sscc)
        .bind(&now)
        .fetch_one(pool)
        .await?
        .get("id");
        sqlx::query(
            "insert into bookings (parcel_id, carrier, service, state, next_attempt_at, created_at, updated_at)
             values ($1, 'postnord', '17', 'pending', $2, $3, $3)",
        )
        .bind(parcel)
        .bind(due)
        .bind(&now)
        .execute(pool)
        .await?;
    }
    Ok(())
}

async fn booked(pool: &sqlx::AnyPool) -> anyhow::Result<i64> {
    Ok(
        sqlx::query("select count(*) as n from bookings where state = 'booked'")
            .fetch_one(pool)
            .await?
            .get("n"),
    )
}

/// Waits until `n` more bookings than `base` are booked.
async fn until_booked(
    pool: &sqlx::AnyPool,
    base: i64,
    n: i64,
    limit: Duration,
) -> anyhow::Result<Duration> {
    let n = base + n;
    let t0 = Instant::now();
    while booked(pool).await? < n {
        anyhow::ensure!(
            t0.elapsed() < limit,
            "only {} of {n} booked after {limit:?}",
            booked(pool).await?
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(t0.elapsed())
}

/// One booking request straight through the adapter, 20 times: the carrier's round trip.
async fn floor(cfg: &Config) -> anyhow::Result<f64> {
    let pn = konsign::carrier::postnord::PostNord::new(
        cfg.carrier.postnord.as_ref().expect("postnord"),
        &cfg.carrier,
        &cfg.packing,
    )?;
    let mut ms = Vec::new();
    for i in 0..20u64 {
        let r = konsign::carrier::BookingRequest {
            request_id: format!("floor-{i}"),
            sscc: konsign::domain::sscc::SsccPlan::new(9, "5790002", None, None)?
                .sscc(i + 1)
                .expect("in range")
                .as_str()
                .to_string(),
            service: "17".into(),
            additional: vec![],
            weight_g: 400,
            length_mm: 250,
            width_mm: 180,
            height_mm: 100,
            order_ref: "FLOOR".into(),
            recipient_name: "Karen Jensen".into(),
            address_lines: vec!["Søndergade 1".into()],
            postcode: "8000".into(),
            city: "Aarhus C".into(),
            country: "DK".into(),
            phone: None,
            email: None,
        };
        let t0 = Instant::now();
        pn.book(std::slice::from_ref(&r))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        ms.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    Ok(ms[ms.len() / 2])
}

async fn throughput(dir: &std::path::Path, n: u64, latency_ms: u64) -> anyhow::Result<()> {
    let d = Double::start("127.0.0.1:0", KEY).await?;
    d.set_latency(Duration::from_millis(latency_ms));
    let cfg = config(dir, &format!("throughput-{latency_ms}"), &d.base_url());
    let round_trip = floor(&cfg).await?;
    let batch = cfg.carrier.postnord.as_ref().map_or(1, |p| p.max_batch) as f64;
    let app = start(cfg).await?;
    let pool = app.ctx.db.pool().clone();
    let later = konsign::domain::time::to_db(chrono::Utc::now() + chrono::Duration::days(1));
    waiting(&pool, latency_ms * 10_000, n, &later).await?;
    let base = booked(&pool).await?;
    let t0 = Instant::now();
    sqlx::query("update bookings set next_attempt_at = $1 where state = 'pending'")
        .bind(konsign::domain::time::to_db(chrono::Utc::now()))
        .execute(&pool)
        .await?;
    until_booked(&pool, base, n as i64, Duration::from_secs(600)).await?;
    let secs = t0.elapsed().as_secs_f64();
    let rate = n as f64 / secs;
    let ideal = batch / (round_trip / 1000.0);
    let (parcels, twice) = d.counts();
    println!(
        "throughput, double answers in {latency_ms} ms: {n} bookings in {secs:.2} s = {rate:.1} bookings/s; \
         floor: one request through the adapter {round_trip:.1} ms, ideal {ideal:.1}/s at {batch} per request; \
         ratio to ideal {:.2}; booked twice: {twice} (of {parcels})",
        rate / ideal
    );
    stop(app).await;
    Ok(())
}

async fn after_outage(dir: &std::path::Path, n: u64, outage_s: u64) -> anyhow::Result<()> {
    let d = Double::start("127.0.0.1:0", KEY).await?;
    d.set_latency(Duration::from_millis(50));
    d.set_down(true);
    let cfg = config(dir, "outage", &d.base_url());
    let breaker = cfg.carrier.breaker_open_seconds;
    let app = start(cfg).await?;
    let pool = app.ctx.db.pool().clone();
    // Packing goes on through the outage: the parcels close at an even pace.
    let t_out = Instant::now();
    let pace = Duration::from_secs_f64(outage_s as f64 / n as f64);
    for i in 0..n {
        let due = konsign::domain::time::to_db(chrono::Utc::now());
        waiting(&pool, 900_000 + i, 1, &due).await?;
        let next = t_out + pace * (i as u32 + 1);
        tokio::time::sleep_until(next.into()).await;
    }
    let attempts: i64 =
        sqlx::query("select count(*) as n from booking_attempts where outcome <> 'booked'")
            .fetch_one(&pool)
            .await?
            .get("n");
    let waiting_max: i64 = sqlx::query("select max(attempts) as n from bookings")
        .fetch_one(&pool)
        .await?
        .get("n");
    let base = booked(&pool).await?;
    d.set_down(false);
    let took = until_booked(&pool, base, n as i64, Duration::from_secs(900)).await?;
    let (parcels, twice) = d.counts();
    println!(
        "after a {outage_s} s outage: {n} waiting parcels ({attempts} failed attempts during it, at most {waiting_max} for one) \
         booked in {:.1} s after the carrier came back (breaker open {breaker} s at most before the probe); \
         booked twice: {twice} (of {parcels})",
        took.as_secs_f64()
    );
    stop(app).await;
    Ok(())
}
