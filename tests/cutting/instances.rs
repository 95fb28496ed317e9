//! Two konsign instances on one PostgreSQL database and one Mosquitto: every job dispatched,
//! loaded and finished once.

use super::*;

/// Two konsign instances (hosts h1 and h2) on the test PostgreSQL database and Mosquitto, under
/// one site: the first as the setup, the second beside it.
async fn two_instances() -> Option<(Setup, common::TestApp)> {
    let mqtt = mosquitto_url()?;
    let db = common::postgres_url().await?;
    let site = test_site();
    let start = |host: &'static str| {
        let (db, mqtt, site) = (db.clone(), mqtt.clone(), site.clone());
        async move {
            common::start_app(db, None, move |c| {
                c.mqtt.enabled = true;
                c.mqtt.url = Some(mqtt);
                c.mqtt.site = site;
                c.mqtt.host_id = Some(host.into());
                c.picking.require_location_scan = false;
            })
            .await
        }
    };
    let a = start("h1").await;
    let b = start("h2").await;
    let s = Setup {
        broker: a.ctx.config.mqtt.broker().unwrap(),
        site,
        app: a,
    };
    Some((s, b))
}

/// Two konsign instances on one PostgreSQL database and one Mosquitto dispatch at the same
/// time: every job is sent once, to one station, and finished once; none is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_never_dispatch_a_job_twice() {
    let Some((s, b)) = two_instances().await else {
        return;
    };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let st = station_named(&s, &admin, "cut-1", json!({})).await;
    until_station(&admin, |v| v["available"] == true).await;
    let web = picked_cut_order(&s, &admin, "W-TWO-1", "PL1", &expiry).await;
    // 29 more jobs of the same line, straight into the queue.
    let first = cut_job(&admin, "cj-1-1-1", |_| true).await;
    bulk_jobs(&s, &first, &expiry, 2..=30).await;
    // The station: takes each job once, answers a copy as a duplicate, finishes at once.
    let Client {
        client,
        mut rx,
        task,
    } = st;
    let station_site = s.site.clone();
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = received.clone();
    let worker = tokio::spawn(async move {
        let mut done = std::collections::HashSet::new();
        let mut seq = 0u64;
        while let Some((topic, job)) = rx.recv().await {
            if !topic.ends_with("/job") {
                continue;
            }
            let id = job["job_id"].as_str().unwrap().to_string();
            seen.lock().unwrap().push(id.clone());
            let dup = !done.insert(id.clone());
            seq += 1;
            let ack = wire::Ack {
                header: header(&station_site, "cut-1", 1000 + seq),
                ref_message_id: job["header"]["message_id"].as_str().unwrap().into(),
                job_id: Some(id.clone()),
                revision: Some(1),
                cmd_id: None,
                result: if dup {
                    wire::AckResult::Duplicate
                } else {
                    wire::AckResult::Accepted
                },
                job_state: dup.then_some(wire::JobState::Finished),
                done: None,
                reason: None,
            };
            let t = |x| wire::topic(&station_site, "cut-1", x);
            client
                .publish(t(Topic::Ack), QoS::AtLeastOnce, false, wire::encode(&ack))
                .await
                .unwrap();
            if !dup {
                let ev = wire::Event {
                    header: header(&station_site, "cut-1", 2000 + seq),
                    seq,
                    job_id: id,
                    revision: 1,
                    kind: wire::EventKind::Finished,
                    done: job["quantity"].as_u64().unwrap() as u32,
                    quantity: job["quantity"].as_u64().unwrap() as u32,
                    error: None,
                };
                client
                    .publish(t(Topic::Event), QoS::AtLeastOnce, false, wire::encode(&ev))
                    .await
                    .unwrap();
            }
        }
    });
    // Every job finished; each was sent once, to cut-1.
    let mut finished = 0;
    for _ in 0..400 {
        let jobs = admin.get("/api/cut-jobs").await.body;
        finished = jobs
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["state"] == "finished")
            .count();
        if finished == 30 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(finished, 30);
    for n in std::iter::once("cj-1-1-1".to_string()).chain((2..=30).map(|n| format!("cj-bulk-{n}")))
    {
        let j = cut_job(&admin, &n, |_| true).await;
        let sends: Vec<&Value> = j["log"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["state"] == "sent")
            .collect();
        assert_eq!(sends.len(), 1, "{n} dispatched once: {j}");
        assert_eq!(j["station_id"], "cut-1");
    }
    let got = received.lock().unwrap().clone();
    let distinct: std::collections::HashSet<&String> = got.iter().collect();
    assert_eq!(distinct.len(), 30, "{got:?}");
    // Both instances heard the answers; the order moved on once.
    for _ in 0..100 {
        if web.get("/api/orders/W-TWO-1/status").await.body["status"] == "picked" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        web.get("/api/orders/W-TWO-1/status").await.body["status"],
        "picked"
    );
    let events = admin.get("/api/events?limit=1000").await.body;
    let cut = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "order.cut")
        .count();
    assert_eq!(cut, 1, "the order moved on once");
    worker.abort();
    task.abort();
    b.stop().await;
}

/// Two konsign instances on one PostgreSQL database and one Mosquitto, and two stations, each a
/// `konsign-bridge` with its simulated machine: 20 jobs are dispatched by both instances at
/// once, and every job is sent once, loaded on one machine once and finished once; the order
/// moves on once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_and_two_bridges_cut_every_job_once() {
    use firmware_bridge::machine::{Machine, MachineConfig};
    let Some((s, b)) = two_instances().await else {
        return;
    };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let mut machines = vec![];
    let mut bridges = vec![];
    let mut dirs = vec![];
    for station in ["cut-1", "cut-2"] {
        let r = admin
            .put_json(&format!("/api/cut-stations/{station}"), json!({}))
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let m = Machine::start(MachineConfig {
            cut_ms: 30,
            ..Default::default()
        })
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cfg = firmware_bridge::bridge::Config {
            station: station.into(),
            ..bridge_config(&s, &m, dir.path())
        };
        bridges.push(spawn_bridge(cfg));
        machines.push(m);
        dirs.push(dir);
    }
    until_station_named(&admin, "cut-1", |v| v["available"] == true).await;
    until_station_named(&admin, "cut-2", |v| v["available"] == true).await;
    let web = picked_cut_order(&s, &admin, "W-TWB-1", "PL1", &expiry).await;
    let first = cut_job(&admin, "cj-1-1-1", |_| true).await;
    bulk_jobs(&s, &first, &expiry, 2..=20).await;
    b.ctx.cutting.wake.notify_one();
    let ids: Vec<String> = std::iter::once("cj-1-1-1".to_string())
        .chain((2..=20).map(|n| format!("cj-bulk-{n}")))
        .collect();
    let mut by_station = std::collections::BTreeMap::<String, usize>::new();
    for id in &ids {
        let j = cut_job(&admin, id, |j| j["state"] == "finished").await;
        let states = job_states(&j);
        assert_eq!(
            states.iter().filter(|s| *s == "sent").count(),
            1,
            "{id} sent once: {j}"
        );
        assert_eq!(
            states.iter().filter(|s| *s == "finished").count(),
            1,
            "{id} finished once: {j}"
        );
        *by_station
            .entry(j["station_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let loads: u32 = machines
        .iter()
        .map(|m| m.loads.load(std::sync::atomic::Ordering::Relaxed))
        .sum();
    assert_eq!(loads, 20, "each job loaded on one machine once");
    assert_eq!(by_station.len(), 2, "both stations worked: {by_station:?}");
    order_status(&web, "W-TWB-1", "picked").await;
    let events = admin.get("/api/events?limit=1000").await.body;
    let cut = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "order.cut")
        .count();
    assert_eq!(cut, 1, "the order moved on once");
    for (_, t) in &bridges {
        t.abort();
    }
    b.stop().await;
}
