//! The engine's rules without a broker or a serial port: inputs in, actions out.

use super::*;

const SITE: &str = "test";
const STATION: &str = "hk-1";

fn settings(queue_limit: u32) -> Settings {
    Settings {
        site: SITE.into(),
        station: STATION.into(),
        min_mm: 10.0,
        max_mm: 80.0,
        queue_limit,
    }
}

fn engine(queue_limit: u32, now: Instant) -> Engine {
    let mut e = Engine::new(settings(queue_limit), "b-1".into(), Disk::default(), now);
    e.on_connected();
    e
}

fn job(id: &str, revision: u32, diameter_mm: f64) -> Vec<u8> {
    let mut j = wire::Job {
        header: Header::new(SITE, "_host", "h-1", format!("h-{id}-{revision}"), 1),
        job_id: id.into(),
        revision,
        content_hash: String::new(),
        line_ref: "L-0001".into(),
        plate: wire::Plate {
            gtin: "05701234567892".into(),
            lot: "LOT1".into(),
            expiry: "2030-01-31".into(),
        },
        quantity: 2,
        shape: wire::Shape::Round { diameter_mm },
        tolerance_mm: 0.5,
        sticker: wire::Sticker {
            product: "Basisplade".into(),
            cut_spec: format!("Ø {diameter_mm} mm"),
            line_ref: "L-0001".into(),
        },
    };
    j.header.station = STATION.into();
    j.content_hash = j.compute_hash();
    let bytes = wire::encode(&j);
    wire::decode::<wire::Job>(&bytes, SITE, STATION).expect("a valid job");
    bytes
}

fn job_topic() -> String {
    wire::topic(SITE, STATION, Topic::Job)
}

/// The acks among the actions, decoded.
fn acks(actions: &[Action]) -> Vec<wire::Ack> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Publish { topic, payload, .. } if topic.ends_with("/ack") => {
                Some(serde_json::from_slice(payload).expect("an ack"))
            }
            _ => None,
        })
        .collect()
}

/// The frames written to the machine.
fn frames(actions: &[Action]) -> Vec<Frame> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Serial(line) => Some(Frame::decode(line).expect("a frame")),
            _ => None,
        })
        .collect()
}

/// The outbox's events published (the head).
fn events(actions: &[Action]) -> Vec<wire::Event> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Publish {
                payload,
                head: true,
                ..
            } => Some(serde_json::from_slice(payload).expect("an event")),
            _ => None,
        })
        .collect()
}

fn machine(verb: Verb, seq: u32, args: &[&str]) -> String {
    Frame::new(verb, seq, args).encode()
}

#[test]
fn a_job_delivered_twice_is_loaded_once_and_answered_duplicate() {
    let t0 = Instant::now();
    let mut e = engine(4, t0);
    let a = e.on_message(&job_topic(), &job("cj-1", 1, 25.0));
    assert_eq!(acks(&a)[0].result, wire::AckResult::Accepted);
    // Saved before the ack is published.
    let save = a.iter().position(|x| *x == Action::Save).expect("saved");
    let ack = a
        .iter()
        .position(|x| matches!(x, Action::Publish { topic, .. } if topic.ends_with("/ack")))
        .expect("acked");
    assert!(save < ack);
    let load = frames(&e.on_tick(t0, true));
    assert_eq!(load.len(), 1);
    assert_eq!(load[0].verb, Verb::Load);
    assert_eq!(load[0].args, ["cj-1", "R", "250", "0", "2"]);

    let again = e.on_message(&job_topic(), &job("cj-1", 1, 25.0));
    let ack = &acks(&again)[0];
    assert_eq!(ack.result, wire::AckResult::Duplicate);
    assert_eq!(ack.job_state, Some(wire::JobState::Running));
    // The machine answers the LOAD; the START follows; nothing is loaded a second time.
    e.on_line(&machine(Verb::Ack, 1, &[&load[0].seq.to_string()]));
    let next = frames(&e.on_tick(t0 + Duration::from_millis(100), true));
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].verb, Verb::Start);
    assert!(e.disk().jobs["cj-1"].loaded);
}

#[test]
fn another_job_under_the_same_id_and_revision_is_a_conflict() {
    let mut e = engine(4, Instant::now());
    e.on_message(&job_topic(), &job("cj-1", 1, 25.0));
    let a = e.on_message(&job_topic(), &job("cj-1", 1, 30.0));
    let ack = &acks(&a)[0];
    assert_eq!(ack.result, wire::AckResult::Rejected);
    assert_eq!(
        ack.reason.as_ref().map(|r| r.code),
        Some(wire::RejectCode::Conflict)
    );
}

#[test]
fn a_full_queue_and_a_hole_out_of_range_are_refused_with_their_reasons() {
    let mut e = engine(1, Instant::now());
    e.on_message(&job_topic(), &job("cj-1", 1, 25.0));
    let full = acks(&e.on_message(&job_topic(), &job("cj-2", 1, 25.0)));
    assert_eq!(
        full[0].reason.as_ref().map(|r| r.code),
        Some(wire::RejectCode::QueueFull)
    );
    let mut e = engine(4, Instant::now());
    let wide = acks(&e.on_message(&job_topic(), &job("cj-3", 1, 95.0)));
    assert_eq!(
        wide[0].reason.as_ref().map(|r| r.code),
        Some(wire::RejectCode::OutOfRange)
    );
    assert!(e.disk().jobs.is_empty(), "a refused job is not remembered");
}

#[test]
fn an_unanswered_command_is_sent_again_after_half_a_second_and_not_while_the_port_is_gone() {
    let t0 = Instant::now();
    let mut e = engine(4, t0);
    e.on_message(&job_topic(), &job("cj-1", 1, 25.0));
    let first = frames(&e.on_tick(t0, true));
    assert!(frames(&e.on_tick(t0 + Duration::from_millis(400), true)).is_empty());
    assert!(frames(&e.on_tick(t0 + Duration::from_millis(600), false)).is_empty());
    let again = frames(&e.on_tick(t0 + Duration::from_millis(700), true));
    assert_eq!(
        again, first,
        "the same frame, with the same sequence number"
    );
}

#[test]
fn an_event_leaves_the_outbox_only_on_its_own_puback() {
    let t0 = Instant::now();
    let mut e = engine(4, t0);
    // The publishes of connecting (connection, factsheet, state) are not yet acknowledged.
    e.on_message(&job_topic(), &job("cj-1", 1, 25.0));
    let load = frames(&e.on_tick(t0, true))[0].seq;
    e.on_line(&machine(Verb::Ack, 1, &[&load.to_string()]));
    let start = frames(&e.on_tick(t0, true))[0].seq;
    let a = e.on_line(&machine(Verb::Ack, 2, &[&start.to_string()]));
    let started = events(&a);
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].kind, wire::EventKind::Started);
    assert_eq!(e.disk().outbox.len(), 1);
    // The machine finishes: the `finished` event waits behind the `started` one in flight.
    let done = e.on_line(&machine(Verb::Done, 3, &["cj-1", "2"]));
    assert!(events(&done).is_empty());
    assert_eq!(e.disk().outbox.len(), 2);
    // PUBACKs of the earlier publishes (connection, factsheet, state, ack, state) leave it.
    for _ in 0..5 {
        assert!(events(&e.on_puback()).is_empty());
        assert_eq!(e.disk().outbox.len(), 2);
    }
    // Its own PUBACK: it goes, and the next event is sent.
    let next = e.on_puback();
    assert_eq!(e.disk().outbox.len(), 1);
    assert_eq!(events(&next)[0].kind, wire::EventKind::Finished);
    assert!(next.contains(&Action::Save));
}

#[test]
fn a_machine_event_repeated_is_handled_once_and_acknowledged_each_time() {
    let t0 = Instant::now();
    let mut e = engine(4, t0);
    e.on_message(&job_topic(), &job("cj-1", 1, 25.0));
    e.on_tick(t0, true);
    let first = e.on_line(&machine(Verb::Prog, 7, &["cj-1", "1", "2"]));
    let again = e.on_line(&machine(Verb::Prog, 7, &["cj-1", "1", "2"]));
    for a in [&first, &again] {
        let f = frames(a);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].verb, f[0].args[0].as_str()), (Verb::Ack, "7"));
    }
    assert_eq!(e.disk().event_seq, 1, "one progress event");
    assert_eq!(e.disk().jobs["cj-1"].done, 1);
}

#[test]
fn after_a_restart_a_loaded_job_the_machine_forgot_fails_and_is_never_cut_again() {
    let t0 = Instant::now();
    let mut e = engine(4, t0);
    e.on_message(&job_topic(), &job("cj-1", 1, 25.0));
    let load = frames(&e.on_tick(t0, true))[0].seq;
    e.on_line(&machine(Verb::Ack, 1, &[&load.to_string()]));
    // The bridge restarts with what it saved.
    let disk: Disk = serde_json::from_slice(&serde_json::to_vec(e.disk()).unwrap()).unwrap();
    let mut e = Engine::new(settings(4), "b-2".into(), disk, t0);
    e.on_connected();
    let ask = frames(&e.on_tick(t0, true));
    assert_eq!(ask[0].verb, Verb::Status);
    // The machine says nothing of the job for 1.5 s.
    let a = e.on_tick(t0 + Duration::from_millis(1600), true);
    let failed: Vec<_> = e
        .disk()
        .outbox
        .iter()
        .map(|o| serde_json::from_str::<wire::Event>(&o.payload).unwrap())
        .collect();
    assert_eq!(failed.last().unwrap().kind, wire::EventKind::Failed);
    assert_eq!(e.disk().jobs["cj-1"].state, wire::JobState::Failed);
    assert!(e.disk().current.is_none());
    assert!(frames(&a).iter().all(|f| f.verb != Verb::Load));
}

#[test]
fn after_a_restart_a_job_never_loaded_goes_on_the_machine() {
    let t0 = Instant::now();
    let mut e = engine(4, t0);
    e.on_message(&job_topic(), &job("cj-1", 1, 25.0));
    // Restarted before the machine acknowledged the LOAD.
    let disk: Disk = serde_json::from_slice(&serde_json::to_vec(e.disk()).unwrap()).unwrap();
    let mut e = Engine::new(settings(4), "b-2".into(), disk, t0);
    e.on_tick(t0, true);
    let status = frames(&e.on_tick(t0 + Duration::from_millis(1600), true));
    assert_eq!(status[0].verb, Verb::Status, "resent: not answered");
    e.on_line(&machine(Verb::Ack, 1, &[&status[0].seq.to_string()]));
    let load = frames(&e.on_tick(t0 + Duration::from_millis(1700), true));
    assert_eq!(load[0].verb, Verb::Load);
    assert_eq!(e.disk().jobs["cj-1"].state, wire::JobState::Running);
}

#[test]
fn pause_lets_the_job_on_the_machine_finish_and_loads_nothing_until_resume() {
    let t0 = Instant::now();
    let mut e = engine(4, t0);
    let cmd = |command: wire::Command, id: &str| {
        let c = wire::Cmd {
            header: {
                let mut h = Header::new(SITE, "_host", "h-1", format!("h-c-{id}"), 2);
                h.station = STATION.into();
                h
            },
            cmd_id: format!("c-{id}"),
            command,
            job_id: None,
            revision: None,
            reason: None,
        };
        wire::encode(&c)
    };
    let cmd_topic = wire::topic(SITE, STATION, Topic::Cmd);
    e.on_message(&job_topic(), &job("cj-1", 1, 25.0));
    e.on_message(&job_topic(), &job("cj-2", 1, 25.0));
    let a = e.on_message(&cmd_topic, &cmd(wire::Command::Pause, "p"));
    assert_eq!(acks(&a)[0].result, wire::AckResult::Accepted);
    assert!(e.disk().paused);
    let load = frames(&e.on_tick(t0, true))[0].seq;
    e.on_line(&machine(Verb::Ack, 1, &[&load.to_string()]));
    let start = frames(&e.on_tick(t0, true))[0].seq;
    e.on_line(&machine(Verb::Ack, 2, &[&start.to_string()]));
    e.on_line(&machine(Verb::Done, 3, &["cj-1", "2"]));
    assert!(e.disk().current.is_none(), "J-2 waits while paused");
    assert!(frames(&e.on_tick(t0, true)).is_empty());
    e.on_message(&cmd_topic, &cmd(wire::Command::Resume, "r"));
    assert_eq!(e.disk().current.as_deref(), Some("cj-2"));
}
