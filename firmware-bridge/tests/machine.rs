//! The simulated cutting machine over a real pseudo-terminal, driven as the bridge drives a
//! machine: load, start, progress and done acknowledged; a retransmitted command answered again
//! and not done twice; a damaged frame ignored; a range refused; a fault injected and cleared.

use firmware_bridge::line::{Frame, Verb};
use firmware_bridge::machine::{Machine, MachineConfig};
use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::Duration;

struct Port {
    w: std::fs::File,
    rx: mpsc::Receiver<Frame>,
}

fn open(m: &Machine) -> Port {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&m.path)
        .unwrap();
    let mut r = f.try_clone().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut b = [0u8; 256];
        while let Ok(n) = r.read(&mut b) {
            if n == 0 {
                break;
            }
            for c in &b[..n] {
                if *c == b'\n' {
                    if let Ok(f) = Frame::decode(&String::from_utf8_lossy(&buf)) {
                        let _ = tx.send(f);
                    }
                    buf.clear();
                } else {
                    buf.push(*c);
                }
            }
        }
    });
    Port { w: f, rx }
}

impl Port {
    fn send(&mut self, f: &Frame) {
        self.w.write_all(f.encode().as_bytes()).unwrap();
    }
    fn next(&self) -> Frame {
        self.rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the machine answers")
    }
    /// The next frame that is not a repeat of an event already seen.
    fn expect(&mut self, verb: Verb) -> Frame {
        loop {
            let f = self.next();
            if f.verb == verb {
                return f;
            }
            assert!(
                matches!(f.verb, Verb::Prog | Verb::Stat),
                "expected {verb:?}, got {f:?}"
            );
            self.ack(&f);
        }
    }
    fn ack(&mut self, event: &Frame) {
        let s = event.seq.to_string();
        self.send(&Frame::new(Verb::Ack, 900 + event.seq % 99, &[&s]));
    }
}

#[test]
fn a_job_is_loaded_started_cut_and_done_once() {
    let m = Machine::start(MachineConfig {
        cut_ms: 50,
        ..Default::default()
    })
    .unwrap();
    let mut p = open(&m);
    let load = Frame::new(Verb::Load, 1, &["cj-1", "R", "320", "0", "3"]);
    p.send(&load);
    let a = p.expect(Verb::Ack);
    assert_eq!(a.args, ["1"]);
    // The same command again (the answer was lost): the same answer, nothing loaded twice.
    p.send(&load);
    assert_eq!(p.expect(Verb::Ack), a);
    // A damaged frame is ignored.
    let mut bad = Frame::new(Verb::Start, 2, &["cj-1"]).encode().into_bytes();
    bad[2] ^= 0x20;
    p.w.write_all(&bad).unwrap();
    assert!(
        p.rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "no answer to noise"
    );
    p.send(&Frame::new(Verb::Start, 2, &["cj-1"]));
    assert_eq!(p.expect(Verb::Ack).args, ["2"]);
    let mut progress = Vec::new();
    let done = loop {
        let f = p.next();
        p.ack(&f);
        match f.verb {
            Verb::Prog => progress.push(f.args[1].clone()),
            Verb::Done => break f,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(done.args, ["cj-1", "3"]);
    assert_eq!(progress, ["1", "2"]);
    // Acknowledged events are not repeated; the machine is idle again.
    p.send(&Frame::new(Verb::Status, 3, &[]));
    p.expect(Verb::Ack);
    let stat = p.expect(Verb::Stat);
    assert_eq!(stat.args, ["IDLE", "-", "0", "0"]);
}

#[test]
fn sizes_out_of_range_are_refused_and_a_fault_holds_until_cleared() {
    let m = Machine::start(MachineConfig {
        cut_ms: 30,
        fault_at_plate: Some(2),
        ..Default::default()
    })
    .unwrap();
    let mut p = open(&m);
    p.send(&Frame::new(Verb::Load, 1, &["cj-2", "R", "800", "0", "2"]));
    assert_eq!(p.expect(Verb::Nak).args, ["1", "RANGE"]);
    p.send(&Frame::new(Verb::Load, 2, &["cj-2", "X", "300", "0", "2"]));
    assert_eq!(p.expect(Verb::Nak).args, ["2", "SHAPE"]);
    p.send(&Frame::new(
        Verb::Load,
        3,
        &["cj-2", "O", "300", "250", "4"],
    ));
    p.expect(Verb::Ack);
    p.send(&Frame::new(Verb::Load, 4, &["cj-3", "R", "300", "0", "1"]));
    assert_eq!(p.expect(Verb::Nak).args, ["4", "BUSY"]);
    p.send(&Frame::new(Verb::Start, 5, &["cj-2"]));
    p.expect(Verb::Ack);
    let fault = p.expect(Verb::Fault);
    p.ack(&fault);
    assert_eq!(fault.args[..2], ["cj-2", "PLATE"]);
    p.send(&Frame::new(Verb::Load, 6, &["cj-3", "R", "300", "0", "1"]));
    assert_eq!(p.expect(Verb::Nak).args, ["6", "FAULT"]);
    p.send(&Frame::new(Verb::Clear, 7, &[]));
    p.expect(Verb::Ack);
    p.send(&Frame::new(Verb::Load, 8, &["cj-3", "R", "300", "0", "1"]));
    p.expect(Verb::Ack);
}

#[test]
fn an_unacknowledged_event_is_repeated_with_its_sequence_number() {
    let m = Machine::start(MachineConfig {
        cut_ms: 20,
        ..Default::default()
    })
    .unwrap();
    let mut p = open(&m);
    p.send(&Frame::new(Verb::Load, 1, &["cj-4", "R", "300", "0", "1"]));
    p.expect(Verb::Ack);
    p.send(&Frame::new(Verb::Start, 2, &["cj-4"]));
    p.expect(Verb::Ack);
    let first = p.expect(Verb::Done);
    // Not acknowledged: it comes again, the same frame.
    let again = p.expect(Verb::Done);
    assert_eq!(first, again);
    p.ack(&again);
    assert!(
        p.rx.recv_timeout(Duration::from_millis(800)).is_err(),
        "not repeated once acknowledged"
    );
}
