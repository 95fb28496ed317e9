//! The picker's page in a real headless Chromium, driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`): log in as a picker, take a wave, and complete it by typing scans into the
//! page as a keyboard-wedge handheld does, with a wrong scan on the way. Screenshots are saved as
//! test artefacts in `<target>/test-artefacts/`.
//!
//! Skipped with a printed reason when Chromium or ChromeDriver is missing, unless
//! `TEST_REQUIRE_SERVICES=1` (as in `.ci/run`, which installs them).

mod common;

use common::webdriver::Browser;
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

fn wedge(gtin: &str, expiry: &str, lot: &str) -> String {
    let d = chrono::NaiveDate::parse_from_str(expiry, "%Y-%m-%d").unwrap();
    format!("01{gtin}17{}10{lot}", d.format("%y%m%d"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picker_completes_a_wave_by_typing_scans_into_the_page() {
    let Some(app) = common::spawn_app(common::Backend::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
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
    assert_eq!(r.status, StatusCode::CREATED);
    let (pouch_exp, plate_exp) = (common::in_days(200), common::in_days(300));
    common::receive(&admin, &seed.pouch, "P-11", &pouch_exp, "A-01-1", 5).await;
    common::receive(&admin, &seed.plate, "B-22", &plate_exp, "A-02-1", 5).await;
    let order = json!({
        "external_id": "WEB-100",
        "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
        "grant_ref": "BEV-1", "citizen_id": "cit-100",
        "recipient": { "name": "Åse Ørnbøl", "address_line1": "Søndergade 1", "postcode": "8000", "city": "Aarhus C" },
        "delivery_date": common::in_days(2),
        "lines": [{ "gtin": seed.pouch, "quantity": 2 },
                  { "gtin": seed.plate, "quantity": 1, "cut": { "shape": "oval", "width_mm": 30, "height_mm": 25, "measured_on": common::in_days(-3) } }],
    });
    assert_eq!(
        admin.post("/api/orders", order.clone()).await.body["status"],
        "allocated"
    );
    app.user("pia", Role::Picker).await;

    // The lead makes the wave on the start page.
    browser.login(&app.base, "admin", "admin-password-1").await;
    browser
        .until(
            "the lead's start page",
            "document.getElementById('makewave') !== null",
        )
        .await;
    browser.click("#makewave button").await;
    browser
        .until(
            "the wave is made",
            "document.getElementById('waveresult').className === 'okmsg'",
        )
        .await;
    let waves = admin.get("/api/waves").await.body;
    let wave = waves[0]["id"].as_i64().unwrap();
    assert_eq!(waves.as_array().unwrap().len(), 1);
    // … and assigns it to Pia, chosen from the pickers in the waves table.
    browser
        .until(
            "the waves table with the pickers to choose from",
            "!!document.querySelector('form.assign select option[value=\"pia\"]')",
        )
        .await;
    browser
        .js("document.querySelector('form.assign select').value = 'pia'; return 1;")
        .await;
    browser.screenshot("lead-assign").await;
    browser.click("form.assign button").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while admin.get(&format!("/api/waves/{wave}")).await.body["picker"] != "pia" {
        assert!(
            std::time::Instant::now() < deadline,
            "the wave was not assigned"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.login(&app.base, "pia", "pia-password-1").await;
    browser.goto(&format!("{}/pick", app.base)).await;
    browser
        .click(&format!("form.take[data-wave='{wave}'] button"))
        .await;
    browser.until("the first pick is shown", "document.getElementById('loc') && document.getElementById('loc').textContent === 'A-01-1'").await;
    // On a 412 px phone the pick page fits without sideways scrolling, and the keyboard can be
    // asked for (it stays away by default, for the scanner).
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": 412, "height": 915 })),
        )
        .await;
    let wide = browser
        .js("return document.documentElement.scrollWidth;")
        .await;
    assert!(
        wide.as_i64().unwrap() <= 412,
        "the pick page scrolls sideways: {wide}"
    );
    assert_eq!(
        browser
            .js("return document.getElementById('scan').getAttribute('inputmode');")
            .await,
        "none"
    );
    browser.click("#kbd").await;
    assert_eq!(
        browser
            .js("return document.getElementById('scan').getAttribute('inputmode');")
            .await,
        "text"
    );
    browser.click("#kbd").await;
    browser.screenshot("picker-1-first-pick").await;

    // Enter (\u{e007}) ends every scan, as a wedge scanner's suffix does.
    browser.type_into("#scan", "A-01-1\u{e007}").await;
    browser
        .until(
            "location accepted",
            "document.getElementById('msg').className === 'okmsg'",
        )
        .await;
    browser.type_into("#scan", "hello\u{e007}").await;
    browser
        .until(
            "a bad scan turns the page red",
            "document.body.className === 'bad'",
        )
        .await;
    browser.screenshot("picker-2-bad-scan").await;
    browser
        .until("the red flash ends", "document.body.className === ''")
        .await;
    // The connection drops: the scan is kept in the browser and sent when it is back.
    browser
        .cmd(
            reqwest::Method::POST,
            "/chromium/network_conditions",
            Some(
                json!({ "network_conditions": { "offline": true, "latency": 0,
                "download_throughput": -1, "upload_throughput": -1 } }),
            ),
        )
        .await;
    browser
        .type_into(
            "#scan",
            &format!("{}\u{e007}", wedge(&seed.pouch, &pouch_exp, "P-11")),
        )
        .await;
    let pending =
        format!("JSON.parse(localStorage.getItem('konsign-pending-{wave}') || '[]').length");
    browser
        .until(
            "the scan waits in the browser",
            &format!("{pending} === 1 && document.getElementById('pick').dataset.online === 'no'"),
        )
        .await;
    browser.screenshot("picker-offline").await;
    browser
        .cmd(
            reqwest::Method::DELETE,
            "/chromium/network_conditions",
            None,
        )
        .await;
    browser
        .until(
            "the kept scan is sent and confirmed",
            &format!("{pending} === 0 && document.getElementById('detail').textContent.indexOf('1 stk') === 0"),
        )
        .await;
    let w = admin.get(&format!("/api/waves/{wave}")).await.body;
    assert_eq!(w["progress"]["packs_picked"], 1, "counted once: {w}");
    {
        let before = browser
            .js("return document.getElementById('progress').textContent")
            .await;
        browser
            .type_into(
                "#scan",
                &format!("{}\u{e007}", wedge(&seed.pouch, &pouch_exp, "P-11")),
            )
            .await;
        browser
            .until(
                "the pack is confirmed",
                &format!("document.getElementById('progress').textContent !== {before}"),
            )
            .await;
    }
    browser
        .until(
            "the next pick is shown",
            "document.getElementById('loc').textContent === 'A-02-1'",
        )
        .await;
    browser.type_into("#scan", "a-02-1\u{e007}").await;
    browser.until("location accepted", "document.getElementById('detail').textContent.indexOf('B-22') >= 0 && document.getElementById('msg').className === 'okmsg'").await;
    browser
        .type_into(
            "#scan",
            &format!("{}\u{e007}", wedge(&seed.plate, &plate_exp, "B-22")),
        )
        .await;
    browser
        .until(
            "the wave is done",
            "document.getElementById('pick').dataset.state === 'done'",
        )
        .await;
    browser.screenshot("picker-3-wave-done").await;

    // An order that cannot be covered waits as a backorder.
    let mut big = order.clone();
    big["external_id"] = json!("WEB-200");
    big["lines"] = json!([{ "gtin": seed.pouch, "quantity": 10 }]);
    assert_eq!(
        admin.post("/api/orders", big).await.body["status"],
        "backordered"
    );

    // The lead's start page shows the orders by status, the backorders and the waves as bars,
    // and releases the backorder partially with a reason.
    browser.login(&app.base, "admin", "admin-password-1").await;
    browser
        .until(
            "the lead's overview",
            "document.getElementById('orders') && document.getElementById('orders').textContent.indexOf('Til hulklip') >= 0 \
             && document.getElementById('backorders').textContent.indexOf('WEB-200') >= 0",
        )
        .await;
    // The finished wave stays on the page for the day, with its order and tote.
    browser
        .until(
            "today's finished wave",
            "!!document.querySelector('#waves tr.done') && document.querySelector('#waves tr.done').textContent.includes('WEB-100 → T-01') && document.querySelector('#waves tr.done').textContent.includes('færdig')",
        )
        .await;
    browser.screenshot("lead-home").await;
    // The lead's start page fits a 412 px phone too: a wide table scrolls inside its box, the
    // page does not scroll sideways.
    let wide = browser
        .js("return document.documentElement.scrollWidth;")
        .await;
    let wide = wide.as_i64().unwrap_or(i64::MAX);
    assert!(
        wide <= 412,
        "the lead's start page scrolls sideways on a phone: {wide} px"
    );
    browser.click("#backorders button.release").await;
    browser
        .cmd(
            reqwest::Method::POST,
            "/alert/text",
            Some(json!({ "text": "borgeren har brug for det nu" })),
        )
        .await;
    browser
        .cmd(reqwest::Method::POST, "/alert/accept", Some(json!({})))
        .await;
    browser
        .until(
            "the backorder is released",
            "document.getElementById('backorders') === null",
        )
        .await;
    browser.close().await;
    let s = admin.get("/api/orders/WEB-200/status").await.body;
    assert_eq!(
        (s["status"].as_str(), s["partial_release"].as_bool()),
        (Some("allocated"), Some(true)),
        "{s}"
    );
    let audit = admin
        .get("/api/audit?action=order.released_partially")
        .await
        .body;
    assert_eq!(audit[0]["detail"]["reason"], "borgeren har brug for det nu");

    let w = admin.get(&format!("/api/waves/{wave}")).await.body;
    assert_eq!(w["status"], "done");
    assert_eq!(w["progress"]["packs_picked"], 3);
    let s = admin.get("/api/orders/WEB-100/status").await.body;
    assert_eq!(s["status"], "cutting", "the order has a cut line");
    let tote = admin.get("/api/stock/units?location=T-01").await.body;
    assert_eq!(tote.as_array().unwrap().len(), 2, "{tote:?}");
}

/// The hulklip operator's page: a station (a real MQTT client on the embedded broker) accepts
/// the job of a picked order; the operator starts it and confirms it done with the buttons; the
/// page follows without a reload and the order moves on to packing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_cuts_a_job_on_the_station_page() {
    use firmware_bridge::wire::{self, Header, Topic};
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let dir = tempfile::tempdir().unwrap();
    let Some(db) = common::database_url(common::Backend::Sqlite, dir.path()).await else {
        return;
    };
    let port = common::listen_port();
    let app = common::start_app(db, Some(dir), move |c| {
        c.mqtt.enabled = true;
        c.mqtt.embedded_listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.mqtt.site = "browser".into();
        c.picking.require_location_scan = false;
    })
    .await;
    let Some(browser) = Browser::start().await else {
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
    assert_eq!(r.status, StatusCode::CREATED);
    let expiry = common::in_days(300);
    common::receive(&admin, &seed.plate, "B-22", &expiry, "A-02-1", 5).await;
    let pouch_exp = common::in_days(200);
    common::receive(&admin, &seed.pouch, "P-11", &pouch_exp, "A-01-1", 5).await;
    let r = admin
        .put_json("/api/cut-stations/cut-1", json!({ "name": "Hulklip 1" }))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // The station: online, able to cut, and it accepts every job.
    let mut o = MqttOptions::new("station-browser-cut-1", "127.0.0.1", port);
    o.set_keep_alive(Duration::from_secs(5));
    let (st, mut ev) = AsyncClient::new(o, 64);
    let h = |n: u64| Header::new("browser", "cut-1", "b-1", format!("m-{n}"), n);
    let t = |x| wire::topic("browser", "cut-1", x);
    let stc = st.clone();
    tokio::spawn(async move {
        let mut n = 10;
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    for x in [Topic::Job, Topic::Cmd] {
                        stc.subscribe(t(x), QoS::AtLeastOnce).await.unwrap();
                    }
                }
                // The operator's start: the machine starts the job, and finishes it a moment
                // later (its events decide; the page follows them).
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic.ends_with("/cmd") => {
                    let cmd: Value = serde_json::from_slice(&p.payload).unwrap();
                    if cmd["command"] != "start" {
                        continue;
                    }
                    n += 1;
                    let ack = wire::Ack {
                        header: h(n),
                        ref_message_id: cmd["header"]["message_id"].as_str().unwrap().into(),
                        job_id: None,
                        revision: None,
                        cmd_id: Some(cmd["cmd_id"].as_str().unwrap().into()),
                        result: wire::AckResult::Accepted,
                        job_state: None,
                        done: None,
                        reason: None,
                    };
                    stc.publish(t(Topic::Ack), QoS::AtLeastOnce, false, wire::encode(&ack))
                        .await
                        .unwrap();
                    let stc = stc.clone();
                    tokio::spawn(async move {
                        for (seq, kind, done) in [
                            (1, wire::EventKind::Started, 0),
                            (2, wire::EventKind::Finished, 1),
                        ] {
                            tokio::time::sleep(Duration::from_millis(1500)).await;
                            let e = wire::Event {
                                header: h(100 + seq),
                                seq,
                                job_id: cmd["job_id"].as_str().unwrap().into(),
                                revision: cmd["revision"].as_u64().unwrap() as u32,
                                kind,
                                done,
                                quantity: 1,
                                error: None,
                            };
                            stc.publish(t(Topic::Event), QoS::AtLeastOnce, false, wire::encode(&e))
                                .await
                                .unwrap();
                        }
                    });
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic.ends_with("/job") => {
                    let job: Value = serde_json::from_slice(&p.payload).unwrap();
                    n += 1;
                    let ack = wire::Ack {
                        header: h(n),
                        ref_message_id: job["header"]["message_id"].as_str().unwrap().into(),
                        job_id: Some(job["job_id"].as_str().unwrap().into()),
                        revision: Some(job["revision"].as_u64().unwrap() as u32),
                        cmd_id: None,
                        result: wire::AckResult::Accepted,
                        job_state: None,
                        done: None,
                        reason: None,
                    };
                    stc.publish(t(Topic::Ack), QoS::AtLeastOnce, false, wire::encode(&ack))
                        .await
                        .unwrap();
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pubr = |x, payload: Vec<u8>| {
        let st = st.clone();
        async move {
            st.publish(t(x), QoS::AtLeastOnce, true, payload)
                .await
                .unwrap()
        }
    };
    pubr(
        Topic::Connection,
        wire::encode(&wire::Connection {
            header: h(1),
            connection: wire::ConnectionState::Online,
        }),
    )
    .await;
    pubr(
        Topic::Factsheet,
        wire::encode(&wire::Factsheet {
            header: h(2),
            shapes: vec![wire::ShapeKind::Round, wire::ShapeKind::Oval],
            min_mm: 10.0,
            max_mm: 70.0,
            tolerance_mm: 0.5,
            queue_limit: 3,
            versions: wire::Versions {
                protocol: wire::PROTOCOL_VERSION.into(),
                bridge: None,
                firmware: None,
            },
        }),
    )
    .await;
    pubr(
        Topic::State,
        wire::encode(&wire::State {
            header: h(3),
            mode: wire::Mode::Idle,
            current_job: None,
            queue: vec![],
            queue_limit: 3,
            last_event_seq: 0,
            errors: vec![],
        }),
    )
    .await;
    // A picked order with an oval cut.
    let order = json!({
        "external_id": "WEB-200",
        "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
        "grant_ref": "BEV-1", "citizen_id": "cit-200",
        "recipient": { "name": "Åse Ørnbøl", "address_line1": "Søndergade 1", "postcode": "8000", "city": "Aarhus C" },
        "delivery_date": common::in_days(2),
        "lines": [{ "gtin": seed.pouch, "quantity": 1 },
                  { "gtin": seed.plate, "quantity": 1, "cut": { "shape": "oval", "width_mm": 30, "height_mm": 25, "measured_on": common::in_days(-3) } }],
    });
    assert_eq!(
        admin.post("/api/orders", order).await.body["status"],
        "allocated"
    );
    let w = admin.post("/api/waves", json!({ "max_orders": 1 })).await;
    let wave = w.body["id"].as_i64().unwrap();
    let picker = app.user("pia", Role::Picker).await;
    assert_eq!(
        picker
            .post(&format!("/api/waves/{wave}/take"), json!({}))
            .await
            .status,
        StatusCode::OK
    );
    for (id, data) in [
        ("s1", wedge(&seed.pouch, &pouch_exp, "P-11")),
        ("s2", wedge(&seed.plate, &expiry, "B-22")),
    ] {
        let r = picker
            .post(
                &format!("/api/waves/{wave}/scan"),
                json!({ "scan_id": id, "data": data }),
            )
            .await;
        assert_eq!(r.body["code"], "confirmed", "{:?}", r.body);
    }
    app.user("olga", Role::Operator).await;

    browser.login(&app.base, "olga", "olga-password-1").await;
    // The operator's start page leads to their station.
    browser.goto(&format!("{}/", app.base)).await;
    browser
        .until(
            "a link to the station",
            "!!document.querySelector('a.gocut[href=\"/cut/cut-1\"]')",
        )
        .await;
    browser.click("a.gocut").await;
    browser
        .until("the job on the page, accepted", "document.getElementById('spec').textContent === 'oval 30 x 25 mm' && document.getElementById('current').dataset.state === 'accepted'")
        .await;
    browser
        .until(
            "the station shown online",
            "document.getElementById('conn').className.includes('ok')",
        )
        .await;
    // A station linked to its machine: no "done" or "fault" button; the machine reports.
    browser
        .until(
            "the machine decides",
            "document.getElementById('done').hidden && document.getElementById('fault').hidden && !document.getElementById('problem').hidden && document.getElementById('how').textContent.length > 0",
        )
        .await;
    browser.screenshot("operator-job").await;
    browser.click("#start").await;
    browser
        .until(
            "still accepted until the machine says started",
            "document.getElementById('msg').textContent.length > 0 && document.getElementById('current').dataset.state === 'accepted'",
        )
        .await;
    browser
        .until(
            "running",
            "document.getElementById('current').dataset.state === 'running'",
        )
        .await;
    browser.screenshot("operator-running").await;
    browser
        .until(
            "finished",
            "document.getElementById('current').dataset.state === 'finished'",
        )
        .await;
    browser.screenshot("operator-done").await;
    let status = admin.get("/api/orders/WEB-200/status").await;
    assert_eq!(status.body["status"], "picked", "{:?}", status.body);

    // The packer packs it at the pack station page: the tote, one wrong scan, the pouch and
    // the cut box by its sticker, then closes the parcel with the scale's weight.
    let job_id = admin.get("/api/cut-jobs").await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = admin
        .post(
            "/api/locations",
            json!({ "code": "PAK-01", "zone": "PAK", "kind": "packing", "walk_seq": 950 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let printer = konsign::devices::printer::sim::Simulator::start("127.0.0.1:0", None, None)
        .await
        .unwrap();
    let r = admin
        .put_json(
            "/api/printers/pack-1",
            json!({ "host": "127.0.0.1", "port": printer.addr().port(), "label_width_mm": 102,
                    "label_height_mm": 152, "station": "PAK-01" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    app.user("pelle", Role::Packer).await;
    browser.login(&app.base, "pelle", "pelle-password-1").await;
    browser.click("#gopack").await;
    browser
        .until(
            "the only pack station opens",
            "location.pathname === '/pack/PAK-01'",
        )
        .await;
    browser.type_into("#scan", "T-01\u{e007}").await;
    browser
        .until(
            "the order and its recipient",
            "document.getElementById('orderline').textContent.includes('WEB-200') && document.getElementById('recipient').textContent === 'Åse Ørnbøl, 8000'",
        )
        .await;
    browser.screenshot("pack-1-opened").await;
    // The plate itself is refused: a cut plate is proven by its box.
    browser
        .type_into(
            "#scan",
            &format!("{}\u{e007}", wedge(&seed.plate, &expiry, "B-22")),
        )
        .await;
    browser
        .until(
            "a wrong scan turns the page red",
            "document.body.className === 'bad'",
        )
        .await;
    browser.screenshot("pack-2-refused").await;
    browser
        .until("the red flash ends", "document.body.className === ''")
        .await;
    browser
        .type_into(
            "#scan",
            &format!("{}\u{e007}", wedge(&seed.pouch, &pouch_exp, "P-11")),
        )
        .await;
    browser
        .until(
            "the pouch is in",
            "document.querySelectorAll('#contents tr.done').length === 1",
        )
        .await;
    let sticker = format!("{}91{job_id}", wedge(&seed.plate, &expiry, "B-22"));
    browser
        .type_into("#scan", &format!("{sticker}\u{e007}"))
        .await;
    browser
        .until(
            "the cut box is in",
            "document.getElementById('pack').dataset.complete === 'yes'",
        )
        .await;
    browser.screenshot("pack-3-complete").await;
    browser.type_into("#weight", "450").await;
    browser.click("#close").await;
    browser
        .until(
            "the parcel is closed with its SSCC",
            "!!document.querySelector('#parcels tr.closed') && document.getElementById('msg').textContent.includes('SSCC')",
        )
        .await;
    browser
        .js("document.getElementById('parcels').scrollIntoView(); return 1;")
        .await;
    browser.screenshot("pack-4-closed").await;
    // The same station in English.
    browser
        .goto(&format!("{}/pack/PAK-01?lang=en", app.base))
        .await;
    browser
        .until(
            "the English page",
            "document.body.innerText.includes('Pack station PAK-01') && document.body.innerText.includes('Print the label again')",
        )
        .await;
    browser.screenshot("pack-5-english").await;
    // At a pack station's wall-mounted screen.
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": 1600, "height": 1000 })),
        )
        .await;
    browser
        .goto(&format!("{}/pack/PAK-01?lang=da", app.base))
        .await;
    browser
        .until(
            "the Danish page, wide",
            "document.body.innerText.includes('Pakkebord PAK-01')",
        )
        .await;
    browser.screenshot("pack-6-wide").await;
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": 430, "height": 932 })),
        )
        .await;
    let status = admin.get("/api/orders/WEB-200/status").await;
    assert_eq!(status.body["status"], "packed", "{:?}", status.body);
    let parcels = admin.get("/api/parcels?state=closed").await.body;
    assert_eq!(parcels[0]["weight_g"], 450);
    for _ in 0..100 {
        if !printer.printed().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(printer.printed()[0].contains(parcels[0]["sscc"].as_str().unwrap()));
    printer.stop();

    // A second cut order reaches the station; the lead takes its job back (the station is
    // going out of service and does not answer the cancel), so it waits in "being taken back".
    let order = json!({
        "external_id": "WEB-201",
        "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
        "grant_ref": "BEV-1", "citizen_id": "cit-201",
        "recipient": { "name": "Bo Ibsen", "address_line1": "Søndergade 2", "postcode": "8000", "city": "Aarhus C" },
        "delivery_date": common::in_days(2),
        "lines": [{ "gtin": seed.plate, "quantity": 1, "cut": { "shape": "round", "diameter_mm": 28, "measured_on": common::in_days(-3) } }],
    });
    assert_eq!(
        admin.post("/api/orders", order).await.body["status"],
        "allocated"
    );
    let r = admin
        .post(
            "/api/locations",
            json!({ "code": "T-02", "zone": "T", "kind": "tote", "walk_seq": 901 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let wave = admin
        .post("/api/waves", json!({ "max_orders": 1 }))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    picker
        .post(&format!("/api/waves/{wave}/take"), json!({}))
        .await;
    let r = picker
        .post(
            &format!("/api/waves/{wave}/scan"),
            json!({ "scan_id": "s3", "data": wedge(&seed.plate, &expiry, "B-22") }),
        )
        .await;
    assert_eq!(r.body["code"], "confirmed", "{:?}", r.body);
    let mut second = String::new();
    for _ in 0..100 {
        let jobs = admin.get("/api/cut-jobs?state=accepted").await.body;
        if let Some(id) = jobs[0]["id"].as_str() {
            second = id.to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!second.is_empty(), "the second job reached the station");
    let lene = app.user("lene", Role::Lead).await;
    let r = lene
        .post(
            &format!("/api/cut-jobs/{second}/requeue"),
            json!({ "reason": "cut-1 skal til service" }),
        )
        .await;
    assert_eq!(r.body["state"], "recalling", "{:?}", r.body);

    // The lead's start page: the job being taken back, released by the lead (the plate was
    // not cut); the station in the Hulklip section, paused with one click.
    browser.login(&app.base, "lene", "lene-password-1").await;
    browser.goto(&format!("{}/", app.base)).await;
    browser
        .until(
            "the station in the lead's Hulklip section",
            "!!document.querySelector('#cutstations tr[data-cutstation=\"cut-1\"] button.cutcmd[data-command=\"pause\"]')",
        )
        .await;
    browser
        .until(
            "the job being taken back, with its release button",
            &format!("!!document.querySelector('#recalling tr[data-job=\"{second}\"] button.cutrelease')"),
        )
        .await;
    browser
        .js("document.getElementById('recalling').scrollIntoView(); return 1;")
        .await;
    browser.screenshot("lead-hulklip").await;
    browser
        .js("window.prompt = () => 'maskinen er ude af drift, pladen ligger uklippet'; window.confirm = () => true; return 1;")
        .await;
    browser.click("#recalling button.cutrelease").await;
    let mut released = Value::Null;
    for _ in 0..50 {
        released = admin.get(&format!("/api/cut-jobs/{second}")).await.body;
        if released["revision"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        released["revision"], 2,
        "released as revision 2: {released}"
    );
    assert!(
        released["log"]
            .to_string()
            .contains("released by user:lene"),
        "{released}"
    );
    browser
        .until(
            "the page reloaded without the job",
            "!!document.getElementById('cutstations') && !document.getElementById('recalling')",
        )
        .await;
    browser.click("#cutstations button.cutcmd").await;
    let mut sent = false;
    for _ in 0..50 {
        let audit = admin.get("/api/audit?limit=50").await.body.to_string();
        if audit.contains("cut_station.command") && audit.contains("lene") {
            sent = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sent, "the pause command was sent, in the lead's name");
    browser.close().await;
}

/// Receiving at a station page with a serial scanner on a pseudo-terminal: the form shows the
/// scan it will receive (product, GTIN, lot, expiry); after a receipt the quantity is cleared and
/// the scan is used up; a second product scanned next replaces what the form shows, so one click
/// can never receive the first product's quantity as the second product.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_sees_exactly_which_scan_the_form_receives() {
    let Some(app) = common::spawn_app(common::Backend::Sqlite).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(pty) = common::pty::Pty::plug(dir.path()) else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let r = common::Client::send(
        admin
            .req(reqwest::Method::PUT, "/api/scanners/rcv-1")
            .json(&json!({ "path": pty.dev.display().to_string(), "station": "receiving-1" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = common::Client::send(
        admin
            .req(reqwest::Method::PUT, "/api/stations/receiving-1/workflow")
            .json(&json!({ "workflow": "receiving" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for _ in 0..100 {
        if admin.get("/api/scanners").await.body[0]["status"]["connected"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.user("rikke", Role::Picker).await;
    browser.login(&app.base, "rikke", "rikke-password-1").await;
    browser
        .goto(&format!("{}/stations/receiving-1", app.base))
        .await;
    browser
        .until("the empty form", "document.getElementById('will').dataset.scan === undefined || document.getElementById('will').dataset.scan === ''")
        .await;
    let plate_exp = chrono::NaiveDate::parse_from_str(&common::in_days(300), "%Y-%m-%d").unwrap();
    pty.send(
        format!(
            "]d201{}17{}10R-77\r\n",
            seed.plate,
            plate_exp.format("%y%m%d")
        )
        .as_bytes(),
    );
    browser
        .until(
            "the plate shown with its lot",
            &format!("document.getElementById('will').textContent.includes('{}') && document.getElementById('will').textContent.includes('R-77')", seed.plate),
        )
        .await;
    browser.screenshot("receive-1-shown").await;
    browser
        .js("document.querySelector('#receive input[name=quantity]').value = '4'; document.querySelector('#receive input[name=location]').value = 'A-02-1'; return 1;")
        .await;
    browser.click("#receive button[type=submit]").await;
    browser
        .until(
            "received, quantity cleared, scan used up",
            "document.getElementById('result').className === 'okmsg' && document.querySelector('#receive input[name=quantity]').value === '' && document.getElementById('will').dataset.scan === ''",
        )
        .await;
    browser.screenshot("receive-2-done").await;
    // The next product: the form follows it, with nothing carried over but the location.
    pty.send(format!("]E0{}\r\n", &seed.pouch[1..]).as_bytes());
    browser
        .until(
            "the pouch shown, lot to be typed",
            &format!("document.getElementById('will').textContent.includes('{}') && document.querySelector('#receive input[name=quantity]').value === ''", seed.pouch),
        )
        .await;
    browser.screenshot("receive-3-next").await;
    // A click without a quantity receives nothing (the field is required).
    browser.click("#receive button[type=submit]").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let units = admin.get("/api/stock/units").await.body;
    let units = units.as_array().unwrap();
    assert_eq!(units.len(), 1, "only the plate was received: {units:?}");
    assert_eq!(
        (units[0]["gtin"].as_str(), units[0]["quantity"].as_i64()),
        (Some(seed.plate.as_str()), Some(4))
    );
    browser.close().await;
}

/// The stock page on a phone-sized window: a picker finds a lot by searching, puts a received
/// pack away by scanning it and then the suggested location; a lead counts a location blind (the
/// system's quantity shows only after the count) and books the difference with a reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_is_searched_put_away_and_counted_on_the_stock_page() {
    let Some(app) = common::spawn_app(common::Backend::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    let exp = common::in_days(300);
    common::receive(&admin, &seed.plate, "B-1", &exp, "A-02-1", 5).await;
    let received = common::receive(&admin, &seed.plate, "R-9", &exp, "RCV-01", 4).await;
    let pouch = common::receive(
        &admin,
        &seed.pouch,
        "P-3",
        &common::in_days(200),
        "A-01-1",
        6,
    )
    .await;
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": 412, "height": 915 })),
        )
        .await;
    app.user("pia", Role::Picker).await;
    browser.login(&app.base, "pia", "pia-password-1").await;
    browser.goto(&format!("{}/stock", app.base)).await;
    // Search.
    browser
        .until(
            "the stock list",
            "document.querySelectorAll('#units tbody tr').length === 3",
        )
        .await;
    browser
        .js("const q = document.getElementById('q'); q.value = 'r-9'; q.dispatchEvent(new Event('input')); return 1;")
        .await;
    browser
        .until("one lot found", "document.querySelectorAll('#units tbody tr').length === 1 && document.querySelector('#units tbody tr').textContent.includes('RCV-01')")
        .await;
    browser.screenshot("stock-1-search").await;
    let wide: i64 = browser
        .js("return document.documentElement.scrollWidth;")
        .await
        .as_i64()
        .unwrap();
    assert!(wide <= 412, "no sideways scrolling on a phone: {wide}");
    // Put away: the pack, then the location it suggests.
    browser.click("nav.tabs button[data-tab=putaway]").await;
    let d = chrono::NaiveDate::parse_from_str(&exp, "%Y-%m-%d").unwrap();
    browser
        .js(&format!("document.getElementById('pa_scan').value = '01{}17{}10R-9'; document.querySelector('#pa_form button').click(); return 1;", seed.plate, d.format("%y%m%d")))
        .await;
    browser
        .until("the received pack, the suggested place", "document.getElementById('pa_card').textContent.includes('RCV-01') && document.getElementById('pa_step').textContent.includes('A-02-1')")
        .await;
    browser
        .js("document.getElementById('pa_scan').value = 'A-02-1'; document.querySelector('#pa_form button').click(); return 1;")
        .await;
    browser.until("the quantity to move", "!document.getElementById('pa_confirm').hidden && document.getElementById('pa_qty').value === '4'").await;
    browser.screenshot("stock-2-putaway").await;
    browser.click("#pa_confirm button").await;
    browser
        .until(
            "moved",
            "document.getElementById('pa_msg').className === 'okmsg'",
        )
        .await;
    let u = admin
        .get(&format!("/api/stock/units/{received}"))
        .await
        .body;
    assert_eq!(u["quantity"], 0, "the receiving location is empty: {u}");
    let there = admin
        .get("/api/stock/units?location=A-02-1&lot=R-9")
        .await
        .body;
    assert_eq!(there[0]["quantity"], 4, "{there}");
    // A picker does not count.
    assert_eq!(
        browser
            .js("return document.querySelectorAll('nav.tabs button[data-tab=count]').length;")
            .await,
        0
    );
    // A lead counts A-01-1 blind: 5 where the system says 6.
    app.user("lene", Role::Lead).await;
    browser.login(&app.base, "lene", "lene-password-1").await;
    browser.goto(&format!("{}/stock#count", app.base)).await;
    browser
        .js("document.getElementById('ct_scan').value = 'A-01-1'; document.querySelector('#ct_form button').click(); return 1;")
        .await;
    browser
        .until(
            "a line to count",
            "document.querySelectorAll('#ct_lines tbody tr').length === 1",
        )
        .await;
    let blind = browser
        .js("return [...document.querySelectorAll('#ct_lines th, #ct_lines td')].map((c) => c.textContent);")
        .await;
    let cells: Vec<&str> = blind
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        !cells.contains(&"6") && cells.len() == 6,
        "the expected quantity is hidden: {cells:?}"
    );
    browser
        .js("document.querySelector('#ct_lines input').value = '5'; document.getElementById('ct_show').click(); return 1;")
        .await;
    browser
        .until(
            "the difference",
            "document.querySelector('td.diff').textContent === '-1'",
        )
        .await;
    browser
        .js("document.getElementById('ct_reason').value = 'knust pakke'; return 1;")
        .await;
    browser.screenshot("stock-3-count").await;
    browser.click("#ct_book").await;
    browser
        .until(
            "booked",
            "document.getElementById('ct_msg').className === 'okmsg'",
        )
        .await;
    let u = admin.get(&format!("/api/stock/units/{pouch}")).await.body;
    assert_eq!(u["quantity"], 5, "{u}");
    let ledger = admin
        .get(&format!("/api/stock/units/{pouch}/ledger"))
        .await
        .body;
    let last = ledger.as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["kind"].as_str(), last["delta"].as_i64()),
        (Some("count"), Some(-1)),
        "{last}"
    );
    assert!(
        last["reason"].as_str().unwrap().contains("knust pakke"),
        "{last}"
    );
    browser.close().await;
}

/// The lead's dashboard in a real browser: the bar and the table, the late stage red, and the
/// wall-screen look dark with large type (screenshots in `test-artefacts/`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_reads_the_flow_on_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = common::database_url(common::Backend::Sqlite, dir.path()).await else {
        return;
    };
    let app = common::start_app(url, Some(dir), |c| {
        c.carrier.cutoff.insert("local".into(), "23:59".into());
    })
    .await;
    let Some(browser) = Browser::start().await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    for t in ["T-01", "T-02", "T-03", "T-04"] {
        let r = admin
            .post(
                "/api/locations",
                json!({ "code": t, "zone": "T", "kind": "tote", "walk_seq": 0 }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    common::receive(
        &admin,
        &seed.pouch,
        "P-1",
        &common::in_days(300),
        "A-01-1",
        20,
    )
    .await;
    for i in 1..=6 {
        let qty = if i == 6 { 500 } else { 1 };
        let r = admin
            .post("/api/orders", json!({
                "external_id": format!("DB-{i}"),
                "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
                "grant_ref": "BEV-77", "citizen_id": "cit-1",
                "recipient": { "name": "A B", "address_line1": "Vej 1", "postcode": "8000", "city": "Aarhus C" },
                "delivery_date": common::in_days(1),
                "lines": [{ "gtin": seed.pouch, "quantity": qty }] }))
            .await;
        assert!(r.status.is_success(), "{:?}", r.body);
    }
    let r = admin.post("/api/waves", json!({ "max_orders": 2 })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    // DB-6 has waited four days for stock: late in its stage, and an exception.
    let old = konsign::domain::time::to_db(chrono::Utc::now() - chrono::Duration::days(4));
    sqlx::query("update orders set updated_at = $1 where external_id = 'DB-6'")
        .bind(&old)
        .execute(app.ctx.db.pool())
        .await
        .unwrap();
    let r = admin
        .put_json(
            "/api/printers/pak-1",
            json!({ "name": "Pakkebord 1", "host": "127.0.0.1", "port": common::listen_port(),
                "label_width_mm": 100.0, "label_height_mm": 150.0, "enabled": false }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    app.user("lene", Role::Lead).await;
    browser.login(&app.base, "lene", "lene-password-1").await;
    browser.goto(&format!("{}/dashboard", app.base)).await;
    browser
        .until(
            "the stage table",
            "document.querySelectorAll('#stages tbody tr').length === 11",
        )
        .await;
    let picking = browser
        .js("return document.querySelector('tr[data-stage=picking] td.n').textContent")
        .await;
    assert_eq!(picking, "2");
    let late = browser
        .js("return getComputedStyle(document.querySelector('tr[data-stage=backordered] td')).color")
        .await;
    assert_eq!(late, "rgb(176, 0, 32)", "the late stage is red");
    let bar = browser
        .js("return document.querySelectorAll('.chart svg rect').length")
        .await;
    assert_eq!(
        bar, 4,
        "the grey ground and three stages with orders: {bar}"
    );
    let exception = browser
        .js("return document.querySelector('#openexceptions section[data-kind=old_backorder] a').getAttribute('href') + ' ' + document.querySelector('#openexceptions section[data-kind=old_backorder] .count').textContent")
        .await;
    assert_eq!(
        exception, "/#backorders 1",
        "the old backorder, linked to where it is released"
    );
    let cutoff = browser
        .js("return document.querySelector('#cutofftable tr[data-carrier=local] td:nth-child(6)').textContent")
        .await;
    assert_eq!(cutoff, "5", "five orders still to pack today, none packed");
    browser.screenshot("dashboard-1-flow").await;
    // Orders move while the page is open: it follows (Server-Sent Events) without reloading.
    browser
        .until(
            "the live stream",
            "document.getElementById('dash').dataset.online === 'yes'",
        )
        .await;
    browser.js("window.notReloaded = true; return 1;").await;
    let r = admin.post("/api/waves", json!({ "max_orders": 1 })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    browser
        .until(
            "picking 3 without a reload",
            "window.notReloaded === true && document.querySelector('tr[data-stage=picking] td.n').textContent === '3' && document.querySelector('.chart svg').innerHTML.includes('Plukkes: 3')",
        )
        .await;
    let charts = browser
        .js("return document.querySelectorAll('#throughput figure svg').length")
        .await;
    assert_eq!(charts, 4, "one hourly chart per measure");
    browser.screenshot("dashboard-1b-after-a-wave").await;
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": 1280, "height": 2600 })),
        )
        .await;
    browser
        .goto(&format!("{}/dashboard?wall=1", app.base))
        .await;
    browser
        .until(
            "the wall look",
            "getComputedStyle(document.body).backgroundColor === 'rgb(17, 17, 17)'",
        )
        .await;
    let cell = browser
        .js("return getComputedStyle(document.querySelector('tr[data-stage=picking] td')).color + ' on ' + getComputedStyle(document.getElementById('stages')).backgroundColor")
        .await;
    assert_eq!(
        cell, "rgb(238, 238, 238) on rgb(27, 27, 27)",
        "light text on a dark table"
    );
    let printer = browser
        .js("return document.querySelector('tr[data-device=\"printer:pak-1\"]').className")
        .await;
    assert_eq!(printer, "h-yellow", "a printer switched off is yellow");
    let cutoff = browser
        .js("return getComputedStyle(document.getElementById('cutofftable')).backgroundColor")
        .await;
    assert_eq!(
        cutoff, "rgb(27, 27, 27)",
        "the cut-off table is dark on the wall"
    );
    browser.screenshot("dashboard-2-wall").await;
    browser
        .goto(&format!("{}/dashboard?wall=1&lang=en", app.base))
        .await;
    browser
        .until(
            "the English wall",
            "document.querySelector('h1').textContent === 'Flow now' && document.getElementById('cutofftable') !== null",
        )
        .await;
    browser.screenshot("dashboard-2b-wall-english").await;
    // In English on a phone: nothing wider than the screen.
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": 412, "height": 915 })),
        )
        .await;
    browser
        .goto(&format!("{}/dashboard?lang=en", app.base))
        .await;
    browser
        .until(
            "the English page",
            "document.querySelector('h1').textContent === 'Flow now' && document.querySelector('tr[data-stage=picking] td').textContent === 'Picking'",
        )
        .await;
    let wide = browser
        .js("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    assert_eq!(wide, true, "the page fits a 412 px phone");
    browser.screenshot("dashboard-3-english-phone").await;
    browser
        .js("document.getElementById('openexceptions').scrollIntoView(); return 1;")
        .await;
    browser.screenshot("dashboard-3b-english-phone-lower").await;
    // The reports: on a phone in English, then at desk width in Danish.
    browser.goto(&format!("{}/reports?lang=en", app.base)).await;
    browser
        .until(
            "the report table",
            "document.getElementById('report') !== null",
        )
        .await;
    let wide = browser
        .js("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    assert_eq!(wide, true, "the reports fit a 412 px phone");
    browser.screenshot("reports-1-english-phone").await;
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": 1280, "height": 1400 })),
        )
        .await;
    browser.goto(&format!("{}/reports?lang=da", app.base)).await;
    browser
        .until(
            "the report table",
            "document.getElementById('report') !== null",
        )
        .await;
    let received = browser
        .js("return document.querySelector('#report tfoot th:nth-child(2)').textContent")
        .await;
    assert_eq!(received, "6", "six orders received today");
    browser.screenshot("reports-2-danish").await;
    // A wall screen with no login: a fresh browser (no cookies) opens the wall address with a
    // dashboard key in its fragment, once, and then follows the floor by itself.
    let r = admin
        .post(
            "/api/tokens",
            json!({ "name": "wall-1", "role": "dashboard" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let key = r.body["token"].as_str().unwrap().to_string();
    browser.cmd(reqwest::Method::DELETE, "/cookie", None).await;
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": 1280, "height": 1000 })),
        )
        .await;
    browser
        .goto(&format!("{}/dashboard/wall#key={key}", app.base))
        .await;
    browser
        .until(
            "the wall dashboard without a login, its key gone from the address",
            "location.pathname === '/dashboard' && document.getElementById('dash') && document.getElementById('dash').classList.contains('wall') && document.getElementById('dash').dataset.online === 'yes' && !location.href.includes('ks_')",
        )
        .await;
    let before = browser
        .js("return document.querySelector('tr[data-stage=picking] td.n').textContent")
        .await;
    browser.js("window.notReloaded = true; return 1;").await;
    let r = admin.post("/api/waves", json!({ "max_orders": 1 })).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let after = before.as_str().unwrap().parse::<i64>().unwrap() + 1;
    browser
        .until(
            "the wall follows a new wave without a reload",
            &format!("window.notReloaded === true && document.querySelector('tr[data-stage=picking] td.n').textContent === '{after}'"),
        )
        .await;
    browser.screenshot("dashboard-4-wall-with-key").await;
    // The key form, as a screen whose key was revoked sees it.
    browser
        .goto(&format!("{}/dashboard/wall?expired=1", app.base))
        .await;
    browser
        .until(
            "the key form",
            "document.getElementById('wallkey') !== null",
        )
        .await;
    browser.screenshot("dashboard-5-wall-key-form").await;
    browser.close().await;
}
