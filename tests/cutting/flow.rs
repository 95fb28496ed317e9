//! A job's way through konsign: a picked order cut and moved on to packing (on SQLite and on
//! PostgreSQL), and a rejected job moving on while a broken station keeps its running job.

use super::*;

on_both_brokers!(
    a_picked_order_is_cut_and_moves_on_to_packing_with_its_sticker,
    a_rejected_job_moves_on_and_a_broken_station_keeps_its_running_job,
);

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
