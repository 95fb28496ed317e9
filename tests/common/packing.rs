//! The pack station tests' set-up: products with weights, stock, totes, four pack stations with
//! a label printer (the simulated one on a loopback socket), and orders picked by scan.

use super::{Backend, Client, TestApp};
use konsign::devices::printer::sim::Simulator;
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

pub const POUCH: &str = "05708932000024";
pub const PLATE: &str = "05708932000017";

pub struct Packing {
    pub app: TestApp,
    pub admin: Client,
    pub web: Client,
    pub packer: Client,
    pub printer: Simulator,
    pub url: String,
}

/// Products with weights, pick locations with stock, four totes, two pack stations with a
/// label printer, and the site's picking without location scans.
pub async fn setup(b: Backend) -> Option<(Packing, tempfile::TempDir)> {
    setup_with(b, |_| {}).await
}

/// The same, with the configuration changed by `tweak`.
pub async fn setup_with(
    b: Backend,
    tweak: impl FnOnce(&mut konsign::config::Config),
) -> Option<(Packing, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let url = super::database_url(b, dir.path()).await?;
    let app = super::start_app(url.clone(), None, |c| {
        c.picking.require_location_scan = false;
        tweak(c);
    })
    .await;
    let admin = app.admin().await;
    app.seed(&admin).await;
    for (code, kind, seq) in [
        ("T-01", "tote", 900),
        ("T-02", "tote", 901),
        ("T-03", "tote", 902),
        ("T-04", "tote", 903),
        ("T-05", "tote", 904),
        ("PAK-01", "packing", 950),
        ("PAK-02", "packing", 951),
        ("PAK-03", "packing", 952),
        ("PAK-04", "packing", 953),
    ] {
        let r = admin
            .post(
                "/api/locations",
                json!({ "code": code, "zone": "Z", "kind": kind, "walk_seq": seq }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    for (gtin, grams) in [(POUCH, 180), (PLATE, 90)] {
        let mut p = admin.get(&format!("/api/products/{gtin}")).await.body;
        let o = p.as_object_mut().unwrap();
        o.remove("cut_to_fit");
        o.insert("weight_g".into(), json!(grams));
        let r = admin.put_json(&format!("/api/products/{gtin}"), p).await;
        assert!(r.status.is_success(), "{:?}", r.body);
    }
    let printer = Simulator::start("127.0.0.1:0", None, None).await.unwrap();
    for station in ["PAK-01", "PAK-02", "PAK-03", "PAK-04"] {
        let id = station.to_lowercase();
        let r = admin
            .put_json(
                &format!("/api/printers/{id}"),
                json!({ "host": "127.0.0.1", "port": printer.addr().port(), "label_width_mm": 102,
                        "label_height_mm": 152, "station": station }),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    }
    // PAK-01's A4 document printer for the packing slip: the same simulator, which speaks PJL too.
    let r = admin
        .put_json(
            "/api/printers/doc-1",
            json!({ "host": "127.0.0.1", "port": printer.addr().port(), "label_width_mm": 210,
                    "label_height_mm": 297, "station": "PAK-01", "kind": "pdf" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let web = app.user("web", Role::Integration).await;
    let packer = app.user("pelle", Role::Packer).await;
    Some((
        Packing {
            app,
            admin,
            web,
            packer,
            printer,
            url,
        },
        dir,
    ))
}

pub fn wedge(gtin: &str, expiry: &str, lot: &str) -> String {
    let d = chrono::NaiveDate::parse_from_str(expiry, "%Y-%m-%d").unwrap();
    format!("01{gtin}17{}10{lot}", d.format("%y%m%d"))
}

/// Takes in an order of pouches and picks it into a tote by scanning; returns the tote.
pub async fn picked(p: &Packing, id: &str, lines: Value) -> String {
    let order = json!({
        "external_id": id,
        "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
        "grant_ref": "BEV-77",
        "citizen_id": "cit-4f9a",
        "recipient": { "name": "Åse Ørnbøl", "address_line1": "Søndergade 12", "postcode": "8000", "city": "Aarhus C" },
        "delivery_date": super::in_days(2),
        "lines": lines,
    });
    let r = p.web.post("/api/orders", order).await;
    assert_eq!(r.body["status"], "allocated", "{:?}", r.body);
    let w = p.admin.post("/api/waves", json!({ "max_orders": 1 })).await;
    assert_eq!(w.status, StatusCode::CREATED, "{:?}", w.body);
    let wave = w.body["id"].as_i64().unwrap();
    pick_wave(p, wave).await;
    let s = p.web.get(&format!("/api/orders/{id}/status")).await;
    assert_eq!(s.body["status"], "picked", "{:?}", s.body);
    w.body["picks"][0]["tote"].as_str().unwrap().to_string()
}

/// Picks every open pick of a wave by scanning its pack.
pub async fn pick_wave(p: &Packing, wave: i64) {
    for i in 0..50 {
        let next = p.admin.get(&format!("/api/waves/{wave}/next")).await.body;
        let Some(pick) = next["pick"].as_object() else {
            return;
        };
        let data = wedge(
            pick["gtin"].as_str().unwrap(),
            pick["expiry"].as_str().unwrap(),
            pick["lot"].as_str().unwrap(),
        );
        let left = pick["quantity"].as_i64().unwrap() - pick["picked"].as_i64().unwrap();
        let r = p
            .admin
            .post(
                &format!("/api/waves/{wave}/scan"),
                json!({ "scan_id": format!("w{wave}-{i}"), "data": data, "quantity": left }),
            )
            .await;
        assert_eq!(r.body["code"], "confirmed", "{:?}", r.body);
    }
    panic!("wave {wave} never finished");
}

pub async fn scan(c: &Client, station: &str, id: &str, data: &str) -> Value {
    let r = c
        .post(
            &format!("/api/pack-stations/{station}/scan"),
            json!({ "scan_id": id, "data": data }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

pub async fn close(c: &Client, station: &str, body: Value) -> super::Resp {
    c.post(&format!("/api/pack-stations/{station}/close"), body)
        .await
}

/// Packs (by owner) of one product's lot, summed over the stock units.
pub async fn owned(p: &Packing, owner: &str, lot: &str) -> i64 {
    let units = p
        .admin
        .get(&format!("/api/stock/units?owner={owner}"))
        .await
        .body;
    units
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["lot"] == lot)
        .map(|u| u["quantity"].as_i64().unwrap())
        .sum()
}

pub async fn transfers_total(p: &Packing) -> i64 {
    use sqlx::Row;
    sqlx::query("select cast(coalesce(sum(quantity), 0) as bigint) as n from ownership_transfers")
        .fetch_one(p.app.ctx.db.pool())
        .await
        .unwrap()
        .get::<i64, _>("n")
}

pub fn check_sscc(sscc: &str) {
    konsign::domain::sscc::Sscc::parse(sscc).expect("a valid SSCC");
    let scan = konsign::domain::gs1::parse(
        format!("]C100{sscc}").as_bytes(),
        chrono::Utc::now().date_naive(),
    )
    .expect("the GS1 engine reads it");
    assert_eq!(scan.sscc.as_deref(), Some(sscc));
    assert!(
        sscc.starts_with("05790002"),
        "extension 0, prefix 5790002: {sscc}"
    );
}

/// The PDFs the simulated document printer has printed, once there are `n`.
pub async fn printed_documents(p: &Packing, n: usize) -> Vec<Vec<u8>> {
    for _ in 0..200 {
        if p.printer.documents().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    p.printer.documents()
}

pub async fn printed_label(p: &Packing, n: usize) -> Vec<String> {
    for _ in 0..200 {
        if p.printer.printed().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    p.printer.printed()
}

/// The text of a PDF by `pdftotext`, or `None` (with the reason) without poppler.
pub fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("slip.pdf");
    std::fs::write(&f, pdf).unwrap();
    match std::process::Command::new("pdftotext")
        .arg(&f)
        .arg("-")
        .output()
    {
        Ok(o) if o.status.success() => Some(String::from_utf8_lossy(&o.stdout).to_string()),
        _ => {
            assert!(
                !super::decode::required(),
                "pdftotext (poppler-utils) is needed"
            );
            eprintln!("skipped: the packing slip text check needs pdftotext");
            None
        }
    }
}

/// A picked order of one pouch (lot `L{id}`), packed and closed at PAK-01; returns the close's
/// answer (the parcel).
pub async fn closed_parcel(p: &Packing, id: &str) -> Value {
    let exp = super::in_days(200);
    let lot = format!("L{id}");
    super::receive(&p.admin, POUCH, &lot, &exp, "A-01-1", 1).await;
    let tote = picked(p, id, json!([{ "gtin": POUCH, "quantity": 1 }])).await;
    scan(&p.packer, "PAK-01", &format!("{id}-t"), &tote).await;
    let r = scan(
        &p.packer,
        "PAK-01",
        &format!("{id}-p"),
        &wedge(POUCH, &exp, &lot),
    )
    .await;
    assert_eq!(r["code"], "packed", "{r}");
    let c = close(&p.packer, "PAK-01", json!({})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    c.body
}

/// The same, once the booking worker has booked it; returns the parcel.
pub async fn booked_parcel(p: &Packing, id: &str) -> Value {
    let parcel = closed_parcel(p, id).await["id"].as_i64().unwrap();
    for _ in 0..200 {
        let v = p.packer.get(&format!("/api/parcels/{parcel}")).await.body;
        if v["booking_state"] == "booked" {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("parcel {parcel} was never booked");
}

pub const KEY: &str = "0123456789abcdef0123456789abcdef";
pub const SECRET: &str = "push-secret-for-tests-0001";

/// The pack stations set up to book with PostNord, played by the test double `d`, with fast
/// retries and a push secret.
pub async fn setup_postnord(
    b: Backend,
    d: &konsign::carrier::double::Double,
) -> Option<(Packing, tempfile::TempDir)> {
    let base = d.base_url();
    setup_with(b, move |c| {
        c.carrier.default = "postnord".into();
        c.carrier.poll_ms = 40;
        c.carrier.timeout_ms = 700;
        c.carrier.retry_first_ms = 50;
        c.carrier.breaker_open_seconds = 1;
        c.carrier.unauthorized_pause_seconds = 1;
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
    })
    .await
}

/// Pushes a tracking message signed with `secret` and stamped `ts`.
pub async fn push_signed(p: &Packing, body: &Value, ts: i64, secret: &str) -> super::Resp {
    let raw = serde_json::to_vec(body).unwrap();
    let sig = konsign::domain::tracking::sign(secret.as_bytes(), &ts.to_string(), &raw);
    super::Client::send(
        p.app
            .http
            .post(format!("{}/api/carriers/postnord/events", p.app.base))
            .header("content-type", "application/json")
            .header("x-konsign-timestamp", ts.to_string())
            .header("x-konsign-signature", sig)
            .body(raw),
    )
    .await
}

/// Waits until the parcel's booking is in `state`, and returns it.
pub async fn booking(c: &Client, parcel: i64, state: &str) -> Value {
    for _ in 0..400 {
        let list = c.get("/api/bookings").await.body;
        if let Some(b) = list
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["parcel_id"] == parcel)
        {
            if b["state"] == state {
                return b.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "the booking of parcel {parcel} never became {state}: {}",
        c.get("/api/bookings").await.body
    );
}
