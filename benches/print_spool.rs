//! Spooler throughput: print jobs queued through the service and worked by the spooler to the
//! simulated printer on a loopback socket, each with its `~HS` status, its own connection and its
//! confirmation. Prints jobs per second and the time from request to confirmed (p50, p99).
//!
//! Then one label at a time, RUNS times (default 3): 50 labels each, against the floor of
//! their path measured just before in the same run (a bare `~HS` status round trip on a fresh
//! loopback connection to the same simulated printer, 200 times), with the ratio of the p99s,
//! each run's figures and the medians. The machine and its fsync are printed first.
//!
//! Run: `cargo bench --bench print_spool`; `JOBS=500` sets the count; `BENCH_DATABASE_URL=
//! postgres://...` measures on PostgreSQL (a disposable database).

#[path = "support/floor.rs"]
mod floor;

use floor::Stats;
use konsign::config::Config;
use konsign::devices::printer::sim::Simulator;
use konsign::service::printing::{self, PrintRequest, PrinterInput};
use konsign::service::Actor;
use std::time::{Duration, Instant};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let env = |name: &str, default: usize| -> usize {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (jobs, runs) = (env("JOBS", 300), env("RUNS", 3).max(1));
    let dir = tempfile::tempdir().unwrap();
    println!("machine: {}", floor::machine());
    println!(
        "fsync (4 KiB, fdatasync, the database's folder): {}",
        floor::fsync(dir.path(), 200).unwrap()
    );
    let mut config = Config::default();
    config.database.url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    config.printing.idle_poll_ms = 200;
    let backend = if config.database.url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let ctx = konsign::startup::context(config).await.unwrap();
    let sim = Simulator::start("127.0.0.1:0", None, None).await.unwrap();
    let actor = Actor::system();
    let printer = format!("bench-{}", rand_suffix());
    printing::put_printer(
        &ctx,
        &actor,
        &printer,
        &PrinterInput {
            name: None,
            host: "127.0.0.1".into(),
            port: Some(sim.addr().port()),
            dpi: Some(203),
            label_width_mm: 102.0,
            label_height_mm: 152.0,
            station: None,
            enabled: Some(true),
            kind: None,
            templates: None,
        },
    )
    .await
    .unwrap();
    let spooler = ctx.spooler.start();
    let start = Instant::now();
    let mut ids = Vec::with_capacity(jobs);
    for _ in 0..jobs {
        let j = printing::print(&ctx, &actor, &label(&printer))
            .await
            .unwrap();
        ids.push(j.id);
    }
    let queued = start.elapsed();
    loop {
        if sim.printed().len() >= jobs {
            break;
        }
        if start.elapsed() > Duration::from_secs(600) {
            panic!(
                "only {} of {jobs} printed in 10 minutes",
                sim.printed().len()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Every job confirmed (the last confirmation follows the last label).
    let mut latencies = Vec::with_capacity(jobs);
    for id in &ids {
        loop {
            let j = printing::job(&ctx, id).await.unwrap();
            if j.job.state == konsign::domain::print_job::JobState::Confirmed {
                let created = konsign::domain::time::from_db(&j.job.created_at).unwrap();
                let done = konsign::domain::time::from_db(&j.job.updated_at).unwrap();
                latencies.push((done - created).num_microseconds().unwrap_or(0) as f64 / 1000.0);
                break;
            }
            assert_ne!(
                j.job.state,
                konsign::domain::print_job::JobState::Failed,
                "{j:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let total = start.elapsed();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{backend}: {jobs} shipping labels queued in {:.2} s, all printed and confirmed in {:.2} s = {:.0} labels/s; \
         request to confirmed p50 {:.0} ms, p99 {:.0} ms (a queue of {jobs} at once); {} status queries, {} connections",
        queued.as_secs_f64(),
        total.as_secs_f64(),
        jobs as f64 / total.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        sim.status_queries(),
        sim.connections()
    );
    assert_eq!(sim.printed().len(), jobs, "each label printed once");

    // One label at a time: from the request to the job confirmed, with an empty queue, against
    // the bare status round trip to the same printer.
    let mut ratios = Vec::new();
    let mut p99s = Vec::new();
    for run in 1..=runs {
        let mut bare = Vec::new();
        for _ in 0..200 {
            let t0 = Instant::now();
            status_round_trip(sim.addr()).await;
            bare.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        let bare = Stats::of(&bare);
        let mut single = Vec::new();
        for _ in 0..50 {
            let t0 = Instant::now();
            let j = printing::print(&ctx, &actor, &label(&printer))
                .await
                .unwrap();
            loop {
                let v = printing::job(&ctx, &j.id).await.unwrap();
                if v.job.state == konsign::domain::print_job::JobState::Confirmed {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            single.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        let single = Stats::of(&single);
        let ratio = single.p99 / bare.p99;
        println!(
            "run {run} ({backend}): one label at a time, request to confirmed: {single}; bare `~HS` round trip on a new connection: {bare}; p99 ratio {ratio:.1}"
        );
        ratios.push(ratio);
        p99s.push(single.p99);
    }
    println!(
        "median of {runs} runs ({backend}): one label p99 {:.2} ms, p99 ratio to the bare status round trip {:.1}",
        floor::median(&p99s),
        floor::median(&ratios)
    );
    spooler.abort();
    ctx.spooler.shutdown().await;
}

/// A shipping label with the template's sample data.
fn label(printer: &str) -> PrintRequest {
    PrintRequest {
        printer: printer.to_string(),
        template: "shipping".into(),
        data: None,
        sample: true,
        request_key: None,
        subject: None,
    }
}

/// The floor of a label's path: a fresh loopback connection to the printer, `~HS`, and its
/// three-part answer read to the end.
async fn status_round_trip(addr: std::net::SocketAddr) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    c.set_nodelay(true).unwrap();
    c.write_all(b"~HS").await.unwrap();
    let (mut buf, mut etx) = ([0u8; 256], 0);
    while etx < 3 {
        let n = c.read(&mut buf).await.unwrap();
        assert!(n > 0, "the printer closed before its status");
        etx += buf[..n].iter().filter(|b| **b == 0x03).count();
    }
}

fn rand_suffix() -> String {
    konsign::service::auth::random_secret(4).to_lowercase()
}
