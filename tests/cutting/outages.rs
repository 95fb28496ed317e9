//! Outages while the machine cuts: the broker restarting, a station cut off from the broker,
//! and a station going offline with queued jobs; the bridge's on-disk outbox carries what
//! happened meanwhile.

use super::*;

on_both_brokers!(
    a_station_going_offline_keeps_its_queued_jobs_and_loses_none,
    a_station_cut_off_from_the_broker_replays_its_outbox_in_order,
);

/// The events waiting in a bridge's on-disk outbox.
fn outbox(state_dir: &std::path::Path) -> Vec<Value> {
    let Ok(b) = std::fs::read(state_dir.join("state.json")) else {
        return vec![];
    };
    let d: Value = serde_json::from_slice(&b).unwrap();
    d["outbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| serde_json::from_str(o["payload"].as_str().unwrap()).unwrap())
        .collect()
}

/// The broker (a private Mosquitto) dies while the machine cuts and comes back knowing nothing
/// (no sessions, no subscriptions): the machine finishes meanwhile, the bridge keeps what
/// happened in its on-disk outbox and sends it once the broker is back, both sides subscribe
/// again, and the job is finished once, with the order on to packing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_restarts_mid_job_and_the_bridge_replays_its_outbox() {
    use firmware_bridge::machine::{Machine, MachineConfig};
    let Some(mut m) = PrivateBroker::start().await else {
        return;
    };
    let Some(s) = setup(Broker::Private(m.port)).await else {
        return;
    };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let r = admin.put_json("/api/cut-stations/cut-1", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let machine = Machine::start(MachineConfig {
        cut_ms: 700,
        ..Default::default()
    })
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let (_stop, bridge) = spawn_bridge(bridge_config(&s, &machine, state.path()));
    until_station(&admin, |v| v["available"] == true).await;
    let web = picked_cut_order(&s, &admin, "W-BRK-1", "PL1", &expiry).await;
    cut_job(&admin, "cj-1-1-1", |j| j["state"] == "running").await;
    m.kill();
    // The machine cuts on; what it reports waits in the bridge's outbox, in order.
    let mut waiting = vec![];
    for _ in 0..100 {
        waiting = outbox(state.path());
        if waiting.iter().any(|e| e["kind"] == "finished") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kinds: Vec<&str> = waiting.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(
        kinds.last(),
        Some(&"finished"),
        "the outbox holds the job's events while the broker is away: {waiting:?}"
    );
    let seqs: Vec<u64> = waiting.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    assert_eq!(
        cut_job(&admin, "cj-1-1-1", |_| true).await["state"],
        "running",
        "konsign has heard nothing yet"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    m.up().await;
    let done = cut_job(&admin, "cj-1-1-1", |j| j["state"] == "finished").await;
    assert_eq!(
        job_states(&done),
        ["queued", "sent", "accepted", "running", "finished"],
        "{done}"
    );
    // konsign learns it from the replayed events, or, when the new broker dropped them before
    // konsign had subscribed again, from the station's state (its event count is ahead) and
    // the `duplicate` answer to the job asked about again.
    let how = done["log"][4]["detail"].as_str().unwrap();
    assert!(
        how == "finished" || how == "duplicate: the station has it",
        "{done}"
    );
    order_status(&web, "W-BRK-1", "picked").await;
    for _ in 0..100 {
        if outbox(state.path()).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        outbox(state.path()).is_empty(),
        "the outbox is emptied once the broker has everything"
    );
    // The station is online again, and the next job goes through the new broker.
    until_station(&admin, |v| {
        v["connection"] == "online" && v["available"] == true
    })
    .await;
    tote(&admin, "T-02", 901).await;
    picked_cut_order(&s, &admin, "W-BRK-2", "PL1", &expiry).await;
    cut_job(&admin, "cj-2-1-1", |j| j["state"] == "finished").await;
    assert_eq!(
        machine.loads.load(std::sync::atomic::Ordering::Relaxed),
        2,
        "each job loaded on the machine once"
    );
    bridge.abort();
}

/// A TCP relay between a station and its broker that can cut the line (every connection
/// dropped, new ones closed at once) and restore it: a station's network outage while konsign
/// and the broker carry on.
struct Relay {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cut: tokio::sync::broadcast::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(to: (String, u16)) -> Self {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (cut, _) = tokio::sync::broadcast::channel::<()>(4);
        let (up2, cut2) = (up.clone(), cut.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut a, _)) = l.accept().await {
                if !up2.load(std::sync::atomic::Ordering::SeqCst) {
                    continue;
                }
                let mut stop = cut2.subscribe();
                let to = to.clone();
                tokio::spawn(async move {
                    let Ok(mut b) = tokio::net::TcpStream::connect(to).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut a, &mut b) => {}
                        _ = stop.recv() => {}
                    }
                });
            }
        });
        Self {
            port,
            up,
            cut,
            task,
        }
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        let _ = self.cut.send(());
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The station loses the broker while the machine cuts (its network, not the broker, fails:
/// konsign stays subscribed): its last will marks it broken, the machine finishes meanwhile,
/// and once the line is back the bridge replays its outbox in order; konsign takes each event
/// once and the job finishes from the replayed events themselves.
async fn a_station_cut_off_from_the_broker_replays_its_outbox_in_order(broker: Broker) {
    use firmware_bridge::machine::{Machine, MachineConfig};
    let Some(s) = setup(broker).await else { return };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let r = admin.put_json("/api/cut-stations/cut-1", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let machine = Machine::start(MachineConfig {
        cut_ms: 700,
        ..Default::default()
    })
    .unwrap();
    let relay = Relay::start(s.broker.clone()).await;
    let state = tempfile::tempdir().unwrap();
    let cfg = firmware_bridge::bridge::Config {
        broker_port: relay.port,
        ..bridge_config(&s, &machine, state.path())
    };
    let (_stop, bridge) = spawn_bridge(cfg);
    until_station(&admin, |v| v["available"] == true).await;
    let web = picked_cut_order(&s, &admin, "W-NET-1", "PL1", &expiry).await;
    cut_job(&admin, "cj-1-1-1", |j| j["state"] == "running").await;
    relay.cut();
    until_station(&admin, |v| v["connection"] == "broken").await;
    let mut waiting = vec![];
    for _ in 0..100 {
        waiting = outbox(state.path());
        if waiting.iter().any(|e| e["kind"] == "finished") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kinds: Vec<&str> = waiting.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert_eq!(kinds.last(), Some(&"finished"), "{waiting:?}");
    assert!(kinds.contains(&"progress"), "{waiting:?}");
    let seqs: Vec<u64> = waiting.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    let job = cut_job(&admin, "cj-1-1-1", |_| true).await;
    assert_eq!(
        (job["state"].as_str(), job["station_id"].as_str()),
        (Some("running"), Some("cut-1")),
        "a broken station keeps its job: {job}"
    );
    relay.restore();
    let done = cut_job(&admin, "cj-1-1-1", |j| j["state"] == "finished").await;
    assert_eq!(done["done"], 2, "{done}");
    assert_eq!(
        job_states(&done),
        ["queued", "sent", "accepted", "running", "finished"],
        "{done}"
    );
    assert_eq!(
        done["log"][4]["detail"], "finished",
        "finished by the replayed event: {done}"
    );
    order_status(&web, "W-NET-1", "picked").await;
    until_station(&admin, |v| v["connection"] == "online").await;
    // Every event konsign stored from the station, in the station's order, each once.
    let events = admin.get("/api/events?limit=1000").await.body;
    let seqs: Vec<u64> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "cut_station.event")
        .map(|e| e["payload"]["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "each event once, in order, none missing"
    );
    assert!(seqs.len() >= 3, "started, progress, finished: {seqs:?}");
    for _ in 0..100 {
        if outbox(state.path()).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(outbox(state.path()).is_empty());
    assert_eq!(machine.loads.load(std::sync::atomic::Ordering::Relaxed), 1);
    bridge.abort();
}

/// The bridge goes away (killed: its last will marks the station broken) with a job on the
/// machine and another waiting in its queue: konsign sends nothing more to it, takes neither
/// job away (unknown is not failed), and when the bridge is back every job is cut once, in
/// order. A job delivered to the bridge a second time is answered `duplicate` and not cut.
async fn a_station_going_offline_keeps_its_queued_jobs_and_loses_none(broker: Broker) {
    use firmware_bridge::machine::{Machine, MachineConfig};
    let Some(s) = setup(broker).await else { return };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    common::receive(&admin, "05708932000017", "PL1", &expiry, "A-02-1", 5).await;
    tote(&admin, "T-02", 901).await;
    tote(&admin, "T-03", 902).await;
    let r = admin.put_json("/api/cut-stations/cut-1", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let machine = Machine::start(MachineConfig {
        cut_ms: 600,
        ..Default::default()
    })
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let cfg = bridge_config(&s, &machine, state.path());
    let mut watch = connect(
        &s.broker,
        &format!("watch-{}", s.site),
        None,
        &[format!("konsign/v1/{}/cut-1/+", s.site)],
    )
    .await;
    let (_stop, bridge) = spawn_bridge(cfg.clone());
    until_station(&admin, |v| v["available"] == true).await;
    let web1 = picked_cut_order(&s, &admin, "W-OFF-1", "PL1", &expiry).await;
    cut_job(&admin, "cj-1-1-1", |j| j["state"] == "running").await;
    let web2 = picked_cut_order(&s, &admin, "W-OFF-2", "PL1", &expiry).await;
    cut_job(&admin, "cj-2-1-1", |j| j["state"] == "accepted").await;
    let first_job = watch
        .expect("/cut-1/job", |j| j["job_id"] == "cj-1-1-1")
        .await;

    bridge.abort();
    let _ = bridge.await;
    until_station(&admin, |v| {
        v["connection"] == "broken" && v["available"] == false
    })
    .await;
    let web3 = picked_cut_order(&s, &admin, "W-OFF-3", "PL1", &expiry).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let third = cut_job(&admin, "cj-3-1-1", |_| true).await;
    assert_eq!(
        (third["state"].as_str(), third["sends"].as_i64()),
        (Some("queued"), Some(0)),
        "nothing is sent to a station that is away: {third}"
    );
    for (id, want) in [("cj-1-1-1", "running"), ("cj-2-1-1", "accepted")] {
        let j = cut_job(&admin, id, |_| true).await;
        assert_eq!(
            (j["state"].as_str(), j["station_id"].as_str()),
            (Some(want), Some("cut-1")),
            "the station keeps its jobs while it is away: {j}"
        );
    }

    let (_stop2, bridge2) = spawn_bridge(cfg);
    for id in ["cj-1-1-1", "cj-2-1-1", "cj-3-1-1"] {
        let j = cut_job(&admin, id, |j| j["state"] == "finished").await;
        assert_eq!(
            job_states(&j).iter().filter(|s| *s == "finished").count(),
            1,
            "{j}"
        );
    }
    for (web, id) in [(&web1, "W-OFF-1"), (&web2, "W-OFF-2"), (&web3, "W-OFF-3")] {
        order_status(web, id, "picked").await;
    }
    assert_eq!(
        machine.loads.load(std::sync::atomic::Ordering::Relaxed),
        3,
        "each job loaded on the machine once"
    );

    // The first job's message delivered again (a broker's redelivery): answered as a
    // duplicate with what became of it, and not cut again.
    watch
        .publish(
            wire::topic(&s.site, "cut-1", Topic::Job),
            false,
            serde_json::to_vec(&first_job).unwrap(),
        )
        .await;
    let ack = watch
        .expect("/cut-1/ack", |a| {
            a["job_id"] == "cj-1-1-1" && a["result"] == "duplicate"
        })
        .await;
    assert_eq!(ack["job_state"], "finished", "{ack}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(machine.loads.load(std::sync::atomic::Ordering::Relaxed), 3);
    let j = cut_job(&admin, "cj-1-1-1", |_| true).await;
    assert_eq!(
        job_states(&j).iter().filter(|s| *s == "finished").count(),
        1,
        "{j}"
    );
    bridge2.abort();
    watch.task.abort();
}
