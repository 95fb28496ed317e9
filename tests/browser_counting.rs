//! The stock page's count tab in a real headless Chromium: a short pick's count task is counted
//! blind and closed, and a lead's cycle count shows its progress as locations are counted.
//! Screenshots in `<target>/test-artefacts/`.

mod common;

use common::webdriver::Browser;
use konsign::domain::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_picks_count_task_is_closed_by_counting_and_a_cycle_count_shows_progress() {
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
            json!({ "code": "T-01", "zone": "Z", "kind": "tote", "walk_seq": 900 }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let exp = common::in_days(300);
    common::receive(&admin, &seed.pouch, "P1", &exp, "A-01-1", 5).await;
    // The lead's start page: the order counts follow the orders as they come, no reload.
    app.user("lene", Role::Lead).await;
    browser.login(&app.base, "lene", "lene-password-1").await;
    browser
        .until(
            "no orders yet",
            "!document.getElementById('noorders').hidden",
        )
        .await;
    // An order for 2; the picker finds none and reports the pick short.
    let web = app.user("web", Role::Integration).await;
    let r = web
        .post("/api/orders", json!({
            "external_id": "W-1", "payer": { "code": "0751", "name": "Aarhus Kommune", "ean": "5798000000001" },
            "grant_ref": "BEV-1", "citizen_id": "cit-1",
            "recipient": { "name": "Åse Ørnbøl", "address_line1": "Søndergade 12", "postcode": "8000", "city": "Aarhus C" },
            "delivery_date": common::in_days(2), "lines": [{ "gtin": seed.pouch, "quantity": 2 }] }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    browser
        .until(
            "the new order counted live",
            "[...document.querySelectorAll('#orders tr')].some((tr) => tr.cells[0].textContent.startsWith('Reserveret') && tr.cells[1].textContent === '1') && document.getElementById('noorders').hidden",
        )
        .await;
    let w = admin.post("/api/waves", json!({})).await;
    let wave = w.body["id"].as_i64().unwrap();
    let pick_id = w.body["picks"][0]["id"].as_i64().unwrap();
    let picker = app.user("pia", Role::Picker).await;
    picker
        .post(&format!("/api/waves/{wave}/take"), json!({}))
        .await;
    let r = picker
        .post(
            &format!("/api/waves/{wave}/short"),
            json!({ "pick_id": pick_id }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // The held packs show in the stock list as quarantined, with why.
    browser.goto(&format!("{}/stock", app.base)).await;
    browser
        .until(
            "the held packs with their reason",
            "document.getElementById('units').textContent.includes('i karantæne (mangel ved pluk: tæl placeringen)')",
        )
        .await;
    browser.click("nav.tabs button[data-tab=count]").await;
    browser
        .until(
            "the short pick's task",
            "[...document.querySelectorAll('#ct_tasks tbody tr')].some((tr) => tr.textContent.includes('A-01-1') && tr.textContent.includes('Mangel ved pluk'))",
        )
        .await;
    browser.screenshot("count-1-tasks").await;
    browser.click("#ct_tasks tbody tr button").await;
    browser
        .until(
            "the lot to count, without its quantity",
            "document.querySelectorAll('#ct_lines tbody tr').length === 1 && document.getElementById('ct_info').textContent.includes('Mangel ved pluk')",
        )
        .await;
    let cells = browser
        .js("return [...document.querySelectorAll('#ct_lines td')].map((c) => c.textContent).join('|');")
        .await;
    assert!(
        !cells.as_str().unwrap().split('|').any(|c| c.trim() == "5"),
        "blind: the system's 5 is not shown: {cells}"
    );
    browser
        .js("document.querySelector('#ct_lines input').value = '4'; document.getElementById('ct_show').click(); return 1;")
        .await;
    browser
        .until(
            "the difference",
            "document.querySelector('td.diff').textContent === '-1'",
        )
        .await;
    browser
        .js("document.getElementById('ct_reason').value = 'en pakning mangler'; return 1;")
        .await;
    browser.screenshot("count-2-difference").await;
    browser.click("#ct_book").await;
    browser
        .until(
            "booked, the task closed",
            "document.getElementById('ct_msg').className === 'okmsg' && document.getElementById('ct_msg').textContent.includes('1 forskel, 1 opgave lukket')",
        )
        .await;
    browser
        .until(
            "no open task left",
            "document.querySelector('#ct_tasks tbody').textContent.includes('Ingen åbne opgaver')",
        )
        .await;
    let done = admin.get("/api/count-tasks?location=A-01-1").await.body;
    assert_eq!(
        (
            &done[0]["source"],
            &done[0]["status"],
            &done[0]["difference"]
        ),
        (&json!("short_pick"), &json!("done"), &json!(-1)),
        "{done}"
    );
    let here = admin.get("/api/stock/units?location=A-01-1").await.body;
    let total: i64 = here
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["quantity"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 4, "{here}");

    // A cycle count of zone A: two locations, one counted.
    browser
        .js("const k = document.getElementById('run_kind'); k.value = 'zone'; k.dispatchEvent(new Event('change')); document.getElementById('run_value').value = 'A'; document.querySelector('#run_form button').click(); return 1;")
        .await;
    browser
        .until(
            "the run with its progress",
            "document.querySelector('#runs tbody').textContent.includes('0 talt af 2')",
        )
        .await;
    browser
        .js("document.getElementById('ct_scan').value = 'A-02-1'; document.querySelector('#ct_form button').click(); return 1;")
        .await;
    browser
        .until(
            "an empty location to confirm",
            "document.getElementById('ct_title').textContent.includes('A-02-1') && !document.getElementById('ct_show').hidden",
        )
        .await;
    browser.click("#ct_show").await;
    browser.click("#ct_book").await;
    browser
        .until(
            "one of two counted",
            "document.querySelector('#runs tbody').textContent.includes('1 talt af 2')",
        )
        .await;
    let width: f64 = browser
        .js("return parseFloat(document.querySelector('#runs .bar i').style.width);")
        .await
        .as_f64()
        .unwrap();
    assert_eq!(width, 50.0);
    browser.screenshot("count-3-cycle").await;
    // Phone width: the count tab fits without sideways scrolling.
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": 412, "height": 915 })),
        )
        .await;
    let wide = browser
        .js("return document.documentElement.scrollWidth;")
        .await
        .as_i64()
        .unwrap();
    assert!(wide <= 412, "no sideways scrolling on a phone: {wide}");
    browser.screenshot("count-4-phone").await;
    // In English at a lead's desk: the same tab, every text in English.
    browser
        .cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": 1280, "height": 900 })),
        )
        .await;
    browser
        .goto(&format!("{}/stock?lang=en#count", app.base))
        .await;
    browser
        .until(
            "the English count tab with the open cycle task",
            "document.querySelector('#ct_tasks tbody').textContent.includes('Cycle count') && document.querySelector('#runs tbody').textContent.includes('1 counted of 2')",
        )
        .await;
    let text = browser
        .js("return document.getElementById('count').innerText;")
        .await;
    let text = text.as_str().unwrap();
    for danish in ["Opgaver", "Tæl", "Optælling", "Placering"] {
        assert!(
            !text.contains(danish),
            "Danish {danish:?} on the English page: {text}"
        );
    }
    browser.screenshot("count-5-english-wide").await;
    browser.close().await;
}
