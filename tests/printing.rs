//! Printing over a real loopback socket to the simulated printer (`konsign::devices::printer::
//! sim`), on both backends: a label printed and confirmed; paper out (queue held, alarm, resumes
//! when cleared); a printer that does not answer `~HS`; connection refused (retried, never
//! failed); a connection dropped mid-job (failed, not resent, reprinted as a new job); a slow
//! reader; and a konsign restart with jobs queued and one interrupted while sending.

mod common;

use common::{Backend, TestApp};
use konsign::config::Config;
use konsign::devices::printer::sim::Simulator;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends!(
    a_label_prints_and_is_confirmed,
    paper_out_holds_the_queue_raises_an_alarm_and_resumes,
    a_printer_that_does_not_answer_holds_the_queue,
    connection_refused_is_retried_and_never_fails_the_job,
    a_connection_dropped_mid_job_fails_the_job_and_is_not_resent,
    a_slow_printer_gets_the_whole_label,
    jobs_survive_a_restart_and_an_interrupted_send_is_not_repeated,
    a_printer_limited_to_its_stations_labels_refuses_others,
);

/// Short spooler timings so the tests run in seconds.
fn fast(c: &mut Config) {
    c.printing.connect_timeout_ms = 1000;
    c.printing.status_timeout_ms = 400;
    c.printing.write_timeout_ms = 3000;
    c.printing.hold_poll_ms = 100;
    c.printing.idle_poll_ms = 300;
    c.printing.max_backoff_ms = 300;
}

async fn app(backend: Backend) -> Option<TestApp> {
    let dir = tempfile::tempdir().unwrap();
    let url = common::database_url(backend, dir.path()).await?;
    Some(common::start_app(url, Some(dir), fast).await)
}

async fn sim() -> Simulator {
    Simulator::start("127.0.0.1:0", None, None).await.unwrap()
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    common::listen_port()
}

async fn add_printer(c: &common::Client, id: &str, port: u16) {
    let r = c
        .put_json(
            &format!("/api/printers/{id}"),
            json!({ "host": "127.0.0.1", "port": port, "dpi": 203, "label_width_mm": 102,
                    "label_height_mm": 152, "station": "pack-1", "name": "Pakkebord 1" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
}

async fn print(c: &common::Client, printer: &str, key: Option<&str>) -> Value {
    let mut body =
        json!({ "printer": printer, "template": "shipping", "sample": true, "subject": "WEB-1" });
    if let Some(k) = key {
        body["request_key"] = json!(k);
    }
    let r = c.post("/api/print", body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    assert_eq!(r.body["state"], "queued", "returns at once: {:?}", r.body);
    r.body
}

async fn job(c: &common::Client, id: &str) -> Value {
    let r = c.get(&format!("/api/print-jobs/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

/// Waits (up to 15 s) until the job is in `state`.
async fn until_job(c: &common::Client, id: &str, state: &str) -> Value {
    for _ in 0..300 {
        let j = job(c, id).await;
        if j["state"] == state {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} never became {state}: {:?}", job(c, id).await);
}

async fn printer(c: &common::Client, id: &str) -> Value {
    let r = c.get("/api/printers").await;
    assert_eq!(r.status, StatusCode::OK);
    r.body
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .cloned()
        .unwrap()
}

async fn until_printer(c: &common::Client, id: &str, state: &str) -> Value {
    for _ in 0..300 {
        let p = printer(c, id).await;
        if p["state"] == state {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "printer {id} never became {state}: {:?}",
        printer(c, id).await
    );
}

fn states(j: &Value) -> Vec<String> {
    j["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap().to_string())
        .collect()
}

async fn a_label_prints_and_is_confirmed(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let admin = app.admin().await;
    let packer = app
        .user("packer", konsign::domain::auth::Role::Packer)
        .await;
    let p = sim().await;
    add_printer(&admin, "pack-1", p.addr().port()).await;
    let queued = print(&packer, "pack-1", Some("parcel-1")).await;
    let id = queued["id"].as_str().unwrap();
    let done = until_job(&packer, id, "confirmed").await;
    assert_eq!(
        states(&done),
        ["queued", "sending", "sent", "confirmed"],
        "{done:?}"
    );
    // Exactly the rendered label reached the printer, once.
    let label = packer
        .req(reqwest::Method::GET, &format!("/api/print-jobs/{id}/label"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        label.contains(&format!("^FX job {id} template shipping")),
        "{label}"
    );
    assert_eq!(p.printed(), vec![label.trim_end().to_string()]);
    // The same request key is the same job, printed once.
    let again = packer
        .post(
            "/api/print",
            json!({ "printer": "pack-1", "template": "shipping", "sample": true, "request_key": "parcel-1" }),
        )
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(again.body["id"], queued["id"]);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(p.printed().len(), 1);
    // Reading the label was audit-logged.
    let audit = admin.get("/api/audit?action=print_job.label_read").await;
    assert!(audit.body.to_string().contains(id), "{:?}", audit.body);
    let ready = printer(&packer, "pack-1").await;
    assert_eq!(
        (ready["state"].as_str(), ready["queue_depth"].as_i64()),
        (Some("ready"), Some(0))
    );

    // Bad data: a precise error and nothing queued.
    let before = common::count(&app.ctx, "print_jobs").await;
    let r = packer
        .post(
            "/api/print",
            json!({ "printer": "pack-1", "template": "shipping", "data": { "recipient_name": "Åse" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(
        r.body.to_string().contains("missing from the label data"),
        "{:?}",
        r.body
    );
    let mut data = app
        .ctx
        .labels
        .iter()
        .find(|t| t.name == "shipping")
        .unwrap()
        .sample
        .fields
        .clone();
    data.insert("sscc".into(), "057089320000000018".into());
    let r = packer
        .post(
            "/api/print",
            json!({ "printer": "pack-1", "template": "shipping", "data": data }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert!(r.body.to_string().contains("sscc"), "{:?}", r.body);
    let r = packer
        .post(
            "/api/print",
            json!({ "printer": "pack-1", "template": "nope", "sample": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    let r = packer
        .post(
            "/api/print",
            json!({ "printer": "pack-9", "template": "shipping", "sample": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);
    // An A4 packing slip does not fit a 100 x 150 mm label printer.
    let r = packer
        .post(
            "/api/print",
            json!({ "printer": "pack-1", "template": "packing-slip", "sample": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(common::count(&app.ctx, "print_jobs").await, before);
    // Previews: the template's example as PNG, any data as PDF, for the pages.
    let png = packer
        .req(reqwest::Method::GET, "/api/labels/shipping/preview.png")
        .send()
        .await
        .unwrap();
    assert_eq!(png.status(), StatusCode::OK);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(png.bytes().await.unwrap().starts_with(b"\x89PNG"));
    let sticker = app
        .ctx
        .labels
        .iter()
        .find(|t| t.name == "cut-sticker")
        .unwrap();
    let pdf = packer
        .req(
            reqwest::Method::POST,
            "/api/labels/cut-sticker/render?format=pdf",
        )
        .json(&sticker.sample.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    // `{}` and `{"sample": true}` render the example data, as the documentation says.
    for body in [json!({}), json!({ "sample": true })] {
        let zpl = packer
            .req(
                reqwest::Method::POST,
                "/api/labels/cut-sticker/render?format=zpl",
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(zpl.status(), StatusCode::OK, "{body}");
        let text = zpl.text().await.unwrap();
        assert!(
            text.contains("^XA") && text.contains("T-017"),
            "{body}: {text}"
        );
    }
    let bad = packer
        .req(
            reqwest::Method::POST,
            "/api/labels/cut-sticker/render?format=gif",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let lead = app.user("lead", konsign::domain::auth::Role::Lead).await;
    let page = lead
        .req(reqwest::Method::GET, "/")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/api/labels/shipping/preview.png"), "{page}");
    assert!(page.contains("data-printer=\"pack-1\""), "{page}");
    // The metrics show the printer and its queue.
    let m = admin.get("/metrics").await;
    let text = m
        .body
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| m.body.to_string());
    assert!(
        text.contains("printer_state{printer=\"pack-1\",state=\"ready\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("print_queue_depth{printer=\"pack-1\"} 0"),
        "{text}"
    );
    p.stop();
}

async fn paper_out_holds_the_queue_raises_an_alarm_and_resumes(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let admin = app.admin().await;
    let p = sim().await;
    p.set(|s| s.paper_out = true);
    let ctx = &app.ctx;
    let mut live = common::LiveCheck::start(ctx).await;
    add_printer(&admin, "pack-1", p.addr().port()).await;
    let a = print(&admin, "pack-1", None).await;
    let b = print(&admin, "pack-1", None).await;
    let held = until_printer(&admin, "pack-1", "paper_out").await;
    // The live dashboard reads the devices alone for a printer's state, and shows it red.
    let u = live.step(ctx, "paper out").await;
    assert_eq!(
        u.changed,
        konsign::service::dashboard::Sections::EACH[2],
        "{:?}",
        u.types
    );
    let shown = u.live.devices.iter().find(|d| d.id == "pack-1");
    assert_eq!(
        shown.map(|d| (d.health, d.state.as_str())),
        Some((konsign::service::dashboard::Health::Red, "paper_out"))
    );
    assert_eq!(held["alarm"], true);
    assert_eq!(held["queue_depth"], 2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        p.printed().is_empty(),
        "nothing sent to a printer without paper"
    );
    assert_eq!(
        job(&admin, a["id"].as_str().unwrap()).await["state"],
        "queued"
    );
    let events = admin.get("/api/events?limit=1000").await;
    assert!(
        events.body.to_string().contains("paper_out"),
        "{:?}",
        events.body
    );
    p.set(|s| s.paper_out = false);
    until_job(&admin, a["id"].as_str().unwrap(), "confirmed").await;
    until_job(&admin, b["id"].as_str().unwrap(), "confirmed").await;
    let printed = p.printed();
    assert_eq!(printed.len(), 2);
    assert!(printed[0].contains(a["id"].as_str().unwrap()), "in order");
    assert!(printed[1].contains(b["id"].as_str().unwrap()), "in order");
    assert_eq!(printer(&admin, "pack-1").await["alarm"], false);
    p.stop();
}

async fn a_printer_that_does_not_answer_holds_the_queue(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let admin = app.admin().await;
    let p = sim().await;
    p.set(|s| s.no_status = true);
    add_printer(&admin, "pack-1", p.addr().port()).await;
    let a = print(&admin, "pack-1", None).await;
    let held = until_printer(&admin, "pack-1", "no_answer").await;
    assert_eq!(held["alarm"], true);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        p.printed().is_empty() && p.buffered() == 0,
        "no label sent to a silent printer"
    );
    assert_eq!(
        job(&admin, a["id"].as_str().unwrap()).await["state"],
        "queued"
    );
    p.set(|s| s.no_status = false);
    until_job(&admin, a["id"].as_str().unwrap(), "confirmed").await;
    assert_eq!(p.printed().len(), 1);
    p.stop();
}

async fn connection_refused_is_retried_and_never_fails_the_job(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let admin = app.admin().await;
    let port = free_port();
    add_printer(&admin, "pack-1", port).await;
    let a = print(&admin, "pack-1", None).await;
    let id = a["id"].as_str().unwrap();
    until_printer(&admin, "pack-1", "unreachable").await;
    // Retried with backoff: attempts count up, the job stays queued.
    let mut attempts = 0;
    for _ in 0..100 {
        let j = job(&admin, id).await;
        assert_eq!(j["state"], "queued", "{j:?}");
        attempts = j["attempts"].as_i64().unwrap();
        if attempts >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(attempts >= 2, "attempts {attempts}");
    // The printer comes back on the same port: the job prints.
    let p = Simulator::start(&format!("127.0.0.1:{port}"), None, None)
        .await
        .unwrap();
    until_job(&admin, id, "confirmed").await;
    assert_eq!(p.printed().len(), 1);
    p.stop();
}

async fn a_connection_dropped_mid_job_fails_the_job_and_is_not_resent(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let admin = app.admin().await;
    let p = sim().await;
    p.set(|s| s.drop_after_bytes = Some(100));
    add_printer(&admin, "pack-1", p.addr().port()).await;
    let a = print(&admin, "pack-1", None).await;
    let id = a["id"].as_str().unwrap();
    let failed = until_job(&admin, id, "failed").await;
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("not sent again by itself"),
        "{failed:?}"
    );
    // No automatic resend: wait through several rounds of the queue.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(p.dropped(), 1);
    assert!(p.printed().is_empty(), "{:?}", p.printed());
    assert_eq!(job(&admin, id).await["state"], "failed");
    // A shipping label names a person: an operator (who may print) may not reprint it, and a
    // lead must say why; nothing is queued by a refusal.
    let operator = app
        .user("olga", konsign::domain::auth::Role::Operator)
        .await;
    let r = operator
        .post(
            &format!("/api/print-jobs/{id}/reprint"),
            json!({ "purpose": "x" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    let r = admin
        .post(&format!("/api/print-jobs/{id}/reprint"), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["field"], "purpose");
    assert_eq!(common::count(&app.ctx, "print_jobs").await, 1);
    // A person reprints it with a purpose: a new job, printed once, and an audit entry.
    let r = admin
        .post(
            &format!("/api/print-jobs/{id}/reprint"),
            json!({ "purpose": "label torn at the pack station" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let audit = admin.get("/api/audit?action=print_job.reprint").await.body;
    assert_eq!(
        audit[0]["purpose"], "label torn at the pack station",
        "{audit}"
    );
    assert_eq!(r.body["reprint_of"], id);
    let new_id = r.body["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);
    until_job(&admin, &new_id, "confirmed").await;
    let printed = p.printed();
    assert_eq!(printed.len(), 1);
    assert!(
        printed[0].contains(&format!("^FX job {new_id} reprint of {id}")),
        "{}",
        printed[0]
    );
    p.stop();
}

async fn a_slow_printer_gets_the_whole_label(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let admin = app.admin().await;
    let p = sim().await;
    p.set(|s| {
        s.read_delay = Duration::from_millis(5);
        s.print_time = Duration::from_millis(300);
    });
    add_printer(&admin, "pack-1", p.addr().port()).await;
    let a = print(&admin, "pack-1", None).await;
    let b = print(&admin, "pack-1", None).await;
    let id = a["id"].as_str().unwrap();
    // Sent, then confirmed only once the printer reports its buffer empty.
    until_job(&admin, id, "sent").await;
    until_job(&admin, id, "confirmed").await;
    until_job(&admin, b["id"].as_str().unwrap(), "confirmed").await;
    let printed = p.printed();
    assert_eq!(printed.len(), 2);
    assert!(printed[0].starts_with("^XA") && printed[0].ends_with("^XZ"));
    assert!(
        printed[0].contains("^FD>;>800057089320000000017^FS"),
        "whole label: {}",
        printed[0]
    );
    p.stop();
}

async fn jobs_survive_a_restart_and_an_interrupted_send_is_not_repeated(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let Some(url) = common::database_url(backend, dir.path()).await else {
        return;
    };
    let port = free_port();
    let first = common::start_app(url.clone(), None, fast).await;
    let admin = first.admin().await;
    add_printer(&admin, "pack-1", port).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            print(&admin, "pack-1", None).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    until_printer(&admin, "pack-1", "unreachable").await;
    first.stop().await;
    // As if konsign had died while writing a fourth job to the printer.
    let crashed = {
        let (ctx, _) = (first_ctx(&url).await, ());
        let mut tx = ctx.db.begin_write().await.unwrap();
        konsign::store::printing::insert_job(
            tx.conn(),
            &konsign::store::printing::NewJob {
                id: "pj-crashed",
                printer_id: "pack-1",
                template: "shipping",
                payload: "^XA^FDcrashed^FS^XZ",
                encoding: "text",
                reprint_of: None,
                request_key: None,
                subject: None,
                requested_by: "test",
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert!(konsign::store::printing::transition(
            &ctx.db,
            "pj-crashed",
            konsign::domain::print_job::JobState::Queued,
            konsign::domain::print_job::JobState::Sending,
            "test",
            None
        )
        .await
        .unwrap());
        ctx.db.close().await;
        "pj-crashed"
    };
    let p = Simulator::start(&format!("127.0.0.1:{port}"), None, None)
        .await
        .unwrap();
    let second = common::start_app(url, Some(dir), fast).await;
    let admin = second
        .user("admin2", konsign::domain::auth::Role::Admin)
        .await;
    for id in &ids {
        until_job(&admin, id, "confirmed").await;
    }
    let j = until_job(&admin, crashed, "failed").await;
    assert!(
        j["error"]
            .as_str()
            .unwrap()
            .contains("may or may not have printed"),
        "{j:?}"
    );
    let printed = p.printed();
    assert_eq!(
        printed.len(),
        3,
        "the three queued jobs, in order, and not the interrupted one"
    );
    for (label, id) in printed.iter().zip(&ids) {
        assert!(label.contains(id.as_str()), "{label}");
    }
    p.stop();
    second.stop().await;
}

/// A bare service context on the database (no HTTP, no spooler running).
async fn first_ctx(url: &str) -> konsign::service::Ctx {
    let mut config = Config::default();
    config.database.url = url.to_string();
    konsign::startup::context(config).await.unwrap()
}

/// A printer at a cutting station limited to the cut sticker: a shipping label (which names a
/// person) is refused there, printed or reprinted; what it may print prints; the limit can be
/// lifted; a bad list is refused by name.
async fn a_printer_limited_to_its_stations_labels_refuses_others(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let admin = app.admin().await;
    let p = sim().await;
    add_printer(&admin, "pack-1", p.addr().port()).await;
    let put = |templates: Value| {
        let admin = &admin;
        let port = p.addr().port();
        async move {
            admin
                .put_json(
                    "/api/printers/cut-1",
                    json!({ "host": "127.0.0.1", "port": port, "label_width_mm": 102,
                            "label_height_mm": 152, "station": "cut-1", "templates": templates }),
                )
                .await
        }
    };
    for bad in [json!([]), json!(["Shipping"]), json!(["a,b"])] {
        let r = put(bad.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {:?}",
            r.body
        );
        assert_eq!(r.body["field"], "templates");
    }
    let r = put(json!(["cut-sticker"])).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(
        printer(&admin, "cut-1").await["templates"],
        json!(["cut-sticker"])
    );
    let r = admin
        .post(
            "/api/print",
            json!({ "printer": "cut-1", "template": "shipping", "sample": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["code"], "template_not_allowed");
    assert!(
        r.body["message_da"].as_str().unwrap().contains("printer"),
        "{:?}",
        r.body
    );
    // A shipping label printed at the pack station cannot be reprinted at the cutting station.
    let a = print(&admin, "pack-1", None).await;
    let id = a["id"].as_str().unwrap();
    until_job(&admin, id, "confirmed").await;
    let r = admin
        .post(
            &format!("/api/print-jobs/{id}/reprint"),
            json!({ "printer": "cut-1", "purpose": "label torn" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.body["code"], "template_not_allowed");
    // Its own label prints.
    let r = admin
        .post(
            "/api/print",
            json!({ "printer": "cut-1", "template": "cut-sticker", "sample": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    until_job(&admin, r.body["id"].as_str().unwrap(), "confirmed").await;
    // Lifted, the shipping label prints there too.
    let r = put(Value::Null).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert!(printer(&admin, "cut-1").await["templates"].is_null());
    let r = admin
        .post(
            "/api/print",
            json!({ "printer": "cut-1", "template": "shipping", "sample": true }),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    until_job(&admin, r.body["id"].as_str().unwrap(), "confirmed").await;
    assert_eq!(p.printed().len(), 3, "pack-1 and cut-1 share the simulator");
    p.stop();
}
