//! The bridge's protocol core, without I/O (in the manner of rumqtt's `state.rs`): it holds what
//! the bridge knows (the jobs it was given, its queue, the outbox of events, the command in
//! flight on the serial line) and turns each input (a message from konsign, a PUBACK, a line
//! from the machine, a clock tick) into the actions the I/O shell (`bridge.rs`) performs, in
//! order: publish, save the state, write a frame to the machine, subscribe, log. So every rule
//! here is testable without a broker or a serial port (see the tests at the end).
//!
//! Persistence: `Action::Save` asks the shell to write `disk()` before it performs anything
//! that follows. The shell writes the state as it is once the input is handled, which holds at
//! least everything the actions before it depend on.

use crate::line::{next_seq, Frame, Verb};
use crate::wire::{self, Header, Topic};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// How long a command on the serial line waits for the machine's answer before it is sent again.
pub const RESEND_AFTER: Duration = Duration::from_millis(500);
/// How long, after a restart with a job on the machine, the bridge waits to hear of it.
pub const RECOVERY_WAIT: Duration = Duration::from_millis(1500);
/// How often the station's state is published while nothing else happens.
pub const STATE_EVERY: Duration = Duration::from_secs(10);

/// What the core needs of the bridge's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub site: String,
    pub station: String,
    pub min_mm: f64,
    pub max_mm: f64,
    pub queue_limit: u32,
}

/// What the bridge remembers of a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Memo {
    pub revision: u32,
    pub hash: String,
    pub state: wire::JobState,
    pub quantity: u32,
    pub done: u32,
    pub shape: wire::Shape,
    /// The machine acknowledged loading it: after a restart it is never loaded again.
    #[serde(default)]
    pub loaded: bool,
}

/// An event waiting in the outbox for the broker's acknowledgement.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outgoing {
    pub topic: String,
    pub payload: String,
}

/// Everything kept on disk (`state.json`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Disk {
    pub event_seq: u64,
    pub jobs: BTreeMap<String, Memo>,
    /// Jobs in the order they were accepted (not yet started).
    pub queue: VecDeque<String>,
    /// The job on the machine.
    pub current: Option<String>,
    pub outbox: VecDeque<Outgoing>,
    /// konsign said `pause`: the job on the machine finishes, no next one is loaded until
    /// `resume` (the machine itself cannot pause mid-cut).
    #[serde(default)]
    pub paused: bool,
}

/// What the shell does for the core, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Publish at QoS 1. `head` marks the outbox's head: it leaves the outbox only on its own
    /// PUBACK (`on_puback`). A publish the MQTT client refuses means its event loop is gone.
    Publish {
        topic: String,
        retain: bool,
        payload: Vec<u8>,
        head: bool,
    },
    /// Write `disk()` (atomically, synced) before doing anything that follows.
    Save,
    /// Write this frame (a whole line) to the machine's serial port.
    Serial(String),
    /// Subscribe at QoS 1.
    Subscribe(String),
    /// A line for the operator's log.
    Log(String),
}

/// The bridge's protocol state. Inputs are the `on_*` methods; each returns its actions.
pub struct Engine {
    s: Settings,
    boot_id: String,
    counter: u64,
    disk: Disk,
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
    /// The command on the line: sent at, tries.
    pending: Option<(Frame, Instant, u32)>,
    /// The machine's last event numbers: each is handled once.
    machine_events: VecDeque<u32>,
    /// After a restart with a job on the machine: since when we wait to learn what it did.
    recovering: Option<Instant>,
    last_state: Instant,
    out: Vec<Action>,
}

type Reject = Option<(wire::RejectCode, String)>;

impl Engine {
    /// The core for a bridge that starts with `disk` (as read from its state file). When a job
    /// was on the machine, the machine is asked what it has; it is never loaded again.
    pub fn new(s: Settings, boot_id: String, disk: Disk, now: Instant) -> Self {
        let mut c = Engine {
            s,
            boot_id,
            counter: 0,
            disk,
            connected: false,
            in_flight: false,
            unacked: VecDeque::new(),
            cmd_seq: 0,
            commands: VecDeque::new(),
            pending: None,
            machine_events: VecDeque::new(),
            recovering: None,
            last_state: now,
            out: Vec::new(),
        };
        if c.disk.current.is_some() {
            c.recovering = Some(now);
            c.command(Verb::Status, &[]);
        }
        c
    }

    /// The state to write to disk.
    pub fn disk(&self) -> &Disk {
        &self.disk
    }

    /// The MQTT client id of this station.
    pub fn client_id(&self) -> String {
        format!("station-{}-{}", self.s.site, self.s.station)
    }

    /// The last will (topic and payload): the connection `broken`, retained.
    pub fn last_will(&self) -> (String, Vec<u8>) {
        let will = wire::Connection {
            header: Header::new(
                &self.s.site,
                &self.s.station,
                &self.boot_id,
                format!("m-{}-will", self.boot_id),
                0,
            ),
            connection: wire::ConnectionState::Broken,
        };
        (self.topic(Topic::Connection), wire::encode(&will))
    }

    fn take(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.out)
    }

    fn header(&mut self) -> Header {
        self.counter += 1;
        Header::new(
            &self.s.site,
            &self.s.station,
            &self.boot_id,
            format!("m-{}-{}", self.boot_id, self.counter),
            self.counter,
        )
    }

    fn topic(&self, t: Topic) -> String {
        wire::topic(&self.s.site, &self.s.station, t)
    }

    fn publish(&mut self, t: Topic, retain: bool, payload: Vec<u8>) {
        let topic = self.topic(t);
        self.unacked.push_back(false);
        self.out.push(Action::Publish {
            topic,
            retain,
            payload,
            head: false,
        });
    }

    fn save(&mut self) {
        self.out.push(Action::Save);
    }

    fn log(&mut self, msg: String) {
        self.out.push(Action::Log(msg));
    }

    fn command(&mut self, verb: Verb, args: &[&str]) {
        self.cmd_seq = next_seq(self.cmd_seq);
        self.commands
            .push_back(Frame::new(verb, self.cmd_seq, args));
    }

    /// Answers a machine frame at once (outside the one-command-at-a-time queue).
    fn ack_machine(&mut self, seq: u32) {
        self.cmd_seq = next_seq(self.cmd_seq);
        let f = Frame::new(Verb::Ack, self.cmd_seq, &[&seq.to_string()]);
        self.out.push(Action::Serial(f.encode()));
    }

    /// Queues an event in the outbox (saved before it is sent).
    fn event(&mut self, job: &str, kind: wire::EventKind, error: Option<wire::ErrorInfo>) {
        let Some(m) = self.disk.jobs.get(job).cloned() else {
            return;
        };
        self.disk.event_seq += 1;
        let e = wire::Event {
            header: self.header(),
            seq: self.disk.event_seq,
            job_id: job.to_string(),
            revision: m.revision,
            kind,
            done: m.done,
            quantity: m.quantity,
            error,
        };
        let topic = self.topic(Topic::Event);
        self.disk.outbox.push_back(Outgoing {
            topic,
            payload: String::from_utf8(wire::encode(&e)).unwrap_or_default(),
        });
        self.save();
    }

    /// Sends the outbox's head, one at a time, while connected.
    fn flush_outbox(&mut self) {
        if !self.connected || self.in_flight {
            return;
        }
        if let Some(o) = self.disk.outbox.front() {
            let a = Action::Publish {
                topic: o.topic.clone(),
                retain: false,
                payload: o.payload.clone().into_bytes(),
                head: true,
            };
            self.in_flight = true;
            self.unacked.push_back(true);
            self.out.push(a);
        }
    }

    fn announce(&mut self) {
        let c = wire::Connection {
            header: self.header(),
            connection: wire::ConnectionState::Online,
        };
        self.publish(Topic::Connection, true, wire::encode(&c));
        let f = wire::Factsheet {
            header: self.header(),
            shapes: vec![wire::ShapeKind::Round, wire::ShapeKind::Oval],
            min_mm: self.s.min_mm,
            max_mm: self.s.max_mm,
            tolerance_mm: 0.5,
            queue_limit: self.s.queue_limit,
            versions: wire::Versions {
                protocol: wire::PROTOCOL_VERSION.into(),
                bridge: Some(env!("CARGO_PKG_VERSION").into()),
                firmware: None,
            },
        };
        self.publish(Topic::Factsheet, true, wire::encode(&f));
        self.state();
    }

    fn state(&mut self) {
        let d = &self.disk;
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
        let mode = if current_job.is_some() {
            wire::Mode::Busy
        } else if d.paused {
            wire::Mode::Paused
        } else {
            wire::Mode::Idle
        };
        let s = wire::State {
            header: Header::new(
                &self.s.site,
                &self.s.station,
                &self.boot_id,
                format!("m-{}-s{}", self.boot_id, self.counter + 1),
                self.counter + 1,
            ),
            mode,
            current_job,
            queue,
            queue_limit: self.s.queue_limit,
            last_event_seq: d.event_seq,
            errors: vec![],
        };
        self.counter += 1;
        self.publish(Topic::State, true, wire::encode(&s));
    }

    /// Puts the next accepted job on the machine when it is free.
    fn next_job(&mut self) {
        if self.disk.current.is_some() || self.disk.paused {
            return;
        }
        let Some(id) = self.disk.queue.pop_front() else {
            return;
        };
        let Some(m) = self.disk.jobs.get_mut(&id) else {
            return;
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
        self.disk.current = Some(id.clone());
        self.save();
        self.command(Verb::Load, &[&id, shape, &a, &b, &qty]);
        self.command(Verb::Start, &[&id]);
    }

    fn fail(&mut self, id: &str, code: &str, message: &str) {
        if let Some(m) = self.disk.jobs.get_mut(id) {
            m.state = wire::JobState::Failed;
        }
        if self.disk.current.as_deref() == Some(id) {
            self.disk.current = None;
        }
        self.event(
            id,
            wire::EventKind::Failed,
            Some(wire::ErrorInfo {
                level: wire::Level::Urgent,
                code: code.into(),
                message: message.into(),
            }),
        );
        self.next_job();
    }

    /// The broker accepted the connection: subscribe, announce the station, send the outbox.
    pub fn on_connected(&mut self) -> Vec<Action> {
        self.connected = true;
        for t in [Topic::Job, Topic::Cmd] {
            let topic = self.topic(t);
            self.out.push(Action::Subscribe(topic));
        }
        self.announce();
        self.flush_outbox();
        self.take()
    }

    /// The connection is gone. What was published and not acknowledged is re-sent by rumqttc
    /// after the reconnect; the outbox's head stays in flight until its PUBACK.
    pub fn on_disconnected(&mut self) {
        self.connected = false;
    }

    /// The broker acknowledged the oldest unacknowledged publish.
    pub fn on_puback(&mut self) -> Vec<Action> {
        if self.unacked.pop_front() == Some(true) {
            self.in_flight = false;
            // The broker has the event at the head of the outbox: it can go.
            self.disk.outbox.pop_front();
            self.save();
            self.flush_outbox();
        }
        self.take()
    }

    /// A message on one of the station's topics.
    pub fn on_message(&mut self, topic: &str, payload: &[u8]) -> Vec<Action> {
        if topic.ends_with("/job") {
            self.on_job(payload);
        } else if topic.ends_with("/cmd") {
            self.on_cmd(payload);
        }
        self.flush_outbox();
        self.take()
    }

    /// Whether konsign's job can be taken, and if not, why.
    fn judge_job(&self, job: &wire::Job) -> (wire::AckResult, Option<wire::JobState>, Reject) {
        let d = &self.disk;
        match d.jobs.get(&job.job_id) {
            Some(m) if m.revision == job.revision && m.hash == job.content_hash => {
                return (wire::AckResult::Duplicate, Some(m.state), None)
            }
            Some(m) if m.revision == job.revision => {
                return (
                    wire::AckResult::Rejected,
                    Some(m.state),
                    Some((
                        wire::RejectCode::Conflict,
                        "another job under this id and revision".to_string(),
                    )),
                )
            }
            // A new revision replaces a job that has not started (or was cancelled or failed);
            // one that is on the machine must be cancelled first.
            Some(m) if m.state == wire::JobState::Running && job.revision > m.revision => {
                return (
                    wire::AckResult::Rejected,
                    Some(m.state),
                    Some((
                        wire::RejectCode::AlreadyRunning,
                        "the earlier revision has started".to_string(),
                    )),
                )
            }
            _ => {}
        }
        let taken = d.queue.len() as u32 + u32::from(d.current.is_some());
        if taken >= self.s.queue_limit && !d.queue.contains(&job.job_id) {
            let why = "the station's queue is full".to_string();
            return (
                wire::AckResult::Rejected,
                None,
                Some((wire::RejectCode::QueueFull, why)),
            );
        }
        match job.shape.extent_mm() {
            Some((lo, hi)) if lo < self.s.min_mm || hi > self.s.max_mm => (
                wire::AckResult::Rejected,
                None,
                Some((
                    wire::RejectCode::OutOfRange,
                    format!("this cutter cuts {}-{} mm", self.s.min_mm, self.s.max_mm),
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
            _ => (wire::AckResult::Accepted, None, None),
        }
    }

    fn on_job(&mut self, payload: &[u8]) {
        let job: wire::Job = match wire::decode(payload, &self.s.site, &self.s.station) {
            Ok(j) => j,
            Err(e) => return self.log(format!("job refused: {e}")),
        };
        let known_done = self.disk.jobs.get(&job.job_id).map(|m| m.done);
        let (result, job_state, reason) = self.judge_job(&job);
        if result == wire::AckResult::Accepted {
            self.disk.jobs.insert(
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
            if !self.disk.queue.contains(&job.job_id) {
                self.disk.queue.push_back(job.job_id.clone());
            }
            self.save();
        }
        let ack = wire::Ack {
            header: self.header(),
            ref_message_id: job.header.message_id.clone(),
            job_id: Some(job.job_id.clone()),
            revision: Some(job.revision),
            cmd_id: None,
            result,
            job_state,
            done: job_state.and(known_done),
            reason: reason.map(|(code, message)| wire::Reason { code, message }),
        };
        self.publish(Topic::Ack, false, wire::encode(&ack));
        self.next_job();
        self.state();
    }

    /// A command from konsign: answered with an ack naming its `cmd_id`.
    fn on_cmd(&mut self, payload: &[u8]) {
        let cmd: wire::Cmd = match wire::decode(payload, &self.s.site, &self.s.station) {
            Ok(c) => c,
            Err(e) => return self.log(format!("command refused: {e}")),
        };
        let mut reason = None;
        let mut about: Option<(wire::JobState, u32)> = None;
        // A command about a job: the job must be here, in the revision the command names.
        let id = cmd.job_id.clone().unwrap_or_default();
        if matches!(cmd.command, wire::Command::Cancel | wire::Command::Start) {
            match self.disk.jobs.get(&id) {
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
                if self.disk.current.as_deref() == Some(id.as_str()) {
                    self.command(Verb::Cancel, &[&id]);
                    self.disk.current = None;
                }
                self.disk.queue.retain(|q| *q != id);
                if let Some(m) = self.disk.jobs.get_mut(&id) {
                    m.state = wire::JobState::Cancelled;
                }
                self.save();
                self.event(&id, wire::EventKind::Cancelled, None);
                self.next_job();
            }
            // The machine cannot pause mid-cut: pausing the station means the job on the
            // machine finishes and no next one is loaded until `resume`.
            wire::Command::Pause => {
                self.disk.paused = true;
                self.save();
            }
            wire::Command::Resume => {
                self.disk.paused = false;
                self.save();
                self.next_job();
            }
            // The operator wants this job now: it goes on the machine next (jobs start by
            // themselves once loaded; the one on the machine is not interrupted).
            wire::Command::Start => {
                if self.disk.queue.contains(&id) {
                    self.disk.queue.retain(|q| *q != id);
                    self.disk.queue.push_front(id.clone());
                    self.save();
                    self.next_job();
                }
            }
        }
        let result = if reason.is_some() {
            wire::AckResult::Rejected
        } else {
            wire::AckResult::Accepted
        };
        let ack = wire::Ack {
            header: self.header(),
            ref_message_id: cmd.header.message_id.clone(),
            job_id: None,
            revision: None,
            cmd_id: Some(cmd.cmd_id.clone()),
            result,
            job_state: about.map(|a| a.0),
            done: about.map(|a| a.1),
            reason,
        };
        self.publish(Topic::Ack, false, wire::encode(&ack));
        self.state();
    }

    /// A line from the machine (PROTOCOL.md).
    pub fn on_line(&mut self, line: &str) -> Vec<Action> {
        if let Ok(f) = Frame::decode(line) {
            self.on_frame(f);
        }
        self.flush_outbox();
        self.take()
    }

    fn on_answer(&mut self, f: &Frame) {
        let r: u32 = f.args[0].parse().unwrap_or(0);
        let Some((p, _, _)) = &self.pending else {
            return;
        };
        if p.seq != r {
            return;
        }
        let sent = p.clone();
        self.pending = None;
        match (f.verb, sent.verb) {
            (Verb::Nak, Verb::Load) => {
                let id = sent.args[0].clone();
                let why = format!("the machine refused the job: {}", f.args[1]);
                self.fail(&id, "invalid", &why);
                self.commands
                    .retain(|c| !(c.verb == Verb::Start && c.args[0] == id));
            }
            (Verb::Ack, Verb::Load) => {
                if let Some(m) = self.disk.jobs.get_mut(&sent.args[0]) {
                    m.loaded = true;
                }
                self.save();
            }
            (Verb::Ack, Verb::Start) => self.event(&sent.args[0], wire::EventKind::Started, None),
            _ => {}
        }
    }

    fn on_frame(&mut self, f: Frame) {
        match f.verb {
            Verb::Ack | Verb::Nak => self.on_answer(&f),
            Verb::Stat => {
                self.ack_machine(f.seq);
                // After a restart: the machine still has our job loaded: start it (running: wait).
                if self.recovering.is_some() {
                    if let Some(cur) = self.disk.current.clone() {
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
                self.ack_machine(f.seq);
                if self.machine_events.contains(&f.seq) {
                    return;
                }
                self.machine_events.push_back(f.seq);
                if self.machine_events.len() > 64 {
                    self.machine_events.pop_front();
                }
                self.on_machine_event(&f);
            }
            _ => {}
        }
    }

    fn on_machine_event(&mut self, f: &Frame) {
        let id = f.args[0].clone();
        match f.verb {
            Verb::Prog => {
                if let Some(m) = self.disk.jobs.get_mut(&id) {
                    m.done = f.args[1].parse().unwrap_or(m.done);
                }
                self.event(&id, wire::EventKind::Progress, None);
            }
            Verb::Done => {
                if let Some(m) = self.disk.jobs.get_mut(&id) {
                    if m.state == wire::JobState::Finished {
                        return;
                    }
                    m.done = m.quantity;
                    m.state = wire::JobState::Finished;
                }
                if self.disk.current.as_deref() == Some(id.as_str()) {
                    self.disk.current = None;
                }
                self.event(&id, wire::EventKind::Finished, None);
                self.next_job();
            }
            _ if self
                .disk
                .jobs
                .get(&id)
                .is_some_and(|m| m.state != wire::JobState::Running) => {}
            _ => {
                let code = if f.args[1] == "PLATE" {
                    "plate_damaged"
                } else {
                    "machine_fault"
                };
                self.fail(&id, code, &f.args[2]);
                self.command(Verb::Clear, &[]);
            }
        }
        self.state();
    }

    /// The machine's port is open again (after it was lost). It may be another machine (or one
    /// restarted) counting its frames from 1 again: what it says is new, and each job outcome is
    /// still handled once (by the job's own state). The machine may have finished or lost the
    /// job meanwhile: it is asked, as after a restart, and the command in flight is sent again.
    pub fn on_serial_back(&mut self, now: Instant) {
        self.machine_events.clear();
        if self.disk.current.is_some() {
            self.recovering = Some(now);
            self.command(Verb::Status, &[]);
        }
        if let Some((_, at, _)) = self.pending.as_mut() {
            *at = now.checked_sub(Duration::from_secs(1)).unwrap_or(now);
        }
    }

    /// The clock (every 100 ms): the serial line's one command at a time, retransmitted until
    /// answered (only while the port is open); the end of waiting after a restart; the
    /// periodic state; the outbox.
    pub fn on_tick(&mut self, now: Instant, serial_open: bool) -> Vec<Action> {
        if serial_open {
            if let Some((f, at, tries)) = self.pending.as_mut() {
                if now.duration_since(*at) > RESEND_AFTER {
                    *tries += 1;
                    *at = now;
                    let line = f.encode();
                    self.out.push(Action::Serial(line));
                }
            } else if let Some(f) = self.commands.pop_front() {
                // Sent or not, it is pending: retransmitted until the machine answers.
                self.out.push(Action::Serial(f.encode()));
                self.pending = Some((f, now, 0));
            }
        }
        // Nothing heard of the job after a restart: loaded by this bridge before (it may have
        // been cut): its outcome is unknown and it is not cut again; never loaded: it goes on
        // the machine now.
        if self
            .recovering
            .is_some_and(|t| now.duration_since(t) > RECOVERY_WAIT)
        {
            self.recovering = None;
            if let Some(cur) = self.disk.current.clone() {
                if self.disk.jobs.get(&cur).is_some_and(|m| m.loaded) {
                    self.fail(&cur, "machine_fault", "the bridge restarted mid-job and the machine no longer has the job: the outcome is unknown, so it is not cut again");
                } else {
                    self.disk.current = None;
                    self.disk.queue.push_front(cur);
                    self.next_job();
                }
            }
        }
        if self.connected && now.duration_since(self.last_state) > STATE_EVERY {
            self.last_state = now;
            self.state();
        }
        self.flush_outbox();
        self.take()
    }

    /// The bridge is stopping: the station says it goes offline (retained).
    pub fn on_stop(&mut self) -> Vec<Action> {
        let c = wire::Connection {
            header: self.header(),
            connection: wire::ConnectionState::Offline,
        };
        self.publish(Topic::Connection, true, wire::encode(&c));
        self.take()
    }
}

#[cfg(test)]
mod tests;
