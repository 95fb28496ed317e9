//! The pages are Danish: every error code the API answers with has a Danish text, and an error
//! answer carries it as `message_da` beside the English `message`.

mod common;

use common::Backend;
use reqwest::StatusCode;
use serde_json::json;

on_both_backends!(an_error_answer_carries_its_message_in_danish);

/// Every `.rs` file under `dir`, with its text.
fn sources(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path.display().to_string(), text));
        }
    }
}

/// The codes written as the first string literal after each `marker` (white space, and with
/// `skip_arg` one argument before it, may come first).
fn codes_after(text: &str, marker: &str, skip_arg: bool) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices(marker) {
        let mut rest = &text[at + marker.len()..];
        if skip_arg {
            // `ApiError::new(StatusCode::X, "code", ...)`: past the status, up to its comma.
            let Some(comma) = rest.find(',') else {
                continue;
            };
            if rest[..comma].contains(['"', '(', ')']) {
                continue;
            }
            rest = &rest[comma + 1..];
        }
        let Some(lit) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        let code: String = lit
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !code.is_empty() && lit[code.len()..].starts_with('"') {
            found.push(code);
        }
    }
    found
}

#[test]
fn every_error_code_in_the_sources_has_a_danish_text() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    let mut used = std::collections::BTreeMap::<String, String>::new();
    for (path, text) in &files {
        let mut codes = codes_after(text, "conflict(", false);
        codes.extend(codes_after(text, "ApiError::new(", true));
        if path.ends_with("http/error.rs") {
            // The rejections' codes are chosen in a match.
            codes.extend(codes_after(text, "=> ", false));
        }
        for c in codes {
            used.entry(c).or_insert_with(|| path.clone());
        }
    }
    assert!(
        used.len() > 70,
        "the sources were read: {} codes",
        used.len()
    );
    for required in ["pick_not_open", "tote_mismatch", "csrf_token_invalid"] {
        assert!(used.contains_key(required), "{required} not found in src/");
    }
    let known = konsign::http::messages::known_codes();
    let missing: Vec<String> = used
        .iter()
        .filter(|(code, _)| !known.contains(&code.as_str()))
        .map(|(code, path)| format!("{code} ({path})"))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a text in src/http/messages*.rs: {missing:?}"
    );
}

async fn an_error_answer_carries_its_message_in_danish(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let admin = app.admin().await;
    let seed = app.seed(&admin).await;
    // A conflict: its own text.
    let again = admin
        .post(
            "/api/producers",
            json!({ "code": "COLOPLAST", "name": "Coloplast A/S" }),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    assert_eq!(again.body["code"], "producer_exists");
    assert!(again.body["message"]
        .as_str()
        .unwrap()
        .contains("already exists"));
    assert_eq!(again.body["message_da"], "Producenten findes allerede.");
    // Bad input: the field named in Danish, and what is wrong with it.
    let body = json!({ "gtin": seed.plate, "lot": "L1", "expiry": "2020-01-01",
                       "location": "A-01-1", "quantity": 1 });
    let r = admin.post("/api/stock/receive", body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", r.body);
    assert_eq!(r.body["field"], "expiry");
    assert_eq!(
        r.body["message_da"],
        "Ugyldig værdi i «Udløbsdato»: datoen er overskredet."
    );
    let body = json!({ "gtin": seed.plate, "lot": "L1", "expiry": common::in_days(400),
                       "location": "A-01-1", "quantity": 0 });
    let r = admin.post("/api/stock/receive", body).await;
    assert_eq!(
        r.body["message_da"],
        "Ugyldig værdi i «Antal»: skal være et helt antal pakninger, mindst 1.",
        "{:?}",
        r.body
    );
    // Not found: what is missing, by its number.
    let r = admin
        .post(
            "/api/stock/move",
            json!({ "stock_unit_id": 999999, "quantity": 1, "to_location": "A-02-1" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["message_da"], "Lagerposten 999999 findes ikke.");
    // The HTTP layer's own answers and a request it cannot read.
    let r = admin
        .post_raw("/api/stock/receive", "application/json", "{\"gtin\": ")
        .await;
    assert_eq!(r.body["code"], "malformed_json");
    assert!(r.body["message_da"]
        .as_str()
        .unwrap()
        .starts_with("Siden sendte noget"));
    let r = app.anon().get("/api/nothing-here").await;
    assert_eq!(r.body["message_da"], "Adressen findes ikke.");
    let r = app.anon().get("/api/products").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body["message_da"]
        .as_str()
        .unwrap()
        .contains("ikke logget ind"));
    // The schema says so.
    let doc = app.anon().get("/api/openapi.json").await.body;
    let schema = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(
        schema["properties"]["message_da"]["description"],
        "The message in Danish, for pages."
    );
    assert!(schema["required"]
        .as_array()
        .unwrap()
        .contains(&json!("message_da")));
}
