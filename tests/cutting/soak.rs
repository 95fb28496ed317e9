//! Many jobs through two scripted stations (real MQTT clients with persistent sessions, written
//! from the protocol document): one run with faults (events lost on the way, a lead taking
//! jobs back at random, stations restarting), one without. The stations count every plate they
//! cut: each job is cut exactly once, no order is left waiting, everything konsign sends
//! matches the schemas, and konsign's publishes per job stay bounded. Without faults konsign
//! never catches up or sends anything again. (Conformance C1-C3 and C8 of
//! `docs/devices/hulklip-mqtt.md`, under load.)

use super::*;
use rand::{rngs::StdRng, Rng, SeedableRng};
use rumqttc::NetworkOptions;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy)]
struct Faults {
    /// Probability that an event is lost on the way (the station had its PUBACK).
    loss: f64,
    /// Probability per 200 ms that a lead takes a random job back.
    requeue: f64,
    /// Probability per 200 ms that a station restarts (its connection drops, it comes back).
    restart: f64,
}

struct Memo {
    revision: u64,
    hash: String,
    state: &'static str,
    quantity: u32,
    done: u32,
}

/// What the scripted stations saw, shared with the test.
#[derive(Default)]
struct Seen {
    /// Plates cut per job id (over every revision and station).
    cuts: HashMap<String, u32>,
    /// Job messages received per job id.
    job_messages: HashMap<String, u32>,
    /// Messages that broke the schemas.
    bad: Vec<String>,
}

struct Station {
    site: String,
    id: String,
    seed: u64,
    faults: Faults,
    seen: Arc<Mutex<Seen>>,
}

fn hdr(site: &str, id: &str, counter: &mut u64) -> Header {
    *counter += 1;
    Header::new(site, id, "b-soak", format!("m-{id}-{counter}"), *counter)
}

impl Station {
    /// Runs the station until the task is aborted.
    async fn run(self, broker: (String, u16), restarts: Arc<std::sync::atomic::AtomicU64>) {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut jobs: HashMap<String, Memo> = HashMap::new();
        let mut queue: VecDeque<String> = VecDeque::new();
        let mut current: Option<(String, tokio::time::Instant)> = None;
        let (mut seq, mut counter) = (0u64, 0u64);
        let (site, id) = (self.site.clone(), self.id.clone());
        let topic = |t| wire::topic(&site, &id, t);
        'connection: loop {
            let mut o =
                MqttOptions::new(format!("station-{site}-{id}"), broker.0.clone(), broker.1);
            o.set_keep_alive(Duration::from_secs(5));
            o.set_clean_session(false);
            let will = wire::Connection {
                header: Header::new(&site, &id, "b-soak", format!("m-{id}-will"), 0),
                connection: wire::ConnectionState::Broken,
            };
            o.set_last_will(LastWill::new(
                topic(Topic::Connection),
                wire::encode(&will),
                QoS::AtLeastOnce,
                true,
            ));
            let (client, mut ev) = AsyncClient::new(o, 256);
            let mut net = NetworkOptions::new();
            net.set_tcp_nodelay(true);
            ev.set_network_options(net);
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let mut restart_tick = tokio::time::interval(Duration::from_millis(200));
            restart_tick.tick().await;
            loop {
                // What changed is published after the step: (events, state?).
                let mut events: Vec<wire::Event> = vec![];
                let mut acks: Vec<wire::Ack> = vec![];
                let mut changed = false;
                tokio::select! {
                    e = ev.poll() => match e {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            for t in [Topic::Job, Topic::Cmd] {
                                client.subscribe(topic(t), QoS::AtLeastOnce).await.unwrap();
                            }
                            let c = wire::Connection { header: hdr(&site, &id, &mut counter), connection: wire::ConnectionState::Online };
                            client.publish(topic(Topic::Connection), QoS::AtLeastOnce, true, wire::encode(&c)).await.unwrap();
                            let f = wire::Factsheet { header: hdr(&site, &id, &mut counter), queue_limit: 3, ..factsheet(&site) };
                            let mut fv = serde_json::to_value(&f).unwrap();
                            fv["header"]["station"] = id.clone().into();
                            client.publish(topic(Topic::Factsheet), QoS::AtLeastOnce, true, serde_json::to_vec(&fv).unwrap()).await.unwrap();
                            changed = true;
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            let v: Value = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                            let is_job = p.topic.ends_with("/job");
                            let schema = if is_job { "job" } else { "cmd" };
                            if let Err(e) = firmware_bridge::schema::check(schema, &v) {
                                self.seen.lock().unwrap().bad.push(format!("{e}: {v}"));
                                continue;
                            }
                            if is_job {
                                let job: wire::Job = serde_json::from_value(v).unwrap();
                                *self.seen.lock().unwrap().job_messages.entry(job.job_id.clone()).or_default() += 1;
                                let (result, state, done, code) = match jobs.get(&job.job_id) {
                                    Some(m) if m.revision == u64::from(job.revision) && m.hash == job.content_hash =>
                                        (wire::AckResult::Duplicate, Some(m.state), Some(m.done), None),
                                    Some(m) if m.revision == u64::from(job.revision) =>
                                        (wire::AckResult::Rejected, Some(m.state), Some(m.done), Some(wire::RejectCode::Conflict)),
                                    Some(m) if m.state == "running" =>
                                        (wire::AckResult::Rejected, Some(m.state), Some(m.done), Some(wire::RejectCode::AlreadyRunning)),
                                    Some(m) if m.state == "finished" =>
                                        (wire::AckResult::Rejected, Some(m.state), Some(m.done), Some(wire::RejectCode::AlreadyFinished)),
                                    _ if queue.len() + usize::from(current.is_some()) >= 3 && !queue.contains(&job.job_id) =>
                                        (wire::AckResult::Rejected, None, None, Some(wire::RejectCode::QueueFull)),
                                    _ => {
                                        jobs.insert(job.job_id.clone(), Memo { revision: job.revision.into(), hash: job.content_hash.clone(), state: "queued", quantity: job.quantity, done: 0 });
                                        if !queue.contains(&job.job_id) {
                                            queue.push_back(job.job_id.clone());
                                        }
                                        changed = true;
                                        (wire::AckResult::Accepted, None, None, None)
                                    }
                                };
                                acks.push(wire::Ack {
                                    header: hdr(&site, &id, &mut counter),
                                    ref_message_id: job.header.message_id.clone(),
                                    job_id: Some(job.job_id.clone()),
                                    revision: Some(job.revision),
                                    cmd_id: None,
                                    result,
                                    job_state: state.map(job_state),
                                    done,
                                    reason: code.map(|code| wire::Reason { code, message: "soak".into() }),
                                });
                            } else {
                                let cmd: wire::Cmd = serde_json::from_value(v).unwrap();
                                let jid = cmd.job_id.clone().unwrap_or_default();
                                let mut code = None;
                                let mut about = None;
                                if cmd.command == wire::Command::Cancel {
                                    match jobs.get_mut(&jid) {
                                        None => code = Some(wire::RejectCode::UnknownJob),
                                        Some(m) if cmd.revision.is_some_and(|r| u64::from(r) != m.revision) => {
                                            about = Some((m.state, m.done));
                                            code = Some(wire::RejectCode::Conflict);
                                        }
                                        Some(m) if m.state == "queued" || m.state == "running" => {
                                            // Stopped before the plate is cut.
                                            m.state = "cancelled";
                                            queue.retain(|q| *q != jid);
                                            if current.as_ref().is_some_and(|c| c.0 == jid) {
                                                current = None;
                                            }
                                            seq += 1;
                                            events.push(wire::Event { header: hdr(&site, &id, &mut counter), seq, job_id: jid.clone(), revision: m.revision as u32, kind: wire::EventKind::Cancelled, done: 0, quantity: m.quantity, error: None });
                                            changed = true;
                                        }
                                        Some(m) => {
                                            about = Some((m.state, m.done));
                                            code = Some(wire::RejectCode::AlreadyFinished);
                                        }
                                    }
                                }
                                if cmd.command == wire::Command::StateRequest {
                                    changed = true;
                                }
                                acks.push(wire::Ack {
                                    header: hdr(&site, &id, &mut counter),
                                    ref_message_id: cmd.header.message_id.clone(),
                                    job_id: None,
                                    revision: None,
                                    cmd_id: Some(cmd.cmd_id.clone()),
                                    result: if code.is_some() { wire::AckResult::Rejected } else { wire::AckResult::Accepted },
                                    job_state: about.map(|a| job_state(a.0)),
                                    done: about.map(|a| a.1),
                                    reason: code.map(|code| wire::Reason { code, message: "soak".into() }),
                                });
                            }
                        }
                        Ok(_) => {}
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    },
                    _ = tick.tick() => {
                        // The machine: a job takes 40 ms; then the next one starts.
                        if let Some((jid, since)) = current.clone() {
                            if since.elapsed() > Duration::from_millis(40) {
                                let m = jobs.get_mut(&jid).unwrap();
                                m.state = "finished";
                                m.done = m.quantity;
                                *self.seen.lock().unwrap().cuts.entry(jid.clone()).or_default() += m.quantity;
                                seq += 1;
                                events.push(wire::Event { header: hdr(&site, &id, &mut counter), seq, job_id: jid.clone(), revision: m.revision as u32, kind: wire::EventKind::Finished, done: m.quantity, quantity: m.quantity, error: None });
                                current = None;
                                changed = true;
                            }
                        }
                        if current.is_none() {
                            if let Some(jid) = queue.pop_front() {
                                let m = jobs.get_mut(&jid).unwrap();
                                m.state = "running";
                                seq += 1;
                                events.push(wire::Event { header: hdr(&site, &id, &mut counter), seq, job_id: jid.clone(), revision: m.revision as u32, kind: wire::EventKind::Started, done: 0, quantity: m.quantity, error: None });
                                current = Some((jid, tokio::time::Instant::now()));
                                changed = true;
                            }
                        }
                    }
                    _ = restart_tick.tick() => {
                        if rng.gen_bool(self.faults.restart) {
                            restarts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            // The connection drops without a goodbye (a crash, a pulled cable):
                            // the last will says broken; the memory is on disk.
                            drop(ev);
                            tokio::time::sleep(Duration::from_millis(rng.gen_range(100..800))).await;
                            continue 'connection;
                        }
                    }
                }
                for a in acks {
                    client
                        .publish(topic(Topic::Ack), QoS::AtLeastOnce, false, wire::encode(&a))
                        .await
                        .unwrap();
                }
                for e in events {
                    // Lost on the way: the station had its PUBACK, konsign never sees it.
                    if rng.gen_bool(self.faults.loss) {
                        continue;
                    }
                    client
                        .publish(
                            topic(Topic::Event),
                            QoS::AtLeastOnce,
                            false,
                            wire::encode(&e),
                        )
                        .await
                        .unwrap();
                }
                if changed {
                    let s = wire::State {
                        header: hdr(&site, &id, &mut counter),
                        mode: if current.is_some() {
                            wire::Mode::Busy
                        } else {
                            wire::Mode::Idle
                        },
                        current_job: current.as_ref().map(|(j, _)| wire::CurrentJob {
                            job_id: j.clone(),
                            revision: jobs[j].revision as u32,
                            done: 0,
                            quantity: jobs[j].quantity,
                        }),
                        queue: queue
                            .iter()
                            .map(|j| wire::QueuedJob {
                                job_id: j.clone(),
                                revision: jobs[j].revision as u32,
                            })
                            .collect(),
                        queue_limit: 3,
                        last_event_seq: seq,
                        errors: vec![],
                    };
                    client
                        .publish(
                            topic(Topic::State),
                            QoS::AtLeastOnce,
                            true,
                            wire::encode(&s),
                        )
                        .await
                        .unwrap();
                }
            }
        }
    }
}

fn job_state(s: &str) -> wire::JobState {
    match s {
        "running" => wire::JobState::Running,
        "finished" => wire::JobState::Finished,
        "cancelled" => wire::JobState::Cancelled,
        "failed" => wire::JobState::Failed,
        _ => wire::JobState::Queued,
    }
}

fn metric(s: &Setup, kind: &str) -> u64 {
    s.app
        .ctx
        .metrics
        .mqtt_sent
        .get_or_create(&konsign::metrics::OutcomeLabel {
            outcome: kind.into(),
        })
        .get()
}

/// `n` jobs through two scripted stations with `faults`; returns what konsign sent, by kind.
async fn run(
    broker: Broker,
    backend: common::Backend,
    n: u32,
    faults: Faults,
    seed: u64,
) -> Option<HashMap<&'static str, u64>> {
    let s = setup_on(broker, backend).await?;
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let restarts = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = vec![];
    for (i, id) in ["cut-1", "cut-2"].into_iter().enumerate() {
        let r = admin
            .put_json(&format!("/api/cut-stations/{id}"), json!({}))
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let st = Station {
            site: s.site.clone(),
            id: id.into(),
            seed: seed + i as u64,
            faults,
            seen: seen.clone(),
        };
        tasks.push(tokio::spawn(st.run(s.broker.clone(), restarts.clone())));
        until_station_named(&admin, id, |v| v["available"] == true).await;
    }
    let web = picked_cut_order(&s, &admin, "W-SOAK", "PL1", &expiry).await;
    let first = cut_job(&admin, "cj-1-1-1", |_| true).await;
    bulk_jobs(&s, &first, &expiry, 2..=n).await;
    s.app.ctx.cutting.wake.notify_one();
    let ids: Vec<String> = std::iter::once("cj-1-1-1".to_string())
        .chain((2..=n).map(|k| format!("cj-bulk-{k}")))
        .collect();
    let lead = s.app.user("lea", konsign::domain::auth::Role::Lead).await;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let mut requeues = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        let jobs = admin.get("/api/cut-jobs").await.body;
        let jobs = jobs.as_array().unwrap();
        let open: Vec<&Value> = jobs.iter().filter(|j| j["state"] != "finished").collect();
        if open.is_empty() && jobs.len() >= n as usize {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs stuck: {:?}",
            open.iter()
                .map(|j| format!(
                    "{} {} r{} at {}",
                    j["id"], j["state"], j["revision"], j["station_id"]
                ))
                .collect::<Vec<_>>()
        );
        if rng.gen_bool(faults.requeue) {
            let held: Vec<&&Value> = open
                .iter()
                .filter(|j| ["sent", "accepted", "running"].contains(&j["state"].as_str().unwrap()))
                .collect();
            if !held.is_empty() {
                let j = held[rng.gen_range(0..held.len())];
                let r = lead
                    .post(
                        &format!("/api/cut-jobs/{}/requeue", j["id"].as_str().unwrap()),
                        json!({ "reason": "soak" }),
                    )
                    .await;
                if r.status == StatusCode::OK {
                    requeues += 1;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for t in &tasks {
        t.abort();
    }
    {
        let seen = seen.lock().unwrap();
        assert!(
            seen.bad.is_empty(),
            "konsign sent messages outside the schemas: {:?}",
            seen.bad
        );
        for id in &ids {
            let q = if id == "cj-1-1-1" { 2 } else { 1 };
            assert_eq!(
                seen.cuts.get(id).copied().unwrap_or(0),
                q,
                "{id} cut exactly once (seed {seed})"
            );
        }
        let most = seen.job_messages.values().copied().max().unwrap_or(0);
        assert!(
            most <= 12,
            "at most 12 job messages for one job, got {most} (seed {seed})"
        );
    }
    let status = web.get("/api/orders/W-SOAK/status").await.body;
    assert_eq!(status["status"], "picked", "the order moved on: {status}");
    let kinds = [
        "job",
        "job_again",
        "catch_up",
        "cancel",
        "cancel_again",
        "command",
    ];
    let sent: HashMap<&'static str, u64> = kinds.into_iter().map(|k| (k, metric(&s, k))).collect();
    let total: u64 = sent.values().sum();
    assert!(
        total <= 4 * u64::from(n),
        "publishes bounded: {sent:?} for {n} jobs"
    );
    eprintln!(
        "soak seed {seed}: {n} jobs, {requeues} taken back, {} station restarts, lost events counted {}, sent {sent:?}",
        restarts.load(std::sync::atomic::Ordering::Relaxed),
        s.app.ctx.metrics.mqtt_lost_events.get()
    );
    Some(sent)
}

/// 200 jobs, two stations, events lost, jobs taken back, stations restarting: every job is cut
/// exactly once and the order moves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_jobs_under_faults_are_each_cut_exactly_once() {
    let seed = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random::<u16>) as u64;
    let faults = Faults {
        loss: 0.1,
        requeue: 0.4,
        restart: 0.03,
    };
    run(
        Broker::Mosquitto,
        common::Backend::Sqlite,
        200,
        faults,
        seed,
    )
    .await;
}

/// 50 jobs and no faults: konsign never catches up and never sends anything again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_jobs_without_faults_need_no_catch_up_and_no_resend() {
    let faults = Faults {
        loss: 0.0,
        requeue: 0.0,
        restart: 0.0,
    };
    let Some(sent) = run(Broker::Embedded, common::Backend::Sqlite, 50, faults, 7).await else {
        return;
    };
    assert_eq!(
        (sent["catch_up"], sent["job_again"], sent["cancel"]),
        (0, 0, 0),
        "{sent:?}"
    );
    assert_eq!(sent["job"], 50, "{sent:?}");
}

/// The same 200 jobs under faults on PostgreSQL (as several instances would share it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_jobs_under_faults_on_postgres() {
    let seed = std::env::var("SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random::<u16>) as u64;
    let faults = Faults {
        loss: 0.1,
        requeue: 0.4,
        restart: 0.03,
    };
    run(
        Broker::Mosquitto,
        common::Backend::Postgres,
        200,
        faults,
        seed,
    )
    .await;
}
