//! A simulated cutting machine on a pseudo-terminal, speaking the machine's side of PROTOCOL.md:
//! it answers every command (and a retransmitted one with the same answer, without doing it
//! twice), cuts one plate every `cut_ms`, reports progress, completion and injected faults as
//! events, and repeats each event until the bridge acknowledges it. `konsign-bridge simulate`
//! runs it; the tests talk to it through the pseudo-terminal, as the bridge talks to a real
//! machine through a serial port.

use crate::line::{next_seq, Frame, Verb};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// How the simulated machine behaves.
#[derive(Debug, Clone)]
pub struct MachineConfig {
    /// Time to cut one plate.
    pub cut_ms: u64,
    /// Report a damaged plate when this plate (1-based) of a job is cut.
    pub fault_at_plate: Option<u32>,
    /// The hole sizes it can cut, in millimetres.
    pub min_mm: f64,
    pub max_mm: f64,
}

impl Default for MachineConfig {
    fn default() -> Self {
        Self {
            cut_ms: 200,
            fault_at_plate: None,
            min_mm: 10.0,
            max_mm: 70.0,
        }
    }
}

/// A running simulated machine.
#[derive(Debug)]
pub struct Machine {
    /// The serial device to open (the pseudo-terminal's slave side).
    pub path: PathBuf,
    /// Jobs loaded (a retransmitted LOAD is not counted again): the tests' proof that no job
    /// was cut twice.
    pub loads: Arc<std::sync::atomic::AtomicU32>,
    stop: Arc<AtomicBool>,
    // Kept open so the pseudo-terminal lives while no one else has it open.
    _slave: std::os::fd::OwnedFd,
}

impl Drop for Machine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Idle,
    Loaded,
    Busy,
    Fault,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Idle => "IDLE",
            Mode::Loaded => "LOADED",
            Mode::Busy => "BUSY",
            Mode::Fault => "FAULT",
        }
    }
}

struct Job {
    id: String,
    qty: u32,
    done: u32,
}

impl Machine {
    /// Starts the machine on a new pseudo-terminal (raw mode).
    pub fn start(cfg: MachineConfig) -> std::io::Result<Self> {
        let pty = nix::pty::openpty(None, None).map_err(std::io::Error::from)?;
        let mut t = nix::sys::termios::tcgetattr(&pty.slave).map_err(std::io::Error::from)?;
        nix::sys::termios::cfmakeraw(&mut t);
        nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t)
            .map_err(std::io::Error::from)?;
        let path = nix::unistd::ttyname(&pty.slave).map_err(std::io::Error::from)?;
        let master = std::fs::File::from(pty.master);
        let mut reader = master.try_clone()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<String>();
        let reading = stop.clone();
        std::thread::Builder::new()
            .name("machine-read".into())
            .spawn(move || {
                let mut buf = Vec::new();
                let mut byte = [0u8; 256];
                // Wait for input in short slices, so that a stopped machine closes its side of
                // the pseudo-terminal (the port disappears, as a pulled cable's would).
                loop {
                    if reading.load(Ordering::Relaxed) {
                        return;
                    }
                    let mut fds = [nix::poll::PollFd::new(
                        std::os::fd::AsFd::as_fd(&reader),
                        nix::poll::PollFlags::POLLIN,
                    )];
                    match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16)) {
                        Ok(0) => continue,
                        Ok(_) => {}
                        Err(nix::errno::Errno::EINTR) => continue,
                        Err(_) => return,
                    }
                    let Ok(n) = reader.read(&mut byte) else {
                        return;
                    };
                    if n == 0 {
                        break;
                    }
                    for b in &byte[..n] {
                        if *b == b'\n' {
                            let line = String::from_utf8_lossy(&buf).to_string();
                            buf.clear();
                            if tx.send(line).is_err() {
                                return;
                            }
                        } else if buf.len() < 512 {
                            buf.push(*b);
                        }
                    }
                }
            })?;
        let s = stop.clone();
        let loads = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let l = loads.clone();
        std::thread::Builder::new()
            .name("machine".into())
            .spawn(move || run(cfg, master, rx, s, l))?;
        Ok(Self {
            path,
            loads,
            stop,
            _slave: pty.slave,
        })
    }
}

fn run(
    cfg: MachineConfig,
    mut port: std::fs::File,
    rx: mpsc::Receiver<String>,
    stop: Arc<AtomicBool>,
    loads: Arc<std::sync::atomic::AtomicU32>,
) {
    let mut seq = 0u32;
    let mut mode = Mode::Idle;
    let mut job: Option<Job> = None;
    let mut next_cut = Instant::now();
    // Answers to the last commands, by their sequence number.
    let mut answered: VecDeque<(u32, String)> = VecDeque::new();
    // Events not yet acknowledged: (seq, line, last sent).
    let mut pending: Vec<(u32, String, Instant)> = Vec::new();
    let send = |port: &mut std::fs::File, line: &str| {
        let _ = port.write_all(line.as_bytes());
        let _ = port.flush();
    };
    while !stop.load(Ordering::Relaxed) {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(line) => {
                let Ok(f) = Frame::decode(&line) else {
                    // Noise or a damaged frame: ignored; the bridge sends it again.
                    continue;
                };
                if f.verb == Verb::Ack {
                    let r: u32 = f.args[0].parse().unwrap_or(0);
                    pending.retain(|(s, _, _)| *s != r);
                    continue;
                }
                if let Some((_, a)) = answered.iter().find(|(s, _)| *s == f.seq) {
                    let a = a.clone();
                    send(&mut port, &a);
                    continue;
                }
                seq = next_seq(seq);
                let refs = f.seq.to_string();
                let mut event: Option<Frame> = None;
                let nak = |code: &str| Frame::new(Verb::Nak, seq, &[&refs, code]);
                let ack = Frame::new(Verb::Ack, seq, &[&refs]);
                let answer = match f.verb {
                    Verb::Load => {
                        let a: f64 = f.args[2].parse().unwrap_or(-1.0) / 10.0;
                        let b: f64 = f.args[3].parse().unwrap_or(-1.0) / 10.0;
                        let qty: u32 = f.args[4].parse().unwrap_or(0);
                        let sizes = match f.args[1].as_str() {
                            "R" => Some(vec![a]),
                            "O" => Some(vec![a, b]),
                            _ => None,
                        };
                        if mode == Mode::Fault {
                            nak("FAULT")
                        } else if mode != Mode::Idle {
                            nak("BUSY")
                        } else if let Some(sizes) = sizes {
                            if qty == 0 || sizes.iter().any(|s| *s < cfg.min_mm || *s > cfg.max_mm)
                            {
                                nak("RANGE")
                            } else {
                                job = Some(Job {
                                    id: f.args[0].clone(),
                                    qty,
                                    done: 0,
                                });
                                mode = Mode::Loaded;
                                loads.fetch_add(1, Ordering::Relaxed);
                                ack
                            }
                        } else {
                            nak("SHAPE")
                        }
                    }
                    Verb::Start => match &job {
                        Some(j) if j.id == f.args[0] && mode == Mode::Loaded => {
                            mode = Mode::Busy;
                            next_cut = Instant::now() + Duration::from_millis(cfg.cut_ms);
                            ack
                        }
                        _ => nak("UNKNOWN"),
                    },
                    Verb::Cancel => match &job {
                        Some(j) if j.id == f.args[0] => {
                            job = None;
                            mode = Mode::Idle;
                            ack
                        }
                        _ => nak("UNKNOWN"),
                    },
                    Verb::Clear => {
                        if mode == Mode::Fault {
                            mode = Mode::Idle;
                        }
                        ack
                    }
                    Verb::Status => {
                        let (id, done, qty) = job
                            .as_ref()
                            .map(|j| (j.id.clone(), j.done, j.qty))
                            .unwrap_or_else(|| ("-".into(), 0, 0));
                        event = Some(Frame::new(
                            Verb::Stat,
                            0,
                            &[mode.as_str(), &id, &done.to_string(), &qty.to_string()],
                        ));
                        ack
                    }
                    // Events are the machine's own; a bridge does not send them.
                    _ => nak("UNKNOWN"),
                };
                let a = answer.encode();
                send(&mut port, &a);
                answered.push_back((f.seq, a));
                if answered.len() > 64 {
                    answered.pop_front();
                }
                if let Some(mut e) = event {
                    seq = next_seq(seq);
                    e.seq = seq;
                    let l = e.encode();
                    send(&mut port, &l);
                    pending.push((seq, l, Instant::now()));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        // Cutting.
        if mode == Mode::Busy && Instant::now() >= next_cut {
            if let Some(j) = job.as_mut() {
                j.done += 1;
                seq = next_seq(seq);
                let e = if cfg.fault_at_plate == Some(j.done) {
                    mode = Mode::Fault;
                    let e = Frame::new(
                        Verb::Fault,
                        seq,
                        &[&j.id, "PLATE", "plate damaged while cutting"],
                    );
                    job = None;
                    e
                } else if j.done >= j.qty {
                    mode = Mode::Idle;
                    let e = Frame::new(Verb::Done, seq, &[&j.id, &j.qty.to_string()]);
                    job = None;
                    e
                } else {
                    next_cut = Instant::now() + Duration::from_millis(cfg.cut_ms);
                    Frame::new(
                        Verb::Prog,
                        seq,
                        &[&j.id, &j.done.to_string(), &j.qty.to_string()],
                    )
                };
                let l = e.encode();
                send(&mut port, &l);
                pending.push((seq, l, Instant::now()));
            }
        }
        // Repeat what the bridge has not acknowledged.
        for (_, l, at) in pending.iter_mut() {
            if at.elapsed() >= Duration::from_millis(500) {
                send(&mut port, l);
                *at = Instant::now();
            }
        }
    }
}
