//! The OpenAPI document is part of the API: the ordering web system and client generators read
//! it. The document the service serves must equal the committed `docs/openapi.json` (a change to
//! the API is then a visible diff; `UPDATE_OPENAPI=1 cargo test --test openapi` writes it anew),
//! every `$ref` in it must resolve, and it must pass an OpenAPI 3.1 validator
//! (`openapi-spec-validator`, which `.ci/run` installs; without it the last check prints why it
//! was skipped, or fails when `TEST_REQUIRE_SERVICES=1`).

mod common;

use common::Backend;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn committed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json")
}

fn pretty(doc: &Value) -> String {
    let mut s = serde_json::to_string_pretty(doc).expect("json");
    s.push('\n');
    s
}

/// Every `$ref` in `v`, with where it stands.
fn refs<'a>(v: &'a Value, at: &str, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    if let Some(r) = x.as_str() {
                        out.push((at.to_string(), r));
                    }
                } else {
                    refs(x, &format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                refs(x, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The `$ref`s that point nowhere in `doc`.
fn dangling(doc: &Value) -> Vec<String> {
    let mut all = Vec::new();
    refs(doc, "#", &mut all);
    all.into_iter()
        .filter(|(_, r)| match r.strip_prefix('#') {
            Some(pointer) => doc.pointer(pointer).is_none(),
            None => true,
        })
        .map(|(at, r)| format!("{at}: {r}"))
        .collect()
}

/// A Python with `openapi_spec_validator`: `OPENAPI_VALIDATOR_PYTHON`, else `python3`.
fn validator() -> Option<String> {
    let python =
        std::env::var("OPENAPI_VALIDATOR_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let ok = Command::new(&python)
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

#[tokio::test]
async fn the_served_document_is_the_committed_one_and_valid_openapi_3_1() {
    let Some(app) = common::spawn_app(Backend::Sqlite).await else {
        return;
    };
    let r = app.anon().get("/api/openapi.json").await;
    assert_eq!(r.status.as_u16(), 200);
    let doc = r.body;
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3.1"));

    let broken = dangling(&doc);
    assert!(
        broken.is_empty(),
        "references that resolve to nothing: {broken:#?}"
    );

    let served = pretty(&doc);
    let path = committed();
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &served).expect("write docs/openapi.json");
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    if on_disk != served {
        let at = on_disk
            .lines()
            .zip(served.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(on_disk.lines().count().min(served.lines().count()));
        panic!(
            "the served OpenAPI document differs from docs/openapi.json from line {}: \
             `{}` there, `{}` served. If the API change is meant, run \
             `UPDATE_OPENAPI=1 cargo test --test openapi` and commit the diff.",
            at + 1,
            on_disk.lines().nth(at).unwrap_or("(end)"),
            served.lines().nth(at).unwrap_or("(end)")
        );
    }

    let Some(python) = validator() else {
        assert!(
            !common::decode::required(),
            "openapi-spec-validator is not installed (pip install openapi-spec-validator)"
        );
        eprintln!("skipped: the OpenAPI 3.1 validation needs openapi-spec-validator (pip)");
        return;
    };
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator import validate\n\
             from openapi_spec_validator.validation.exceptions import OpenAPIValidationError\n\
             try:\n    validate(json.load(open(sys.argv[1])))\n\
             except OpenAPIValidationError as e:\n    print(e); sys.exit(1)\n",
        ])
        .arg(&path)
        .output()
        .expect("run the validator");
    assert!(
        out.status.success(),
        "docs/openapi.json is not valid OpenAPI 3.1: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_reference_check_finds_a_dangling_reference() {
    let doc = serde_json::json!({
        "components": {"schemas": {"A": {"type": "string"}}},
        "paths": {"/x": {"get": {"parameters": [
            {"schema": {"$ref": "#/components/schemas/A"}},
            {"schema": {"$ref": "#/components/schemas/GroupBy"}}
        ]}}}
    });
    let d = dangling(&doc);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].ends_with("#/components/schemas/GroupBy"));
}
