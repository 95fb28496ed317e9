//! Cutting-job dispatch over MQTT: the round trip from konsign sending a job to konsign having
//! handled the station's ack (p50, p99), the same jobs timed on the wire only (publish -> ack
//! received), jobs per second through one station with zero cut time,
//! and, beside them, the broker's own publish -> subscribe -> publish -> subscribe round trip
//! measured the same way (QoS 1, TCP_NODELAY on the clients).
//! Run: `cargo bench --bench cut_dispatch` (the embedded broker); `BENCH_MQTT=mosquitto cargo
//! bench --bench cut_dispatch` starts a private Mosquitto with `docs/devices/mosquitto.conf`
//! (TCP_NODELAY on) on a free port. `JOBS=300` sets the count.

use firmware_bridge::wire::{self, Header, Topic};
use konsign::config::Config;
use konsign::service::{cutting, Actor};
use rumqttc::{AsyncClient, Event, MqttOptions, NetworkOptions, Packet, QoS};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn client(
    port: u16,
    id: &str,
    subs: &[String],
) -> (
    AsyncClient,
    tokio::sync::mpsc::UnboundedReceiver<(String, bytes::Bytes)>,
) {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(30));
    let (c, mut ev) = AsyncClient::new(o, 1024);
    let mut net = NetworkOptions::new();
    net.set_tcp_nodelay(true);
    ev.set_network_options(net);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let mut ready = Some(ready_tx);
    let wait_for_suback = !subs.is_empty();
    let subs = subs.to_vec();
    let cc = c.clone();
    tokio::spawn(async move {
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    for s in &subs {
                        cc.subscribe(s.clone(), QoS::AtLeastOnce).await.unwrap();
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = tx.send((p.topic.clone(), p.payload.clone()));
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    if !wait_for_suback {
        tokio::time::sleep(Duration::from_millis(200)).await;
    } else {
        tokio::time::timeout(Duration::from_secs(10), ready_rx)
            .await
            .unwrap()
            .unwrap();
    }
    (c, rx)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

async fn run() {
    let jobs: usize = std::env::var("JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mosquitto = std::env::var("BENCH_MQTT").is_ok_and(|v| v == "mosquitto");
    let mut broker_proc = None;
    // The bench loads the demo data, which production refuses.
    let mut config = Config {
        environment: konsign::config::Environment::Test,
        ..Config::default()
    };
    config.database.url = format!("sqlite://{}/bench.db", dir.path().display());
    config.mqtt.site = "bench".into();
    config.mqtt.host_id = Some("h1".into());
    if mosquitto {
        let conf = dir.path().join("m.conf");
        let shipped = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/devices/mosquitto.conf"
        ))
        .unwrap();
        std::fs::write(
            &conf,
            shipped.replace(
                "listener 1883 127.0.0.1",
                &format!("listener {port} 127.0.0.1"),
            ),
        )
        .unwrap();
        broker_proc = Some(
            std::process::Command::new("mosquitto")
                .arg("-c")
                .arg(&conf)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("mosquitto"),
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        config.mqtt.url = Some(format!("mqtt://127.0.0.1:{port}"));
    } else {
        config.mqtt.embedded_listen = format!("127.0.0.1:{port}").parse().unwrap();
    }
    let name = if mosquitto {
        "Mosquitto 2.0 (set_tcp_nodelay true)"
    } else {
        "embedded rumqttd"
    };

    // The broker's own round trip: A publishes, B answers, A receives.
    let ctx = konsign::startup::context(config).await.unwrap();
    let _tasks = cutting::start(&ctx).await.unwrap();
    let (a, mut a_rx) = client(port, "bench-a", &["bench/pong".to_string()]).await;
    let (b, mut b_rx) = client(port, "bench-b", &["bench/ping".to_string()]).await;
    tokio::spawn(async move {
        while let Some((_, p)) = b_rx.recv().await {
            b.publish("bench/pong", QoS::AtLeastOnce, false, p)
                .await
                .unwrap();
        }
    });
    let mut bare = Vec::new();
    for i in 0..(jobs + 20) {
        let t0 = Instant::now();
        a.publish("bench/ping", QoS::AtLeastOnce, false, format!("{i}"))
            .await
            .unwrap();
        a_rx.recv().await.unwrap();
        if i >= 20 {
            bare.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }

    // A station that answers every job at once (and finishes it at once).
    konsign::service::demo::load(&ctx).await.unwrap();
    let actor = Actor::system();
    cutting::put_station(
        &ctx,
        &actor,
        "cut-1",
        &cutting::StationInput {
            name: None,
            printer: None,
            enabled: Some(true),
            manual: None,
            queue_limit: None,
        },
    )
    .await
    .unwrap();
    let (st, mut st_rx) = client(
        port,
        "station-bench-cut-1",
        &[wire::topic("bench", "cut-1", Topic::Job)],
    )
    .await;
    let header = |n: u64| Header::new("bench", "cut-1", "b-1", format!("m-{n}"), n);
    let publish = |t: Topic, payload: Vec<u8>, retain: bool| {
        let st = st.clone();
        async move {
            st.publish(
                wire::topic("bench", "cut-1", t),
                QoS::AtLeastOnce,
                retain,
                payload,
            )
            .await
            .unwrap()
        }
    };
    publish(
        Topic::Connection,
        wire::encode(&wire::Connection {
            header: header(1),
            connection: wire::ConnectionState::Online,
        }),
        true,
    )
    .await;
    let queue_limit = 1u32;
    publish(
        Topic::Factsheet,
        wire::encode(&wire::Factsheet {
            header: header(2),
            shapes: vec![wire::ShapeKind::Round, wire::ShapeKind::Oval],
            min_mm: 1.0,
            max_mm: 150.0,
            tolerance_mm: 0.5,
            queue_limit,
            versions: wire::Versions {
                protocol: wire::PROTOCOL_VERSION.into(),
                bridge: None,
                firmware: None,
            },
        }),
        true,
    )
    .await;
    publish(
        Topic::State,
        wire::encode(&wire::State {
            header: header(3),
            mode: wire::Mode::Idle,
            current_job: None,
            queue: vec![],
            queue_limit,
            last_event_seq: 0,
            errors: vec![],
        }),
        true,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let responder = tokio::spawn(async move {
        let mut seq = 0u64;
        while let Some((_, p)) = st_rx.recv().await {
            let job: serde_json::Value = serde_json::from_slice(&p).unwrap();
            seq += 1;
            let id = job["job_id"].as_str().unwrap().to_string();
            let ack = wire::Ack {
                header: header(10 + seq),
                ref_message_id: job["header"]["message_id"].as_str().unwrap().into(),
                job_id: Some(id.clone()),
                revision: Some(1),
                cmd_id: None,
                result: wire::AckResult::Accepted,
                job_state: None,
                done: None,
                reason: None,
            };
            st.publish(
                wire::topic("bench", "cut-1", Topic::Ack),
                QoS::AtLeastOnce,
                false,
                wire::encode(&ack),
            )
            .await
            .unwrap();
            let ev = wire::Event {
                header: header(100_000 + seq),
                seq,
                job_id: id,
                revision: 1,
                kind: wire::EventKind::Finished,
                done: 1,
                quantity: 1,
                error: None,
            };
            st.publish(
                wire::topic("bench", "cut-1", Topic::Event),
                QoS::AtLeastOnce,
                false,
                wire::encode(&ev),
            )
            .await
            .unwrap();
        }
    });
    // Jobs straight into the queue, for a line of a demo order with a cut spec.
    use sqlx::Row as _;
    let row =
        sqlx::query("select id, order_id from order_lines where cut_shape is not null limit 1")
            .fetch_one(ctx.db.pool())
            .await
            .unwrap();
    let (line_id, order_id): (i64, i64) = (row.get("id"), row.get("order_id"));
    let shape = serde_json::json!({ "kind": "round", "diameter_mm": 30.0 });
    let sticker = serde_json::json!({ "product": "Basisplade", "cut_spec": "Ø 30 mm", "line_ref": "L-bench" });
    let start = Instant::now();
    {
        let mut tx = ctx.db.begin_write().await.unwrap();
        for n in 0..jobs {
            let id = format!("cj-bench-{n}");
            konsign::store::cutting::insert_job(
                tx.conn(),
                &konsign::store::cutting::NewJob {
                    id: &id,
                    order_id,
                    line_id,
                    content_hash: &format!("{n:064x}"),
                    line_ref: "L-bench",
                    gtin: "05708932000017",
                    lot: "B1",
                    expiry: "2028-01-01",
                    quantity: 1,
                    shape: &shape,
                    tolerance_mm: 0.5,
                    sticker: &sticker,
                    follows: None,
                    detail: "made by the test",
                },
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    ctx.cutting.wake.notify_one();
    loop {
        let n: i64 = sqlx::query("select count(*) as n from cut_jobs where state = 'finished'")
            .fetch_one(ctx.db.pool())
            .await
            .unwrap()
            .get("n");
        if n as usize >= jobs {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "only {n} of {jobs} finished"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let total = start.elapsed();
    // Dispatch -> ack: from the job's `sent` to its `accepted` transition (both written by konsign).
    let rows = sqlx::query("select s.at as sent, a.at as accepted from cut_job_log s join cut_job_log a on a.job_id = s.job_id and a.state = 'accepted' where s.state = 'sent'")
        .fetch_all(ctx.db.pool()).await.unwrap();
    let mut rtt: Vec<f64> = rows
        .iter()
        .map(|r| {
            let s = konsign::domain::time::from_db(&r.get::<String, _>("sent")).unwrap();
            let a = konsign::domain::time::from_db(&r.get::<String, _>("accepted")).unwrap();
            (a - s).num_microseconds().unwrap() as f64 / 1000.0
        })
        .collect();
    println!("{name}: bare broker round trip (publish -> subscriber -> publish -> subscriber, QoS 1): p50 {:.2} ms, p99 {:.2} ms ({} round trips)",
        pct(&mut bare, 0.5), pct(&mut bare, 0.99), bare.len());
    // The same jobs timed as the bare round trip is: from konsign handing the job to its MQTT
    // client to konsign's MQTT task having the ack (no database work at either end).
    let mut wire_rtt: Vec<f64> = ctx
        .cutting
        .host
        .get()
        .unwrap()
        .answer_times()
        .iter()
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    println!("{name}: job publish -> station ack received (the wire, timed as the bare round trip): p50 {:.2} ms, p99 {:.2} ms ({} jobs)",
        pct(&mut wire_rtt, 0.5), pct(&mut wire_rtt, 0.99), wire_rtt.len());
    println!("{name}: job dispatch -> station ack handled: p50 {:.2} ms, p99 {:.2} ms ({} jobs); {jobs} jobs through one station (queue limit {queue_limit}, zero cut time) in {:.2} s = {:.0} jobs/s",
        pct(&mut rtt, 0.5), pct(&mut rtt, 0.99), rtt.len(), total.as_secs_f64(), jobs as f64 / total.as_secs_f64());
    responder.abort();
    cutting::shutdown(&ctx).await;
    if let Some(mut p) = broker_proc {
        let _ = p.kill();
    }
    let _ = Actor::system();
}
