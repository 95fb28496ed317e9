//! Ruined plates and operator faults: what is scrapped, what goes back to the station, what is
//! picked again, and a replacement without stock waiting for a lead.

use super::*;

on_both_brokers!(
    a_ruined_plate_is_scrapped_picked_again_and_cut,
    an_operator_fault_sends_the_uncut_plates_back_and_the_ruined_one_to_be_picked,
    a_replacement_without_stock_waits_for_a_lead_to_try_again,
);

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
