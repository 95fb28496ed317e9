//! The protocol's JSON Schemas (`docs/devices/schemas/`, the files the document publishes),
//! compiled into the crate: every message either side receives is checked against its schema
//! before it is decoded, so konsign and `konsign-bridge` accept exactly what the document allows.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The schema files, by name.
pub const FILES: [(&str, &str); 10] = [
    (
        "header",
        include_str!("../../docs/devices/schemas/header.json"),
    ),
    ("job", include_str!("../../docs/devices/schemas/job.json")),
    ("cmd", include_str!("../../docs/devices/schemas/cmd.json")),
    ("ack", include_str!("../../docs/devices/schemas/ack.json")),
    (
        "event",
        include_str!("../../docs/devices/schemas/event.json"),
    ),
    (
        "state",
        include_str!("../../docs/devices/schemas/state.json"),
    ),
    (
        "connection",
        include_str!("../../docs/devices/schemas/connection.json"),
    ),
    (
        "factsheet",
        include_str!("../../docs/devices/schemas/factsheet.json"),
    ),
    (
        "host-state",
        include_str!("../../docs/devices/schemas/host-state.json"),
    ),
    (
        "host-error",
        include_str!("../../docs/devices/schemas/host-error.json"),
    ),
];

const HEADER_ID: &str = "https://konsign.example/schemas/hulklip/v1/header.json";

fn validators() -> &'static HashMap<&'static str, jsonschema::Validator> {
    static V: OnceLock<HashMap<&'static str, jsonschema::Validator>> = OnceLock::new();
    V.get_or_init(|| {
        let parse = |text: &str| -> serde_json::Value {
            serde_json::from_str(text).expect("the protocol's schema files are valid JSON")
        };
        FILES
            .iter()
            .filter(|(name, _)| *name != "header")
            .map(|(name, text)| {
                let header = jsonschema::Resource::from_contents(parse(FILES[0].1))
                    .expect("the header schema is a schema");
                let v = jsonschema::options()
                    .with_resource(HEADER_ID, header)
                    .should_validate_formats(true)
                    .build(&parse(text))
                    .expect("the protocol's schemas compile");
                (*name, v)
            })
            .collect()
    })
}

/// Checks a message against the schema `name`; the error names where the message breaks it
/// (the first three places), for the sender's `error` answer and the log.
pub fn check(name: &str, v: &serde_json::Value) -> Result<(), String> {
    let Some(val) = validators().get(name) else {
        return Err(format!("no schema {name}"));
    };
    let errors: Vec<String> = val
        .iter_errors(v)
        .take(3)
        .map(|e| {
            let at = e.instance_path.to_string();
            let mut text = e.to_string();
            if text.len() > 160 {
                let cut = (0..=160)
                    .rev()
                    .find(|i| text.is_char_boundary(*i))
                    .unwrap_or(0);
                text.truncate(cut);
                text.push('…');
            }
            format!("{}: {text}", if at.is_empty() { "/" } else { &at })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "does not match the {name} schema: {}",
            errors.join("; ")
        ))
    }
}
