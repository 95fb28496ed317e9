//! Cutting stations over MQTT against real brokers: konsign's embedded broker, and Mosquitto
//! (`TEST_MQTT_URL`, for example mqtt://127.0.0.1:1883, as `.ci/run` sets it; skipped with a
//! printed reason when unset, unless `TEST_REQUIRE_SERVICES=1`). A test station is a real MQTT
//! client speaking the protocol (`firmware_bridge::wire`). Each test runs under its own site, so
//! retained messages of other tests never meet it.

mod common;
#[path = "cutting/conformance.rs"]
mod conformance;
#[path = "cutting/soak.rs"]
mod soak;
#[path = "cutting/trust.rs"]
mod trust;

use firmware_bridge::wire::{self, Header, Topic};
use reqwest::StatusCode;
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
enum Broker {
    Embedded,
    Mosquitto,
    /// A private Mosquitto on this port (see `PrivateBroker`).
    Private(u16),
}

macro_rules! on_both_brokers {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(super::Broker::Embedded).await } )*
        }
        mod mosquitto {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(super::Broker::Mosquitto).await } )*
        }
    };
}

on_both_brokers!(
    a_station_comes_online_and_its_last_will_marks_it_broken,
    bad_messages_are_refused_with_a_reason_and_nothing_stops,
    a_picked_order_is_cut_and_moves_on_to_packing_with_its_sticker,
    a_rejected_job_moves_on_and_a_broken_station_keeps_its_running_job,
    konsign_bridge_and_a_simulated_machine_cut_an_order_and_survive_a_bridge_restart,
    a_lead_requeues_a_job_waiting_at_the_bridge_and_it_is_cut_once,
    a_ruined_plate_is_scrapped_picked_again_and_cut,
    an_operator_fault_sends_the_uncut_plates_back_and_the_ruined_one_to_be_picked,
    a_paused_station_finishes_its_job_and_takes_no_next_one_until_resumed,
    a_replacement_without_stock_waits_for_a_lead_to_try_again,
    a_station_going_offline_keeps_its_queued_jobs_and_loses_none,
    a_station_cut_off_from_the_broker_replays_its_outbox_in_order,
    a_state_that_overtakes_its_event_is_not_taken_for_lost_events,
);

fn free_port() -> u16 {
    common::listen_port()
}

fn mosquitto_url() -> Option<String> {
    match std::env::var("TEST_MQTT_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                !std::env::var("TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1"),
                "TEST_REQUIRE_SERVICES=1 but TEST_MQTT_URL is not set"
            );
            eprintln!(
                "skipped: the Mosquitto test needs TEST_MQTT_URL (e.g. mqtt://127.0.0.1:1883)"
            );
            None
        }
    }
}

struct Setup {
    app: common::TestApp,
    site: String,
    broker: (String, u16),
}

async fn setup(broker: Broker) -> Option<Setup> {
    setup_on(broker, common::Backend::Sqlite).await
}

async fn setup_on(broker: Broker, backend: common::Backend) -> Option<Setup> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("TEST_LOG").unwrap_or_else(|_| "off".into()))
        .with_test_writer()
        .try_init();
    let site = test_site();
    let url = match broker {
        Broker::Embedded => None,
        Broker::Mosquitto => Some(mosquitto_url()?),
        Broker::Private(port) => Some(format!("mqtt://127.0.0.1:{port}")),
    };
    let dir = tempfile::tempdir().unwrap();
    let db = common::database_url(backend, dir.path()).await?;
    let port = free_port();
    let s = site.clone();
    let app = common::start_app(db, Some(dir), move |c| {
        c.mqtt.enabled = true;
        c.mqtt.url = url;
        c.mqtt.embedded_listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.mqtt.site = s;
        c.mqtt.host_id = Some("h1".into());
        c.picking.require_location_scan = false;
        c.printing.hold_poll_ms = 100;
        c.printing.idle_poll_ms = 300;
    })
    .await;
    let broker = app.ctx.config.mqtt.broker().unwrap();
    Some(Setup { app, site, broker })
}

/// A test station (or observer): a real MQTT client; what it receives arrives on the channel.
struct Client {
    client: AsyncClient,
    rx: tokio::sync::mpsc::UnboundedReceiver<(String, Value)>,
    task: tokio::task::JoinHandle<()>,
}

async fn connect(
    broker: &(String, u16),
    id: &str,
    will: Option<(String, Vec<u8>)>,
    subscribe: &[String],
) -> Client {
    let mut o = MqttOptions::new(id, broker.0.clone(), broker.1);
    o.set_keep_alive(Duration::from_secs(5));
    o.set_max_packet_size(1024 * 1024, 1024 * 1024);
    if let Some((t, p)) = will {
        o.set_last_will(LastWill::new(t, p, QoS::AtLeastOnce, true));
    }
    let (client, mut ev) = AsyncClient::new(o, 64);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let mut ready = Some(ready_tx);
    let subs: Vec<String> = subscribe.to_vec();
    let c = client.clone();
    let task = tokio::spawn(async move {
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    for s in &subs {
                        c.subscribe(s.clone(), QoS::AtLeastOnce).await.unwrap();
                    }
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let v = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                    let _ = tx.send((p.topic.clone(), v));
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), ready_rx)
        .await
        .expect("connected to the broker")
        .unwrap();
    // Let the subscriptions settle.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Client { client, rx, task }
}

impl Client {
    /// Waits (up to 10 s) for a message on a topic ending in `suffix` that satisfies `f`.
    async fn expect(&mut self, suffix: &str, f: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some((t, v))) if t.ends_with(suffix) && f(&v) => return v,
                Ok(Some(_)) => continue,
                _ => panic!("no message on *{suffix} as expected"),
            }
        }
    }

    async fn publish(&self, topic: String, retain: bool, payload: Vec<u8>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .await
            .unwrap();
    }
}

fn header(site: &str, station: &str, n: u64) -> Header {
    Header::new(site, station, "b-test", format!("m-{n}"), n)
}

fn factsheet(site: &str) -> wire::Factsheet {
    wire::Factsheet {
        header: header(site, "cut-1", 2),
        shapes: vec![wire::ShapeKind::Round, wire::ShapeKind::Oval],
        min_mm: 10.0,
        max_mm: 70.0,
        tolerance_mm: 0.5,
        queue_limit: 3,
        versions: wire::Versions {
            protocol: wire::PROTOCOL_VERSION.into(),
            bridge: None,
            firmware: Some("test".into()),
        },
    }
}

fn state(site: &str, mode: wire::Mode, n: u64) -> wire::State {
    wire::State {
        header: header(site, "cut-1", n),
        mode,
        current_job: None,
        queue: vec![],
        queue_limit: 3,
        last_event_seq: 0,
        errors: vec![],
    }
}

async fn station(s: &Setup, admin: &common::Client) -> Client {
    station_with(s, admin, json!({ "name": "Hulklip 1" })).await
}

async fn station_with(s: &Setup, admin: &common::Client, body: Value) -> Client {
    station_named(s, admin, "cut-1", body).await
}

async fn station_named(s: &Setup, admin: &common::Client, id: &str, body: Value) -> Client {
    let r = admin
        .put_json(&format!("/api/cut-stations/{id}"), body)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let will = wire::Connection {
        header: header(&s.site, id, 0),
        connection: wire::ConnectionState::Broken,
    };
    let c = connect(
        &s.broker,
        &format!("station-{}-{id}", s.site),
        Some((
            wire::topic(&s.site, id, Topic::Connection),
            wire::encode(&will),
        )),
        &[
            wire::topic(&s.site, id, Topic::Job),
            wire::topic(&s.site, id, Topic::Cmd),
        ],
    )
    .await;
    let online = wire::Connection {
        header: header(&s.site, id, 1),
        connection: wire::ConnectionState::Online,
    };
    c.publish(
        wire::topic(&s.site, id, Topic::Connection),
        true,
        wire::encode(&online),
    )
    .await;
    c.publish(
        wire::topic(&s.site, id, Topic::Factsheet),
        true,
        wire::encode(&wire::Factsheet {
            header: header(&s.site, id, 2),
            ..factsheet(&s.site)
        }),
    )
    .await;
    c.publish(
        wire::topic(&s.site, id, Topic::State),
        true,
        wire::encode(&wire::State {
            header: header(&s.site, id, 3),
            ..state(&s.site, wire::Mode::Idle, 3)
        }),
    )
    .await;
    c
}

async fn until_station(c: &common::Client, f: impl Fn(&Value) -> bool) -> Value {
    until_station_named(c, "cut-1", f).await
}

async fn until_station_named(c: &common::Client, id: &str, f: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let r = c.get("/api/cut-stations").await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        if let Some(s) = r.body.as_array().unwrap().iter().find(|s| s["id"] == id) {
            if f(s) {
                return s.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{id} never as expected: {:?}",
        c.get("/api/cut-stations").await.body
    );
}

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

/// A private Mosquitto on its own port (no persistence: a restart forgets every session and
/// subscription), to be killed and started again mid-test; killed when dropped.
struct PrivateBroker {
    port: u16,
    conf: std::path::PathBuf,
    child: Option<std::process::Child>,
    _dir: tempfile::TempDir,
}

impl PrivateBroker {
    /// Starts one, or returns None (with a printed reason) when the mosquitto binary is missing.
    async fn start() -> Option<Self> {
        Self::start_with(|_| "allow_anonymous true\n".into()).await
    }

    /// Starts one whose configuration (after its listener) is what `conf` writes, given a
    /// folder for the files it names.
    async fn start_with(conf: impl FnOnce(&std::path::Path) -> String) -> Option<Self> {
        if std::process::Command::new("mosquitto")
            .arg("-h")
            .output()
            .is_err()
        {
            assert!(
                !std::env::var("TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1"),
                "the broker restart tests need the mosquitto binary"
            );
            eprintln!("skipped: the broker restart tests need the mosquitto binary");
            return None;
        }
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let extra = conf(dir.path());
        let conf = dir.path().join("m.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nset_tcp_nodelay true\npersistence false\n{extra}"),
        )
        .unwrap();
        let mut b = Self {
            port,
            conf,
            child: None,
            _dir: dir,
        };
        b.up().await;
        Some(b)
    }

    async fn up(&mut self) {
        self.child = Some(
            std::process::Command::new("mosquitto")
                .arg("-c")
                .arg(&self.conf)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the private mosquitto never listened on {}", self.port);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.kill();
    }
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

fn schema_validator(name: &str) -> jsonschema::Validator {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/devices/schemas");
    let load = |n: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{n}.json")).unwrap()).unwrap()
    };
    jsonschema::options()
        .with_resource(
            "https://konsign.example/schemas/hulklip/v1/header.json",
            jsonschema::Resource::from_contents(load("header")).unwrap(),
        )
        .build(&load(name))
        .unwrap()
}

async fn a_picked_order_is_cut_and_moves_on_to_packing_with_its_sticker(broker: Broker) {
    cut_then_pack(broker, common::Backend::Sqlite).await
}

/// The same on PostgreSQL, the cut box then packed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picked_order_is_cut_and_packed_with_its_cut_box_on_postgres() {
    cut_then_pack(Broker::Mosquitto, common::Backend::Postgres).await
}

/// A picked order is cut by a station played over MQTT, its sticker prints (carrying the job in
/// AI 91), and the pack station packs it by scanning the cut box's sticker.
async fn cut_then_pack(broker: Broker, backend: common::Backend) {
    let Some(s) = setup_on(broker, backend).await else {
        return;
    };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    // The station's sticker printer.
    let printer = konsign::devices::printer::sim::Simulator::start("127.0.0.1:0", None, None)
        .await
        .unwrap();
    let r = admin
        .put_json(
            "/api/printers/cut-1",
            json!({ "host": "127.0.0.1", "port": printer.addr().port(), "label_width_mm": 51, "label_height_mm": 32 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let mut st = station_with(
        &s,
        &admin,
        json!({ "name": "Hulklip 1", "printer": "cut-1" }),
    )
    .await;
    until_station(&admin, |v| v["available"] == true).await;

    let web = picked_cut_order(&s, &admin, "W-CUT-1", "PL1", &expiry).await;
    let st_order = web.get("/api/orders/W-CUT-1/status").await;
    assert_eq!(st_order.body["status"], "cutting", "{:?}", st_order.body);
    // The live dashboard through the cut (`common::LiveCheck`).
    let ctx = &s.app.ctx;
    let mut live = common::LiveCheck::start(ctx).await;

    // The job reaches the station: no personal data, valid against the schema.
    let job = st.expect("/cut-1/job", |_| true).await;
    assert_eq!(
        job["header"]["station"], "cut-1",
        "the header names the station it is for"
    );
    let errors: Vec<String> = schema_validator("job")
        .iter_errors(&job)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}: {job}");
    assert_eq!(job["plate"]["lot"], "PL1");
    assert_eq!(job["quantity"], 2);
    assert_eq!(
        job["shape"],
        json!({ "kind": "round", "diameter_mm": 30.0 })
    );
    assert_eq!(job["sticker"]["cut_spec"], "Ø 30 mm");
    for secret in ["Åse", "Ørnbøl", "Søndergade", "cit-4f9a", "W-CUT-1"] {
        assert!(
            !job.to_string().contains(secret),
            "{secret} on the wire: {job}"
        );
    }
    // Not answered: konsign sends it again, the same message; the station takes it once.
    let again = st.expect("/cut-1/job", |_| true).await;
    assert_eq!(again["header"]["message_id"], job["header"]["message_id"]);
    assert_eq!(again["content_hash"], job["content_hash"]);
    let job_id = job["job_id"].as_str().unwrap().to_string();
    let h = |n: u64| header(&s.site, "cut-1", 100 + n);
    let ack = wire::Ack {
        header: h(1),
        ref_message_id: job["header"]["message_id"].as_str().unwrap().into(),
        job_id: Some(job_id.clone()),
        revision: Some(1),
        cmd_id: None,
        result: wire::AckResult::Accepted,
        job_state: None,
        done: None,
        reason: None,
    };
    st.publish(
        wire::topic(&s.site, "cut-1", Topic::Ack),
        false,
        wire::encode(&ack),
    )
    .await;
    let ev = |seq: u64, kind: wire::EventKind, done: u32| wire::Event {
        header: h(1 + seq),
        seq,
        job_id: job_id.clone(),
        revision: 1,
        kind,
        done,
        quantity: 2,
        error: None,
    };
    for e in [
        ev(1, wire::EventKind::Started, 0),
        ev(2, wire::EventKind::Progress, 1),
        ev(3, wire::EventKind::Finished, 2),
        ev(3, wire::EventKind::Finished, 2),
    ] {
        st.publish(
            wire::topic(&s.site, "cut-1", Topic::Event),
            false,
            wire::encode(&e),
        )
        .await;
    }
    let mut done = Value::Null;
    for _ in 0..200 {
        done = admin.get(&format!("/api/cut-jobs/{job_id}")).await.body;
        if done["state"] == "finished" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(done["state"], "finished", "{done}");
    let states: Vec<&str> = done["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["queued", "sent", "accepted", "running", "finished"],
        "{done}"
    );
    // The order moves on to packing; the sticker comes out of the station's printer.
    for _ in 0..100 {
        if web.get("/api/orders/W-CUT-1/status").await.body["status"] == "picked" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        web.get("/api/orders/W-CUT-1/status").await.body["status"],
        "picked"
    );
    let u = live.step(ctx, "a cut").await;
    // Each of the cut's events is in the mapping (together they move every section).
    for t in &u.types {
        assert_ne!(
            konsign::service::dashboard::Sections::touched_by(t),
            konsign::service::dashboard::Sections::ALL,
            "{t} is mapped"
        );
    }
    let cut = u
        .live
        .throughput
        .series
        .iter()
        .find(|m| m.measure == "cut_jobs_finished")
        .map(|m| m.today_total);
    assert_eq!(cut, Some(1), "{:?}", u.types);
    for _ in 0..100 {
        if !printer.printed().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let labels = printer.printed();
    assert_eq!(labels.len(), 1, "one sticker");
    assert!(
        labels[0].contains("10PL1") && labels[0].contains("Ø 30 mm"),
        "{}",
        labels[0]
    );
    assert!(
        labels[0].contains(&format!("91{job_id}")),
        "the sticker's DataMatrix names the job: {}",
        labels[0]
    );
    st.task.abort();

    // Packing: the cut box is proven by its sticker, not plate by plate.
    let r = admin
        .post(
            "/api/locations",
            json!({ "code": "PAK-01", "zone": "PAK", "kind": "packing", "walk_seq": 950 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = admin
        .put_json(
            "/api/printers/pack-1",
            json!({ "host": "127.0.0.1", "port": printer.addr().port(), "label_width_mm": 102,
                    "label_height_mm": 152, "station": "PAK-01" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let packer = s
        .app
        .user("pelle", konsign::domain::auth::Role::Packer)
        .await;
    let pack_scan = |id: &'static str, data: String| {
        let packer = packer.clone();
        async move {
            let r = packer
                .post(
                    "/api/pack-stations/PAK-01/scan",
                    json!({ "scan_id": id, "data": data }),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
            r.body
        }
    };
    let v = pack_scan("k1", "T-01".into()).await;
    assert_eq!(v["code"], "opened", "{v}");
    let boxes = &v["view"]["cut_boxes"];
    assert_eq!(boxes[0]["job_id"], job_id.as_str(), "{boxes}");
    assert_eq!(boxes[0]["cut_spec"], "Ø 30 mm");
    assert_eq!(v["view"]["lots"][0]["in_cut_boxes"], 2);
    let d = chrono::NaiveDate::parse_from_str(&expiry, "%Y-%m-%d").unwrap();
    let plate = format!("010570893200001717{}10PL1", d.format("%y%m%d"));
    let r = pack_scan("k2", plate.clone()).await;
    assert_eq!(
        r["code"], "scan_cut_box",
        "a cut plate is proven by its box: {r}"
    );
    let r = pack_scan("k3", format!("{plate}91cj-999-1-1")).await;
    assert_eq!(r["code"], "unknown_cut_box", "{r}");
    // The sticker as a keyboard wedge types it: the GS before (91) is lost.
    let r = pack_scan("k4", format!("{plate}91{job_id}")).await;
    assert_eq!(r["code"], "packed", "{r}");
    assert_eq!(r["view"]["complete"], true, "{r}");
    let r = pack_scan("k5", format!("{plate}91{job_id}")).await;
    assert_eq!(r["code"], "already_packed", "{r}");
    // The seed plate has no weight in the product master: the scale's reading is asked for.
    let c = packer
        .post("/api/pack-stations/PAK-01/close", json!({}))
        .await;
    assert_eq!(c.body["field"], "weight_g", "{:?}", c.body);
    let c = packer
        .post(
            "/api/pack-stations/PAK-01/close",
            json!({ "weight_g": 480 }),
        )
        .await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    assert_eq!(c.body["weight_source"], "scale");
    assert_eq!(c.body["items"][0]["cut_job"], job_id.as_str());
    assert_eq!(c.body["transfers"][0]["quantity"], 2);
    assert_eq!(c.body["transfers"][0]["payer"], "payer:0751");
    assert_eq!(
        web.get("/api/orders/W-CUT-1/status").await.body["status"],
        "packed"
    );
    for _ in 0..100 {
        if printer.printed().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let labels = printer.printed();
    assert_eq!(labels.len(), 2, "the sticker and the shipping label");
    assert!(labels[1].contains(c.body["sscc"].as_str().unwrap()));
    printer.stop();
}

/// An order for 2 plates cut to Ø 30 mm, taken in and picked from `lot`: it waits for cutting.
/// Returns the ordering system's client.
async fn picked_cut_order(
    s: &Setup,
    admin: &common::Client,
    external_id: &str,
    lot: &str,
    expiry: &str,
) -> common::Client {
    let tag = external_id.to_lowercase();
    let web = s
        .app
        .user(
            &format!("web-{tag}"),
            konsign::domain::auth::Role::Integration,
        )
        .await;
    let order = json!({
        "external_id": external_id,
        "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
        "grant_ref": "BEV-77",
        "citizen_id": "cit-4f9a",
        "recipient": { "name": "Åse Ørnbøl", "address_line1": "Søndergade 12", "postcode": "8000", "city": "Aarhus C" },
        "delivery_date": common::in_days(2),
        "lines": [{ "gtin": "05708932000017", "quantity": 2,
                    "cut": { "shape": "round", "diameter_mm": 30, "measured_on": common::in_days(-10) } }],
    });
    let r = web.post("/api/orders", order).await;
    assert_eq!(r.body["status"], "allocated", "{:?}", r.body);
    let w = admin.post("/api/waves", json!({ "max_orders": 1 })).await;
    assert_eq!(w.status, StatusCode::CREATED, "{:?}", w.body);
    let wave = w.body["id"].as_i64().unwrap();
    let picker = s
        .app
        .user(&format!("pia-{tag}"), konsign::domain::auth::Role::Picker)
        .await;
    let r = picker
        .post(&format!("/api/waves/{wave}/take"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let d = chrono::NaiveDate::parse_from_str(expiry, "%Y-%m-%d").unwrap();
    let pack = format!("010570893200001717{}10{lot}", d.format("%y%m%d"));
    for i in 0..2 {
        let r = picker
            .post(
                &format!("/api/waves/{wave}/scan"),
                json!({ "scan_id": format!("{tag}-p{i}"), "data": pack }),
            )
            .await;
        assert_eq!(r.body["code"], "confirmed", "{:?}", r.body);
    }
    web
}

/// Answers a job message.
async fn answer(
    st: &Client,
    site: &str,
    station: &str,
    job: &Value,
    result: wire::AckResult,
    n: u64,
) {
    let reason = (result == wire::AckResult::Rejected).then(|| wire::Reason {
        code: wire::RejectCode::OutOfRange,
        message: "Ø 30 mm is outside this cutter's range today".into(),
    });
    let ack = wire::Ack {
        header: header(site, station, 200 + n),
        ref_message_id: job["header"]["message_id"].as_str().unwrap().into(),
        job_id: Some(job["job_id"].as_str().unwrap().into()),
        revision: Some(job["revision"].as_u64().unwrap() as u32),
        cmd_id: None,
        result,
        job_state: None,
        done: None,
        reason,
    };
    st.publish(
        wire::topic(site, station, Topic::Ack),
        false,
        wire::encode(&ack),
    )
    .await;
}

async fn cut_job(admin: &common::Client, id: &str, f: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let j = admin.get(&format!("/api/cut-jobs/{id}")).await.body;
        if f(&j) {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "job {id} never as expected: {}",
        admin.get(&format!("/api/cut-jobs/{id}")).await.body
    );
}

async fn a_rejected_job_moves_on_and_a_broken_station_keeps_its_running_job(broker: Broker) {
    let Some(s) = setup(broker).await else { return };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let mut one = station_named(&s, &admin, "cut-1", json!({})).await;
    let mut two = station_named(&s, &admin, "cut-2", json!({})).await;
    until_station_named(&admin, "cut-1", |v| v["available"] == true).await;
    until_station_named(&admin, "cut-2", |v| v["available"] == true).await;
    picked_cut_order(&s, &admin, "W-REJ-1", "PL1", &expiry).await;
    // Both are free: the first in order gets it, and rejects it.
    let job = one.expect("/cut-1/job", |_| true).await;
    let id = job["job_id"].as_str().unwrap().to_string();
    answer(&one, &s.site, "cut-1", &job, wire::AckResult::Rejected, 1).await;
    // It goes to the other station, never back to the one that refused it.
    let job2 = two.expect("/cut-2/job", |_| true).await;
    assert_eq!(job2["job_id"], id.as_str());
    answer(&two, &s.site, "cut-2", &job2, wire::AckResult::Accepted, 2).await;
    let started = wire::Event {
        header: header(&s.site, "cut-2", 300),
        seq: 1,
        job_id: id.clone(),
        revision: 1,
        kind: wire::EventKind::Started,
        done: 0,
        quantity: 2,
        error: None,
    };
    two.publish(
        wire::topic(&s.site, "cut-2", Topic::Event),
        false,
        wire::encode(&started),
    )
    .await;
    let running = cut_job(&admin, &id, |j| j["state"] == "running").await;
    assert_eq!(running["rejected_by"].as_str().unwrap().trim(), "cut-1");
    assert!(
        running["log"].to_string().contains("rejected by cut-1"),
        "{running}"
    );
    // cut-2 vanishes mid-job: unknown is not failed; the job stays with it.
    two.task.abort();
    drop(two);
    until_station_named(&admin, "cut-2", |v| v["connection"] == "broken").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let kept = cut_job(&admin, &id, |_| true).await;
    assert_eq!(
        (kept["state"].as_str(), kept["station_id"].as_str()),
        (Some("running"), Some("cut-2"))
    );
    // A lead takes it back: it waits (recalling) for cut-2 to say what became of it, and goes
    // nowhere else meanwhile; cut-2 cannot answer, so the lead, having looked at the machine,
    // says the plate was not cut: a new revision, to the station that is left.
    let lead = s.app.user("lea", konsign::domain::auth::Role::Lead).await;
    let r = lead
        .post(
            &format!("/api/cut-jobs/{id}/requeue"),
            json!({ "reason": "cut-2 is out of service" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (r.body["state"].as_str(), r.body["revision"].as_i64()),
        (Some("recalling"), Some(1))
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(cut_job(&admin, &id, |_| true).await["state"], "recalling");
    let r = lead
        .post(
            &format!("/api/cut-jobs/{id}/release"),
            json!({ "reason": "cut-2 is broken", "plate_not_cut": false }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    let r = lead
        .post(
            &format!("/api/cut-jobs/{id}/release"),
            json!({ "reason": "cut-2 is broken", "plate_not_cut": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["revision"], 2);
    let job3 = one.expect("/cut-1/job", |v| v["revision"] == 2).await;
    assert_ne!(job3["content_hash"], job["content_hash"]);
    let sent: Vec<String> = cut_job(&admin, &id, |j| j["state"] == "sent").await["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["state"] == "sent")
        .map(|e| e["station_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        sent,
        ["cut-1", "cut-2", "cut-1"],
        "sent once to each, in turn"
    );
    one.task.abort();
}

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

/// A site of its own for a test (so retained messages of other tests never meet it).
fn test_site() -> String {
    format!(
        "t{}",
        konsign::service::auth::random_secret(6)
            .to_lowercase()
            .replace(['-', '_'], "x")
    )
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

/// Registers a tote location.
async fn tote(admin: &common::Client, code: &str, walk_seq: i64) {
    let r = admin
        .post(
            "/api/locations",
            json!({ "code": code, "zone": "Z", "kind": "tote", "walk_seq": walk_seq }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
}

/// The seed catalog, a tote, and 5 cut-to-fit plates of lot PL1 on A-02-1; returns their expiry.
async fn plates_in_stock(s: &Setup, admin: &common::Client) -> String {
    s.app.seed(admin).await;
    tote(admin, "T-01", 900).await;
    let expiry = common::in_days(300);
    common::receive(admin, "05708932000017", "PL1", &expiry, "A-02-1", 5).await;
    expiry
}

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

/// The machine ruins the second plate of a job: the bridge reports the job failed (urgent,
/// `plate_damaged`) with the one plate it did cut. konsign keeps the reason, books the ruined
/// plate out of the order's tote as scrap, and sends the pickers a replacement wave for one
/// plate; the order waits in cutting. Once the plate is picked, a new job following the failed
/// one cuts it at the station (whose fault the bridge cleared), and the order moves on to
/// packing with every plate accounted for.
async fn a_ruined_plate_is_scrapped_picked_again_and_cut(broker: Broker) {
    ruined_plate(broker, common::Backend::Sqlite).await
}

/// The same on PostgreSQL (the replacement's stock locks are taken in the message's
/// transaction).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ruined_plate_is_scrapped_picked_again_and_cut_on_postgres() {
    ruined_plate(Broker::Mosquitto, common::Backend::Postgres).await
}

async fn ruined_plate(broker: Broker, backend: common::Backend) {
    use firmware_bridge::machine::{Machine, MachineConfig};
    let Some(s) = setup_on(broker, backend).await else {
        return;
    };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let r = admin.put_json("/api/cut-stations/cut-1", json!({})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let machine = Machine::start(MachineConfig {
        cut_ms: 50,
        fault_at_plate: Some(2),
        ..Default::default()
    })
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let (_stop, bridge) = spawn_bridge(bridge_config(&s, &machine, state.path()));
    until_station(&admin, |v| v["available"] == true).await;
    let web = picked_cut_order(&s, &admin, "W-FLT-1", "PL1", &expiry).await;
    let failed = cut_job(&admin, "cj-1-1-1", |j| {
        j["state"] == "failed" && j["replacements"].as_array().is_some_and(|r| !r.is_empty())
    })
    .await;
    let reason = failed["reason"].as_str().unwrap();
    assert!(
        reason.contains("plate_damaged") && reason.contains("Urgent"),
        "{failed}"
    );
    assert_eq!(failed["done"], 1, "one plate was cut before: {failed}");
    let rep = &failed["replacements"][0];
    assert_eq!(
        (
            rep["state"].as_str(),
            rep["quantity"].as_i64(),
            rep["lot"].as_str()
        ),
        (Some("picking"), Some(1), Some("PL1")),
        "{failed}"
    );
    assert_eq!(failed["followed_by"], json!([]), "nothing uncut is left");
    assert_eq!(
        web.get("/api/orders/W-FLT-1/status").await.body["status"],
        "cutting",
        "the order waits for its plate"
    );
    // The ruined plate left the tote as scrap: 2 picked, 1 scrapped.
    let tote = admin.get("/api/stock/units?location=T-01").await.body;
    assert_eq!(tote.as_array().unwrap().len(), 1, "{tote}");
    assert_eq!(tote[0]["quantity"], 1, "{tote}");
    let ledger = admin
        .get(&format!("/api/stock/units/{}/ledger", tote[0]["id"]))
        .await
        .body;
    let scrap = ledger
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "scrap")
        .unwrap_or_else(|| panic!("no scrap in {ledger}"));
    assert_eq!(scrap["delta"], -1);
    assert!(
        scrap["reason"]
            .as_str()
            .unwrap()
            .starts_with("damaged: cutting job cj-1-1-1"),
        "{scrap}"
    );

    // The replacement wave is picked like any other: one plate into the same tote.
    let wave = rep["wave_id"].as_i64().unwrap();
    let picker = s
        .app
        .user("pia-repl", konsign::domain::auth::Role::Picker)
        .await;
    let r = picker
        .post(&format!("/api/waves/{wave}/take"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let d = chrono::NaiveDate::parse_from_str(&expiry, "%Y-%m-%d").unwrap();
    let pack = format!("010570893200001717{}10PL1", d.format("%y%m%d"));
    let r = picker
        .post(
            &format!("/api/waves/{wave}/scan"),
            json!({ "scan_id": "repl-1", "data": pack }),
        )
        .await;
    assert_eq!(r.body["code"], "confirmed", "{:?}", r.body);

    let next = cut_job(&admin, "cj-1-1-2", |j| j["state"] == "finished").await;
    assert_eq!(
        (
            next["follows"].as_str(),
            next["quantity"].as_i64(),
            next["lot"].as_str()
        ),
        (Some("cj-1-1-1"), Some(1), Some("PL1")),
        "{next}"
    );
    assert_eq!(next["line_ref"], failed["line_ref"]);
    order_status(&web, "W-FLT-1", "picked").await;
    let again = cut_job(&admin, "cj-1-1-1", |_| true).await;
    assert_eq!(again["replacements"][0]["state"], "picked", "{again}");
    assert_eq!(again["replacements"][0]["new_job_id"], "cj-1-1-2");
    assert_eq!(again["followed_by"], json!(["cj-1-1-2"]));
    let tote = admin.get("/api/stock/units?location=T-01").await.body;
    assert_eq!(
        tote[0]["quantity"], 2,
        "the cut plate and its replacement: {tote}"
    );
    assert_eq!(machine.loads.load(std::sync::atomic::Ordering::Relaxed), 2);
    // A failed job is not put back by hand: what follows it is automatic.
    let lead = s.app.user("lea", konsign::domain::auth::Role::Lead).await;
    let r = lead
        .post(
            "/api/cut-jobs/cj-1-1-1/requeue",
            json!({ "reason": "try again" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    bridge.abort();
}

/// An operator reports a fault on a running job of 2 plates, one of them ruined: the job fails
/// with the operator's reason, the uncut plate goes straight back to the station as a new job
/// (same lot), and the ruined one is scrapped and sent to the pickers. A count of ruined plates
/// above what was left is refused and changes nothing.
async fn an_operator_fault_sends_the_uncut_plates_back_and_the_ruined_one_to_be_picked(
    broker: Broker,
) {
    let Some(s) = setup(broker).await else { return };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let mut st = station(&s, &admin).await;
    until_station(&admin, |v| v["available"] == true).await;
    picked_cut_order(&s, &admin, "W-OPF-1", "PL1", &expiry).await;
    let job = st.expect("/cut-1/job", |_| true).await;
    answer(&st, &s.site, "cut-1", &job, wire::AckResult::Accepted, 1).await;
    cut_job(&admin, "cj-1-1-1", |j| j["state"] == "accepted").await;
    let operator = s
        .app
        .user("ole", konsign::domain::auth::Role::Operator)
        .await;
    // Conformance C4: at a station linked to its machine the machine decides, not the button.
    for action in ["done", "fault"] {
        let r = operator
            .post(
                "/api/cut-jobs/cj-1-1-1/action",
                json!({ "action": action, "reason": "pladen revnede" }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
        assert_eq!(r.body["code"], "machine_reports", "{:?}", r.body);
    }
    // The station is declared manual (its machine link is gone): the operator decides.
    let r = admin
        .put_json("/api/cut-stations/cut-1", json!({ "manual": true }))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = operator
        .post(
            "/api/cut-jobs/cj-1-1-1/action",
            json!({ "action": "fault", "reason": "pladen revnede", "plates_damaged": 3 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(
        r.body.to_string().contains("plates_damaged"),
        "{:?}",
        r.body
    );
    assert_eq!(
        cut_job(&admin, "cj-1-1-1", |_| true).await["state"],
        "accepted",
        "a refused fault changes nothing"
    );
    let r = operator
        .post(
            "/api/cut-jobs/cj-1-1-1/action",
            json!({ "action": "fault", "reason": "pladen revnede", "plates_damaged": 1 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let failed = cut_job(&admin, "cj-1-1-1", |j| j["state"] == "failed").await;
    assert_eq!(failed["reason"], "pladen revnede");
    assert_eq!(failed["followed_by"], json!(["cj-1-1-2"]), "{failed}");
    assert_eq!(failed["replacements"][0]["quantity"], 1, "{failed}");
    assert_eq!(failed["replacements"][0]["state"], "picking", "{failed}");
    // The uncut plate is cut after all: a new job for one plate of the same lot, handed to the
    // manual station without a message.
    let next = cut_job(&admin, "cj-1-1-2", |j| j["state"] == "accepted").await;
    assert_eq!(
        (
            next["quantity"].as_u64(),
            next["lot"].as_str(),
            next["station_id"].as_str()
        ),
        (Some(1), Some("PL1"), Some("cut-1")),
        "{next}"
    );
    let listed = admin.get("/api/cut-replacements").await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    assert_eq!(listed.body[0]["job_id"], "cj-1-1-1", "{:?}", listed.body);
    st.task.abort();
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

/// Two plates are ruined and no stock is left to replace them: the replacement is `short`, the
/// order waits, and a lead's retry is refused until stock comes in; then the replacement wave
/// is made (from the new lot).
async fn a_replacement_without_stock_waits_for_a_lead_to_try_again(broker: Broker) {
    let Some(s) = setup(broker).await else { return };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let mut st = station(&s, &admin).await;
    until_station(&admin, |v| v["available"] == true).await;
    let web = picked_cut_order(&s, &admin, "W-SHORT-1", "PL1", &expiry).await;
    // The 3 plates left on the shelf go to scrap: nothing to replace with.
    let shelf = admin.get("/api/stock/units?location=A-02-1").await.body;
    let unit = shelf[0]["id"].as_i64().unwrap();
    assert_eq!(shelf[0]["quantity"], 3, "{shelf}");
    let r = admin
        .post(
            "/api/stock/scrap",
            json!({ "idempotency_key": "scrap-shelf", "stock_unit_id": unit, "quantity": 3, "scrap_reason": "damaged" }),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let job = st.expect("/cut-1/job", |_| true).await;
    answer(&st, &s.site, "cut-1", &job, wire::AckResult::Accepted, 1).await;
    cut_job(&admin, "cj-1-1-1", |j| j["state"] == "accepted").await;
    let operator = s
        .app
        .user("ole", konsign::domain::auth::Role::Operator)
        .await;
    let r = admin
        .put_json("/api/cut-stations/cut-1", json!({ "manual": true }))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = operator
        .post(
            "/api/cut-jobs/cj-1-1-1/action",
            json!({ "action": "fault", "reason": "kniven sprang", "plates_damaged": 2 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let failed = cut_job(&admin, "cj-1-1-1", |j| j["state"] == "failed").await;
    let rep = &failed["replacements"][0];
    assert_eq!(
        (
            rep["state"].as_str(),
            rep["quantity"].as_i64(),
            rep["wave_id"].as_i64()
        ),
        (Some("short"), Some(2), None),
        "{failed}"
    );
    assert_eq!(failed["followed_by"], json!([]));
    assert_eq!(
        web.get("/api/orders/W-SHORT-1/status").await.body["status"],
        "cutting"
    );
    let id = rep["id"].as_i64().unwrap();
    let lead = s.app.user("lea", konsign::domain::auth::Role::Lead).await;
    let r = lead
        .post(&format!("/api/cut-replacements/{id}/retry"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["code"], "no_stock", "{:?}", r.body);
    let r = operator
        .post(&format!("/api/cut-replacements/{id}/retry"), json!({}))
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a lead's decision: {:?}",
        r.body
    );
    // The lead's page shows it, in Danish, with the retry button, and the station.
    let home = lead.get("/").await.body;
    let home = home.as_str().unwrap();
    for want in [
        "Hulklip",
        "Erstatningsplader",
        "mangler lager",
        "kniven sprang",
        &format!("data-replacement=\"{id}\""),
        "data-cutstation=\"cut-1\"",
        "data-command=\"pause\"",
    ] {
        assert!(home.contains(want), "{want} not on the lead's page");
    }
    common::receive(&admin, "05708932000017", "PL2", &expiry, "A-02-1", 4).await;
    let r = lead
        .post(&format!("/api/cut-replacements/{id}/retry"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["state"], "picking", "{:?}", r.body);
    let wave = r.body["wave_id"].as_i64().unwrap();
    let w = admin.get(&format!("/api/waves/{wave}")).await.body;
    assert!(w.to_string().contains("PL2"), "{w}");
    let r = lead
        .post(&format!("/api/cut-replacements/{id}/retry"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    st.task.abort();
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

/// Jobs `cj-bulk-N` of one plate each, for the line of `first`, straight into the queue.
async fn bulk_jobs(s: &Setup, first: &Value, expiry: &str, range: std::ops::RangeInclusive<u32>) {
    let mut tx = s.app.ctx.db.begin_write().await.unwrap();
    for n in range {
        let id = format!("cj-bulk-{n}");
        konsign::store::cutting::insert_job(
            tx.conn(),
            &konsign::store::cutting::NewJob {
                id: &id,
                order_id: first["order_id"].as_i64().unwrap(),
                line_id: first["line_id"].as_i64().unwrap(),
                content_hash: &format!("{n:064x}"),
                line_ref: first["line_ref"].as_str().unwrap(),
                gtin: "05708932000017",
                lot: "PL1",
                expiry,
                quantity: 1,
                shape: &first["shape"],
                tolerance_mm: 0.5,
                sticker: &first["sticker"],
                follows: None,
                detail: "made by the test",
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

/// Starts `konsign-bridge` in this process; the sender stops it cleanly, aborting the task
/// kills it (its connection drops without a goodbye, as a crash or a pulled cable would).
fn spawn_bridge(
    cfg: firmware_bridge::bridge::Config,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let (tx, rx) = tokio::sync::watch::channel(false);
    (tx, tokio::spawn(firmware_bridge::bridge::run(cfg, rx)))
}

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

/// The states a job went through, in order.
fn job_states(job: &Value) -> Vec<String> {
    job["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap().to_string())
        .collect()
}

async fn order_status(web: &common::Client, id: &str, want: &str) {
    for _ in 0..200 {
        if web.get(&format!("/api/orders/{id}/status")).await.body["status"] == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "order {id} never {want}: {:?}",
        web.get(&format!("/api/orders/{id}/status")).await.body
    );
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

/// `konsign-bridge` for station cut-1 on the test's broker and machine (10-70 mm, 3 jobs).
fn bridge_config(
    s: &Setup,
    machine: &firmware_bridge::machine::Machine,
    state_dir: &std::path::Path,
) -> firmware_bridge::bridge::Config {
    firmware_bridge::bridge::Config {
        site: s.site.clone(),
        station: "cut-1".into(),
        broker_host: s.broker.0.clone(),
        broker_port: s.broker.1,
        serial: machine.path.clone(),
        state_dir: state_dir.to_path_buf(),
        min_mm: 10.0,
        max_mm: 70.0,
        queue_limit: 3,
        credentials: None,
    }
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
