//! The conformance sequences of `docs/devices/hulklip-mqtt.md` ("Conformance: sequences a
//! station must survive"), each played by a scripted station that talks MQTT directly (so it
//! can misbehave on purpose), on konsign's embedded broker and on Mosquitto. The station counts
//! what it would cut: no job may be cut twice, and every job ends in a state a lead can see.

use super::*;

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod embedded_conformance {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(super::super::Broker::Embedded).await } )*
        }
        mod mosquitto_conformance {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(super::super::Broker::Mosquitto).await } )*
        }
    };
}

conformance!(
    c1_a_lost_finished_event_then_a_requeue_never_cuts_twice,
    c2_a_requeued_running_job_that_cannot_stop_finishes_once,
    c3_a_full_station_is_not_asked_again_until_it_has_room,
    c4_a_problem_reported_at_a_linked_station_recalls_and_waits,
    c5_a_critical_failure_stops_the_station_at_once,
    c6_the_operators_start_runs_a_job_only_on_started,
    c7_malformed_headers_are_refused_and_change_nothing,
);

/// A station's event.
fn event(site: &str, seq: u64, job: &Value, kind: wire::EventKind, done: u32) -> wire::Event {
    wire::Event {
        header: header(site, "cut-1", 1000 + seq),
        seq,
        job_id: job["job_id"].as_str().unwrap().into(),
        revision: job["revision"].as_u64().unwrap() as u32,
        kind,
        done,
        quantity: job["quantity"].as_u64().unwrap() as u32,
        error: None,
    }
}

async fn send_event(st: &Client, site: &str, e: &wire::Event) {
    st.publish(
        wire::topic(site, "cut-1", Topic::Event),
        false,
        wire::encode(e),
    )
    .await;
}

/// Answers a command (`cmd_id`) with a result, the reason code and the job's state.
async fn answer_cmd(
    st: &Client,
    site: &str,
    cmd: &Value,
    result: wire::AckResult,
    code: Option<wire::RejectCode>,
    job_state: Option<(wire::JobState, u32)>,
) {
    let ack = wire::Ack {
        header: header(site, "cut-1", 2000),
        ref_message_id: cmd["header"]["message_id"].as_str().unwrap().into(),
        job_id: None,
        revision: None,
        cmd_id: Some(cmd["cmd_id"].as_str().unwrap().into()),
        result,
        job_state: job_state.map(|j| j.0),
        done: job_state.map(|j| j.1),
        reason: code.map(|code| wire::Reason {
            code,
            message: "scripted".into(),
        }),
    };
    st.publish(
        wire::topic(site, "cut-1", Topic::Ack),
        false,
        wire::encode(&ack),
    )
    .await;
}

/// Messages on a topic ending in `suffix` that arrive within `wait`, each checked against the
/// protocol's schema for what konsign sends.
async fn collect(st: &mut Client, suffix: &str, wait: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut got = vec![];
    while let Ok(Some((t, v))) = tokio::time::timeout_at(deadline, st.rx.recv()).await {
        let schema = if t.ends_with("/job") { "job" } else { "cmd" };
        assert!(
            firmware_bridge::schema::check(schema, &v).is_ok(),
            "konsign sent a message outside the schema: {v}"
        );
        if t.ends_with(suffix) {
            got.push(v);
        }
    }
    got
}

fn sent(s: &Setup, kind: &str) -> u64 {
    s.app
        .ctx
        .metrics
        .mqtt_sent
        .get_or_create(&konsign::metrics::OutcomeLabel {
            outcome: kind.into(),
        })
        .get()
}

/// A station with the order's job accepted: (setup, admin, station, job).
async fn accepted_job(
    broker: Broker,
    order: &str,
) -> Option<(Setup, common::Client, Client, Value)> {
    let s = setup(broker).await?;
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let mut st = station(&s, &admin).await;
    until_station(&admin, |v| v["available"] == true).await;
    picked_cut_order(&s, &admin, order, "PL1", &expiry).await;
    let job = st.expect("/cut-1/job", |_| true).await;
    answer(&st, &s.site, "cut-1", &job, wire::AckResult::Accepted, 1).await;
    cut_job(&admin, job["job_id"].as_str().unwrap(), |j| {
        j["state"] == "accepted"
    })
    .await;
    Some((s, admin, st, job))
}

/// C1: the station's `finished` event is lost (and its state with it); a lead then takes the
/// job back. konsign sends `cancel` naming the revision and waits; the station refuses it
/// (`already_finished`, job_state finished): the job is finished, nothing is sent anywhere
/// else, and the plate is cut once. The station's next state counts the lost event: konsign
/// asks about the jobs it holds (none now) and writes the gap off.
async fn c1_a_lost_finished_event_then_a_requeue_never_cuts_twice(broker: Broker) {
    let Some((s, admin, mut st, job)) = accepted_job(broker, "W-C1").await else {
        return;
    };
    let id = job["job_id"].as_str().unwrap().to_string();
    let mut cuts = 1; // the station cuts it once
    send_event(
        &st,
        &s.site,
        &event(&s.site, 1, &job, wire::EventKind::Started, 0),
    )
    .await;
    cut_job(&admin, &id, |j| j["state"] == "running").await;
    // Event 2 (finished) is lost on the way.
    let lead = s.app.user("lea", konsign::domain::auth::Role::Lead).await;
    let r = lead
        .post(
            &format!("/api/cut-jobs/{id}/requeue"),
            json!({ "reason": "the machine seems stuck" }),
        )
        .await;
    assert_eq!(r.body["state"], "recalling", "{:?}", r.body);
    let cancel = st.expect("/cut-1/cmd", |c| c["command"] == "cancel").await;
    assert_eq!(
        (cancel["job_id"].as_str(), cancel["revision"].as_u64()),
        (Some(id.as_str()), Some(1))
    );
    answer_cmd(
        &st,
        &s.site,
        &cancel,
        wire::AckResult::Rejected,
        Some(wire::RejectCode::AlreadyFinished),
        Some((wire::JobState::Finished, 2)),
    )
    .await;
    let done = cut_job(&admin, &id, |j| j["state"] == "finished").await;
    assert_eq!(
        (done["revision"].as_i64(), done["done"].as_i64()),
        (Some(1), Some(2)),
        "{done}"
    );
    // Nothing else is sent: no second revision for this or any station.
    let jobs = collect(&mut st, "/job", Duration::from_secs(2)).await;
    cuts += jobs.len();
    assert_eq!(cuts, 1, "cut once: {jobs:?}");
    assert_eq!(
        sent(&s, "catch_up"),
        0,
        "no catch-up before the gap counts as lost"
    );
    s.app.ctx.cutting.wake.notify_one();
    st.task.abort();
}

/// C2: a lead takes back a running job whose station cannot stop it: `rejected`
/// `already_running` (job_state running); the job stays recalling, its `finished` event
/// finishes it, and no second revision is ever sent.
async fn c2_a_requeued_running_job_that_cannot_stop_finishes_once(broker: Broker) {
    let Some((s, admin, mut st, job)) = accepted_job(broker, "W-C2").await else {
        return;
    };
    let id = job["job_id"].as_str().unwrap().to_string();
    send_event(
        &st,
        &s.site,
        &event(&s.site, 1, &job, wire::EventKind::Started, 0),
    )
    .await;
    cut_job(&admin, &id, |j| j["state"] == "running").await;
    let lead = s.app.user("lea", konsign::domain::auth::Role::Lead).await;
    let r = lead
        .post(
            &format!("/api/cut-jobs/{id}/requeue"),
            json!({ "reason": "cut-1 goes out of service" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let cancel = st.expect("/cut-1/cmd", |c| c["command"] == "cancel").await;
    answer_cmd(
        &st,
        &s.site,
        &cancel,
        wire::AckResult::Rejected,
        Some(wire::RejectCode::AlreadyRunning),
        Some((wire::JobState::Running, 1)),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let waiting = cut_job(&admin, &id, |_| true).await;
    assert_eq!(waiting["state"], "recalling", "{waiting}");
    assert!(
        waiting["log"].to_string().contains("refused the cancel"),
        "{waiting}"
    );
    send_event(
        &st,
        &s.site,
        &event(&s.site, 2, &job, wire::EventKind::Finished, 2),
    )
    .await;
    let done = cut_job(&admin, &id, |j| j["state"] == "finished").await;
    assert_eq!(done["revision"], 1);
    let jobs = collect(&mut st, "/job", Duration::from_secs(2)).await;
    assert!(jobs.is_empty(), "no second revision: {jobs:?}");
    st.task.abort();
}

/// C3: a full station answers `queue_full`: the job waits with backoff and the station is not
/// asked again until its state shows room; then the job goes and is accepted.
async fn c3_a_full_station_is_not_asked_again_until_it_has_room(broker: Broker) {
    let Some(s) = setup(broker).await else { return };
    let admin = s.app.admin().await;
    let expiry = plates_in_stock(&s, &admin).await;
    let mut st = station(&s, &admin).await;
    until_station(&admin, |v| v["available"] == true).await;
    picked_cut_order(&s, &admin, "W-C3", "PL1", &expiry).await;
    let job = st.expect("/cut-1/job", |_| true).await;
    let full = wire::Ack {
        header: header(&s.site, "cut-1", 500),
        ref_message_id: job["header"]["message_id"].as_str().unwrap().into(),
        job_id: Some(job["job_id"].as_str().unwrap().into()),
        revision: Some(1),
        cmd_id: None,
        result: wire::AckResult::Rejected,
        job_state: None,
        done: None,
        reason: Some(wire::Reason {
            code: wire::RejectCode::QueueFull,
            message: "full".into(),
        }),
    };
    st.publish(
        wire::topic(&s.site, "cut-1", Topic::Ack),
        false,
        wire::encode(&full),
    )
    .await;
    // Its state still shows no room (3 of 3).
    let busy = wire::State {
        header: header(&s.site, "cut-1", 501),
        mode: wire::Mode::Busy,
        current_job: Some(wire::CurrentJob {
            job_id: "cj-x-1".into(),
            revision: 1,
            done: 0,
            quantity: 1,
        }),
        queue: vec![
            wire::QueuedJob {
                job_id: "cj-x-2".into(),
                revision: 1,
            },
            wire::QueuedJob {
                job_id: "cj-x-3".into(),
                revision: 1,
            },
        ],
        ..state(&s.site, wire::Mode::Busy, 501)
    };
    st.publish(
        wire::topic(&s.site, "cut-1", Topic::State),
        true,
        wire::encode(&busy),
    )
    .await;
    let again = collect(&mut st, "/job", Duration::from_secs(6)).await;
    assert!(
        again.is_empty(),
        "a full station is not asked again: {again:?}"
    );
    let id = job["job_id"].as_str().unwrap();
    assert_eq!(cut_job(&admin, id, |_| true).await["state"], "queued");
    // Room at last.
    st.publish(
        wire::topic(&s.site, "cut-1", Topic::State),
        true,
        wire::encode(&state(&s.site, wire::Mode::Idle, 502)),
    )
    .await;
    let job2 = st.expect("/cut-1/job", |_| true).await;
    assert_eq!(job2["job_id"], job["job_id"]);
    answer(&st, &s.site, "cut-1", &job2, wire::AckResult::Accepted, 3).await;
    cut_job(&admin, id, |j| j["state"] == "accepted").await;
    assert!(sent(&s, "job") <= 2, "two sends in all");
    st.task.abort();
}

/// C4: the operator reports a problem with a job waiting at a linked station: the station is
/// told to cancel it and konsign waits; its `cancelled` event (nothing cut) puts the job back
/// in the queue as revision 2, and it is sent again.
async fn c4_a_problem_reported_at_a_linked_station_recalls_and_waits(broker: Broker) {
    let Some((s, admin, mut st, job)) = accepted_job(broker, "W-C4").await else {
        return;
    };
    let id = job["job_id"].as_str().unwrap().to_string();
    let operator = s
        .app
        .user("ole", konsign::domain::auth::Role::Operator)
        .await;
    let r = operator
        .post(
            &format!("/api/cut-jobs/{id}/action"),
            json!({ "action": "done" }),
        )
        .await;
    assert_eq!(r.body["code"], "machine_reports", "{:?}", r.body);
    let r = operator
        .post(
            &format!("/api/cut-jobs/{id}/action"),
            json!({ "action": "problem", "reason": "forkert plade i kassen" }),
        )
        .await;
    assert_eq!(r.body["state"], "recalling", "{:?}", r.body);
    let cancel = st.expect("/cut-1/cmd", |c| c["command"] == "cancel").await;
    answer_cmd(&st, &s.site, &cancel, wire::AckResult::Accepted, None, None).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        cut_job(&admin, &id, |_| true).await["state"],
        "recalling",
        "waits for the event"
    );
    send_event(
        &st,
        &s.site,
        &event(&s.site, 1, &job, wire::EventKind::Cancelled, 0),
    )
    .await;
    let again = st.expect("/cut-1/job", |j| j["revision"] == 2).await;
    assert_eq!(again["job_id"], id.as_str());
    st.task.abort();
}

/// C5: a critical failure: the station is in a fault at once, so the job's uncut rest is not
/// sent to it; a state that counts the failure and is out of the fault brings it back.
async fn c5_a_critical_failure_stops_the_station_at_once(broker: Broker) {
    let Some((s, admin, mut st, job)) = accepted_job(broker, "W-C5").await else {
        return;
    };
    let id = job["job_id"].as_str().unwrap().to_string();
    send_event(
        &st,
        &s.site,
        &event(&s.site, 1, &job, wire::EventKind::Started, 0),
    )
    .await;
    let mut failed = event(&s.site, 2, &job, wire::EventKind::Failed, 1);
    failed.error = Some(wire::ErrorInfo {
        level: wire::Level::Critical,
        code: "blade_fault".into(),
        message: "blade broke".into(),
    });
    send_event(&st, &s.site, &failed).await;
    cut_job(&admin, &id, |j| j["state"] == "failed").await;
    until_station(&admin, |v| v["available"] == false && v["mode"] == "fault").await;
    let early = collect(&mut st, "/job", Duration::from_secs(2)).await;
    assert!(early.is_empty(), "nothing is sent into a fault: {early:?}");
    // A state from before the failure (last_event_seq 1) does not clear it.
    let mut old = state(&s.site, wire::Mode::Idle, 600);
    old.last_event_seq = 1;
    st.publish(
        wire::topic(&s.site, "cut-1", Topic::State),
        true,
        wire::encode(&old),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(until_station(&admin, |_| true).await["available"], false);
    let mut cleared = state(&s.site, wire::Mode::Idle, 601);
    cleared.last_event_seq = 2;
    st.publish(
        wire::topic(&s.site, "cut-1", Topic::State),
        true,
        wire::encode(&cleared),
    )
    .await;
    let rest = st.expect("/cut-1/job", |_| true).await;
    assert_eq!(
        (rest["quantity"].as_u64(), rest["revision"].as_u64()),
        (Some(1), Some(1)),
        "{rest}"
    );
    st.task.abort();
}

/// C6: the operator's start tells the station `start` (naming the revision); the job is
/// running only when the station says `started`.
async fn c6_the_operators_start_runs_a_job_only_on_started(broker: Broker) {
    let Some((s, admin, mut st, job)) = accepted_job(broker, "W-C6").await else {
        return;
    };
    let id = job["job_id"].as_str().unwrap().to_string();
    let operator = s
        .app
        .user("ole", konsign::domain::auth::Role::Operator)
        .await;
    let r = operator
        .post(
            &format!("/api/cut-jobs/{id}/action"),
            json!({ "action": "start" }),
        )
        .await;
    assert_eq!(
        (r.status, r.body["state"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{:?}",
        r.body
    );
    let start = st.expect("/cut-1/cmd", |c| c["command"] == "start").await;
    assert_eq!(
        (start["job_id"].as_str(), start["revision"].as_u64()),
        (Some(id.as_str()), Some(1))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cut_job(&admin, &id, |_| true).await["state"], "accepted");
    send_event(
        &st,
        &s.site,
        &event(&s.site, 1, &job, wire::EventKind::Started, 0),
    )
    .await;
    cut_job(&admin, &id, |j| j["state"] == "running").await;
    st.task.abort();
}

/// C7: events with broken headers are refused on `_host/{host}/error` with the place they
/// break the schema, and none is applied.
async fn c7_malformed_headers_are_refused_and_change_nothing(broker: Broker) {
    let Some((s, admin, st, job)) = accepted_job(broker, "W-C7").await else {
        return;
    };
    let id = job["job_id"].as_str().unwrap().to_string();
    let mut obs = connect(
        &s.broker,
        &format!("obs-{}", s.site),
        None,
        &[wire::host_error_topic(&s.site, "h1")],
    )
    .await;
    let good = serde_json::to_value(event(&s.site, 1, &job, wire::EventKind::Finished, 2)).unwrap();
    let cases: Vec<(&str, Breaker)> = vec![
        (
            "/header/version",
            Box::new(|v| v["header"]["version"] = "1".into()),
        ),
        (
            "/header/version",
            Box::new(|v| v["header"]["version"] = "1.0".into()),
        ),
        (
            "/header/version",
            Box::new(|v| v["header"]["version"] = "01.0.0".into()),
        ),
        (
            "/header/timestamp",
            Box::new(|v| v["header"]["timestamp"] = "yesterday".into()),
        ),
        (
            "/header/message_id",
            Box::new(|v| v["header"]["message_id"] = "".into()),
        ),
        (
            "site",
            Box::new(|v| {
                v["header"].as_object_mut().unwrap().remove("site");
            }),
        ),
    ];
    for (at, break_it) in &cases {
        let mut bad = good.clone();
        break_it(&mut bad);
        st.publish(
            wire::topic(&s.site, "cut-1", Topic::Event),
            false,
            serde_json::to_vec(&bad).unwrap(),
        )
        .await;
        let e = obs.expect("/error", |_| true).await;
        let reason = e["reason"].as_str().unwrap();
        assert!(
            reason.contains("schema") && reason.contains(at),
            "{at}: {reason}"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        cut_job(&admin, &id, |_| true).await["state"],
        "accepted",
        "nothing applied"
    );
    obs.task.abort();
    st.task.abort();
}

/// Breaks a good message in one way.
type Breaker = Box<dyn Fn(&mut Value)>;
