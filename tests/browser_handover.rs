//! The handover page in a real headless Chromium: a packer opens a cage, a voided parcel's label
//! is refused (the page turns red), two booked parcels are scanned on, and closing the cage ships
//! their orders and offers the handover list. Screenshots in `<target>/test-artefacts/`.

mod common;

use common::packing::*;
use common::webdriver::Browser;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packer_hands_a_cage_over_on_the_handover_page() {
    let Some((p, _dir)) = setup(common::Backend::Sqlite).await else {
        return;
    };
    let Some(browser) = Browser::start().await else {
        p.printer.stop();
        return;
    };
    let one = booked_parcel(&p, "W-1").await;
    let two = booked_parcel(&p, "W-2").await;
    let gone = booked_parcel(&p, "W-3").await;
    let r = p
        .packer
        .post(
            &format!("/api/parcels/{}/void", gone["id"]),
            json!({ "reason": "label torn" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    browser
        .login(&p.app.base, "pelle", "pelle-password-1")
        .await;
    browser.click("#gohandover").await;
    browser
        .until("the handover page", "location.pathname === '/handover'")
        .await;
    browser.click("#newcage").await;
    browser
        .until(
            "a cage is open",
            "!!document.getElementById('handover').dataset.cage",
        )
        .await;
    browser
        .until(
            "two parcels expected",
            "document.querySelectorAll('#expected li').length === 2",
        )
        .await;
    browser.screenshot("handover-1-open").await;
    let sscc = |v: &Value| v["sscc"].as_str().unwrap().to_string();
    browser
        .type_into("#scan", &format!("00{}\u{e007}", sscc(&gone)))
        .await;
    browser
        .until(
            "the voided parcel is refused",
            "document.body.className === 'bad'",
        )
        .await;
    browser.screenshot("handover-2-refused").await;
    browser
        .until("the red flash ends", "document.body.className === ''")
        .await;
    for v in [&one, &two] {
        browser
            .type_into("#scan", &format!("00{}\u{e007}", sscc(v)))
            .await;
    }
    browser
        .until(
            "both on the cage",
            "document.getElementById('handover').dataset.count === '2'",
        )
        .await;
    browser.js("window.confirm = () => true; return 1;").await;
    browser.click("#closecage").await;
    browser
        .until(
            "closed with the list",
            "!!document.getElementById('listpdf')",
        )
        .await;
    browser.screenshot("handover-3-closed").await;
    // W-1's parcel comes back from the carrier: scanned in as a return.
    browser
        .js("document.getElementById('returns').open = true; return 1;")
        .await;
    browser
        .type_into("#returnscan", &format!("00{}\u{e007}", sscc(&one)))
        .await;
    browser
        .until(
            "the return is booked",
            "document.getElementById('retmsg').textContent.includes('W-1') && document.getElementById('retmsg').textContent.includes('RETUR')",
        )
        .await;
    browser.screenshot("handover-3b-returned").await;
    // In English, on a wide screen.
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": 1600, "height": 1000 })),
        )
        .await;
    let cage = p.packer.get("/api/cages").await.body[0]["id"]
        .as_i64()
        .unwrap();
    browser
        .goto(&format!("{}/handover?lang=en&cage={cage}", p.app.base))
        .await;
    browser
        .until(
            "the English page",
            "document.body.innerText.includes('Handover to the carrier') && !!document.getElementById('listpdf')",
        )
        .await;
    browser.screenshot("handover-4-wide-english").await;
    for id in ["W-1", "W-2"] {
        let s = p.web.get(&format!("/api/orders/{id}/status")).await.body;
        assert_eq!(s["status"], "shipped", "{s}");
    }
    browser.close().await;
    p.printer.stop();
}
