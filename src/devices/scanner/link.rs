//! The scanner link: one task owns one serial port (tokio-serial). It decodes frames with the
//! codec, sends each scan on a channel, writes feedback bytes back to the scanner, and when the
//! device goes away (EOF, I/O error) closes the port and re-opens it by path with a short backoff,
//! so a re-plugged scanner is back well within two seconds. A scanner that is absent at start
//! only means the link keeps trying.

use super::codec::{Decoded, ScanCodec, Terminator};
use bytes::BytesMut;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio_serial::SerialPortBuilderExt;
use tokio_util::codec::Decoder;

/// How to reach one scanner and how it frames its scans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScannerConfig {
    /// Set from the path by `PUT /api/scanners/{id}`; may be left out of the body there.
    #[serde(default)]
    pub id: String,
    /// The device path; stable `/dev/serial/by-id/...` links work.
    pub path: String,
    /// The station the scanner belongs to; its scans go to that station's workflow.
    pub station: String,
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// 5, 6, 7 or 8.
    #[serde(default = "default_data_bits")]
    pub data_bits: u8,
    /// none, odd or even.
    #[serde(default = "default_parity")]
    pub parity: String,
    /// 1 or 2.
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    /// none, software or hardware.
    #[serde(default = "default_flow")]
    pub flow_control: String,
    #[serde(default)]
    pub terminator: Terminator,
    /// Longest scan accepted, in bytes.
    #[serde(default = "default_max_len")]
    pub max_frame_len: usize,
    /// A partial frame is dropped after the line has been quiet this long.
    #[serde(default = "default_inter_byte_ms")]
    pub inter_byte_timeout_ms: u64,
    /// Bytes written back after an accepted scan (hex, e.g. a beep/LED host command).
    #[serde(default)]
    pub good_feedback: Option<String>,
    /// Bytes written back after a rejected scan (hex).
    #[serde(default)]
    pub bad_feedback: Option<String>,
}

fn default_baud() -> u32 {
    9600
}
fn default_data_bits() -> u8 {
    8
}
fn default_parity() -> String {
    "none".into()
}
fn default_stop_bits() -> u8 {
    1
}
fn default_flow() -> String {
    "none".into()
}
fn default_max_len() -> usize {
    512
}
fn default_inter_byte_ms() -> u64 {
    200
}

impl ScannerConfig {
    /// Checks the line settings; the message names the field.
    pub fn validate(&self) -> Result<(), crate::domain::Invalid> {
        use crate::domain::Invalid;
        if self.id.trim().is_empty() || self.id.len() > 64 {
            return Err(Invalid::new("id", "must be 1 to 64 characters"));
        }
        if self.path.trim().is_empty() {
            return Err(Invalid::new("path", "must not be empty"));
        }
        if ![1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400].contains(&self.baud) {
            return Err(Invalid::new(
                "baud",
                "must be a standard rate from 1200 to 230400",
            ));
        }
        if !(5..=8).contains(&self.data_bits) {
            return Err(Invalid::new("data_bits", "must be 5, 6, 7 or 8"));
        }
        if !["none", "odd", "even"].contains(&self.parity.as_str()) {
            return Err(Invalid::new("parity", "must be none, odd or even"));
        }
        if !(1..=2).contains(&self.stop_bits) {
            return Err(Invalid::new("stop_bits", "must be 1 or 2"));
        }
        if !["none", "software", "hardware"].contains(&self.flow_control.as_str()) {
            return Err(Invalid::new(
                "flow_control",
                "must be none, software or hardware",
            ));
        }
        if !(16..=8192).contains(&self.max_frame_len) {
            return Err(Invalid::new("max_frame_len", "must be between 16 and 8192"));
        }
        if !(10..=10_000).contains(&self.inter_byte_timeout_ms) {
            return Err(Invalid::new(
                "inter_byte_timeout_ms",
                "must be between 10 and 10000",
            ));
        }
        for (field, v) in [
            ("good_feedback", &self.good_feedback),
            ("bad_feedback", &self.bad_feedback),
        ] {
            if let Some(h) = v {
                match hex::decode(h) {
                    Ok(b) if b.len() <= 64 => {}
                    _ => return Err(Invalid::new(field, "must be hex bytes, at most 64 of them")),
                }
            }
        }
        Ok(())
    }

    /// The feedback bytes for an accepted (`true`) or rejected scan, if configured.
    pub fn feedback_bytes(&self, accepted: bool) -> Option<Vec<u8>> {
        let hex = if accepted {
            &self.good_feedback
        } else {
            &self.bad_feedback
        };
        hex.as_deref().and_then(|h| hex::decode(h).ok())
    }

    fn open(&self) -> tokio_serial::Result<tokio_serial::SerialStream> {
        use tokio_serial::{DataBits, FlowControl, Parity, StopBits};
        let data_bits = match self.data_bits {
            5 => DataBits::Five,
            6 => DataBits::Six,
            7 => DataBits::Seven,
            _ => DataBits::Eight,
        };
        let parity = match self.parity.as_str() {
            "odd" => Parity::Odd,
            "even" => Parity::Even,
            _ => Parity::None,
        };
        let stop_bits = if self.stop_bits == 2 {
            StopBits::Two
        } else {
            StopBits::One
        };
        let flow = match self.flow_control.as_str() {
            "software" => FlowControl::Software,
            "hardware" => FlowControl::Hardware,
            _ => FlowControl::None,
        };
        tokio_serial::new(&self.path, self.baud)
            .data_bits(data_bits)
            .parity(parity)
            .stop_bits(stop_bits)
            .flow_control(flow)
            .open_native_async()
    }
}

/// One scan as it came off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanEvent {
    pub scanner: String,
    pub station: String,
    pub bytes: Vec<u8>,
    pub at: DateTime<Utc>,
}

/// What the link knows about its scanner, for the API and `/metrics`.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct LinkStatus {
    pub connected: bool,
    /// Scans decoded and handed on.
    pub frames: u64,
    /// Frames thrown away (over-long, or cut off by the inter-byte timeout).
    pub dropped: u64,
    /// Failures to open, read or write the port.
    pub errors: u64,
    /// Times the port was opened again after it went away.
    pub reconnects: u64,
    pub last_frame_at: Option<String>,
    pub last_error: Option<String>,
}

/// The rest of the app's handle on a running link.
pub struct LinkHandle {
    pub id: String,
    /// Bytes to write to the scanner (beep/LED host commands).
    pub feedback: mpsc::Sender<Vec<u8>>,
    pub status: Arc<Mutex<LinkStatus>>,
    pub task: tokio::task::JoinHandle<()>,
}

impl LinkHandle {
    pub fn status(&self) -> LinkStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

const BACKOFF_START: Duration = Duration::from_millis(50);
/// Capped low so a re-plugged scanner is noticed well within two seconds.
const BACKOFF_MAX: Duration = Duration::from_millis(500);

fn update(status: &Mutex<LinkStatus>, f: impl FnOnce(&mut LinkStatus)) {
    if let Ok(mut s) = status.lock() {
        f(&mut s);
    }
}

/// Starts the task that owns `cfg.path`. It stops when `shutdown` turns true.
pub fn spawn(
    cfg: ScannerConfig,
    events: mpsc::Sender<ScanEvent>,
    mut shutdown: watch::Receiver<bool>,
) -> LinkHandle {
    let status = Arc::new(Mutex::new(LinkStatus::default()));
    let (feedback, mut feedback_rx) = mpsc::channel::<Vec<u8>>(16);
    let id = cfg.id.clone();
    let st = status.clone();
    let task = tokio::spawn(async move {
        let mut backoff = BACKOFF_START;
        let mut opened_before = false;
        loop {
            if *shutdown.borrow() {
                return;
            }
            match cfg.open() {
                Err(e) => {
                    update(&st, |s| {
                        s.connected = false;
                        s.errors += 1;
                        s.last_error = Some(format!("cannot open {}: {e}", cfg.path));
                    });
                    tracing::debug!(scanner = %cfg.id, error = %e, "scanner port not available");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => return,
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                Ok(port) => {
                    backoff = BACKOFF_START;
                    update(&st, |s| {
                        s.connected = true;
                        if opened_before {
                            s.reconnects += 1;
                        }
                    });
                    opened_before = true;
                    tracing::info!(scanner = %cfg.id, path = %cfg.path, "scanner connected");
                    let end =
                        run_port(&cfg, port, &events, &mut feedback_rx, &st, &mut shutdown).await;
                    update(&st, |s| s.connected = false);
                    match end {
                        PortEnd::Shutdown => return,
                        PortEnd::Gone(why) => {
                            tracing::warn!(scanner = %cfg.id, %why, "scanner went away; reopening");
                            update(&st, |s| {
                                s.errors += 1;
                                s.last_error = Some(why);
                            });
                        }
                    }
                }
            }
        }
    });
    LinkHandle {
        id,
        feedback,
        status,
        task,
    }
}

enum PortEnd {
    Shutdown,
    Gone(String),
}

async fn run_port(
    cfg: &ScannerConfig,
    port: tokio_serial::SerialStream,
    events: &mpsc::Sender<ScanEvent>,
    feedback: &mut mpsc::Receiver<Vec<u8>>,
    status: &Mutex<LinkStatus>,
    shutdown: &mut watch::Receiver<bool>,
) -> PortEnd {
    let (mut rd, mut wr) = tokio::io::split(port);
    let mut codec = ScanCodec::new(cfg.terminator, cfg.max_frame_len);
    let mut buf = BytesMut::with_capacity(1024);
    let quiet = Duration::from_millis(cfg.inter_byte_timeout_ms);
    loop {
        tokio::select! {
            read = rd.read_buf(&mut buf) => match read {
                Ok(0) => return PortEnd::Gone("end of file on the port".into()),
                Err(e) => return PortEnd::Gone(format!("read failed: {e}")),
                Ok(_) => loop {
                    match codec.decode(&mut buf) {
                        Ok(Some(d)) => {
                            if !deliver(cfg, d, events, status).await {
                                return PortEnd::Shutdown;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => return PortEnd::Gone(format!("decode failed: {e}")),
                    }
                },
            },
            _ = tokio::time::sleep(quiet), if !buf.is_empty() => {
                if let Some(d) = codec.drop_partial(&mut buf) {
                    if !deliver(cfg, d, events, status).await {
                        return PortEnd::Shutdown;
                    }
                }
            }
            Some(bytes) = feedback.recv() => {
                if let Err(e) = wr.write_all(&bytes).await {
                    return PortEnd::Gone(format!("write failed: {e}"));
                }
            }
            _ = shutdown.changed() => return PortEnd::Shutdown,
        }
    }
}

/// Hands a decoded frame on; false when nobody listens any more.
async fn deliver(
    cfg: &ScannerConfig,
    d: Decoded,
    events: &mpsc::Sender<ScanEvent>,
    status: &Mutex<LinkStatus>,
) -> bool {
    match d {
        Decoded::Scan(bytes) => {
            let at = Utc::now();
            update(status, |s| {
                s.frames += 1;
                s.last_frame_at = Some(crate::domain::time::to_db(at));
            });
            let ev = ScanEvent {
                scanner: cfg.id.clone(),
                station: cfg.station.clone(),
                bytes,
                at,
            };
            events.send(ev).await.is_ok()
        }
        Decoded::Dropped { reason, bytes } => {
            tracing::warn!(scanner = %cfg.id, ?reason, bytes, "scanner frame dropped");
            update(status, |s| s.dropped += 1);
            true
        }
    }
}
