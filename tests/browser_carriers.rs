//! The lead's carrier page in a real headless Chromium: a booking PostNord (the test double)
//! rejected is sent again from the page and lands; a failed delivery attempt shows as an
//! exception and is marked as dealt with. Screenshots in `<target>/test-artefacts/`.

mod common;

use common::packing::*;
use common::webdriver::Browser;
use konsign::carrier::double::{push_event, tracking_body, Behaviour, Double};
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_resends_a_rejected_booking_and_deals_with_a_failed_delivery() {
    let d = Double::start("127.0.0.1:0", KEY).await.unwrap();
    d.script([Behaviour::Fault]);
    let Some((p, _dir)) = setup_postnord(common::Backend::Sqlite, &d).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        p.printer.stop();
        return;
    };
    let parcel = closed_parcel(&p, "W-1").await;
    let id = parcel["id"].as_i64().unwrap();
    let sscc = parcel["sscc"].as_str().unwrap().to_string();
    for _ in 0..200 {
        let v = p.packer.get(&format!("/api/parcels/{id}")).await.body;
        if v["booking_state"] == "rejected" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _lead = p.app.user("lene", Role::Lead).await;
    browser.login(&p.app.base, "lene", "lene-password-1").await;
    browser.click("#gocarriers").await;
    browser
        .until("the carrier page", "location.pathname === '/carriers'")
        .await;
    browser
        .until(
            "the rejected booking with PostNord's reason",
            "document.querySelectorAll('.rejected').length === 1 && document.querySelector('.rejected .err').textContent.includes('ITEM_IDENTIFICATION')",
        )
        .await;
    browser.screenshot("carriers-1-rejected").await;
    browser
        .type_into("form.resend input[name=note]", "adressen er rettet")
        .await;
    browser.click("form.resend button").await;
    browser
        .until(
            "sent again",
            "document.querySelectorAll('.rejected').length === 0",
        )
        .await;
    for _ in 0..200 {
        let v = p.packer.get(&format!("/api/parcels/{id}")).await.body;
        if v["booking_state"] == "booked" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(d.bookings_of(&sscc), 1);
    // A failed delivery attempt, pushed by PostNord.
    let now = chrono::Utc::now();
    let body = tracking_body(
        &format!("00{sscc}"),
        &[push_event(
            "C31",
            "DELIVERY_IMPOSSIBLE",
            "Modtager ikke hjemme",
            now,
        )],
    );
    let r = push_signed(&p, &body, now.timestamp(), SECRET).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    browser.goto(&format!("{}/carriers", p.app.base)).await;
    browser
        .until(
            "the exception",
            "document.querySelectorAll('.exception').length === 1 && document.querySelector('.exception .status').textContent === 'Forgæves leveringsforsøg'",
        )
        .await;
    browser.screenshot("carriers-2-exception").await;
    browser.click("button.ack").await;
    browser
        .until(
            "dealt with",
            "document.querySelectorAll('.exception').length === 0",
        )
        .await;
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": 1600, "height": 1000 })),
        )
        .await;
    browser
        .goto(&format!("{}/carriers?lang=en", p.app.base))
        .await;
    browser
        .until(
            "the English page",
            "document.body.innerText.includes('Rejected bookings')",
        )
        .await;
    browser.screenshot("carriers-3-wide-english").await;
    let audit = p.admin.get("/api/audit?limit=200").await;
    assert_eq!(audit.status, StatusCode::OK);
    let text = audit.body.to_string();
    assert!(text.contains("booking.resend"), "{text}");
    assert!(text.contains("tracking.exception_ack"), "{text}");
    browser.close().await;
    p.printer.stop();
}
