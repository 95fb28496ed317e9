//! One order from intake to the citizen's door, end to end, on SQLite with konsign's embedded
//! MQTT broker and on PostgreSQL with Mosquitto (`TEST_DATABASE_URL`, `TEST_MQTT_URL`; skipped
//! with a printed reason without them or without socat, unless `TEST_REQUIRE_SERVICES=1`).
//!
//! The ordering system hands over an order over HTTP (a pouch line and a cut-to-fit plate line);
//! it is allocated, put in a wave and picked with a serial scanner on a pseudo-terminal; its cut
//! line is cut by `konsign-bridge` driving the simulated machine, and the cut box's sticker
//! prints; the pack station's serial scanner packs the tote, the pouches and the cut box (the
//! DataMatrix read off the printed sticker); the packer closes the parcel and its shipping label
//! prints; the booking worker books it with the PostNord test double, whose label prints too;
//! the parcel is handed over in a cage, and PostNord's signed push of `DELIVERED` delivers the
//! order. The order's change feed shows every step in order; the ledger shows the producer's
//! stock fell by what was shipped, and the ownership passed to the payer once and left once.

mod common;

use common::packing::*;
use common::pty::Pty;
use common::{Backend, Client};
use firmware_bridge::machine::{Machine, MachineConfig};
use konsign::carrier::double::{push_event, tracking_body, Double};
use konsign::devices::printer::sim::Simulator;
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
enum Broker {
    Embedded,
    Mosquitto,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_with_the_embedded_broker() {
    one_order_from_intake_to_the_citizens_door(Broker::Embedded, Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_with_mosquitto() {
    one_order_from_intake_to_the_citizens_door(Broker::Mosquitto, Backend::Postgres).await;
}

const ORDER: &str = "E2E-1";

/// The order's steps in its change feed, exactly.
const ORDER_STEPS: &str = "order.received order.allocated order.picking order.cutting order.cut \
                           order.packed order.shipped order.delivered";

/// The journey in the whole event log, in this order (other events may come between).
const JOURNEY: &str = "order.received order.allocated order.picking wave.created wave.taken \
    pick.confirmed cut_job.queued order.cutting wave.done cut_station.event order.cut \
    parcel.item_packed stock.ownership_transferred parcel.closed order.packed parcel.booked \
    parcel.on_cage order.shipped stock.shipped cage.closed parcel.tracking order.delivered";

/// The journey; `None` when it was skipped (the reason printed).
async fn one_order_from_intake_to_the_citizens_door(
    broker: Broker,
    backend: Backend,
) -> Option<()> {
    let started = Instant::now();
    // Two serial scanners on pseudo-terminals; PostNord's test double; the app booking with it,
    // with MQTT under a site of its own.
    let ptys = tempfile::tempdir().unwrap();
    let (pick_dir, pack_dir) = (ptys.path().join("pick"), ptys.path().join("pack"));
    std::fs::create_dir_all(&pick_dir).unwrap();
    std::fs::create_dir_all(&pack_dir).unwrap();
    let (pick_pty, pack_pty) = (Pty::plug(&pick_dir)?, Pty::plug(&pack_dir)?);
    let mqtt_url = match broker {
        Broker::Embedded => None,
        Broker::Mosquitto => Some(mosquitto_url()?),
    };
    let d = Double::start("127.0.0.1:0", KEY).await.unwrap();
    let site = test_site();
    let (base, s, port) = (d.base_url(), site.clone(), free_port());
    let (p, _dir) = setup_with(backend, move |c| {
        postnord(c, base);
        c.mqtt.enabled = true;
        c.mqtt.url = mqtt_url;
        c.mqtt.embedded_listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.mqtt.site = s;
        c.mqtt.host_id = Some("h1".into());
        c.printing.hold_poll_ms = 100;
        c.printing.idle_poll_ms = 300;
    })
    .await?;
    let (admin, packer, web) = (p.admin.clone(), p.packer.clone(), p.web.clone());

    // The cutting station: konsign-bridge on the simulated machine, with a sticker printer.
    let cutting = start_cutting(&admin, &p.app, &site).await;

    // Producer-owned stock; the order comes in over HTTP from the ordering system.
    let exp = common::in_days(300);
    common::receive(&admin, POUCH, "LP-1", &exp, "A-01-1", 5).await;
    common::receive(&admin, PLATE, "PL-1", &exp, "A-02-1", 5).await;
    assert_eq!(owned(&p, "COLOPLAST", "LP-1").await, 5);
    assert_eq!(owned(&p, "COLOPLAST", "PL-1").await, 5);
    let order = json!({
        "external_id": ORDER,
        "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
        "grant_ref": "BEV-77",
        "citizen_id": "cit-4f9a",
        "recipient": { "name": "Åse Ørnbøl", "address_line1": "Søndergade 12", "postcode": "8000", "city": "Aarhus C" },
        "delivery_date": common::in_days(2),
        "lines": [{ "gtin": POUCH, "quantity": 2 },
                  { "gtin": PLATE, "quantity": 2,
                    "cut": { "shape": "round", "diameter_mm": 30, "measured_on": common::in_days(-10) } }],
    });
    let r = web.post("/api/orders", order).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["status"], "allocated", "{:?}", r.body);

    // A wave, taken at a picking station whose serial scanner picks every pack.
    let w = admin.post("/api/waves", json!({ "max_orders": 1 })).await;
    assert_eq!(w.status, StatusCode::CREATED, "{:?}", w.body);
    let wave = w.body["id"].as_i64().unwrap();
    let tote = w.body["picks"][0]["tote"].as_str().unwrap().to_string();
    let mut pick_scanner = plug_scanner(&admin, "pick-scn", "pick-1", "picking", &pick_pty).await;
    let picker = p.app.user("pia", Role::Picker).await;
    let r = picker
        .post(
            &format!("/api/waves/{wave}/take"),
            json!({ "station": "pick-1" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let mut picked = 0;
    loop {
        let next = picker.get(&format!("/api/waves/{wave}/next")).await.body;
        let Some(pick) = next["pick"].as_object() else {
            break;
        };
        let field = |k: &str| pick[k].as_str().unwrap().to_string();
        let data = wedge(&field("gtin"), &field("expiry"), &field("lot"));
        pick_scanner
            .write_all(format!("]d2{data}\r\n").as_bytes())
            .unwrap();
        picked += 1;
        assert!(picked <= 4, "more scans than packs: {next}");
        let scans = stored_scans(&admin, "pick-1", picked).await;
        assert_eq!(scans[picked - 1]["outcome"], "ok", "{scans:?}");
        assert_eq!(scans[picked - 1]["used_for"], "picking", "{scans:?}");
    }
    assert_eq!(picked, 4, "two pouches and two plates");
    beeps(&mut pick_scanner, 4).await;
    assert_eq!(
        admin.get(&format!("/api/waves/{wave}")).await.body["status"],
        "done"
    );

    // The cut line goes to cut-1: the bridge and the machine cut it, the sticker prints.
    order_status(&web, "cutting").await;
    let jobs = admin.get("/api/cut-jobs").await.body;
    assert_eq!(jobs.as_array().unwrap().len(), 1, "{jobs}");
    let job_id = jobs[0]["id"].as_str().unwrap().to_string();
    let job = until_value("the cut job finished", || async {
        let j = admin.get(&format!("/api/cut-jobs/{job_id}")).await.body;
        (j["state"] == "finished").then_some(j)
    })
    .await;
    let states: Vec<&Value> = job["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["state"])
        .collect();
    assert_eq!(
        states,
        ["queued", "sent", "accepted", "running", "finished"],
        "{job}"
    );
    let loads = cutting.machine.loads.load(Ordering::Relaxed);
    assert_eq!(loads, 1, "the job was loaded on the machine once");
    order_status(&web, "picked").await;
    let sticker = until_value("the cut sticker", || async {
        cutting.stickers.printed().first().cloned()
    })
    .await;
    for want in ["10PL-1", "Ø 30 mm", &format!("91{job_id}")] {
        assert!(
            sticker.contains(want),
            "{want} not on the sticker: {sticker}"
        );
    }
    cutting.stop().await;

    // Packing by the station's serial scanner: the tote, the pouches, the cut box's sticker.
    let mut pack_scanner = plug_scanner(&admin, "pak-scn", "PAK-01", "packing", &pack_pty).await;
    let pouch = format!("]d2{}\r\n", wedge(POUCH, &exp, "LP-1"));
    let box_scan = format!("]d2{}\r\n", sticker_scan(&sticker, &job_id, &exp));
    for (i, scan) in [format!("]C0{tote}\r\n"), pouch.clone(), pouch, box_scan]
        .iter()
        .enumerate()
    {
        pack_scanner.write_all(scan.as_bytes()).unwrap();
        let scans = stored_scans(&admin, "PAK-01", i + 1).await;
        assert_eq!(
            (scans[i]["used_for"].as_str(), scans[i]["outcome"].as_str()),
            (Some("packing"), Some("ok")),
            "{scans:?}"
        );
    }
    beeps(&mut pack_scanner, 4).await;
    let v = packer.get("/api/pack-stations/PAK-01").await.body;
    assert_eq!(v["complete"], true, "{v}");
    let c = close(&packer, "PAK-01", json!({})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    let parcel = c.body["id"].as_i64().unwrap();
    let sscc = c.body["sscc"].as_str().unwrap().to_string();
    check_sscc(&sscc);
    assert_eq!(
        c.body["weight_g"],
        120 + 2 * 180 + 2 * 90,
        "tare, two pouches, two plates"
    );
    let transfers = c.body["transfers"].as_array().unwrap();
    assert_eq!(transfers.len(), 2, "{transfers:?}");
    let each = |t: &Value| {
        t["producer"] == "COLOPLAST" && t["payer"] == "payer:0751" && t["quantity"] == 2
    };
    assert!(transfers.iter().all(each), "{transfers:?}");
    assert!(
        c.body["items"]
            .to_string()
            .contains(&format!("\"cut_job\":\"{job_id}\"")),
        "{:?}",
        c.body
    );
    order_status(&web, "packed").await;
    let label = printed_label(&p, 1).await.remove(0);
    assert!(
        label.contains(&sscc),
        "the shipping label carries the SSCC: {label}"
    );

    // The booking worker books it with PostNord once; PostNord's own label prints.
    let bk = until_value("the booking", || async {
        let list = packer.get("/api/bookings").await.body;
        list.as_array()
            .unwrap()
            .iter()
            .find(|b| b["parcel_id"] == parcel && b["state"] == "booked")
            .cloned()
    })
    .await;
    assert_eq!(bk["carrier"], "postnord");
    assert_eq!(bk["tracking_number"], format!("00{sscc}"));
    assert_eq!(d.bookings_of(&sscc), 1, "booked once at PostNord");
    let carrier_label = until_value("PostNord's label", || async {
        p.printer
            .printed()
            .into_iter()
            .find(|z| z.contains("^FDService "))
    })
    .await;
    assert!(carrier_label.contains(&sscc), "{carrier_label}");

    // Handover: the parcel goes on PostNord's cage, the cage closes, the order is shipped.
    let cage = packer
        .post("/api/cages", json!({ "carrier": "postnord" }))
        .await;
    assert!(cage.status.is_success(), "{:?}", cage.body);
    let cage = cage.body["id"].as_i64().unwrap();
    let r = packer
        .post(
            &format!("/api/cages/{cage}/scan"),
            json!({ "scan_id": "h1", "data": format!("00{sscc}") }),
        )
        .await;
    assert_eq!(r.body["code"], "on_cage", "{:?}", r.body);
    let r = packer
        .post(&format!("/api/cages/{cage}/close"), json!({}))
        .await;
    assert_eq!(r.body["shipped"], json!([ORDER]), "{:?}", r.body);
    order_status(&web, "shipped").await;

    // PostNord pushes DELIVERED, signed: the order is delivered, with its tracking.
    let now = chrono::Utc::now();
    let item = format!("00{sscc}");
    let events = [push_event(
        "C20",
        "DELIVERED",
        "Leveret",
        now - chrono::Duration::minutes(5),
    )];
    let r = push_signed(&p, &tracking_body(&item, &events), now.timestamp(), SECRET).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["delivered"], json!([ORDER]), "{:?}", r.body);
    let status = order_status(&web, "delivered").await;
    let parcels = status["parcels"].as_array().unwrap();
    assert_eq!(parcels.len(), 1, "{status}");
    assert_eq!(parcels[0]["sscc"], sscc.as_str());
    assert_eq!(parcels[0]["carrier"], "postnord");
    assert_eq!(parcels[0]["tracking_number"], item.as_str());
    assert_eq!(parcels[0]["tracking_status"], "delivered");

    // The order's change feed (the ordering system's view) shows every step, in order.
    let feed = all_events(&web, "/api/order-changes").await;
    let steps: Vec<&str> = feed
        .iter()
        .filter(|e| e["subject"] == format!("order:{ORDER}"))
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ORDER_STEPS.split_whitespace().collect::<Vec<_>>(),
        "{feed:?}"
    );
    // The whole event log, with the warehouse's and the carrier's steps between them.
    let log = all_events(&admin, "/api/events").await;
    let kinds: Vec<&str> = log
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_in_order(&kinds, JOURNEY);
    assert_eq!(kinds.iter().filter(|k| **k == "parcel.booked").count(), 1);

    // The ledger: the producer's stock fell by what was shipped; the payer owned it once, briefly.
    assert_eq!(owned(&p, "COLOPLAST", "LP-1").await, 3);
    assert_eq!(owned(&p, "COLOPLAST", "PL-1").await, 3);
    assert_eq!(owned(&p, "payer:0751", "LP-1").await, 0);
    assert_eq!(owned(&p, "payer:0751", "PL-1").await, 0);
    let transfers = "select count(distinct op_id), cast(sum(quantity) as bigint), \
                     count(distinct payer) from ownership_transfers";
    assert_eq!(
        rows(&p, transfers).await,
        ["1 4 1"],
        "one transfer of 4 packs to one payer"
    );
    let ops = rows(&p, "select kind, count(*) from stock_ops group by kind").await;
    for op in ["transfer 1", "ship 1"] {
        assert!(ops.contains(&op.to_string()), "{op}: {ops:?}");
    }
    let moves = "select kind, owner, count(*), cast(sum(delta) as bigint) from ledger \
                 where kind in ('transfer', 'ship') group by kind, owner order by kind, owner";
    assert_eq!(
        rows(&p, moves).await,
        [
            "ship payer:0751 2 -4",
            "transfer COLOPLAST 2 -4",
            "transfer payer:0751 2 4"
        ],
        "out of the producer's stock into the payer's once, and out of the warehouse from there"
    );

    eprintln!(
        "{broker:?} on {backend:?}: intake to delivered in {:.1?}",
        started.elapsed()
    );
    pick_pty.unplug();
    pack_pty.unplug();
    p.printer.stop();
    p.app.stop().await;
    Some(())
}

/// PostNord as `setup_postnord` configures it, against the double at `base`.
fn postnord(c: &mut konsign::config::Config, base: String) {
    c.carrier.default = "postnord".into();
    c.carrier.poll_ms = 40;
    c.carrier.timeout_ms = 700;
    c.carrier.retry_first_ms = 50;
    c.carrier.track_every_seconds = 0;
    c.carrier
        .push_secrets
        .insert("postnord".into(), SECRET.into());
    c.carrier.postnord = Some(konsign::config::PostNordConfig {
        base_url: base,
        api_key: KEY.into(),
        customer_number: "12345678".into(),
        test_indicator: true,
        ..Default::default()
    });
}

/// Cutting station cut-1: `konsign-bridge` on the simulated machine, with a sticker printer.
struct Cutting {
    stickers: Simulator,
    machine: Machine,
    stop: tokio::sync::watch::Sender<bool>,
    bridge: tokio::task::JoinHandle<std::io::Result<()>>,
    _state: tempfile::TempDir,
}

/// Registers cut-1 with its sticker printer, starts the machine and the bridge, and waits until
/// konsign sees the station available.
async fn start_cutting(admin: &Client, app: &common::TestApp, site: &str) -> Cutting {
    let stickers = Simulator::start("127.0.0.1:0", None, None).await.unwrap();
    let port = stickers.addr().port();
    let printer =
        json!({ "host": "127.0.0.1", "port": port, "label_width_mm": 51, "label_height_mm": 32 });
    put(admin, "/api/printers/cut-1", printer).await;
    let station = json!({ "name": "Hulklip 1", "printer": "cut-1" });
    put(admin, "/api/cut-stations/cut-1", station).await;
    let machine = Machine::start(MachineConfig::default()).unwrap();
    let state = tempfile::tempdir().unwrap();
    let (host, port) = app.ctx.config.mqtt.broker().unwrap();
    let cfg = firmware_bridge::bridge::Config {
        site: site.to_string(),
        station: "cut-1".into(),
        broker_host: host,
        broker_port: port,
        serial: machine.path.clone(),
        state_dir: state.path().to_path_buf(),
        min_mm: 10.0,
        max_mm: 70.0,
        queue_limit: 3,
        credentials: None,
    };
    let (stop, rx) = tokio::sync::watch::channel(false);
    let bridge = tokio::spawn(firmware_bridge::bridge::run(cfg, rx));
    until_value("cut-1 available", || async {
        let list = admin.get("/api/cut-stations").await.body;
        let up = |s: &Value| s["id"] == "cut-1" && s["available"] == true;
        list.as_array().unwrap().iter().any(up).then_some(())
    })
    .await;
    Cutting {
        stickers,
        machine,
        stop,
        bridge,
        _state: state,
    }
}

impl Cutting {
    /// Stops the bridge cleanly and the sticker printer.
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.bridge).await;
        self.stickers.stop();
    }
}

/// Sets `station`'s workflow and binds a serial scanner on `pty` to it (good beep 07, bad
/// ESC B); returns the scanner's side of the line once the link is connected.
async fn plug_scanner(
    admin: &Client,
    id: &str,
    station: &str,
    workflow: &str,
    pty: &Pty,
) -> std::fs::File {
    put(
        admin,
        &format!("/api/stations/{station}/workflow"),
        json!({ "workflow": workflow }),
    )
    .await;
    let cfg = json!({ "path": pty.dev.display().to_string(), "station": station, "baud": 115200,
                      "good_feedback": "07", "bad_feedback": "1b42" });
    put(admin, &format!("/api/scanners/{id}"), cfg).await;
    until_value(&format!("scanner {id} connected"), || async {
        let list = admin.get("/api/scanners").await.body;
        let up = |s: &Value| s["config"]["id"] == id && s["status"]["connected"] == true;
        list.as_array().unwrap().iter().any(up).then_some(())
    })
    .await;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&pty.host)
        .unwrap()
}

/// Reads `n` bytes of feedback from the scanner's line: every one the good beep.
async fn beeps(line: &mut std::fs::File, n: usize) {
    let mut line = line.try_clone().unwrap();
    let read = tokio::task::spawn_blocking(move || {
        let mut fb = vec![0u8; n];
        line.read_exact(&mut fb).map(|_| fb)
    });
    let fb = tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("feedback within 5 s")
        .unwrap()
        .unwrap();
    assert_eq!(fb, vec![0x07; n], "a good beep for every scan");
}

/// The station's stored scans, once there are `n`.
async fn stored_scans(admin: &Client, station: &str, n: usize) -> Vec<Value> {
    until_value(&format!("{n} scans stored at {station}"), || async {
        let s = admin
            .get(&format!("/api/scans?station={station}"))
            .await
            .body;
        let v = s.as_array().unwrap().clone();
        (v.len() >= n).then_some(v)
    })
    .await
}

/// What a 2D scanner reads off the printed sticker: the GS1 DataMatrix decoded (`dmtxread`)
/// from the rendered ZPL, its leading FNC1 replaced by the `]d2` the scanner sends. Without the
/// decoding tools (and services not required), the element string konsign meant to print.
fn sticker_scan(zpl: &str, job_id: &str, exp: &str) -> String {
    let Some(node_modules) = common::decode::tools() else {
        let d = chrono::NaiveDate::parse_from_str(exp, "%Y-%m-%d").unwrap();
        return format!("01{PLATE}17{}10PL-1\u{1d}91{job_id}", d.format("%y%m%d"));
    };
    let dir = tempfile::tempdir().unwrap();
    let png = common::decode::to_png(&node_modules, zpl, 51.0, 32.0, dir.path(), "sticker");
    let out = std::process::Command::new("dmtxread")
        .args(["-G", "29"])
        .arg(&png)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let data = text
        .trim_end()
        .strip_prefix('\u{1d}')
        .unwrap_or_else(|| panic!("no GS1 DataMatrix on the sticker: {text:?}"));
    assert!(data.ends_with(&format!("91{job_id}")), "{data:?}");
    data.to_string()
}

/// A PUT the admin makes, answered 204.
async fn put(admin: &Client, path: &str, body: Value) {
    let r = admin.put_json(path, body).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{path}: {:?}", r.body);
}

/// Waits until the order has `want` status; returns the status view.
async fn order_status(web: &Client, want: &str) -> Value {
    until_value(&format!("{ORDER} {want}"), || async {
        let s = web.get(&format!("/api/orders/{ORDER}/status")).await.body;
        (s["status"] == want).then_some(s)
    })
    .await
}

/// Every event of a cursor-paged feed.
async fn all_events(c: &Client, path: &str) -> Vec<Value> {
    let mut all: Vec<Value> = Vec::new();
    loop {
        let after = all.last().map_or(0, |e| e["id"].as_i64().unwrap());
        let page = c.get(&format!("{path}?after={after}&limit=1000")).await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        let page = page.body.as_array().unwrap().clone();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// `want` appears in `kinds` as a subsequence (each after the one before it).
fn assert_in_order(kinds: &[&str], want: &str) {
    let mut at = 0;
    for w in want.split_whitespace() {
        match kinds[at..].iter().position(|k| *k == w) {
            Some(i) => at += i + 1,
            None => panic!("{w} missing after the steps before it in the event log: {kinds:?}"),
        }
    }
}

/// The rows a query answers, each its columns (text or numbers) joined by spaces.
async fn rows(p: &Packing, sql: &str) -> Vec<String> {
    use sqlx::Row;
    let rows = sqlx::query(sql)
        .fetch_all(p.app.ctx.db.pool())
        .await
        .unwrap();
    let cell = |r: &sqlx::any::AnyRow, i: usize| {
        r.try_get::<String, _>(i)
            .unwrap_or_else(|_| r.get::<i64, _>(i).to_string())
    };
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| cell(r, i))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Polls `f` (every 25 ms, up to 20 s) until it answers something.
async fn until_value<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
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
                "skipped: the Mosquitto variant needs TEST_MQTT_URL (e.g. mqtt://127.0.0.1:1883)"
            );
            None
        }
    }
}

/// A site of its own (so retained messages of other tests never meet this one).
fn test_site() -> String {
    let r = konsign::service::auth::random_secret(6);
    format!("e2e{}", r.to_lowercase().replace(['-', '_'], "x"))
}

fn free_port() -> u16 {
    common::listen_port()
}
