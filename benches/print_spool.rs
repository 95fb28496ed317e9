//! Spooler throughput: print jobs queued through the service and worked by the spooler to the
//! simulated printer on a loopback socket, each with its `~HS` status, its own connection and its
//! confirmation. Prints jobs per second and the time from request to confirmed (p50, p99).
//! Run: `cargo bench --bench print_spool`; `JOBS=500` sets the count; `BENCH_DATABASE_URL=
//! postgres://...` measures on PostgreSQL (a disposable database).

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
    let jobs: usize = std::env::var("JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().unwrap();
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
        let j = printing::print(
            &ctx,
            &actor,
            &PrintRequest {
                printer: printer.clone(),
                template: "shipping".into(),
                data: None,
                sample: true,
                request_key: None,
                subject: None,
            },
        )
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

    // One label at a time: from the request to the job confirmed, with an empty queue.
    let mut single = Vec::new();
    for _ in 0..50 {
        let t0 = Instant::now();
        let j = printing::print(
            &ctx,
            &actor,
            &PrintRequest {
                printer: printer.clone(),
                template: "shipping".into(),
                data: None,
                sample: true,
                request_key: None,
                subject: None,
            },
        )
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
    single.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{backend}: one label at a time, request to confirmed: p50 {:.1} ms, p99 {:.1} ms (50 labels)",
        single[25],
        single[49]
    );
    spooler.abort();
    ctx.spooler.shutdown().await;
}

fn rand_suffix() -> String {
    konsign::service::auth::random_secret(4).to_lowercase()
}
