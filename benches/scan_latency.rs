//! Scan-to-verdict latency under load: 200 scanners, each a real pseudo-terminal opened by its
//! own link (tokio-serial), each sending one scan per second. Latency runs from the moment the
//! scan's bytes are written into the PTY until its verdict is stored (the `scan.recorded` event).
//! Run: `cargo bench --bench scan_latency` (SCANNERS and SECONDS override 200 and 20).

use konsign::config::Config;
use konsign::devices::scanner::{ScannerConfig, Terminator};
use konsign::domain::catalog::ProductInput;
use konsign::service::{catalog, Actor};
use sqlx::Row;
use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

const GTIN: &str = "05708932000017";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; this harness takes no arguments.
    let scanners = env_or("SCANNERS", 200);
    let seconds = env_or("SECONDS", 20);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}/latency.db", dir.path().display());
    let ctx = rt.block_on(konsign::startup::context(config))?;
    rt.block_on(async {
        let a = Actor::system();
        catalog::create_producer(&ctx, &a, "COLOPLAST", "Coloplast").await?;
        let p = ProductInput {
            gtin: GTIN.into(),
            name: "Basisplade".into(),
            producer: "COLOPLAST".into(),
            category: "baseplate".into(),
            units_per_pack: 5,
            price_minor: 100,
            currency: "DKK".into(),
            min_shelf_life_days: 30,
            weight_g: None,
            ..Default::default()
        };
        catalog::put_product(&ctx, &a, &p, false).await?;
        anyhow::Ok(())
    })?;

    // One PTY per scanner: the link opens the slave by path, we write into the master.
    let mut masters = Vec::new();
    let mut slaves = Vec::new();
    {
        let _guard = rt.enter();
        let _router = konsign::service::scans::spawn_router(ctx.clone());
        for i in 0..scanners {
            let pty = nix::pty::openpty(None, None)?;
            let path = nix::unistd::ttyname(&pty.slave)?;
            ctx.scanners.start(ScannerConfig {
                id: format!("s{i}"),
                path: path.display().to_string(),
                station: format!("st{}", i % 20),
                baud: 115200,
                data_bits: 8,
                parity: "none".into(),
                stop_bits: 1,
                flow_control: "none".into(),
                terminator: Terminator::CrLf,
                max_frame_len: 256,
                inter_byte_timeout_ms: 200,
                good_feedback: None,
                bad_feedback: None,
            });
            masters.push(std::fs::File::from(pty.master));
            slaves.push(pty.slave);
        }
    }
    let t0 = Instant::now();
    while ctx
        .scanners
        .list()
        .iter()
        .filter(|(_, s)| s.connected)
        .count()
        < scanners
    {
        anyhow::ensure!(
            t0.elapsed() < Duration::from_secs(30),
            "links did not connect"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "{scanners} scanners connected; sending one scan per scanner per second for {seconds} s"
    );

    // Spread the scanners evenly over each second.
    let mut sent: HashMap<String, chrono::DateTime<chrono::Utc>> = HashMap::new();
    let start = Instant::now();
    let step = Duration::from_secs(1) / scanners as u32;
    for s in 0..seconds {
        for (i, m) in masters.iter_mut().enumerate() {
            let due = start + Duration::from_secs(s as u64) + step * i as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let serial = format!("S{i}X{s}");
            let bytes = format!("]d201{GTIN}21{serial}\r\n");
            sent.insert(serial, chrono::Utc::now());
            m.write_all(bytes.as_bytes())?;
        }
    }
    let total = scanners * seconds;
    let t0 = Instant::now();
    let rows = loop {
        let rows = rt.block_on(
            sqlx::query(
                "select s.raw_hex, e.at from events e join scans s on s.id = cast(json_extract(e.payload, '$.scan_id') as integer)
                 where e.event_type = 'scan.recorded'",
            )
            .fetch_all(ctx.db.pool()),
        )?;
        if rows.len() >= total || t0.elapsed() > Duration::from_secs(30) {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut lat: Vec<f64> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in &rows {
        let raw = hex::decode(r.get::<String, _>("raw_hex"))?;
        let text = String::from_utf8_lossy(&raw).to_string();
        // The serial follows AI 21 right after the 14-digit GTIN: `]d2` `01` GTIN `21` serial.
        let serial = text.get(3 + 2 + 14 + 2..).unwrap_or_default().to_string();
        let Some(t_sent) = sent.get(&serial) else {
            continue;
        };
        anyhow::ensure!(seen.insert(serial.clone()), "scan {serial} stored twice");
        let at = konsign::domain::time::from_db(&r.get::<String, _>("at")).expect("event time");
        lat.push((at - *t_sent).num_microseconds().unwrap_or(0) as f64 / 1000.0);
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "scanners: {scanners}, scans sent: {total}, verdicts stored: {} (each once)",
        lat.len()
    );
    println!(
        "scan-to-verdict latency ms: p50 {:.2}, p90 {:.2}, p99 {:.2}, max {:.2}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        lat.last().copied().unwrap_or(0.0)
    );
    anyhow::ensure!(
        lat.len() == total,
        "{} of {total} scans were stored",
        lat.len()
    );
    ctx.scanners.shutdown();
    drop(slaves);
    Ok(())
}
