//! A station's connection and its messages: coming online and its last will, messages refused
//! with a reason, konsign subscribing again after the broker restarts, and a state that
//! overtakes its event.

use super::*;

on_both_brokers!(
    a_station_comes_online_and_its_last_will_marks_it_broken,
    bad_messages_are_refused_with_a_reason_and_nothing_stops,
    a_state_that_overtakes_its_event_is_not_taken_for_lost_events,
);

async fn a_station_comes_online_and_its_last_will_marks_it_broken(broker: Broker) {
    let Some(s) = setup(broker).await else { return };
    let admin = s.app.admin().await;
    // konsign says it is online (retained, so a station that comes later sees it).
    let mut watcher = connect(
        &s.broker,
        &format!("watch-{}", s.site),
        None,
        &[format!("konsign/v1/{}/_host/+/state", s.site)],
    )
    .await;
    let hello = watcher
        .expect("/_host/h1/state", |v| v["online"] == true)
        .await;
    assert_eq!(hello["header"]["station"], "h1");
    let st = station(&s, &admin).await;
    let seen = until_station(&admin, |v| {
        v["connection"] == "online" && v["mode"] == "idle"
    })
    .await;
    assert_eq!(seen["factsheet"]["max_mm"], 70.0);
    assert_eq!(seen["factsheet"]["shapes"], json!(["round", "oval"]));
    assert_eq!(seen["available"], true);
    assert_eq!(seen["boot_id"], "b-test");
    let ctx = &s.app.ctx;
    let mut live = common::LiveCheck::start(ctx).await;
    // The station's process dies without a goodbye: the broker publishes its last will.
    st.task.abort();
    drop(st);
    until_station(&admin, |v| v["connection"] == "broken").await;
    // The live dashboard shows it red, from its connection's event.
    let u = live.step(ctx, "a station gone").await;
    assert!(
        u.changed.devices && u.changed != konsign::service::dashboard::Sections::ALL,
        "{:?}",
        u.types
    );
    let cut1 = u
        .live
        .devices
        .iter()
        .find(|d| d.kind == "cutter" && d.id == "cut-1");
    assert_eq!(
        cut1.map(|d| d.health),
        Some(konsign::service::dashboard::Health::Red)
    );
    let gone = until_station(&admin, |v| v["available"] == false).await;
    assert_eq!(gone["mode"], "idle", "the last state is kept");
    // konsign stopping says so (retained).
    s.app.stop().await;
    watcher
        .expect("/_host/h1/state", |v| v["online"] == false)
        .await;
    watcher.task.abort();
}

async fn bad_messages_are_refused_with_a_reason_and_nothing_stops(broker: Broker) {
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
    let t = |station: &str, topic: Topic| wire::topic(&s.site, station, topic);
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        (t("cut-1", Topic::State), b"{not json".to_vec(), "not a valid message"),
        (
            t("cut-9", Topic::State),
            wire::encode(&state(&s.site, wire::Mode::Idle, 4)),
            "unknown station cut-9",
        ),
        (
            t("cut-1", Topic::State),
            {
                let mut v = serde_json::to_value(state(&s.site, wire::Mode::Busy, 5)).unwrap();
                v["header"]["version"] = json!("2.0.0");
                serde_json::to_vec(&v).unwrap()
            },
            "is not supported",
        ),
        (
            t("cut-1", Topic::State),
            {
                let mut v = serde_json::to_value(state(&s.site, wire::Mode::Busy, 6)).unwrap();
                v["padding"] = json!("x".repeat(70_000));
                serde_json::to_vec(&v).unwrap()
            },
            "over the 65536-byte limit",
        ),
        (
            t("cut-1", Topic::State),
            wire::encode(&wire::State {
                header: header(&s.site, "cut-2", 7),
                ..state(&s.site, wire::Mode::Busy, 7)
            }),
            "the header says",
        ),
        (
            t("cut-1", Topic::State),
            br#"{"header":{"message_id":"m","counter":1,"timestamp":"2026-11-29T10:00:00.000Z","version":"1.0.0","site":"SITE","station":"cut-1","boot_id":"b"},"mode":"dancing"}"#
                .to_vec(),
            "not a valid message",
        ),
    ];
    for (topic, payload, reason) in cases {
        let payload = String::from_utf8_lossy(&payload)
            .replace("SITE", &s.site)
            .into_bytes();
        st.publish(topic.clone(), false, payload).await;
        eprintln!("case: {reason}");
        let e = errors
            .expect("/_host/h1/error", |v| v["topic"] == topic)
            .await;
        assert!(
            e["reason"].as_str().unwrap().contains(reason),
            "{reason}: {e}"
        );
    }
    // Nothing of it was stored: still idle.
    let now = until_station(&admin, |_| true).await;
    assert_eq!(now["mode"], "idle");
    // And konsign still listens: a good state goes through.
    st.publish(
        t("cut-1", Topic::State),
        true,
        wire::encode(&state(&s.site, wire::Mode::Paused, 8)),
    )
    .await;
    until_station(&admin, |v| v["mode"] == "paused").await;
    // An event delivered twice is handled once.
    let ev = wire::Event {
        header: header(&s.site, "cut-1", 9),
        seq: 1,
        job_id: "cj-000001".into(),
        revision: 1,
        kind: wire::EventKind::Progress,
        done: 1,
        quantity: 10,
        error: None,
    };
    st.publish(t("cut-1", Topic::Event), false, wire::encode(&ev))
        .await;
    st.publish(t("cut-1", Topic::Event), false, wire::encode(&ev))
        .await;
    until_station(&admin, |v| v["last_event_seq"] == 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = admin.get("/api/events?limit=1000").await;
    let handled = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "cut_station.event")
        .count();
    assert_eq!(handled, 1, "{:?}", events.body);
    let refused = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "cut_station.message_refused")
        .count();
    assert_eq!(refused, 6);
    let m = admin.get("/metrics").await;
    let text = m
        .body
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| m.body.to_string());
    assert!(
        text.contains("mqtt_messages_total{outcome=\"refused\"} 6"),
        "{text}"
    );
    st.task.abort();
    errors.task.abort();
}

/// konsign subscribes again after the broker restarts (a private Mosquitto, killed and started
/// again on the same port).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn konsign_subscribes_again_after_the_broker_restarts() {
    let Some(mut m) = PrivateBroker::start().await else {
        return;
    };
    let Some(s) = setup(Broker::Private(m.port)).await else {
        return;
    };
    let site = s.site.clone();
    let admin = s.app.admin().await;
    let st = station(&s, &admin).await;
    until_station(&admin, |v| v["mode"] == "idle").await;
    m.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A new broker knows nothing: no sessions, no subscriptions.
    m.up().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The station (reconnected by rumqttc) reports a new state: konsign must hear it.
    for _ in 0..40 {
        let _ = st
            .client
            .publish(
                wire::topic(&site, "cut-1", Topic::State),
                QoS::AtLeastOnce,
                true,
                wire::encode(&state(&site, wire::Mode::Busy, 10)),
            )
            .await;
        let r = admin.get("/api/cut-stations").await;
        if r.body[0]["mode"] == "busy" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    until_station(&admin, |v| v["mode"] == "busy").await;
    st.task.abort();
}

/// A station's `state` can arrive before an event it counts (the station sends events from its
/// outbox, one acknowledged publish at a time, and its state directly): konsign waits for the
/// event instead of asking about the job at once, so the failure keeps its reason and its
/// ruined plate is scrapped and picked again (asked at once, the station's `duplicate` answer
/// would have carried no reason).
async fn a_state_that_overtakes_its_event_is_not_taken_for_lost_events(broker: Broker) {
    let Some(s) = setup(broker).await else { return };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let mut st = station(&s, &admin).await;
    until_station(&admin, |v| v["available"] == true).await;
    picked_cut_order(&s, &admin, "W-RACE", "PL1", &expiry).await;
    let job = st.expect("/cut-1/job", |_| true).await;
    let job_id = job["job_id"].as_str().unwrap().to_string();
    answer(&st, &s.site, "cut-1", &job, wire::AckResult::Accepted, 1).await;
    cut_job(&admin, &job_id, |j| j["state"] == "accepted").await;
    let ev = |seq: u64, kind: wire::EventKind, error: Option<wire::ErrorInfo>| wire::Event {
        header: header(&s.site, "cut-1", 300 + seq),
        seq,
        job_id: job_id.clone(),
        revision: 1,
        kind,
        done: 0,
        quantity: 2,
        error,
    };
    let t = |x| wire::topic(&s.site, "cut-1", x);
    st.publish(
        t(Topic::Event),
        false,
        wire::encode(&ev(1, wire::EventKind::Started, None)),
    )
    .await;
    cut_job(&admin, &job_id, |j| j["state"] == "running").await;
    // The state counts two events and lists no job; the failure (event 2) comes 500 ms later.
    let mut ahead = state(&s.site, wire::Mode::Fault, 310);
    ahead.last_event_seq = 2;
    st.publish(t(Topic::State), true, wire::encode(&ahead))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let failed = ev(
        2,
        wire::EventKind::Failed,
        Some(wire::ErrorInfo {
            level: wire::Level::Urgent,
            code: "plate_damaged".into(),
            message: "the plate tore".into(),
        }),
    );
    st.publish(t(Topic::Event), false, wire::encode(&failed))
        .await;
    let j = cut_job(&admin, &job_id, |j| j["state"] == "failed").await;
    assert!(
        j["reason"].as_str().unwrap().contains("plate_damaged"),
        "the failure keeps its reason: {j}"
    );
    assert_eq!(j["replacements"].as_array().unwrap().len(), 1, "{j}");
    // Nothing was sent to the station again about the job.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    while let Ok((topic, v)) = st.rx.try_recv() {
        assert!(
            !(topic.ends_with("/job") && v["job_id"] == job_id.as_str()),
            "the job was sent again: {v}"
        );
    }
    st.task.abort();
}
