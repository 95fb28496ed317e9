//! The floors a latency benchmark is measured against, taken in the same run on the same
//! machine (issue 17): machines here are noisy and differ, so a figure means something only
//! beside the bare cost of its path measured at the same time. Included by the benchmarks with
//! `#[path = "support/floor.rs"] mod floor;`.
//!
//! - [`fsync`]: the machine's `fsync` (4 KiB written and synced, in the benchmark's folder);
//! - [`PtyEcho`]: a pseudo-terminal round trip through a tokio-serial port on the benchmark's
//!   own runtime (a line written into the master, echoed by a task that owns the slave, read
//!   back), probed while the benchmark's load runs;
//! - [`http`]: `GET /healthz` over one keep-alive connection.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Percentiles of a sample, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(v: &[f64]) -> Stats {
        if v.is_empty() {
            return Stats::default();
        }
        let mut v = v.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
        Stats {
            n: v.len(),
            p50: pct(0.50),
            p90: pct(0.90),
            p99: pct(0.99),
            max: v[v.len() - 1],
        }
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.2}, p90 {:.2}, p99 {:.2}, max {:.2} ms (n {})",
            self.p50, self.p90, self.p99, self.max, self.n
        )
    }
}

/// The median of some numbers.
pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

/// Cores, CPU model and kernel, for the record.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|k| k.trim().to_string())
        .unwrap_or_default();
    format!("{cores} cores, {model}, Linux {kernel}")
}

/// `n` times: 4 KiB written at the end of a file in `dir` and synced (`fdatasync`).
pub fn fsync(dir: &std::path::Path, n: usize) -> std::io::Result<Stats> {
    let path = dir.join("fsync-floor");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    let block = [0x5au8; 4096];
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f.write_all(&block)?;
        f.sync_data()?;
        v.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(Stats::of(&v))
}

/// A pseudo-terminal echo: the slave opened through tokio-serial (as a scanner's link opens
/// its port) by a task on the caller's runtime that writes every line back; a probe thread
/// writes a line the size of a scan into the master every `every` and times until it is back.
pub struct PtyEcho {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<f64>>>,
    probe: Option<std::thread::JoinHandle<()>>,
    echo: tokio::task::JoinHandle<()>,
}

impl PtyEcho {
    /// Starts the echo task on `rt` and the probe thread.
    pub fn start(rt: &tokio::runtime::Handle, every: Duration) -> anyhow::Result<PtyEcho> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let pty = nix::pty::openpty(None, None)?;
        let path = nix::unistd::ttyname(&pty.slave)?;
        let port = {
            let _g = rt.enter();
            tokio_serial::SerialStream::open(&tokio_serial::new(
                path.display().to_string(),
                115_200,
            ))?
        };
        let echo = rt.spawn(async move {
            let mut port = port;
            let mut buf = [0u8; 256];
            loop {
                match AsyncReadExt::read(&mut port, &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if AsyncWriteExt::write_all(&mut port, &buf[..n])
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                }
            }
        });
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (s, out) = (stop.clone(), samples.clone());
        let mut master = std::fs::File::from(pty.master);
        let slave = pty.slave;
        let probe = std::thread::spawn(move || {
            let _keep = slave;
            // The size of a GS1 DataMatrix scan with its AIM id and CR LF.
            let line = b"]d2010570893200001721S123X45678901234\r\n";
            let mut back = vec![0u8; line.len()];
            while !s.load(Ordering::Relaxed) {
                let t = Instant::now();
                if master.write_all(line).is_err() || master.read_exact(&mut back).is_err() {
                    break;
                }
                out.lock().unwrap().push(t.elapsed().as_secs_f64() * 1000.0);
                std::thread::sleep(every);
            }
        });
        Ok(PtyEcho {
            stop,
            samples,
            probe: Some(probe),
            echo,
        })
    }

    /// Stops probing; the round trips measured.
    pub fn finish(mut self) -> Stats {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(p) = self.probe.take() {
            let _ = p.join();
        }
        self.echo.abort();
        let v = self.samples.lock().unwrap().clone();
        Stats::of(&v)
    }
}

/// `n` times `GET {base}/healthz` over one keep-alive connection, one after another.
pub async fn http(base: &str, n: usize) -> anyhow::Result<Stats> {
    let client = reqwest::Client::new();
    let url = format!("{base}/healthz");
    client.get(&url).send().await?.error_for_status()?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = client.get(&url).send().await?;
        anyhow::ensure!(r.status().is_success(), "/healthz answered {}", r.status());
        r.bytes().await?;
        v.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(Stats::of(&v))
}
