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

// Declared after `on_both_brokers!`: a `macro_rules!` macro is in scope only in the modules
// declared after it.
#[path = "cutting/bridge.rs"]
mod bridge;
#[path = "cutting/connection.rs"]
mod connection;
#[path = "cutting/faults.rs"]
mod faults;
#[path = "cutting/flow.rs"]
mod flow;
#[path = "cutting/instances.rs"]
mod instances;
#[path = "cutting/outages.rs"]
mod outages;

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

/// A site of its own for a test (so retained messages of other tests never meet it).
fn test_site() -> String {
    format!(
        "t{}",
        konsign::service::auth::random_secret(6)
            .to_lowercase()
            .replace(['-', '_'], "x")
    )
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
