//! `konsign-bridge` with a simulated machine: a cut that survives a bridge restart, a job
//! requeued while it waits at the bridge, a paused station, and a lost serial port.

use super::*;

on_both_brokers!(
    konsign_bridge_and_a_simulated_machine_cut_an_order_and_survive_a_bridge_restart,
    a_lead_requeues_a_job_waiting_at_the_bridge_and_it_is_cut_once,
    a_paused_station_finishes_its_job_and_takes_no_next_one_until_resumed,
);

/// konsign + broker + `konsign-bridge` + the simulated machine on a pseudo-terminal: a picked
/// order is cut and moves on to packing; the bridge killed mid-job and started again finishes
/// the job without cutting it twice.
async fn konsign_bridge_and_a_simulated_machine_cut_an_order_and_survive_a_bridge_restart(
    broker: Broker,
) {
    use firmware_bridge::machine::{Machine, MachineConfig};
    let Some(s) = setup(broker).await else { return };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let r = admin
        .put_json("/api/cut-stations/cut-1", json!({ "name": "Hulklip 1" }))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let machine = Machine::start(MachineConfig {
        cut_ms: 150,
        ..Default::default()
    })
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let cfg = bridge_config(&s, &machine, state.path());
    // Everything the bridge says is checked against the protocol's schemas at the end.
    let mut watch = connect(
        &s.broker,
        &format!("watch-{}", s.site),
        None,
        &[format!("konsign/v1/{}/cut-1/+", s.site)],
    )
    .await;
    let (_stop, bridge) = spawn_bridge(cfg.clone());
    until_station(&admin, |v| v["available"] == true).await;

    let web = picked_cut_order(&s, &admin, "W-BR-1", "PL1", &expiry).await;
    for _ in 0..200 {
        if web.get("/api/orders/W-BR-1/status").await.body["status"] == "picked" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        web.get("/api/orders/W-BR-1/status").await.body["status"],
        "picked"
    );
    let job = cut_job(&admin, "cj-1-1-1", |j| j["state"] == "finished").await;
    let states: Vec<&str> = job["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["queued", "sent", "accepted", "running", "finished"],
        "{job}"
    );
    assert_eq!(machine.loads.load(std::sync::atomic::Ordering::Relaxed), 1);

    // The second order: the bridge is killed while the machine cuts, then started again.
    tote(&admin, "T-02", 901).await;
    picked_cut_order(&s, &admin, "W-BR-2", "PL1", &expiry).await;
    let second = "cj-2-1-1";
    cut_job(&admin, second, |j| j["state"] == "running").await;
    bridge.abort();
    let _ = bridge.await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (_stop2, bridge2) = spawn_bridge(cfg);
    cut_job(&admin, second, |j| j["state"] == "finished").await;
    assert_eq!(
        machine.loads.load(std::sync::atomic::Ordering::Relaxed),
        2,
        "each job loaded on the machine once"
    );
    for _ in 0..100 {
        if web.get("/api/orders/W-BR-2/status").await.body["status"] == "picked" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        web.get("/api/orders/W-BR-2/status").await.body["status"],
        "picked"
    );
    bridge2.abort();
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    while let Ok((topic, msg)) = watch.rx.try_recv() {
        let kind = topic.rsplit('/').next().unwrap().to_string();
        if kind == "job" || kind == "cmd" {
            continue;
        }
        let errors: Vec<String> = schema_validator(&kind)
            .iter_errors(&msg)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{kind}: {errors:?}: {msg}");
        *seen.entry(kind).or_default() += 1;
    }
    for kind in ["ack", "event", "state", "connection", "factsheet"] {
        assert!(
            seen.get(kind).is_some_and(|n| *n > 0),
            "no {kind} from the bridge: {seen:?}"
        );
    }
    watch.task.abort();
}

/// A lead puts back a job that waits in the bridge's queue: konsign tells the bridge to cancel
/// it, the new revision comes back to the same station (the only one), and it is cut once.
async fn a_lead_requeues_a_job_waiting_at_the_bridge_and_it_is_cut_once(broker: Broker) {
    use firmware_bridge::machine::{Machine, MachineConfig};
    let Some(s) = setup(broker).await else { return };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    tote(&admin, "T-02", 901).await;
    let r = admin.put_json("/api/cut-stations/cut-1", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // The first job takes long enough (2 plates of 2 s) that the second is still waiting at
    // the bridge when the lead's recall arrives, even on a busy machine.
    let machine = Machine::start(MachineConfig {
        cut_ms: 2000,
        ..Default::default()
    })
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let (_stop, bridge) = spawn_bridge(bridge_config(&s, &machine, state.path()));
    until_station(&admin, |v| v["available"] == true).await;
    picked_cut_order(&s, &admin, "W-RQ-1", "PL1", &expiry).await;
    cut_job(&admin, "cj-1-1-1", |j| j["state"] == "running").await;
    picked_cut_order(&s, &admin, "W-RQ-2", "PL1", &expiry).await;
    // The second waits at the bridge behind the first.
    cut_job(&admin, "cj-2-1-1", |j| j["state"] == "accepted").await;
    let lead = s.app.user("lea", konsign::domain::auth::Role::Lead).await;
    let r = lead
        .post(
            "/api/cut-jobs/cj-2-1-1/requeue",
            json!({ "reason": "new cut spec from the nurse" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let done = cut_job(&admin, "cj-2-1-1", |j| j["state"] == "finished").await;
    assert_eq!(done["revision"], 2);
    cut_job(&admin, "cj-1-1-1", |j| j["state"] == "finished").await;
    assert_eq!(
        machine.loads.load(std::sync::atomic::Ordering::Relaxed),
        2,
        "the first job, and the second once (its first revision never reached the machine)"
    );
    bridge.abort();
}

/// A lead pauses the station (a blade change): the bridge finishes the job on the machine and
/// loads no next one, reports `paused`, and konsign sends it nothing new; on `resume` the
/// waiting jobs are cut, each once.
async fn a_paused_station_finishes_its_job_and_takes_no_next_one_until_resumed(broker: Broker) {
    use firmware_bridge::machine::{Machine, MachineConfig};
    let Some(s) = setup(broker).await else { return };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    tote(&admin, "T-02", 901).await;
    let r = admin.put_json("/api/cut-stations/cut-1", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let machine = Machine::start(MachineConfig {
        cut_ms: 300,
        ..Default::default()
    })
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let (_stop, bridge) = spawn_bridge(bridge_config(&s, &machine, state.path()));
    let mut watch = connect(
        &s.broker,
        &format!("watch-{}", s.site),
        None,
        &[wire::topic(&s.site, "cut-1", Topic::Cmd)],
    )
    .await;
    until_station(&admin, |v| v["available"] == true).await;
    let lead = s.app.user("lea", konsign::domain::auth::Role::Lead).await;
    let r = lead
        .post(
            "/api/cut-stations/cut-9/command",
            json!({ "command": "pause" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    let r = lead
        .post(
            "/api/cut-stations/cut-1/command",
            json!({ "command": "nap" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("unknown variant `nap`"),
        "{:?}",
        r.body
    );

    picked_cut_order(&s, &admin, "W-PAU-1", "PL1", &expiry).await;
    cut_job(&admin, "cj-1-1-1", |j| j["state"] == "running").await;
    let r = lead
        .post(
            "/api/cut-stations/cut-1/command",
            json!({ "command": "pause" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    // The job on the machine finishes; then the station is paused and not available.
    cut_job(&admin, "cj-1-1-1", |j| j["state"] == "finished").await;
    until_station(&admin, |v| v["mode"] == "paused" && v["available"] == false).await;
    picked_cut_order(&s, &admin, "W-PAU-2", "PL1", &expiry).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        cut_job(&admin, "cj-2-1-1", |_| true).await["state"],
        "queued",
        "nothing is sent to a paused station"
    );
    assert_eq!(machine.loads.load(std::sync::atomic::Ordering::Relaxed), 1);
    let r = lead
        .post(
            "/api/cut-stations/cut-1/command",
            json!({ "command": "resume" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    cut_job(&admin, "cj-2-1-1", |j| j["state"] == "finished").await;
    assert_eq!(machine.loads.load(std::sync::atomic::Ordering::Relaxed), 2);
    let audit = admin.get("/api/audit?limit=100").await.body.to_string();
    assert!(audit.contains("cut_station.command"), "{audit}");
    // konsign's commands as they went over the wire: valid by the protocol's schema.
    for want in ["pause", "resume"] {
        let cmd = watch.expect("/cut-1/cmd", |c| c["command"] == want).await;
        let errors: Vec<String> = schema_validator("cmd")
            .iter_errors(&cmd)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}: {cmd}");
    }
    watch.task.abort();
    bridge.abort();
}

/// The machine's serial port disappears (a USB cable pulled) and comes back: `konsign-bridge`
/// keeps its MQTT side and its jobs, opens the port again, and the next job is cut on the
/// machine that is back; the job that was waiting is cut once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_waits_for_a_lost_serial_port_and_carries_on() {
    use firmware_bridge::machine::{Machine, MachineConfig};
    let Some(s) = setup(Broker::Embedded).await else {
        return;
    };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    tote(&admin, "T-02", 901).await;
    let r = admin.put_json("/api/cut-stations/cut-1", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let dir = tempfile::tempdir().unwrap();
    // The bridge opens the port by a stable name (as udev gives a USB adapter).
    let link = dir.path().join("ttyHULKLIP");
    let first = Machine::start(MachineConfig {
        cut_ms: 30,
        ..Default::default()
    })
    .unwrap();
    std::os::unix::fs::symlink(&first.path, &link).unwrap();
    let cfg = firmware_bridge::bridge::Config {
        serial: link.clone(),
        ..bridge_config(&s, &first, &dir.path().join("state"))
    };
    let (stop, bridge) = spawn_bridge(cfg);
    until_station(&admin, |v| v["available"] == true).await;
    let web = picked_cut_order(&s, &admin, "W-SER-1", "PL1", &expiry).await;
    cut_job(&admin, "cj-1-1-1", |j| j["state"] == "finished").await;
    assert_eq!(first.loads.load(std::sync::atomic::Ordering::Relaxed), 1);
    // The port goes away.
    std::fs::remove_file(&link).unwrap();
    drop(first);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!bridge.is_finished(), "the bridge waits for its port");
    picked_cut_order(&s, &admin, "W-SER-2", "PL1", &expiry).await;
    cut_job(&admin, "cj-2-1-1", |j| j["state"] == "accepted").await;
    // The port is back (another pseudo-terminal under the same name).
    let second = Machine::start(MachineConfig {
        cut_ms: 30,
        ..Default::default()
    })
    .unwrap();
    std::os::unix::fs::symlink(&second.path, &link).unwrap();
    cut_job(&admin, "cj-2-1-1", |j| j["state"] == "finished").await;
    assert_eq!(
        second.loads.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "cut once"
    );
    order_status(&web, "W-SER-2", "picked").await;
    let _ = stop.send(true);
    let _ = bridge.await;
}
