//! A printer on a raw TCP socket, for demos, manual tests and the spooler tests: a ZPL label
//! printer that answers `~HS` from its switches (paper out, paused, head open, or silent) and
//! keeps each received format (`^XA ... ^XZ`) as a printed label, or in its buffer while it
//! cannot print; and, on the same socket, a document printer that answers `@PJL INFO STATUS`
//! and keeps each PDF (`%PDF ... %%EOF`) it receives in a PJL job. It can misbehave on purpose:
//! drop the connection part-way through a job, or read slowly.
//! `konsign simulate printer` runs it; the tests start it on `127.0.0.1:0`.

use super::pjl;
use super::status::{self, HostStatus};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the simulated printer is doing wrong right now.
#[derive(Debug, Clone, Default)]
pub struct Switches {
    pub paper_out: bool,
    pub paused: bool,
    pub head_open: bool,
    /// Never answer `~HS` (a printer with its media out may stay silent).
    pub no_status: bool,
    /// Close the next job's connection after this many bytes of label data.
    pub drop_after_bytes: Option<usize>,
    /// Wait this long after each read of at most 64 bytes (a slow or busy printer).
    pub read_delay: Duration,
    /// How long each label takes to come out once it can print.
    pub print_time: Duration,
}

#[derive(Debug, Default)]
struct State {
    switches: Switches,
    /// Formats received and not yet printed, with when they may come out.
    buffer: Vec<(String, Option<tokio::time::Instant>)>,
    printed: Vec<String>,
    /// PDFs received while the printer could not print, and those printed.
    held_documents: Vec<Vec<u8>>,
    documents: Vec<Vec<u8>>,
    status_queries: usize,
    connections: usize,
    dropped: usize,
}

impl State {
    fn can_print(&self) -> bool {
        !(self.switches.paper_out || self.switches.paused || self.switches.head_open)
    }
    /// Moves what has finished printing from the buffer to the printed labels.
    fn flush(&mut self, out: &Option<PathBuf>, preview: &Option<Preview>) {
        if !self.can_print() {
            return;
        }
        for pdf in std::mem::take(&mut self.held_documents) {
            self.documents.push(pdf);
            save_document(
                out,
                self.documents.len(),
                self.documents.last().map(Vec::as_slice),
            );
        }
        let now = tokio::time::Instant::now();
        let print_time = self.switches.print_time;
        let mut i = 0;
        while i < self.buffer.len() {
            let ready = match self.buffer[i].1 {
                Some(t) => t <= now,
                None => {
                    // It starts printing now.
                    self.buffer[i].1 = Some(now + print_time);
                    print_time.is_zero()
                }
            };
            if ready {
                let (zpl, _) = self.buffer.remove(i);
                self.printed.push(zpl.clone());
                save(out, preview, self.printed.len(), &zpl);
            } else {
                i += 1;
            }
        }
    }
    fn status(&self) -> HostStatus {
        HostStatus {
            paper_out: self.switches.paper_out,
            paused: self.switches.paused,
            head_up: self.switches.head_open,
            formats_in_buffer: (self.buffer.len() + self.held_documents.len()) as u32,
            labels_remaining: u32::from(!self.buffer.is_empty() || !self.held_documents.is_empty()),
            ..HostStatus::default()
        }
    }
}

/// How to make a PNG preview of a received label: the independent ZPL renderer
/// (`tools/zpl-render.cjs` with the npm package zpl-renderer-js), when it is installed.
#[derive(Debug, Clone)]
pub struct Preview {
    pub script: PathBuf,
    pub node_modules: PathBuf,
}

impl Preview {
    /// Finds node, the script and zpl-renderer-js (`ZPL_RENDERER_JS_DIR`, or the build folder).
    pub fn find() -> Option<Self> {
        let script = [
            PathBuf::from("tools/zpl-render.cjs"),
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tools/zpl-render.cjs")),
        ]
        .into_iter()
        .find(|p| p.exists())?;
        let node_modules = std::env::var("ZPL_RENDERER_JS_DIR")
            .map(PathBuf::from)
            .ok()
            .or_else(|| {
                let target = std::env::var("CARGO_TARGET_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|_| PathBuf::from("target"));
                Some(target.join("npm/node_modules"))
            })
            .filter(|p| p.join("zpl-renderer-js").exists())?;
        std::process::Command::new("node")
            .arg("--version")
            .output()
            .ok()?;
        Some(Self {
            script,
            node_modules,
        })
    }
}

fn dims_mm(zpl: &str) -> (f64, f64) {
    let num = |key: &str| {
        zpl.find(key).and_then(|i| {
            zpl[i + key.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse::<f64>()
                .ok()
        })
    };
    // Dots at 203 dpi (8 per mm) unless the label says otherwise; good enough for a preview.
    (
        num("^PW").map_or(100.0, |d| d / 8.0),
        num("^LL").map_or(150.0, |d| d / 8.0),
    )
}

fn save(out: &Option<PathBuf>, preview: &Option<Preview>, n: usize, zpl: &str) {
    let Some(dir) = out else { return };
    let path = dir.join(format!("label-{n:05}.zpl"));
    if let Err(e) = std::fs::write(&path, zpl) {
        tracing::warn!(error = %e, path = %path.display(), "cannot save the label");
        return;
    }
    if let Some(p) = preview {
        let (w, h) = dims_mm(zpl);
        let png = path.with_extension("png");
        let mut cmd = tokio::process::Command::new("node");
        cmd.arg(&p.script)
            .arg(w.to_string())
            .arg(h.to_string())
            .arg(&path)
            .arg(&png)
            .env("NODE_PATH", &p.node_modules);
        tokio::spawn(async move {
            match cmd.output().await {
                Ok(o) if o.status.success() => {}
                Ok(o) => {
                    tracing::warn!(stderr = %String::from_utf8_lossy(&o.stderr), "preview failed")
                }
                Err(e) => tracing::warn!(error = %e, "preview failed"),
            }
        });
    }
    tracing::info!(label = n, path = %path.display(), "label printed");
}

fn save_document(out: &Option<PathBuf>, n: usize, pdf: Option<&[u8]>) {
    let (Some(dir), Some(pdf)) = (out, pdf) else {
        return;
    };
    let path = dir.join(format!("document-{n:05}.pdf"));
    match std::fs::write(&path, pdf) {
        Ok(()) => tracing::info!(document = n, path = %path.display(), "document printed"),
        Err(e) => tracing::warn!(error = %e, path = %path.display(), "cannot save the document"),
    }
}

/// A running simulated printer.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    out: Option<PathBuf>,
    preview: Option<Preview>,
    task: tokio::task::JoinHandle<()>,
}

impl Simulator {
    /// Listens on `listen` (`127.0.0.1:0` for a free port). Labels are saved in `out` when given.
    pub async fn start(
        listen: &str,
        out: Option<PathBuf>,
        preview: Option<Preview>,
    ) -> std::io::Result<Self> {
        if let Some(d) = &out {
            std::fs::create_dir_all(d)?;
        }
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let (st, o, p) = (state.clone(), out.clone(), preview.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (st, o, p) = (st.clone(), o.clone(), p.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, st, o, p).await;
                });
            }
        });
        Ok(Self {
            addr,
            state,
            out,
            preview,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the switches; labels waiting in the buffer print when nothing stops them.
    pub fn set(&self, f: impl FnOnce(&mut Switches)) {
        let mut s = self.lock();
        f(&mut s.switches);
        s.flush(&self.out, &self.preview);
    }

    /// The labels printed so far, in order.
    pub fn printed(&self) -> Vec<String> {
        let mut s = self.lock();
        s.flush(&self.out, &self.preview);
        s.printed.clone()
    }

    /// The PDF documents printed so far, in order.
    pub fn documents(&self) -> Vec<Vec<u8>> {
        let mut s = self.lock();
        s.flush(&self.out, &self.preview);
        s.documents.clone()
    }

    /// Formats received but not printed.
    pub fn buffered(&self) -> usize {
        self.lock().buffer.len()
    }

    pub fn status_queries(&self) -> usize {
        self.lock().status_queries
    }

    pub fn connections(&self) -> usize {
        self.lock().connections
    }

    /// Connections it cut part-way through a job.
    pub fn dropped(&self) -> usize {
        self.lock().dropped
    }

    /// Stops listening: connecting is refused from now on.
    pub fn stop(self) {
        self.task.abort();
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

async fn serve(
    mut stream: TcpStream,
    state: Arc<Mutex<State>>,
    out: Option<PathBuf>,
    preview: Option<Preview>,
) -> std::io::Result<()> {
    let (delay, drop_after) = {
        let mut s = lock(&state);
        s.connections += 1;
        (s.switches.read_delay, s.switches.drop_after_bytes)
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut label_bytes = 0usize;
    let mut chunk = [0u8; 64];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        buf.extend_from_slice(&chunk[..n]);
        // A PDF is taken whole; nothing inside it is read as a command.
        if let Some(start) = find(&buf, b"%PDF") {
            let Some(end) = find(&buf[start..], b"%%EOF") else {
                continue;
            };
            let pdf = buf[start..start + end + 5].to_vec();
            buf.drain(start..start + end + 5);
            let mut s = lock(&state);
            if s.can_print() {
                s.documents.push(pdf);
                save_document(
                    &out,
                    s.documents.len(),
                    s.documents.last().map(Vec::as_slice),
                );
            } else {
                s.held_documents.push(pdf);
            }
        }
        while let Some(i) = find(&buf, b"@PJL INFO STATUS") {
            buf.drain(..i + 16);
            let answer = {
                let mut s = lock(&state);
                s.status_queries += 1;
                s.flush(&out, &preview);
                (!s.switches.no_status).then(|| pjl::format(&s.status()))
            };
            if let Some(a) = answer {
                stream.write_all(&a).await?;
            }
        }
        // Status queries may come on their own or between formats.
        while let Some(i) = find(&buf, b"~HS") {
            buf.drain(i..i + 3);
            let answer = {
                let mut s = lock(&state);
                s.status_queries += 1;
                s.flush(&out, &preview);
                (!s.switches.no_status).then(|| status::format(&s.status()))
            };
            if let Some(a) = answer {
                stream.write_all(&a).await?;
            }
        }
        if find(&buf, b"^XA").is_some() {
            label_bytes += n;
            if let Some(limit) = drop_after {
                if label_bytes >= limit {
                    let mut s = lock(&state);
                    s.dropped += 1;
                    s.switches.drop_after_bytes = None;
                    drop(s);
                    // Cut off: the format never completes and is not printed.
                    return Ok(());
                }
            }
        }
        while let (Some(start), Some(end)) = (find(&buf, b"^XA"), find(&buf, b"^XZ")) {
            if end < start {
                buf.drain(..end + 3);
                continue;
            }
            let format = String::from_utf8_lossy(&buf[start..end + 3]).to_string();
            buf.drain(..end + 3);
            let mut s = lock(&state);
            s.buffer.push((format, None));
            s.flush(&out, &preview);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
