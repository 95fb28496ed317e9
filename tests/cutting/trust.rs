//! What konsign trusts of a station, and who may talk to its broker (issue 16, findings 6 and
//! 7): event numbers are judged by identity and boot (a bridge that lost its state is followed
//! from its new numbering; a forged, wrapped or conflicting number is dropped loudly and
//! cannot stop later events); refused messages are counted, and stored only up to a rate; the
//! embedded broker asks for a password when given a password file, a station only under its
//! own client id; and the Mosquitto ACL of the protocol document keeps a station to its topics.

use super::*;

mod embedded_trust {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bridge_that_lost_its_state_is_followed_from_its_new_numbering() {
        super::a_bridge_that_lost_its_state_is_followed(super::super::Broker::Embedded).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn forged_and_conflicting_numbers_are_dropped_and_later_events_count() {
        super::forged_numbers_are_dropped(super::super::Broker::Embedded).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_of_refused_messages_is_counted_not_stored() {
        super::a_flood_is_counted_not_stored(super::super::Broker::Embedded).await
    }
}

mod mosquitto_trust {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bridge_that_lost_its_state_is_followed_from_its_new_numbering() {
        super::a_bridge_that_lost_its_state_is_followed(super::super::Broker::Mosquitto).await
    }
}

/// A sample of `/metrics` (named without konsign's `konsign_` prefix).
fn metric(text: &str, name: &str) -> u64 {
    let name = format!("konsign_{name}");
    text.lines()
        .find(|l| l.starts_with(&name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn metrics(admin: &common::Client) -> String {
    let m = admin.get("/metrics").await;
    m.body
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| m.body.to_string())
}

async fn events_of(admin: &common::Client, kind: &str) -> Vec<Value> {
    let events = admin.get("/api/events?limit=1000").await;
    events
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == kind)
        .cloned()
        .collect()
}

/// A station event under `boot`, its message numbered `n`.
fn event_in(
    site: &str,
    boot: &str,
    n: u64,
    seq: u64,
    job: &Value,
    kind: wire::EventKind,
    done: u32,
) -> wire::Event {
    wire::Event {
        header: Header::new(site, "cut-1", boot, format!("m-{boot}-{n}"), n),
        seq,
        job_id: job["job_id"].as_str().unwrap().into(),
        revision: job["revision"].as_u64().unwrap() as u32,
        kind,
        done,
        quantity: job["quantity"].as_u64().unwrap() as u32,
        error: None,
    }
}

/// The bridge's state file is lost (a new disk, a wiped folder): it starts again under a new
/// boot with event number 1, below konsign's floor. Before, konsign dropped every event from
/// then on (at debug) and the job never finished; now it sees the numbering begin again,
/// says so loudly, asks about the station's jobs and follows the new numbers.
async fn a_bridge_that_lost_its_state_is_followed(broker: Broker) {
    let Some(s) = setup(broker).await else { return };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let mut st = station(&s, &admin).await;
    until_station(&admin, |v| v["available"] == true).await;
    picked_cut_order(&s, &admin, "W-LOST", "PL1", &expiry).await;
    let job = st.expect("/cut-1/job", |_| true).await;
    let job_id = job["job_id"].as_str().unwrap().to_string();
    answer(&st, &s.site, "cut-1", &job, wire::AckResult::Accepted, 1).await;
    cut_job(&admin, &job_id, |j| j["state"] == "accepted").await;
    let t = |x| wire::topic(&s.site, "cut-1", x);
    // The old numbering reaches 3 (events of earlier jobs, then this job's start).
    for (seq, kind) in [
        (1, wire::EventKind::Progress),
        (2, wire::EventKind::Progress),
        (3, wire::EventKind::Started),
    ] {
        let e = event_in(&s.site, "b-test", 10 + seq, seq, &job, kind, 0);
        st.publish(t(Topic::Event), false, wire::encode(&e)).await;
    }
    until_station(&admin, |v| v["last_event_seq"] == 3).await;
    cut_job(&admin, &job_id, |j| j["state"] == "running").await;
    // The bridge restarts with its state lost: new boot, its numbering from 0 again.
    let boot = "b-lost";
    let online = wire::Connection {
        header: Header::new(&s.site, "cut-1", boot, "m-b-lost-1".into(), 1),
        connection: wire::ConnectionState::Online,
    };
    st.publish(t(Topic::Connection), true, wire::encode(&online))
        .await;
    until_station(&admin, |v| v["boot_id"] == boot).await;
    let fresh = wire::State {
        header: Header::new(&s.site, "cut-1", boot, "m-b-lost-2".into(), 2),
        ..state(&s.site, wire::Mode::Idle, 2)
    };
    st.publish(t(Topic::State), true, wire::encode(&fresh))
        .await;
    // konsign follows the new numbering and asks about the job it thinks the station holds.
    until_station(&admin, |v| v["last_event_seq"] == 0).await;
    let again = st
        .expect("/cut-1/job", |v| v["job_id"] == job_id.as_str())
        .await;
    answer(&st, &s.site, "cut-1", &again, wire::AckResult::Accepted, 2).await;
    for (seq, kind, done) in [
        (1, wire::EventKind::Started, 0),
        (2, wire::EventKind::Finished, 2),
    ] {
        let e = event_in(&s.site, boot, 2 + seq, seq, &job, kind, done);
        st.publish(t(Topic::Event), false, wire::encode(&e)).await;
    }
    cut_job(&admin, &job_id, |j| j["state"] == "finished").await;
    until_station(&admin, |v| v["last_event_seq"] == 2).await;
    let restarts = events_of(&admin, "cut_station.seq_restarted").await;
    assert_eq!(restarts.len(), 1, "{restarts:?}");
    assert_eq!(restarts[0]["payload"]["old_floor"], 3, "{restarts:?}");
    assert_eq!(restarts[0]["payload"]["boot_id"], boot, "{restarts:?}");
    let text = metrics(&admin).await;
    assert_eq!(metric(&text, "mqtt_seq_restarts_total"), 1, "{text}");
    st.task.abort();
}

/// A forged or wrapped number far above every known one, and a second message under a number
/// konsign has: both dropped, stored and counted; the station's later events still count (a
/// forged high number used to become the floor once its gap was written off).
async fn forged_numbers_are_dropped(broker: Broker) {
    let Some(s) = setup(broker).await else { return };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let mut st = station(&s, &admin).await;
    until_station(&admin, |v| v["available"] == true).await;
    picked_cut_order(&s, &admin, "W-FORGED", "PL1", &expiry).await;
    let job = st.expect("/cut-1/job", |_| true).await;
    let job_id = job["job_id"].as_str().unwrap().to_string();
    answer(&st, &s.site, "cut-1", &job, wire::AckResult::Accepted, 1).await;
    cut_job(&admin, &job_id, |j| j["state"] == "accepted").await;
    let t = |x| wire::topic(&s.site, "cut-1", x);
    let send = |e: wire::Event| {
        let st = &st;
        let topic = t(Topic::Event);
        async move { st.publish(topic, false, wire::encode(&e)).await }
    };
    send(event_in(
        &s.site,
        "b-test",
        11,
        1,
        &job,
        wire::EventKind::Started,
        0,
    ))
    .await;
    cut_job(&admin, &job_id, |j| j["state"] == "running").await;
    // Number 1 again in another message: a conflict, dropped.
    send(event_in(
        &s.site,
        "b-test",
        12,
        1,
        &job,
        wire::EventKind::Finished,
        2,
    ))
    .await;
    // A wrapped number (2^64 - 1) and a forged one far above: dropped.
    send(event_in(
        &s.site,
        "b-test",
        13,
        u64::MAX,
        &job,
        wire::EventKind::Finished,
        2,
    ))
    .await;
    send(event_in(
        &s.site,
        "b-test",
        14,
        5_000_000,
        &job,
        wire::EventKind::Finished,
        2,
    ))
    .await;
    // A state that claims a number far above: refused (its number would open a gap to it).
    let mut claim = state(&s.site, wire::Mode::Busy, 15);
    claim.last_event_seq = 9_000_000;
    st.publish(t(Topic::State), true, wire::encode(&claim))
        .await;
    // Long enough for a gap to be written off, had one been opened.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let j = cut_job(&admin, &job_id, |_| true).await;
    assert_eq!(j["state"], "running", "nothing dropped was applied: {j}");
    let seen = until_station(&admin, |_| true).await;
    assert_eq!(seen["last_event_seq"], 1, "{seen}");
    assert_eq!(
        seen["mode"], "idle",
        "the refused state was not stored: {seen}"
    );
    // The genuine next event counts.
    send(event_in(
        &s.site,
        "b-test",
        16,
        2,
        &job,
        wire::EventKind::Finished,
        2,
    ))
    .await;
    cut_job(&admin, &job_id, |j| j["state"] == "finished").await;
    until_station(&admin, |v| v["last_event_seq"] == 2).await;
    let dropped = events_of(&admin, "cut_station.event_dropped").await;
    let reasons: Vec<&str> = dropped
        .iter()
        .map(|e| e["payload"]["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 3, "{dropped:?}");
    assert!(reasons.contains(&"conflict"), "{reasons:?}");
    assert_eq!(reasons.iter().filter(|r| **r == "too_far").count(), 2);
    let refused = events_of(&admin, "cut_station.message_refused").await;
    assert!(
        refused.iter().any(|e| e["payload"]["reason"]
            .as_str()
            .unwrap()
            .contains("last_event_seq 9000000")),
        "{refused:?}"
    );
    let text = metrics(&admin).await;
    assert_eq!(
        metric(&text, "mqtt_dropped_events_total{outcome=\"conflict\"}"),
        1,
        "{text}"
    );
    assert_eq!(
        metric(&text, "mqtt_dropped_events_total{outcome=\"too_far\"}"),
        2,
        "{text}"
    );
    assert_eq!(metric(&text, "mqtt_lost_events_total"), 0, "{text}");
    st.task.abort();
}

/// Anyone who can publish on the broker can send malformed messages as fast as it likes: each
/// is counted, but only a few a minute are stored and answered.
async fn a_flood_is_counted_not_stored(broker: Broker) {
    let Some(s) = setup(broker).await else { return };
    let admin = s.app.admin().await;
    let mut errors = connect(
        &s.broker,
        &format!("watch-{}", s.site),
        None,
        &[format!("konsign/v1/{}/_host/+/error", s.site)],
    )
    .await;
    let st = station(&s, &admin).await;
    until_station(&admin, |v| v["mode"] == "idle").await;
    let topic = wire::topic(&s.site, "cut-1", Topic::State);
    const N: u64 = 300;
    for _ in 0..N {
        st.publish(topic.clone(), false, b"{not json".to_vec())
            .await;
    }
    let mut text = String::new();
    for _ in 0..200 {
        text = metrics(&admin).await;
        if metric(&text, "mqtt_messages_total{outcome=\"refused\"}") >= N {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        metric(&text, "mqtt_messages_total{outcome=\"refused\"}"),
        N,
        "{text}"
    );
    let stored = events_of(&admin, "cut_station.message_refused").await.len() as u64;
    assert!((1..=30).contains(&stored), "stored {stored}");
    assert_eq!(
        metric(&text, "mqtt_refusals_unstored_total"),
        N - stored,
        "{text}"
    );
    let mut answered = 0;
    while tokio::time::timeout(Duration::from_millis(300), errors.rx.recv())
        .await
        .is_ok_and(|m| m.is_some())
    {
        answered += 1;
    }
    assert_eq!(answered, stored, "one answer per stored refusal");
    // konsign still listens.
    st.publish(
        topic,
        true,
        wire::encode(&state(&s.site, wire::Mode::Paused, 8)),
    )
    .await;
    until_station(&admin, |v| v["mode"] == "paused").await;
    st.task.abort();
    errors.task.abort();
}

/// Made with `mosquitto_passwd -c -b pw cut-1 secret1`.
const PASSWD_CUT_1: &str = "cut-1:$7$101$YaR5lsVdk0MGohaM$eif+DNxpenjcCvRDx/Ia9lamQAoSAB8UqqMqHT48wvGgRMWKRo1qqT9eve+OcaRh7gj0bG6XzoNPiPHVYjYUSw==\n";

/// Connects and says whether the broker let the client in.
async fn logs_in(broker: (&str, u16), client_id: &str, login: Option<(&str, &str)>) -> bool {
    let mut o = MqttOptions::new(client_id, broker.0, broker.1);
    o.set_keep_alive(Duration::from_secs(5));
    if let Some((u, p)) = login {
        o.set_credentials(u, p);
    }
    let (client, mut ev) = AsyncClient::new(o, 8);
    let r = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(a))) => {
                    return a.code == rumqttc::ConnectReturnCode::Success
                }
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .unwrap_or(false);
    let _ = client.disconnect().await;
    r
}

/// With a password file the embedded broker lets in only who logs in: a station as itself and
/// under its own client id (no one can take over its session or konsign's), konsign itself
/// with its own secret. And a listen beyond loopback without a password file is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_broker_asks_for_a_password_when_given_a_password_file() {
    let site = test_site();
    let dir = tempfile::tempdir().unwrap();
    let passwd = dir.path().join("konsign.passwd");
    std::fs::write(&passwd, PASSWD_CUT_1).unwrap();
    let db = common::database_url(common::Backend::Sqlite, dir.path())
        .await
        .unwrap();
    let port = free_port();
    let s2 = site.clone();
    let app = common::start_app(db, Some(dir), move |c| {
        c.mqtt.enabled = true;
        c.mqtt.url = None;
        c.mqtt.embedded_listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.mqtt.embedded_password_file = Some(passwd);
        c.mqtt.site = s2;
        c.mqtt.host_id = Some("h1".into());
    })
    .await;
    let admin = app.admin().await;
    let r = admin
        .put_json("/api/cut-stations/cut-1", json!({ "name": "Hulklip 1" }))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let b = ("127.0.0.1", port);
    let me = format!("station-{site}-cut-1");
    assert!(!logs_in(b, &me, None).await, "anonymous");
    assert!(
        !logs_in(b, &me, Some(("cut-1", "wrong"))).await,
        "wrong password"
    );
    assert!(
        !logs_in(
            b,
            &format!("station-{site}-cut-2"),
            Some(("cut-1", "secret1"))
        )
        .await,
        "another station's client id"
    );
    assert!(
        !logs_in(b, &format!("host-{site}-h1"), Some(("cut-1", "secret1"))).await,
        "konsign's client id"
    );
    // konsign itself is logged in: a station that logs in sees it online and is seen.
    let mut o = MqttOptions::new(me.clone(), "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(5));
    o.set_credentials("cut-1", "secret1");
    let (client, mut ev) = AsyncClient::new(o, 16);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let c = client.clone();
    let host_state = format!("konsign/v1/{site}/_host/+/state");
    let task = tokio::spawn(async move {
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    c.subscribe(host_state.clone(), QoS::AtLeastOnce)
                        .await
                        .unwrap();
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = tx.send(serde_json::from_slice::<Value>(&p.payload).unwrap());
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    let hello = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("konsign's state")
        .unwrap();
    assert_eq!(hello["online"], true, "{hello}");
    let online = wire::Connection {
        header: header(&site, "cut-1", 1),
        connection: wire::ConnectionState::Online,
    };
    client
        .publish(
            wire::topic(&site, "cut-1", Topic::Connection),
            QoS::AtLeastOnce,
            true,
            wire::encode(&online),
        )
        .await
        .unwrap();
    until_station(&admin, |v| v["connection"] == "online").await;
    task.abort();
    app.stop().await;

    // Beyond loopback without a password file: konsign does not start.
    let mut c = konsign::config::Config::default();
    c.mqtt.embedded_listen = "0.0.0.0:18830".parse().unwrap();
    let e = c.mqtt.validate().unwrap_err().to_string();
    assert!(e.contains("embedded_password_file"), "{e}");
    c.mqtt.embedded_listen = "127.0.0.1:18830".parse().unwrap();
    c.mqtt.validate().unwrap();
}

/// The ACL of `docs/devices/hulklip-mqtt.md` §1, on a private Mosquitto with a password file:
/// konsign logs in as `konsign`; station cut-2 may publish under its own topics but what it
/// publishes under cut-1's never reaches konsign.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_mosquitto_acl_keeps_a_station_to_its_own_topics() {
    let site = test_site();
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/devices/hulklip-mqtt.md"),
    )
    .unwrap();
    // The ACL block of §1, for this test's site.
    let start = doc.find("# konsign itself").expect("the ACL block");
    let end = start + doc[start..].find("```").unwrap();
    let acl = doc[start..end].replace("vejle", &site);
    let Some(broker) = PrivateBroker::start_with(|dir| {
        let pw = dir.join("pw");
        for (i, (u, p)) in [("konsign", "k-secret"), ("cut-1", "one"), ("cut-2", "two")]
            .iter()
            .enumerate()
        {
            let mut cmd = std::process::Command::new("mosquitto_passwd");
            if i == 0 {
                cmd.arg("-c");
            }
            let ok = cmd.arg("-b").arg(&pw).arg(u).arg(p).status().unwrap();
            assert!(ok.success());
        }
        std::fs::write(dir.join("acl"), &acl).unwrap();
        format!(
            "allow_anonymous false\npassword_file {}\nacl_file {}\n",
            pw.display(),
            dir.join("acl").display()
        )
    })
    .await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = common::database_url(common::Backend::Sqlite, dir.path())
        .await
        .unwrap();
    let port = broker.port;
    let s2 = site.clone();
    let app = common::start_app(db, Some(dir), move |c| {
        c.mqtt.enabled = true;
        c.mqtt.url = Some(format!("mqtt://127.0.0.1:{port}"));
        c.mqtt.username = Some("konsign".into());
        c.mqtt.password = Some("k-secret".into());
        c.mqtt.site = s2;
        c.mqtt.host_id = Some("h1".into());
    })
    .await;
    let admin = app.admin().await;
    for id in ["cut-1", "cut-2"] {
        let r = admin
            .put_json(&format!("/api/cut-stations/{id}"), json!({ "name": id }))
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    let b = ("127.0.0.1", port);
    assert!(!logs_in(b, &format!("station-{site}-cut-2"), None).await);
    let mut o = MqttOptions::new(format!("station-{site}-cut-2"), "127.0.0.1", port);
    o.set_credentials("cut-2", "two");
    let (client, mut ev) = AsyncClient::new(o, 16);
    let task = tokio::spawn(async move {
        loop {
            if ev.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let publish = |station: &str, mode: wire::Mode, n: u64| {
        let topic = wire::topic(&site, station, Topic::State);
        let payload = wire::encode(&wire::State {
            header: header(&site, station, n),
            ..state(&site, mode, n)
        });
        let client = client.clone();
        async move {
            client
                .publish(topic, QoS::AtLeastOnce, false, payload)
                .await
                .unwrap()
        }
    };
    // cut-2 pretends to be cut-1: Mosquitto drops it.
    publish("cut-1", wire::Mode::Fault, 1).await;
    // its own state goes through (and comes after the forged one).
    publish("cut-2", wire::Mode::Paused, 2).await;
    until_station_named(&admin, "cut-2", |v| v["mode"] == "paused").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let one = until_station_named(&admin, "cut-1", |_| true).await;
    assert!(one["mode"].is_null(), "cut-2 could publish as cut-1: {one}");
    task.abort();
    app.stop().await;
}
