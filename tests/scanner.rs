//! Serial scanner links over real pseudo-terminals: `socat` makes a PTY pair with stable link
//! paths; the link opens one end through tokio-serial, the test plays the scanner on the other.

mod common;

use common::pty::Pty;

use konsign::devices::scanner::{self, ScanEvent, ScannerConfig, Terminator};
use serde_json::json;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

fn config(path: &Path) -> ScannerConfig {
    ScannerConfig {
        id: "scn-1".into(),
        path: path.display().to_string(),
        station: "receiving-1".into(),
        baud: 115200,
        data_bits: 8,
        parity: "none".into(),
        stop_bits: 1,
        flow_control: "none".into(),
        terminator: Terminator::Any,
        max_frame_len: 64,
        inter_byte_timeout_ms: 150,
        good_feedback: None,
        bad_feedback: None,
    }
}

async fn next(rx: &mut mpsc::Receiver<ScanEvent>) -> Vec<u8> {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a scan within 5 s")
        .expect("link alive")
        .bytes
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_split_batched_noisy_and_overlong_arrive_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pty) = Pty::plug(dir.path()) else {
        return;
    };
    let (tx, mut rx) = mpsc::channel(64);
    let (_stop, stop_rx) = watch::channel(false);
    let link = scanner::spawn(config(&pty.dev), tx, stop_rx);
    until("connected", || link.status().connected).await;

    pty.send(b"]d20105708932");
    pty.send(b"000017\x1d10AB1\r\n");
    assert_eq!(next(&mut rx).await, b"]d20105708932000017\x1d10AB1");
    pty.send(b"]E05708932000017\r\n]C1\x1d0105708932000017\r\n\0\0\r\n");
    assert_eq!(next(&mut rx).await, b"]E05708932000017");
    assert_eq!(next(&mut rx).await, b"]C1\x1d0105708932000017");
    pty.send(&[b'X'; 200]);
    pty.send(b"\r\nAFTER\r\n");
    assert_eq!(
        next(&mut rx).await,
        b"AFTER",
        "the over-long frame is dropped, the next survives"
    );
    // A half frame followed by silence is dropped, not glued to the next scan.
    pty.send(b"]C1HALF");
    tokio::time::sleep(Duration::from_millis(400)).await;
    pty.send(b"WHOLE\r");
    assert_eq!(next(&mut rx).await, b"WHOLE");
    let s = link.status();
    assert_eq!((s.frames, s.dropped), (5, 2), "{s:?}");
    assert!(rx.try_recv().is_err(), "no scan counted twice");
    link.task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unplugged_scanner_comes_back_on_the_same_path_within_two_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pty) = Pty::plug(dir.path()) else {
        return;
    };
    let (tx, mut rx) = mpsc::channel(64);
    let (stop, stop_rx) = watch::channel(false);
    let link = scanner::spawn(config(&pty.dev), tx, stop_rx);
    until("connected", || link.status().connected).await;
    pty.send(b"BEFORE\r");
    assert_eq!(next(&mut rx).await, b"BEFORE");

    pty.unplug();
    until("disconnected", || !link.status().connected).await;
    let replugged = Instant::now();
    let pty = Pty::plug(dir.path()).expect("socat again");
    until("reconnected", || link.status().connected).await;
    assert!(
        replugged.elapsed() < Duration::from_secs(2),
        "back after {:?}",
        replugged.elapsed()
    );
    pty.send(b"AFTER\r");
    assert_eq!(next(&mut rx).await, b"AFTER");
    let s = link.status();
    assert_eq!((s.frames, s.reconnects), (2, 1), "{s:?}");
    assert!(rx.try_recv().is_err(), "nothing lost, nothing twice");
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(2), link.task)
        .await
        .expect("link stops on shutdown")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanner_absent_at_start_is_picked_up_when_it_appears_and_gets_feedback() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let (_stop, stop_rx) = watch::channel(false);
    let link = scanner::spawn(config(&dir.path().join("scanner")), tx, stop_rx);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = link.status();
    assert!(!s.connected && s.errors > 0, "{s:?}");
    let Some(pty) = Pty::plug(dir.path()) else {
        return;
    };
    until("connected", || link.status().connected).await;
    pty.send(b"HELLO\n");
    assert_eq!(next(&mut rx).await, b"HELLO");
    // Feedback bytes (a beep command) reach the scanner side.
    let mut host = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&pty.host)
        .unwrap();
    link.feedback.send(b"\x07OK".to_vec()).await.unwrap();
    let mut got = [0u8; 3];
    tokio::task::spawn_blocking(move || host.read_exact(&mut got).map(|_| got))
        .await
        .unwrap()
        .map(|g| assert_eq!(&g, b"\x07OK"))
        .unwrap();
    link.task.abort();
}

on_both_backends!(
    scans_from_a_pty_scanner_are_judged_stored_and_answered,
    stock_is_received_through_a_pty_scanner,
    a_wave_is_picked_with_a_pty_scanner_at_a_picking_station,
);

/// Adds the PTY scanner through the API and waits until its link is connected.
async fn connect_scanner(
    admin: &common::Client,
    pty: &Pty,
    cfg: serde_json::Value,
) -> std::fs::File {
    let r = common::Client::send(
        admin
            .req(reqwest::Method::PUT, "/api/scanners/rcv-1")
            .json(&cfg),
    )
    .await;
    assert_eq!(r.status, reqwest::StatusCode::NO_CONTENT, "{:?}", r.body);
    let deadline = Instant::now() + Duration::from_secs(5);
    while admin.get("/api/scanners").await.body[0]["status"]["connected"] != true {
        assert!(Instant::now() < deadline, "scanner never connected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&pty.host)
        .unwrap()
}

/// Waits until the station has `n` stored scans and returns them.
async fn stored_scans(admin: &common::Client, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = admin.get("/api/scans?station=receiving-1").await.body;
        let v = s.as_array().unwrap().clone();
        if v.len() >= n {
            return v;
        }
        assert!(Instant::now() < deadline, "scans not stored: {s}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn stock_is_received_through_a_pty_scanner(b: common::Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(pty) = Pty::plug(dir.path()) else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let picker = app
        .user("rasmus", konsign::domain::auth::Role::Picker)
        .await;
    let mut host = connect_scanner(
        &admin,
        &pty,
        serde_json::to_value(config(&pty.dev)).unwrap(),
    )
    .await;
    let expiry = konsign::service::today() + chrono::Duration::days(300);
    // A UDI scan of the baseplate (GTIN, expiry, lot) and a plain EAN of the pouch (no lot).
    host.write_all(
        format!("]d201{}17{}10R-55\r\n", seed.plate, expiry.format("%y%m%d")).as_bytes(),
    )
    .unwrap();
    host.write_all(b"]E05708932000024\r\n").unwrap();
    host.write_all(b"garbage\r\n").unwrap();
    host.write_all(b"]C0A-02-1\r\n").unwrap(); // a location label
    let scans = stored_scans(&admin, 4).await;
    assert_eq!(
        (scans[3]["outcome"].as_str(), scans[3]["kind"].as_str()),
        (Some("ok"), Some("location")),
        "{:?}",
        scans[3]
    );
    assert_eq!(scans[3]["parsed"]["location"], "A-02-1");
    assert_eq!(scans[2]["message"], "not a product or location barcode");
    let (plate_scan, pouch_scan, bad_scan) = (
        scans[0]["id"].as_i64().unwrap(),
        scans[1]["id"].as_i64().unwrap(),
        scans[2]["id"].as_i64().unwrap(),
    );

    let body = json!({ "scan_id": plate_scan, "quantity": 12, "location": "A-01-1" });
    // A lookup station (the default) does not receive.
    let r = picker
        .post("/api/stations/receiving-1/receive", body.clone())
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (reqwest::StatusCode::CONFLICT, Some("wrong_workflow")),
        "{:?}",
        r.body
    );
    let set = |w: &str| {
        common::Client::send(
            admin
                .req(reqwest::Method::PUT, "/api/stations/receiving-1/workflow")
                .json(&json!({ "workflow": w })),
        )
    };
    assert_eq!(
        set("shipping").await.status,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        set("receiving").await.status,
        reqwest::StatusCode::NO_CONTENT
    );
    // The plate's scan is no longer the newest product scan (the pouch came after it): a page
    // still showing it is behind, and receiving it is refused.
    let r = picker
        .post("/api/stations/receiving-1/receive", body.clone())
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (reqwest::StatusCode::CONFLICT, Some("scan_not_latest")),
        "{:?}",
        r.body
    );
    // No lot on the pouch's barcode: the receiver types lot and expiry.
    let r = picker
        .post(
            "/api/stations/receiving-1/receive",
            json!({ "scan_id": pouch_scan, "quantity": 3, "location": "A-02-1" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (reqwest::StatusCode::UNPROCESSABLE_ENTITY, Some("lot"))
    );
    let r = picker
        .post(
            "/api/stations/receiving-1/receive",
            json!({ "scan_id": pouch_scan, "quantity": 3, "location": "A-02-1",
        "lot": "P-1", "expiry": common::in_days(200) }),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{:?}", r.body);
    // The plate scanned again: now it is the newest, and it is received.
    host.write_all(
        format!("]d201{}17{}10R-55\r\n", seed.plate, expiry.format("%y%m%d")).as_bytes(),
    )
    .unwrap();
    let plate_scan = stored_scans(&admin, 5).await[4]["id"].as_i64().unwrap();
    let body = json!({ "scan_id": plate_scan, "quantity": 12, "location": "A-01-1" });
    let r = picker
        .post("/api/stations/receiving-1/receive", body.clone())
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{:?}", r.body);
    let e = &r.body["entries"][0];
    assert_eq!(
        (e["kind"].as_str(), e["delta"].as_i64(), e["gtin"].as_str()),
        (Some("receive"), Some(12), Some(seed.plate.as_str()))
    );
    let unit = e["stock_unit_id"].as_i64().unwrap();
    let u = admin.get(&format!("/api/stock/units/{unit}")).await.body;
    assert_eq!(
        (
            u["lot"].as_str(),
            u["expiry"].as_str(),
            u["quantity"].as_i64()
        ),
        (Some("R-55"), Some(expiry.to_string().as_str()), Some(12))
    );
    // Confirming the same scan again receives nothing more.
    let again = picker.post("/api/stations/receiving-1/receive", body).await;
    assert_eq!(again.body["replayed"], true);
    let ledger = admin
        .get(&format!("/api/stock/units/{unit}/ledger"))
        .await
        .body;
    assert_eq!(ledger.as_array().unwrap().len(), 1);
    assert_eq!(ledger[0]["reference"], format!("scan {plate_scan}"));
    let used = admin.get("/api/scans?station=receiving-1").await.body;
    assert!(
        used[4]["used_for"]
            .as_str()
            .unwrap()
            .starts_with("receiving:op "),
        "{used}"
    );
    // Its receipt replays even after newer scans (a retry is never refused).
    host.write_all(b"]E05708932000024\r\n").unwrap();
    stored_scans(&admin, 6).await;
    let again = picker
        .post(
            "/api/stations/receiving-1/receive",
            json!({ "scan_id": plate_scan, "quantity": 12, "location": "A-01-1" }),
        )
        .await;
    assert_eq!(again.body["replayed"], true, "{:?}", again.body);
    // A rejected scan, another station's scan, or an unknown scan receive nothing.
    let r = picker
        .post(
            "/api/stations/receiving-1/receive",
            json!({ "scan_id": bad_scan, "quantity": 1, "location": "A-01-1" }),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let r = common::Client::send(
        admin
            .req(reqwest::Method::PUT, "/api/stations/receiving-2/workflow")
            .json(&json!({ "workflow": "receiving" })),
    )
    .await;
    assert_eq!(r.status, reqwest::StatusCode::NO_CONTENT);
    let r = picker
        .post(
            "/api/stations/receiving-2/receive",
            json!({ "scan_id": plate_scan, "quantity": 1, "location": "A-01-1" }),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let r = picker
        .post(
            "/api/stations/receiving-1/receive",
            json!({ "scan_id": 99999, "quantity": 1, "location": "A-01-1" }),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::NOT_FOUND);
    assert_eq!(common::count(&app.ctx, "ledger").await, 2);
}

/// The whole service: a scanner added through the API, scans typed on the PTY, verdicts stored,
/// feedback bytes back on the wire, status in the API and in /metrics.
async fn scans_from_a_pty_scanner_are_judged_stored_and_answered(b: common::Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(pty) = Pty::plug(dir.path()) else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let mut cfg = serde_json::to_value(config(&pty.dev)).unwrap();
    cfg["good_feedback"] = json!("07");
    cfg["bad_feedback"] = json!("1b42");
    let r = common::Client::send(
        admin
            .req(reqwest::Method::PUT, "/api/scanners/rcv-1")
            .json(&cfg),
    )
    .await;
    assert_eq!(r.status, reqwest::StatusCode::NO_CONTENT, "{:?}", r.body);
    let mut host = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&pty.host)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let list = admin.get("/api/scanners").await.body;
        if list[0]["status"]["connected"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "scanner never connected: {list}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let expiry = konsign::service::today() + chrono::Duration::days(400);
    let good = format!("]d201{}17{}10LOT7\r\n", seed.plate, expiry.format("%y%m%d"));
    host.write_all(good.as_bytes()).unwrap();
    host.write_all(b"]E05708932000048\r\n").unwrap(); // valid EAN, unknown product
    host.write_all(b"]C1\x1d0105708932000018\r\n").unwrap(); // bad check digit
    let scans = loop {
        let s = admin.get("/api/scans?station=receiving-1").await.body;
        if s.as_array().unwrap().len() >= 3 {
            break s;
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(5),
            "scans not stored: {s}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let verdicts: Vec<(&str, &str)> = scans
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["outcome"].as_str().unwrap(),
                s["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(verdicts[0].0, "ok", "{verdicts:?}");
    assert!(
        verdicts[0].1.contains("Basisplade flad 50 mm") && verdicts[0].1.contains("lot LOT7"),
        "{verdicts:?}"
    );
    assert_eq!(verdicts[1], ("rejected", "unknown product 05708932000048"));
    assert_eq!(verdicts[2].0, "rejected");
    assert!(verdicts[2].1.contains("check digit"), "{verdicts:?}");
    // The station page shows the verdicts in Danish, the GS1 rule included.
    assert_eq!(scans[1]["message_da"], "Ukendt vare 05708932000048");
    let bad = scans[2]["message_da"].as_str().unwrap();
    assert!(
        bad.starts_with("Ulæselig stregkode: AI 01 ved position ")
            && bad.ends_with(": kontrolcifferet er 8, men skal være 7"),
        "{bad}"
    );
    assert!(scans[0]["message_da"]
        .as_str()
        .unwrap()
        .contains(", udløb "));
    assert_eq!(scans[0]["raw_hex"], hex::encode(good.trim_end().as_bytes()));
    assert_eq!(scans[0]["parsed"]["lot"], "LOT7");
    // Feedback reached the scanner, in order: good, bad, bad.
    let mut fb = [0u8; 5];
    let (fb, fb_host) =
        tokio::task::spawn_blocking(move || host.read_exact(&mut fb).map(|_| (fb, host)))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(&fb, b"\x07\x1bB\x1bB");
    // The product the scanner did not know is created: the next scan of it knows it at once
    // (konsign remembers product names for a moment, and forgets one when it is saved).
    let r = admin
        .post("/api/products", json!({ "gtin": "5708932000048", "name": "Pose ny", "producer": "COLOPLAST",
            "category": "pouch", "units_per_pack": 1, "price_minor": 1, "currency": "DKK", "min_shelf_life_days": 0 }))
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED, "{:?}", r.body);
    let mut host = fb_host;
    host.write_all(b"]E05708932000048\r\n").unwrap();
    let known = loop {
        let s = admin.get("/api/scans?station=receiving-1").await.body;
        if s.as_array().unwrap().len() >= 4 {
            break s;
        }
        assert!(
            Instant::now() < deadline + Duration::from_secs(10),
            "scan not stored: {s}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let newest = known
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|s| s["id"].as_i64())
        .unwrap();
    assert_eq!(newest["outcome"], "ok", "{newest}");
    assert!(
        newest["message"].as_str().unwrap().contains("Pose ny"),
        "{newest}"
    );
    let metrics = app.anon().get("/metrics").await.body;
    let text = metrics.as_str().unwrap();
    assert!(
        text.contains("konsign_scanner_connected{scanner=\"rcv-1\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("konsign_scans_total{scanner=\"rcv-1\",outcome=\"rejected\"} 2"),
        "{text}"
    );
    // Bad configuration names the field; removing the scanner stops its link.
    let mut bad = cfg.clone();
    bad["baud"] = json!(1234);
    let r = common::Client::send(
        admin
            .req(reqwest::Method::PUT, "/api/scanners/rcv-1")
            .json(&bad),
    )
    .await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (reqwest::StatusCode::UNPROCESSABLE_ENTITY, Some("baud"))
    );
    assert_eq!(
        admin.delete("/api/scanners/rcv-1").await.status,
        reqwest::StatusCode::NO_CONTENT
    );
    assert_eq!(
        admin
            .get("/api/scanners")
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        admin.delete("/api/scanners/rcv-1").await.status,
        reqwest::StatusCode::NOT_FOUND
    );
}

/// `konsign simulate scanner` plays a scanner on a new pseudo-terminal with a stable link; a link
/// task reads what it sends, and it prints the feedback it gets back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_sends_bracket_and_raw_scans_on_a_new_pty() {
    let dir = tempfile::tempdir().unwrap();
    let sim_path = dir.path().join("sim");
    std::fs::write(
        dir.path().join("scans.txt"),
        "(01)05708932000017(10)AB1(17)271231\n0105708932000017<GS>10RAW\n\n",
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_konsign"))
        .args([
            "simulate",
            "scanner",
            "--aim",
            "]C1",
            "--terminator",
            "cr",
            "--start-delay-ms",
            "1200",
            "--interval-ms",
            "50",
            "--hold-ms",
            "800",
        ])
        .arg("--link")
        .arg(&sim_path)
        .arg("--file")
        .arg(dir.path().join("scans.txt"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("simulator starts");
    let (tx, mut rx) = mpsc::channel(16);
    let (_stop, stop_rx) = watch::channel(false);
    let mut cfg = config(&sim_path);
    cfg.terminator = Terminator::Cr;
    let link = scanner::spawn(cfg, tx, stop_rx);
    assert_eq!(next(&mut rx).await, b"]C1010570893200001710AB1\x1d17271231");
    assert_eq!(next(&mut rx).await, b"]C10105708932000017\x1d10RAW");
    link.feedback.send(b"\x07".to_vec()).await.unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("feedback from the service: 07"), "{log}");
    assert!(
        !sim_path.exists(),
        "the simulator removes its link when it ends"
    );
    link.task.abort();
}

mod codec_properties {
    use bytes::BytesMut;
    use konsign::devices::scanner::{Decoded, ScanCodec, Terminator};
    use proptest::prelude::*;
    use tokio_util::codec::Decoder;

    fn terminator() -> impl Strategy<Value = Terminator> {
        prop_oneof![
            Just(Terminator::Cr),
            Just(Terminator::Lf),
            Just(Terminator::CrLf),
            Just(Terminator::Any)
        ]
    }

    proptest! {
        /// Arbitrary bytes in arbitrary chunks never panic the codec, and no scan it returns is
        /// empty, over-long, or contains a NUL or a terminator.
        #[test]
        fn arbitrary_bytes_never_panic_the_codec(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..20),
            t in terminator(),
            max in 1usize..80,
        ) {
            let mut codec = ScanCodec::new(t, max);
            let mut buf = BytesMut::new();
            for c in chunks {
                buf.extend_from_slice(&c);
                while let Some(d) = codec.decode(&mut buf).unwrap() {
                    if let Decoded::Scan(s) = d {
                        prop_assert!(!s.is_empty() && s.len() <= max);
                        prop_assert!(!s.contains(&0));
                        match t {
                            Terminator::Cr => prop_assert!(!s.contains(&b'\r')),
                            Terminator::Lf => prop_assert!(!s.contains(&b'\n')),
                            Terminator::Any => prop_assert!(!s.contains(&b'\r') && !s.contains(&b'\n')),
                            Terminator::CrLf => prop_assert!(!s.windows(2).any(|w| w == b"\r\n")),
                        }
                    }
                }
            }
            let _ = codec.drop_partial(&mut buf);
        }

        /// Scans without terminator bytes, however the stream is cut into reads, come out whole
        /// and in order.
        #[test]
        fn scans_survive_any_chunking(
            scans in proptest::collection::vec(proptest::collection::vec(0x20u8..0x7f, 1..40), 1..10),
            cuts in proptest::collection::vec(1usize..16, 1..50),
        ) {
            let mut stream = Vec::new();
            for s in &scans {
                stream.extend_from_slice(s);
                stream.extend_from_slice(b"\r\n");
            }
            let mut codec = ScanCodec::new(Terminator::Any, 64);
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            let mut pos = 0;
            let mut i = 0;
            while pos < stream.len() {
                let n = cuts[i % cuts.len()].min(stream.len() - pos);
                buf.extend_from_slice(&stream[pos..pos + n]);
                pos += n;
                i += 1;
                while let Some(d) = codec.decode(&mut buf).unwrap() {
                    out.push(d);
                }
            }
            let expected: Vec<Decoded> = scans.into_iter().map(Decoded::Scan).collect();
            prop_assert_eq!(out, expected);
        }
    }
}

/// A picker takes a wave at a picking station; the station's serial scanner (a real PTY) then
/// drives the picks: location label, a wrong product, the product twice. Every verdict is stored
/// with the scan, and the stock ends in the order's tote.
async fn a_wave_is_picked_with_a_pty_scanner_at_a_picking_station(b: common::Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(pty) = Pty::plug(dir.path()) else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let r = admin
        .post(
            "/api/locations",
            json!({ "code": "T-01", "zone": "T", "kind": "tote", "walk_seq": 900 }),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::CREATED);
    let expiry = konsign::service::today() + chrono::Duration::days(300);
    common::receive(&admin, &seed.pouch, "P-7", &expiry.to_string(), "A-01-1", 5).await;
    let order = json!({
        "external_id": "PTY-1",
        "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
        "grant_ref": "BEV-1", "citizen_id": "cit-1",
        "recipient": { "name": "Bo Ås", "address_line1": "Vej 1", "postcode": "8000", "city": "Aarhus C" },
        "delivery_date": common::in_days(1),
        "lines": [{ "gtin": seed.pouch, "quantity": 2 }],
    });
    let r = admin.post("/api/orders", order).await;
    assert_eq!(r.body["status"], "allocated", "{:?}", r.body);
    let w = admin.post("/api/waves", json!({})).await;
    assert_eq!(w.status, reqwest::StatusCode::CREATED, "{:?}", w.body);
    let wave = w.body["id"].as_i64().unwrap();
    let set = common::Client::send(
        admin
            .req(reqwest::Method::PUT, "/api/stations/receiving-1/workflow")
            .json(&json!({ "workflow": "picking" })),
    )
    .await;
    assert_eq!(set.status, reqwest::StatusCode::NO_CONTENT);
    let mut host = connect_scanner(
        &admin,
        &pty,
        serde_json::to_value(config(&pty.dev)).unwrap(),
    )
    .await;
    // Before a wave is taken at the station, a scan there picks nothing.
    host.write_all(b"]C0A-01-1\r\n").unwrap();
    let early = stored_scans(&admin, 1).await;
    assert_eq!(early[0]["outcome"], "rejected");
    assert_eq!(early[0]["message"], "no pick wave is taken at this station");
    assert_eq!(
        early[0]["message_da"],
        "Ingen plukrunde er taget ved denne station"
    );
    let picker = app
        .user("rasmus", konsign::domain::auth::Role::Picker)
        .await;
    let r = picker
        .post(
            &format!("/api/waves/{wave}/take"),
            json!({ "station": "receiving-1" }),
        )
        .await;
    assert_eq!(r.status, reqwest::StatusCode::OK, "{:?}", r.body);
    let product = format!("]d201{}17{}10P-7\r\n", seed.pouch, expiry.format("%y%m%d"));
    host.write_all(b"]C0A-01-1\r\n").unwrap();
    stored_scans(&admin, 2).await;
    host.write_all(format!("]d201{}17{}10X\r\n", seed.plate, expiry.format("%y%m%d")).as_bytes())
        .unwrap();
    stored_scans(&admin, 3).await;
    host.write_all(product.as_bytes()).unwrap();
    stored_scans(&admin, 4).await;
    host.write_all(product.as_bytes()).unwrap();
    let scans: Vec<serde_json::Value> = stored_scans(&admin, 5).await.into_iter().skip(1).collect();
    let verdicts: Vec<(&str, &str)> = scans
        .iter()
        .map(|s| {
            (
                s["used_for"].as_str().unwrap(),
                s["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        vec![
            ("picking", "ok"),
            ("picking", "rejected"),
            ("picking", "ok"),
            ("picking", "ok")
        ],
        "{scans:?}"
    );
    assert!(
        scans[1]["message"]
            .as_str()
            .unwrap()
            .contains("wrong product"),
        "{:?}",
        scans[1]
    );
    let w = admin.get(&format!("/api/waves/{wave}")).await.body;
    assert_eq!(w["status"], "done", "{w:?}");
    let tote = admin.get("/api/stock/units?location=T-01").await.body;
    assert_eq!(tote[0]["quantity"], 2, "{tote:?}");
    assert_eq!(tote[0]["lot"], "P-7");
    let status = admin.get("/api/orders/PTY-1/status").await.body;
    assert_eq!(status["status"], "picked");
}
