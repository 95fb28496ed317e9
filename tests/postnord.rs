//! Booking with PostNord against the HTTP test double (shaped after PostNord's published API)
//! on both backends: a parcel is booked with the warehouse's SSCC as the item id, PostNord's
//! ZPL label prints at the pack station and decodes to the SSCC, every request konsign sends
//! validates against the booking schema derived from PostNord's API description, no sequence
//! of failures books a parcel twice, an outage ends with every waiting parcel booked once,
//! refused credentials raise an alarm, a rejection goes to a lead who sends it again, and
//! tracking (pushed with a signature, and pulled) takes the order to `delivered`.

mod common;

use common::packing::*;
use common::Backend;
use konsign::carrier::double::{Behaviour, Double};
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends!(
    the_adapter_reads_a_partial_answer_and_a_refused_key_from_the_double,
    a_parcel_is_booked_with_postnord_its_label_prints_and_tracking_delivers_the_order,
    no_sequence_of_failures_books_a_parcel_twice,
    after_an_outage_every_waiting_parcel_is_booked_once,
    a_rejected_booking_waits_for_a_lead_and_refused_credentials_raise_an_alarm,
);

async fn attempts(p: &Packing, parcel: i64) -> Vec<String> {
    use sqlx::Row;
    sqlx::query("select a.outcome from booking_attempts a join bookings b on b.id = a.booking_id where b.parcel_id = $1 order by a.id")
        .bind(parcel)
        .fetch_all(p.app.ctx.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("outcome"))
        .collect()
}

/// The derived booking schema, strict: an object takes no property the description lacks.
fn booking_schema() -> jsonschema::Validator {
    fn strict(v: &mut Value) {
        match v {
            Value::Object(m) => {
                if m.contains_key("properties") && !m.contains_key("additionalProperties") {
                    m.insert("additionalProperties".into(), Value::Bool(false));
                }
                m.values_mut().for_each(strict);
            }
            Value::Array(a) => a.iter_mut().for_each(strict),
            _ => {}
        }
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/carriers/postnord-booking.schema.json"
    );
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    strict(&mut schema);
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_requests_valid(d: &Double) {
    let v = booking_schema();
    let reqs = d.requests();
    assert!(!reqs.is_empty());
    for r in &reqs {
        let errors: Vec<String> = v
            .iter_errors(r)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "the booking request breaks PostNord's schema: {errors:?}\n{r:#}"
        );
    }
}

async fn a_parcel_is_booked_with_postnord_its_label_prints_and_tracking_delivers_the_order(
    b: Backend,
) {
    let d = Double::start("127.0.0.1:0", KEY).await.unwrap();
    let Some((p, _dir)) = setup_postnord(b, &d).await else {
        return;
    };
    let ctx = &p.app.ctx;
    let mut live = common::LiveCheck::start(ctx).await;
    let parcel = closed_parcel(&p, "W-1").await;
    let id = parcel["id"].as_i64().unwrap();
    let sscc = parcel["sscc"].as_str().unwrap().to_string();
    let bk = booking(&p.packer, id, "booked").await;
    live.step(ctx, "a close and its booking").await;
    assert_eq!(bk["carrier"], "postnord");
    assert_eq!(bk["service"], "17");
    assert_eq!(bk["tracking_number"], format!("00{sscc}"));
    assert!(bk["tracking_url"]
        .as_str()
        .unwrap()
        .contains(&format!("00{sscc}")));
    assert_eq!(d.bookings_of(&sscc), 1);
    assert_requests_valid(&d);
    assert_eq!(d.requests()[0]["testIndicator"], true);
    // PostNord's own label prints on PAK-01's label printer after the warehouse's.
    let mut carrier_label = None;
    for _ in 0..200 {
        carrier_label = p
            .printer
            .printed()
            .into_iter()
            .find(|z| z.contains("^FDService "));
        if carrier_label.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let zpl = carrier_label.expect("PostNord's label was not printed");
    let bk = booking(&p.packer, id, "booked").await;
    assert!(bk["label_job"].is_string(), "{bk}");
    // The carrier's label again, on request (audit-logged like any reprint).
    let r = p
        .packer
        .post(
            &format!("/api/parcels/{id}/reprint"),
            json!({ "document": "carrier_label" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let mut n = 0;
    for _ in 0..200 {
        n = p
            .printer
            .printed()
            .iter()
            .filter(|z| z.contains("^FDService "))
            .count();
        if n == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(n, 2, "the carrier's label printed again");
    if let Some(node_modules) = common::decode::tools() {
        let dir = tempfile::tempdir().unwrap();
        let png = common::decode::to_png(&node_modules, &zpl, 100.0, 150.0, dir.path(), "postnord");
        assert_eq!(
            common::decode::zxing(&png),
            (format!("00{sscc}"), "]C1".to_string())
        );
    }
    // Handed over: the order is shipped with PostNord's tracking number.
    let cage = p
        .packer
        .post("/api/cages", json!({ "carrier": "postnord" }))
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let r = p
        .packer
        .post(
            &format!("/api/cages/{cage}/scan"),
            json!({ "scan_id": "s1", "data": format!("00{sscc}") }),
        )
        .await;
    assert_eq!(r.body["code"], "on_cage", "{:?}", r.body);
    let r = p
        .packer
        .post(&format!("/api/cages/{cage}/close"), json!({}))
        .await;
    assert_eq!(r.body["shipped"], json!(["W-1"]), "{:?}", r.body);
    // Pulled: PostNord's track-and-trace says the parcel is on its way.
    assert!(d.add_event(&sscc, "C10", "EN_ROUTE", "Forsendelsen er undervejs"));
    let lead = p.app.user("lene", Role::Lead).await;
    let pulled = lead.post("/api/tracking/pull", json!({})).await;
    assert_eq!(pulled.status, StatusCode::OK, "{:?}", pulled.body);
    assert!(
        pulled.body.as_i64().unwrap() >= 2,
        "the booked and the en-route events: {:?}",
        pulled.body
    );
    let status = p.web.get("/api/orders/W-1/status").await.body;
    assert_eq!(
        status["parcels"][0]["tracking_status"], "in_transit",
        "{status}"
    );
    // The lead's flow: shipped. A failed delivery attempt makes it an exception (outside the
    // warehouse) until a lead has dealt with it.
    let stages = |flow: &Value| {
        (
            common::orders_in(flow, "shipped"),
            common::orders_in(flow, "exception"),
        )
    };
    let flow = lead.get("/api/dashboard/flow").await.body;
    assert_eq!(stages(&flow), (1, 0), "{flow}");
    let failed = konsign::carrier::double::tracking_body(
        &format!("00{sscc}"),
        &[konsign::carrier::double::push_event(
            "C30",
            "DELIVERY_IMPOSSIBLE",
            "Modtageren var ikke hjemme",
            // After the pulled event (both to the second).
            chrono::Utc::now() + chrono::Duration::seconds(2),
        )],
    );
    let r = push_signed(&p, &failed, chrono::Utc::now().timestamp(), SECRET).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let u = live.step(ctx, "a failed delivery").await;
    assert!(u.changed.exceptions && u.changed.flow, "{:?}", u.types);
    let flow = lead.get("/api/dashboard/flow").await.body;
    assert_eq!(stages(&flow), (0, 1), "{flow}");
    assert_eq!(flow["in_warehouse"], 0, "the parcel has left: {flow}");
    let open = lead.get("/api/tracking/exceptions").await.body;
    let booking_id = open[0]["booking_id"].as_i64().expect("one open exception");
    let r = lead
        .post(
            &format!("/api/tracking/exceptions/{booking_id}/ack"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let flow = lead.get("/api/dashboard/flow").await.body;
    assert_eq!(stages(&flow), (1, 0), "dealt with: shipped again: {flow}");
    let u = live.step(ctx, "a delivery exception dealt with").await;
    assert_eq!(
        u.types,
        vec!["booking.exception_acknowledged".to_string()],
        "the acknowledgement is an event of its own"
    );
    // Pushed events: refused unless signed, fresh and well formed; a good one delivers.
    let now = chrono::Utc::now();
    let item = format!("00{sscc}");
    let events = vec![
        konsign::carrier::double::push_event(
            "C10",
            "EN_ROUTE",
            "Undervejs",
            now - chrono::Duration::hours(3),
        ),
        // After the failed attempt above.
        konsign::carrier::double::push_event(
            "C20",
            "DELIVERED",
            "Leveret",
            now + chrono::Duration::seconds(5),
        ),
    ];
    let body = konsign::carrier::double::tracking_body(&item, &events);
    assert_eq!(
        push_signed(&p, &body, now.timestamp(), "wrong-secret-wrong-secret")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        push_signed(&p, &body, now.timestamp() - 3600, SECRET)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let bad = push_signed(&p, &json!({ "shipments": "no" }), now.timestamp(), SECRET).await;
    assert_eq!(
        bad.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        bad.body
    );
    let ok = push_signed(&p, &body, now.timestamp(), SECRET).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(ok.body["taken"], 2);
    assert_eq!(ok.body["delivered"], json!(["W-1"]));
    live.step(ctx, "a delivery").await;
    let again = push_signed(&p, &body, now.timestamp(), SECRET).await;
    assert_eq!(again.body["taken"], 0, "a duplicate is taken once");
    assert_eq!(again.body["duplicates"], 2);
    let status = p.web.get("/api/orders/W-1").await.body;
    assert_eq!(status["status"], "delivered", "{status}");
    let log = lead.get("/api/carriers/pushes").await.body;
    let outcomes: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["outcome"].as_str().unwrap())
        .collect();
    for o in [
        "bad_signature",
        "outside_replay_window",
        "malformed",
        "accepted",
    ] {
        assert!(outcomes.contains(&o), "{o} not logged: {log}");
    }
    // The change feed shows the journey.
    let feed = p.admin.get("/api/events?limit=1000").await.body;
    let kinds: Vec<&str> = feed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    for k in [
        "parcel.booked",
        "order.shipped",
        "parcel.tracking",
        "order.delivered",
    ] {
        assert!(kinds.contains(&k), "{k} missing from the feed");
    }
    p.printer.stop();
}

async fn no_sequence_of_failures_books_a_parcel_twice(b: Backend) {
    let d = Double::start("127.0.0.1:0", KEY).await.unwrap();
    // 5xx, 429 with Retry-After, a hang before the request is read (nothing booked), a hang
    // after it is read (booked, answer lost), then whatever comes.
    d.script([
        Behaviour::Status(503),
        Behaviour::TooMany(1),
        Behaviour::HangBeforeRead(Duration::from_millis(1500)),
        Behaviour::HangAfterRead(Duration::from_millis(1500)),
    ]);
    let Some((p, _dir)) = setup_postnord(b, &d).await else {
        return;
    };
    let parcel = closed_parcel(&p, "W-1").await;
    let id = parcel["id"].as_i64().unwrap();
    let sscc = parcel["sscc"].as_str().unwrap();
    let bk = booking(&p.packer, id, "booked").await;
    assert_eq!(bk["tracking_number"], format!("00{sscc}"));
    assert_eq!(d.bookings_of(sscc), 1, "booked once at PostNord");
    let seen = attempts(&p, id).await;
    assert_eq!(
        seen,
        ["transient", "transient", "ambiguous", "ambiguous", "found"],
        "every attempt is stored"
    );
    assert!(d.lookups() >= 2, "looked up before sending again");
    use sqlx::Row;
    for r in sqlx::query("select detail from booking_attempts")
        .fetch_all(p.app.ctx.db.pool())
        .await
        .unwrap()
    {
        let detail: String = r.get("detail");
        assert!(
            !detail.contains(KEY),
            "the API key is in an attempt's detail: {detail}"
        );
    }
    assert_requests_valid(&d);
    p.printer.stop();
}

async fn after_an_outage_every_waiting_parcel_is_booked_once(b: Backend) {
    let d = Double::start("127.0.0.1:0", KEY).await.unwrap();
    d.set_down(true);
    let Some((p, _dir)) = setup_postnord(b, &d).await else {
        return;
    };
    let mut parcels = Vec::new();
    for n in 1..=3 {
        let c = closed_parcel(&p, &format!("W-{n}")).await;
        parcels.push((
            c["id"].as_i64().unwrap(),
            c["sscc"].as_str().unwrap().to_string(),
        ));
    }
    // Packing went on; the parcels wait as pending, each tried at least once.
    for (id, _) in &parcels {
        let mut tried = false;
        for _ in 0..200 {
            let bk = booking(&p.packer, *id, "pending").await;
            if bk["attempts"].as_i64().unwrap() >= 1 {
                tried = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(
            tried,
            "parcel {id} was never tried while the carrier was down"
        );
        let parcel = p.packer.get(&format!("/api/parcels/{id}")).await.body;
        assert_eq!(parcel["booking_state"], "waiting");
    }
    assert_eq!(d.counts(), (0, 0));
    d.set_down(false);
    for (id, sscc) in &parcels {
        booking(&p.packer, *id, "booked").await;
        assert_eq!(d.bookings_of(sscc), 1);
    }
    assert_eq!(d.counts(), (3, 0));
    p.printer.stop();
}

async fn a_rejected_booking_waits_for_a_lead_and_refused_credentials_raise_an_alarm(b: Backend) {
    let d = Double::start("127.0.0.1:0", KEY).await.unwrap();
    d.script([Behaviour::Fault, Behaviour::Status(401)]);
    let Some((p, _dir)) = setup_postnord(b, &d).await else {
        return;
    };
    let ctx = &p.app.ctx;
    let mut live = common::LiveCheck::start(ctx).await;
    let parcel = closed_parcel(&p, "W-1").await;
    let id = parcel["id"].as_i64().unwrap();
    let bk = booking(&p.packer, id, "rejected").await;
    let u = live.step(ctx, "a rejected booking").await;
    assert!(u.changed.exceptions, "{:?}", u.types);
    assert!(
        bk["last_error"]
            .as_str()
            .unwrap()
            .contains("ITEM_IDENTIFICATION"),
        "{bk}"
    );
    let shown = p.packer.get(&format!("/api/parcels/{id}")).await.body;
    assert_eq!(shown["booking_state"], "rejected");
    // The lead's flow has the order under exceptions, no longer under packed.
    let lead = p.app.user("lene", Role::Lead).await;
    let flow = lead.get("/api/dashboard/flow").await.body;
    let stage = |name: &str| common::orders_in(&flow, name);
    assert_eq!(
        (stage("exception"), stage("packed"), stage("booked")),
        (1, 0, 0),
        "{flow}"
    );
    assert_eq!(flow["in_warehouse"], 1, "the order is still here: {flow}");
    // Only a lead sends it again; the next answer refuses our key: an alarm, the booking waits.
    let booking_id = bk["id"].as_i64().unwrap();
    let r = p
        .packer
        .post(&format!("/api/bookings/{booking_id}/resend"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = lead
        .post(
            &format!("/api/bookings/{booking_id}/resend"),
            json!({ "note": "address fixed" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = lead
        .post(&format!("/api/bookings/{booking_id}/resend"), json!({}))
        .await;
    assert!(r.status == StatusCode::CONFLICT || r.status == StatusCode::OK);
    let mut alarm = false;
    for _ in 0..200 {
        let feed = p.admin.get("/api/events?limit=500").await.body;
        alarm = feed
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event_type"] == "carrier.alarm");
        if alarm {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(alarm, "refused credentials raise an alarm");
    // After the pause the carrier is tried again, and books it once.
    let bk = booking(&p.packer, id, "booked").await;
    live.step(ctx, "a rejected booking sent again, and booked")
        .await;
    assert_eq!(d.bookings_of(parcel["sscc"].as_str().unwrap()), 1);
    assert_eq!(
        attempts(&p, id).await,
        ["rejected", "unauthorized", "booked"],
        "{bk}"
    );
    p.printer.stop();
}

/// The adapter alone against the double: a mixed answer books one parcel and rejects the
/// other with PostNord's reason; a refused key is `unauthorized`; a stopped carrier is a
/// connect error (transient); a parcel PostNord never booked is not found.
async fn the_adapter_reads_a_partial_answer_and_a_refused_key_from_the_double(_b: Backend) {
    use konsign::carrier::Carrier as _;
    use konsign::domain::carrier::Failure;
    let d = Double::start("127.0.0.1:0", KEY).await.unwrap();
    let mut cfg = konsign::config::Config::default();
    cfg.carrier.postnord = Some(konsign::config::PostNordConfig {
        base_url: d.base_url(),
        api_key: KEY.into(),
        customer_number: "12345678".into(),
        ..Default::default()
    });
    let pn = konsign::carrier::postnord::PostNord::new(
        cfg.carrier.postnord.as_ref().unwrap(),
        &cfg.carrier,
        &cfg.packing,
    )
    .unwrap();
    let plan = konsign::domain::sscc::SsccPlan::new(0, "5790002", None, None).unwrap();
    let req = |n: u64| konsign::carrier::BookingRequest {
        request_id: format!("t-{n}"),
        sscc: plan.sscc(n).unwrap().as_str().to_string(),
        service: "17".into(),
        additional: vec![],
        weight_g: 800,
        length_mm: 250,
        width_mm: 180,
        height_mm: 100,
        order_ref: format!("W-{n}"),
        recipient_name: "Karen Jensen".into(),
        address_lines: vec!["Søndergade 1".into()],
        postcode: "8000".into(),
        city: "Aarhus C".into(),
        country: "DK".into(),
        phone: Some("20304050".into()),
        email: None,
    };
    d.script([Behaviour::Partial, Behaviour::Status(403)]);
    let batch = [req(1), req(2)];
    let out = pn.book(&batch).await.unwrap();
    assert!(out[0].result.is_ok(), "{out:?}");
    let e = out[1].result.as_ref().unwrap_err();
    assert_eq!(e.class, Failure::Rejected);
    assert!(e.message.contains("ADDRESS"), "{e}");
    assert_eq!(d.bookings_of(&batch[0].sscc), 1);
    assert_eq!(d.bookings_of(&batch[1].sscc), 0);
    assert_requests_valid(&d);
    let e = pn.book(&[req(3)]).await.unwrap_err();
    assert_eq!(e.class, Failure::Unauthorized, "{e}");
    assert!(e.message.contains("Invalid API Key"), "{e}");
    // Found again by its SSCC (with its label); one PostNord never saw is not found.
    let found = pn.find_booking(&batch[0].sscc).await.unwrap().unwrap();
    assert_eq!(found.tracking_number, format!("00{}", batch[0].sscc));
    assert!(found.label.unwrap().data.contains("^XA"));
    assert_eq!(pn.find_booking(&batch[1].sscc).await.unwrap(), None);
    assert_eq!(
        pn.cancel(&batch[0].sscc).await.unwrap(),
        konsign::carrier::Cancelled::NotSupported
    );
    drop(d);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let e = pn.book(&[req(4)]).await.unwrap_err();
    assert!(matches!(e.class, Failure::Transient { .. }), "{e}");
    assert!(
        !e.message.contains(KEY),
        "the API key leaked into a message: {e}"
    );
}
