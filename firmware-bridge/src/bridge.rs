//! The bridge between a cutting machine's serial port (PROTOCOL.md) and konsign's MQTT station
//! protocol (docs/devices/hulklip-mqtt.md). It remembers every job it was given (id, revision,
//! content hash, outcome) in `state.json`, so a job delivered again, or after a restart, is
//! answered `duplicate` and never cut twice; and it keeps the events it has to send in the same
//! file (an outbox), sent oldest first and dropped only when the broker has acknowledged them.

use crate::line::{next_seq, Frame, Verb};
use crate::wire::{self, Header, Topic};
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, NetworkOptions, Packet, QoS};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The bridge's settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub site: String,
    pub station: String,
    pub broker_host: String,
    pub broker_port: u16,
    pub serial: PathBuf,
    pub state_dir: PathBuf,
    pub min_mm: f64,
    pub max_mm: f64,
    pub queue_limit: u32,
    /// The user name and password at the broker, when it asks for them (the user name is the
    /// station id: the broker's ACL keys on it).
    pub credentials: Option<(String, String)>,
}

/// What the bridge remembers of a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Memo {
    revision: u32,
    hash: String,
    state: wire::JobState,
    quantity: u32,
    done: u32,
    shape: wire::Shape,
    /// The machine acknowledged loading it: after a restart it is never loaded again.
    #[serde(default)]
    loaded: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Outgoing {
    topic: String,
    payload: String,
}

/// Everything kept on disk.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Disk {
    event_seq: u64,
    jobs: BTreeMap<String, Memo>,
    /// Jobs in the order they were accepted (not yet started).
    queue: VecDeque<String>,
    /// The job on the machine.
    current: Option<String>,
    outbox: VecDeque<Outgoing>,
    /// konsign said `pause`: the job on the machine finishes, no next one is loaded until
    /// `resume` (the machine itself cannot pause mid-cut).
    #[serde(default)]
    paused: bool,
}

struct Store {
    path: PathBuf,
    d: Disk,
}

impl Store {
    fn open(dir: &std::path::Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("state.json");
        let d = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Disk::default(),
            Err(e) => return Err(e),
        };
        Ok(Self { path, d })
    }
    /// Writes the state atomically (a temporary file, synced, then renamed).
    fn save(&self) -> std::io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut f, &serde_json::to_vec(&self.d).unwrap_or_default())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }
}

struct Bridge {
    cfg: Config,
    boot_id: String,
    counter: u64,
    store: Store,
    client: AsyncClient,
    connected: bool,
    /// The outbox's head is published and its PUBACK not yet in.
    in_flight: bool,
    /// One entry per QoS 1 publish whose PUBACK has not come, in publish order (`true`: the
    /// outbox's head). The broker acknowledges in order, and rumqttc re-sends everything
    /// unacknowledged after a reconnect, in order, so each PUBACK is matched to its publish:
    /// the head leaves the outbox only on its own acknowledgement.
    unacked: VecDeque<bool>,
    // Serial side.
    cmd_seq: u32,
    commands: VecDeque<Frame>,
    pending: Option<(Frame, Instant, u32)>,
    machine_events: VecDeque<u32>,
    /// After a restart with a job on the machine: since when we wait to learn what it did.
    recovering: Option<Instant>,
}

fn io(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl Bridge {
    fn header(&mut self) -> Header {
        self.counter += 1;
        Header::new(
            &self.cfg.site,
            &self.cfg.station,
            &self.boot_id,
            format!("m-{}-{}", self.boot_id, self.counter),
            self.counter,
        )
    }

    fn topic(&self, t: Topic) -> String {
        wire::topic(&self.cfg.site, &self.cfg.station, t)
    }

    async fn publish_now(&mut self, t: Topic, retain: bool, payload: Vec<u8>) {
        let topic = self.topic(t);
        if self
            .client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .await
            .is_ok()
        {
            self.unacked.push_back(false);
        }
    }

    /// Queues an event in the outbox (saved before it is sent).
    fn event(
        &mut self,
        job: &str,
        kind: wire::EventKind,
        error: Option<wire::ErrorInfo>,
    ) -> std::io::Result<()> {
        let Some(m) = self.store.d.jobs.get(job).cloned() else {
            return Ok(());
        };
        self.store.d.event_seq += 1;
        let e = wire::Event {
            header: self.header(),
            seq: self.store.d.event_seq,
            job_id: job.to_string(),
            revision: m.revision,
            kind,
            done: m.done,
            quantity: m.quantity,
            error,
        };
        let topic = self.topic(Topic::Event);
        self.store.d.outbox.push_back(Outgoing {
            topic,
            payload: String::from_utf8(wire::encode(&e)).unwrap_or_default(),
        });
        self.store.save()
    }

    async fn flush_outbox(&mut self) {
        if !self.connected || self.in_flight {
            return;
        }
        if let Some(o) = self.store.d.outbox.front() {
            if self
                .client
                .publish(
                    o.topic.clone(),
                    QoS::AtLeastOnce,
                    false,
                    o.payload.clone().into_bytes(),
                )
                .await
                .is_ok()
            {
                self.in_flight = true;
                self.unacked.push_back(true);
            }
        }
    }

    async fn announce(&mut self) {
        let c = wire::Connection {
            header: self.header(),
            connection: wire::ConnectionState::Online,
        };
        self.publish_now(Topic::Connection, true, wire::encode(&c))
            .await;
        let f = wire::Factsheet {
            header: self.header(),
            shapes: vec![wire::ShapeKind::Round, wire::ShapeKind::Oval],
            min_mm: self.cfg.min_mm,
            max_mm: self.cfg.max_mm,
            tolerance_mm: 0.5,
            queue_limit: self.cfg.queue_limit,
            versions: wire::Versions {
                protocol: wire::PROTOCOL_VERSION.into(),
                bridge: Some(env!("CARGO_PKG_VERSION").into()),
                firmware: None,
            },
        };
        self.publish_now(Topic::Factsheet, true, wire::encode(&f))
            .await;
        self.state().await;
    }

    async fn state(&mut self) {
        let d = &self.store.d;
        let current_job = d.current.as_ref().and_then(|id| {
            d.jobs.get(id).map(|m| wire::CurrentJob {
                job_id: id.clone(),
                revision: m.revision,
                done: m.done,
                quantity: m.quantity,
            })
        });
        let queue = d
            .queue
            .iter()
            .filter_map(|id| {
                d.jobs.get(id).map(|m| wire::QueuedJob {
                    job_id: id.clone(),
                    revision: m.revision,
                })
            })
            .collect();
        let s = wire::State {
            header: Header::new(
                &self.cfg.site,
                &self.cfg.station,
                &self.boot_id,
                format!("m-{}-s{}", self.boot_id, self.counter + 1),
                self.counter + 1,
            ),
            mode: if current_job.is_some() {
                wire::Mode::Busy
            } else if d.paused {
                wire::Mode::Paused
            } else {
                wire::Mode::Idle
            },
            current_job,
            queue,
            queue_limit: self.cfg.queue_limit,
            last_event_seq: d.event_seq,
            errors: vec![],
        };
        self.counter += 1;
        self.publish_now(Topic::State, true, wire::encode(&s)).await;
    }

    fn command(&mut self, verb: Verb, args: &[&str]) {
        self.cmd_seq = next_seq(self.cmd_seq);
        self.commands
            .push_back(Frame::new(verb, self.cmd_seq, args));
    }

    /// Puts the next accepted job on the machine when it is free.
    fn next_job(&mut self) -> std::io::Result<()> {
        if self.store.d.current.is_some() || self.store.d.paused {
            return Ok(());
        }
        let Some(id) = self.store.d.queue.pop_front() else {
            return Ok(());
        };
        let Some(m) = self.store.d.jobs.get_mut(&id) else {
            return Ok(());
        };
        m.state = wire::JobState::Running;
        let (shape, a, b) = match m.shape {
            wire::Shape::Round { diameter_mm } => ("R", diameter_mm, 0.0),
            wire::Shape::Oval {
                width_mm,
                height_mm,
                ..
            } => ("O", width_mm, height_mm),
            wire::Shape::Custom { .. } => ("C", 0.0, 0.0),
        };
        let qty = m.quantity.to_string();
        let (a, b) = (
            ((a * 10.0).round() as i64).to_string(),
            ((b * 10.0).round() as i64).to_string(),
        );
        self.store.d.current = Some(id.clone());
        self.store.save()?;
        self.command(Verb::Load, &[&id, shape, &a, &b, &qty]);
        self.command(Verb::Start, &[&id]);
        Ok(())
    }

    async fn on_job(&mut self, payload: &[u8]) -> std::io::Result<()> {
        let job: wire::Job = match wire::decode(payload, &self.cfg.site, &self.cfg.station) {
            Ok(j) => j,
            Err(e) => {
                tracing_free_log(&format!("job refused: {e}"));
                return Ok(());
            }
        };
        let known = self
            .store
            .d
            .jobs
            .get(&job.job_id)
            .map(|m| (m.state, m.done));
        let (result, job_state, reason) = match self.store.d.jobs.get(&job.job_id) {
            Some(m) if m.revision == job.revision && m.hash == job.content_hash => {
                (wire::AckResult::Duplicate, Some(m.state), None)
            }
            Some(m) if m.revision == job.revision => (
                wire::AckResult::Rejected,
                Some(m.state),
                Some((
                    wire::RejectCode::Conflict,
                    "another job under this id and revision".to_string(),
                )),
            ),
            // A new revision replaces a job that has not started (or was cancelled or failed);
            // one that is on the machine must be cancelled first.
            Some(m) if m.state == wire::JobState::Running && job.revision > m.revision => (
                wire::AckResult::Rejected,
                Some(m.state),
                Some((
                    wire::RejectCode::AlreadyRunning,
                    "the earlier revision has started".to_string(),
                )),
            ),
            _ if self.store.d.queue.len() as u32 + u32::from(self.store.d.current.is_some())
                >= self.cfg.queue_limit
                && !self.store.d.queue.contains(&job.job_id) =>
            {
                (
                    wire::AckResult::Rejected,
                    None,
                    Some((
                        wire::RejectCode::QueueFull,
                        "the station's queue is full".to_string(),
                    )),
                )
            }
            _ => match job.shape.extent_mm() {
                Some((lo, hi)) if lo < self.cfg.min_mm || hi > self.cfg.max_mm => (
                    wire::AckResult::Rejected,
                    None,
                    Some((
                        wire::RejectCode::OutOfRange,
                        format!(
                            "this cutter cuts {}-{} mm",
                            self.cfg.min_mm, self.cfg.max_mm
                        ),
                    )),
                ),
                None => (
                    wire::AckResult::Rejected,
                    None,
                    Some((
                        wire::RejectCode::UnknownShape,
                        "custom shapes are not supported".into(),
                    )),
                ),
                _ => {
                    self.store.d.jobs.insert(
                        job.job_id.clone(),
                        Memo {
                            revision: job.revision,
                            hash: job.content_hash.clone(),
                            state: wire::JobState::Queued,
                            quantity: job.quantity,
                            done: 0,
                            shape: job.shape.clone(),
                            loaded: false,
                        },
                    );
                    if !self.store.d.queue.contains(&job.job_id) {
                        self.store.d.queue.push_back(job.job_id.clone());
                    }
                    self.store.save()?;
                    (wire::AckResult::Accepted, None, None)
                }
            },
        };
        let ack = wire::Ack {
            header: self.header(),
            ref_message_id: job.header.message_id.clone(),
            job_id: Some(job.job_id.clone()),
            revision: Some(job.revision),
            cmd_id: None,
            result,
            job_state,
            done: job_state.and(known.map(|k| k.1)),
            reason: reason.map(|(code, message)| wire::Reason { code, message }),
        };
        self.publish_now(Topic::Ack, false, wire::encode(&ack))
            .await;
        self.next_job()?;
        self.state().await;
        Ok(())
    }

    /// A command from konsign: answered with an ack naming its `cmd_id`.
    async fn on_cmd(&mut self, payload: &[u8]) -> std::io::Result<()> {
        let cmd: wire::Cmd = match wire::decode(payload, &self.cfg.site, &self.cfg.station) {
            Ok(c) => c,
            Err(e) => {
                tracing_free_log(&format!("command refused: {e}"));
                return Ok(());
            }
        };
        let mut reason = None;
        let mut about: Option<(wire::JobState, u32)> = None;
        // A command about a job: the job must be here, in the revision the command names.
        let id = cmd.job_id.clone().unwrap_or_default();
        if matches!(cmd.command, wire::Command::Cancel | wire::Command::Start) {
            match self.store.d.jobs.get(&id) {
                None => {
                    reason = Some(wire::Reason {
                        code: wire::RejectCode::UnknownJob,
                        message: format!("no job {id} here"),
                    })
                }
                Some(m) => {
                    about = Some((m.state, m.done));
                    if cmd.revision.is_some_and(|r| r != m.revision) {
                        reason = Some(wire::Reason {
                            code: wire::RejectCode::Conflict,
                            message: format!("this station holds revision {} of {id}", m.revision),
                        });
                    } else if !matches!(m.state, wire::JobState::Queued | wire::JobState::Running) {
                        reason = Some(wire::Reason {
                            code: wire::RejectCode::AlreadyFinished,
                            message: format!("job {id} has ended here"),
                        });
                    }
                }
            }
        }
        match cmd.command {
            _ if reason.is_some() => {}
            wire::Command::StateRequest => {}
            wire::Command::ClearFault => self.command(Verb::Clear, &[]),
            // A job on the machine is stopped (the plates cut so far are reported in the
            // `cancelled` event's `done`); a waiting one is dropped.
            wire::Command::Cancel => {
                if self.store.d.current.as_deref() == Some(id.as_str()) {
                    self.command(Verb::Cancel, &[&id]);
                    self.store.d.current = None;
                }
                self.store.d.queue.retain(|q| *q != id);
                if let Some(m) = self.store.d.jobs.get_mut(&id) {
                    m.state = wire::JobState::Cancelled;
                }
                self.store.save()?;
                self.event(&id, wire::EventKind::Cancelled, None)?;
                self.next_job()?;
            }
            // The machine cannot pause mid-cut: pausing the station means the job on the
            // machine finishes and no next one is loaded until `resume`.
            wire::Command::Pause => {
                self.store.d.paused = true;
                self.store.save()?;
            }
            wire::Command::Resume => {
                self.store.d.paused = false;
                self.store.save()?;
                self.next_job()?;
            }
            // The operator wants this job now: it goes on the machine next (jobs start by
            // themselves once loaded; the one on the machine is not interrupted).
            wire::Command::Start => {
                if self.store.d.queue.contains(&id) {
                    self.store.d.queue.retain(|q| *q != id);
                    self.store.d.queue.push_front(id.clone());
                    self.store.save()?;
                    self.next_job()?;
                }
            }
        }
        let ack = wire::Ack {
            header: self.header(),
            ref_message_id: cmd.header.message_id.clone(),
            job_id: None,
            revision: None,
            cmd_id: Some(cmd.cmd_id.clone()),
            result: if reason.is_some() {
                wire::AckResult::Rejected
            } else {
                wire::AckResult::Accepted
            },
            job_state: about.map(|a| a.0),
            done: about.map(|a| a.1),
            reason,
        };
        self.publish_now(Topic::Ack, false, wire::encode(&ack))
            .await;
        self.state().await;
        Ok(())
    }

    async fn on_line(
        &mut self,
        line: &str,
        port: &mut (impl AsyncWriteExt + Unpin),
    ) -> std::io::Result<()> {
        let Ok(f) = Frame::decode(line) else {
            return Ok(());
        };
        match f.verb {
            Verb::Ack | Verb::Nak => {
                let r: u32 = f.args[0].parse().unwrap_or(0);
                if let Some((p, _, _)) = &self.pending {
                    if p.seq == r {
                        let sent = p.clone();
                        self.pending = None;
                        if f.verb == Verb::Nak && sent.verb == Verb::Load {
                            let id = sent.args[0].clone();
                            self.fail(
                                &id,
                                "invalid",
                                &format!("the machine refused the job: {}", f.args[1]),
                            )?;
                            self.commands
                                .retain(|c| !(c.verb == Verb::Start && c.args[0] == id));
                        } else if f.verb == Verb::Ack && sent.verb == Verb::Load {
                            if let Some(m) = self.store.d.jobs.get_mut(&sent.args[0]) {
                                m.loaded = true;
                            }
                            self.store.save()?;
                        } else if f.verb == Verb::Ack && sent.verb == Verb::Start {
                            self.event(&sent.args[0], wire::EventKind::Started, None)?;
                        }
                    }
                }
            }
            Verb::Stat => {
                let s = f.seq.to_string();
                self.cmd_seq = next_seq(self.cmd_seq);
                port.write_all(
                    Frame::new(Verb::Ack, self.cmd_seq, &[&s])
                        .encode()
                        .as_bytes(),
                )
                .await?;
                // After a restart: the machine still has our job loaded: start it (running: wait).
                if self.recovering.is_some() {
                    if let Some(cur) = self.store.d.current.clone() {
                        if f.args[1] == cur {
                            self.recovering = None;
                            if f.args[0] == "LOADED" {
                                self.command(Verb::Start, &[&cur]);
                            }
                        }
                    }
                }
            }
            Verb::Prog | Verb::Done | Verb::Fault => {
                self.recovering = None;
                // Acknowledge every event; handle each machine SEQ once.
                let s = f.seq.to_string();
                self.cmd_seq = next_seq(self.cmd_seq);
                port.write_all(
                    Frame::new(Verb::Ack, self.cmd_seq, &[&s])
                        .encode()
                        .as_bytes(),
                )
                .await?;
                if self.machine_events.contains(&f.seq) {
                    return Ok(());
                }
                self.machine_events.push_back(f.seq);
                if self.machine_events.len() > 64 {
                    self.machine_events.pop_front();
                }
                let id = f.args[0].clone();
                match f.verb {
                    Verb::Prog => {
                        if let Some(m) = self.store.d.jobs.get_mut(&id) {
                            m.done = f.args[1].parse().unwrap_or(m.done);
                        }
                        self.event(&id, wire::EventKind::Progress, None)?;
                    }
                    Verb::Done => {
                        if let Some(m) = self.store.d.jobs.get_mut(&id) {
                            if m.state == wire::JobState::Finished {
                                return Ok(());
                            }
                            m.done = m.quantity;
                            m.state = wire::JobState::Finished;
                        }
                        if self.store.d.current.as_deref() == Some(id.as_str()) {
                            self.store.d.current = None;
                        }
                        self.event(&id, wire::EventKind::Finished, None)?;
                        self.next_job()?;
                    }
                    _ if self
                        .store
                        .d
                        .jobs
                        .get(&id)
                        .is_some_and(|m| m.state != wire::JobState::Running) => {}
                    _ => {
                        let code = if f.args[1] == "PLATE" {
                            "plate_damaged"
                        } else {
                            "machine_fault"
                        };
                        self.fail(&id, code, &f.args[2])?;
                        self.command(Verb::Clear, &[]);
                    }
                }
                self.state().await;
            }
            _ => {}
        }
        Ok(())
    }

    fn fail(&mut self, id: &str, code: &str, message: &str) -> std::io::Result<()> {
        if let Some(m) = self.store.d.jobs.get_mut(id) {
            m.state = wire::JobState::Failed;
        }
        if self.store.d.current.as_deref() == Some(id) {
            self.store.d.current = None;
        }
        self.event(
            id,
            wire::EventKind::Failed,
            Some(wire::ErrorInfo {
                level: wire::Level::Urgent,
                code: code.into(),
                message: message.into(),
            }),
        )?;
        self.next_job()
    }
}

/// The machine's serial port: a reader that keeps a partly read line between polls (so that
/// waiting for a line can be cancelled by `select!` without losing bytes), and the writer.
struct Serial {
    reader: BufReader<tokio::io::ReadHalf<tokio_serial::SerialStream>>,
    write: tokio::io::WriteHalf<tokio_serial::SerialStream>,
    partial: Vec<u8>,
    too_long: bool,
}

fn open_serial(cfg: &Config) -> std::io::Result<Serial> {
    let port =
        tokio_serial::SerialStream::open(&tokio_serial::new(cfg.serial.to_string_lossy(), 115_200))
            .map_err(io)?;
    let (read, write) = tokio::io::split(port);
    Ok(Serial {
        reader: BufReader::new(read),
        write,
        partial: Vec::new(),
        too_long: false,
    })
}

/// Takes the bytes of `avail` up to a line end into `partial`, never keeping more than a line
/// may hold: a longer line is cut there and marked, and the rest of it is skipped up to its line
/// end. Returns how many bytes were taken and whether a line ended.
pub fn take_line_bytes(partial: &mut Vec<u8>, too_long: &mut bool, avail: &[u8]) -> (usize, bool) {
    let (taken, ended) = match avail.iter().position(|&b| b == b'\n') {
        Some(i) => (i + 1, true),
        None => (avail.len(), false),
    };
    if !*too_long {
        partial.extend_from_slice(&avail[..taken]);
        if partial.len() > crate::line::MAX_LINE + 1 {
            partial.truncate(crate::line::MAX_LINE + 1);
            *too_long = true;
        }
    }
    (taken, ended)
}

/// The next line from the machine (bytes that are no UTF-8 are replaced, so the line decoder
/// refuses them by name; a line longer than a frame may be comes back cut, and is refused as too
/// long); never ready while the port is gone. Cancel-safe.
async fn next_line(serial: &mut Option<Serial>) -> std::io::Result<Option<String>> {
    let Some(s) = serial.as_mut() else {
        return std::future::pending().await;
    };
    loop {
        let avail = s.reader.fill_buf().await?;
        if avail.is_empty() {
            return Ok(None);
        }
        let (taken, ended) = take_line_bytes(&mut s.partial, &mut s.too_long, avail);
        std::pin::Pin::new(&mut s.reader).consume(taken);
        if ended {
            let line = String::from_utf8_lossy(&s.partial).into_owned();
            s.partial.clear();
            s.too_long = false;
            return Ok(Some(line));
        }
    }
}

fn lose_serial(serial: &mut Option<Serial>, lost_at: &mut Option<Instant>, why: &str) {
    if serial.take().is_some() {
        *lost_at = Some(Instant::now());
        tracing_free_log(&format!(
            "lost the machine's serial port ({why}); jobs and events are kept, opening it again every second"
        ));
    }
}

fn tracing_free_log(msg: &str) {
    eprintln!("konsign-bridge: {msg}");
}

/// A boot id from the operating system's random source: konsign tells a restart of the bridge
/// by it, so it must differ from every earlier boot's (the process id repeats, on a restarted
/// device even at once).
pub fn new_boot_id() -> std::io::Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| std::io::Error::other(format!("no random boot id: {e}")))?;
    Ok(format!("b-{}", hex::encode(bytes)))
}

/// Runs the bridge until `stop` turns true.
pub async fn run(cfg: Config, mut stop: tokio::sync::watch::Receiver<bool>) -> std::io::Result<()> {
    let store = Store::open(&cfg.state_dir)?;
    // The machine's port: open at start (a wrong path is an error at once); lost later (a USB
    // cable pulled, the machine switched off), the bridge keeps its MQTT side and opens the port
    // again every second until it is back.
    let mut serial = Some(open_serial(&cfg)?);
    let mut serial_lost_at: Option<Instant> = None;
    let mut next_open = Instant::now();
    let boot_id = new_boot_id()?;
    let mut o = MqttOptions::new(
        format!("station-{}-{}", cfg.site, cfg.station),
        cfg.broker_host.clone(),
        cfg.broker_port,
    );
    o.set_keep_alive(Duration::from_secs(5));
    o.set_clean_session(false);
    if let Some((user, password)) = &cfg.credentials {
        o.set_credentials(user.clone(), password.clone());
    }
    let will = wire::Connection {
        header: Header::new(
            &cfg.site,
            &cfg.station,
            &boot_id,
            format!("m-{boot_id}-will"),
            0,
        ),
        connection: wire::ConnectionState::Broken,
    };
    o.set_last_will(LastWill::new(
        wire::topic(&cfg.site, &cfg.station, Topic::Connection),
        wire::encode(&will),
        QoS::AtLeastOnce,
        true,
    ));
    let (client, mut ev) = AsyncClient::new(o, 256);
    let mut net = NetworkOptions::new();
    net.set_tcp_nodelay(true);
    ev.set_network_options(net);
    let mut b = Bridge {
        cfg,
        boot_id,
        counter: 0,
        store,
        client,
        connected: false,
        in_flight: false,
        unacked: VecDeque::new(),
        cmd_seq: 0,
        commands: VecDeque::new(),
        pending: None,
        machine_events: VecDeque::new(),
        recovering: None,
    };
    // After a restart with a job on the machine: ask the machine what it has, and listen for
    // the events it repeats until they are acknowledged.
    if b.store.d.current.is_some() {
        b.recovering = Some(Instant::now());
        b.command(Verb::Status, &[]);
    }
    // After a restart: a job that was on the machine is followed up by the machine's repeated
    // events; it is never loaded again.
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut last_state = Instant::now();
    loop {
        tokio::select! {
            _ = stop.changed() => {
                if *stop.borrow() {
                    let c = wire::Connection { header: b.header(), connection: wire::ConnectionState::Offline };
                    b.publish_now(Topic::Connection, true, wire::encode(&c)).await;
                    let _ = b.client.disconnect().await;
                    return Ok(());
                }
            }
            e = ev.poll() => match e {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    b.connected = true;
                    for t in [Topic::Job, Topic::Cmd] {
                        let topic = b.topic(t);
                        let _ = b.client.subscribe(topic, QoS::AtLeastOnce).await;
                    }
                    b.announce().await;
                    b.flush_outbox().await;
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic.ends_with("/job") => {
                    b.on_job(&p.payload).await?;
                    b.flush_outbox().await;
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic.ends_with("/cmd") => {
                    b.on_cmd(&p.payload).await?;
                    b.flush_outbox().await;
                }
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    if b.unacked.pop_front() == Some(true) {
                        b.in_flight = false;
                        // The broker has the event at the head of the outbox: it can go.
                        b.store.d.outbox.pop_front();
                        b.store.save()?;
                        b.flush_outbox().await;
                    }
                }
                Ok(_) => {}
                Err(_) => {
                    // What was published and not acknowledged is re-sent by rumqttc after
                    // the reconnect; the head stays in flight until its PUBACK.
                    b.connected = false;
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            },
            line = next_line(&mut serial) => match line {
                Ok(Some(l)) => {
                    if let Some(Serial { write, .. }) = serial.as_mut() {
                        if let Err(e) = b.on_line(&l, write).await {
                            lose_serial(&mut serial, &mut serial_lost_at, &e.to_string());
                        }
                    }
                    b.flush_outbox().await;
                }
                Ok(None) => lose_serial(&mut serial, &mut serial_lost_at, "the port closed"),
                Err(e) => lose_serial(&mut serial, &mut serial_lost_at, &e.to_string()),
            },
            _ = tick.tick() => {
                if serial.is_none() && Instant::now() >= next_open {
                    next_open = Instant::now() + Duration::from_secs(1);
                    match open_serial(&b.cfg) {
                        Ok(p) => {
                            let away = serial_lost_at.take().map(|t| t.elapsed().as_secs()).unwrap_or(0);
                            tracing_free_log(&format!("serial port {} is back after {away} s; asking the machine what it has", b.cfg.serial.display()));
                            serial = Some(p);
                            // It may be another machine (or one restarted) counting its frames
                            // from 1 again: what it says is new, and each job outcome is still
                            // handled once (by the job's own state).
                            b.machine_events.clear();
                            // The machine may have finished or lost the job meanwhile: ask it, as
                            // after a restart, and send the command in flight again.
                            if b.store.d.current.is_some() {
                                b.recovering = Some(Instant::now());
                                b.command(Verb::Status, &[]);
                            }
                            if let Some((_, at, _)) = b.pending.as_mut() {
                                *at = Instant::now() - Duration::from_secs(1);
                            }
                        }
                        Err(e) => tracing_free_log(&format!("serial port {} still unavailable: {e}", b.cfg.serial.display())),
                    }
                }
                // One command at a time on the serial line; retransmitted until answered.
                let resend = matches!(&b.pending, Some((_, at, _)) if at.elapsed() > Duration::from_millis(500));
                if let Some(Serial { write, .. }) = serial.as_mut() {
                    let mut failed = None;
                    if resend {
                        if let Some((f, at, tries)) = b.pending.as_mut() {
                            *tries += 1;
                            *at = Instant::now();
                            failed = write.write_all(f.encode().as_bytes()).await.err();
                        }
                    }
                    if b.pending.is_none() && failed.is_none() {
                        if let Some(f) = b.commands.pop_front() {
                            failed = write.write_all(f.encode().as_bytes()).await.err();
                            // Sent or not, it is pending: retransmitted until the machine answers.
                            b.pending = Some((f, Instant::now(), 0));
                        }
                    }
                    if let Some(e) = failed {
                        lose_serial(&mut serial, &mut serial_lost_at, &e.to_string());
                    }
                }
                // Nothing heard of the job after a restart: loaded by this bridge before (it may
                // have been cut): its outcome is unknown and it is not cut again; never loaded:
                // it goes on the machine now.
                if b.recovering.is_some_and(|t| t.elapsed() > Duration::from_millis(1500)) {
                    b.recovering = None;
                    if let Some(cur) = b.store.d.current.clone() {
                        let loaded = b.store.d.jobs.get(&cur).is_some_and(|m| m.loaded);
                        if loaded {
                            b.fail(&cur, "machine_fault", "the bridge restarted mid-job and the machine no longer has the job: the outcome is unknown, so it is not cut again")?;
                        } else {
                            b.store.d.current = None;
                            b.store.d.queue.push_front(cur);
                            b.next_job()?;
                        }
                    }
                }
                if b.connected && last_state.elapsed() > Duration::from_secs(10) {
                    last_state = Instant::now();
                    b.state().await;
                }
                b.flush_outbox().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_longer_than_a_frame_is_cut_and_its_rest_skipped() {
        let (mut partial, mut long) = (Vec::new(), false);
        // 10 000 bytes without a line end, in chunks: never more than a frame is kept.
        for _ in 0..100 {
            let chunk = [b'A'; 100];
            assert_eq!(
                super::take_line_bytes(&mut partial, &mut long, &chunk),
                (100, false)
            );
            assert!(partial.len() <= crate::line::MAX_LINE + 1);
        }
        assert!(long);
        // The line end: the cut line is given (and refused by the decoder as too long).
        assert_eq!(
            super::take_line_bytes(&mut partial, &mut long, b"AA\r\nOK 1*00\r\n"),
            (4, true)
        );
        let line = String::from_utf8_lossy(&partial).into_owned();
        assert!(matches!(
            crate::line::Frame::decode(&line),
            Err(crate::line::LineError::TooLong)
        ));
        // The next line is read whole.
        partial.clear();
        long = false;
        assert_eq!(
            super::take_line_bytes(&mut partial, &mut long, b"OK 1*00\r\n"),
            (9, true)
        );
        assert_eq!(partial, b"OK 1*00\r\n");
    }

    use super::new_boot_id;

    #[test]
    fn every_boot_gets_its_own_random_id() {
        let ids: std::collections::HashSet<String> =
            (0..64).map(|_| new_boot_id().unwrap()).collect();
        assert_eq!(ids.len(), 64, "boot ids repeat within one process");
        for id in &ids {
            assert!(id.starts_with("b-") && id.len() == 18, "{id}");
        }
    }
}
