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

/// Every type that derives `ToSchema` under `src/`, by the schema name it takes (its own name,
/// or `#[schema(as = ...)]`), with the files that declare it.
fn schema_names() -> std::collections::BTreeMap<String, Vec<String>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read src") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut names: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read file");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !(line.contains("#[derive(") && line.contains("ToSchema")) {
                continue;
            }
            // The attributes up to the item, then the item's name.
            let mut alias = None;
            for l in &lines[i + 1..] {
                let l = l.trim();
                if let Some(rest) = l.strip_prefix("#[schema(as = ") {
                    alias = rest.split(')').next().map(str::to_string);
                } else if l.starts_with("#[") || l.starts_with("///") {
                    continue;
                } else {
                    let item = l.split_whitespace().collect::<Vec<_>>();
                    let name = item
                        .iter()
                        .position(|w| *w == "struct" || *w == "enum")
                        .and_then(|k| item.get(k + 1))
                        .map(|n| n.trim_end_matches(['{', '(', ';']).to_string());
                    if let Some(name) = alias.clone().or(name) {
                        names.entry(name).or_default().push(f.display().to_string());
                    }
                    break;
                }
            }
        }
    }
    names
}

#[test]
fn no_two_types_share_a_schema_name() {
    // utoipa keeps the last of two schemas with one name, so the document would describe one
    // operation's body with another's fields.
    let names = schema_names();
    assert!(
        names.len() > 100,
        "the scan finds the schemas: {}",
        names.len()
    );
    let shared: Vec<_> = names.iter().filter(|(_, files)| files.len() > 1).collect();
    assert!(shared.is_empty(), "schema names used twice: {shared:?}");
}
