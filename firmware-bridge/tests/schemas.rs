//! Every message this crate builds validates against the JSON Schema beside the protocol
//! document (`docs/devices/schemas/`), and the schemas refuse what the protocol forbids.

use firmware_bridge::wire::*;
use serde_json::{json, Value};
use std::path::Path;

fn schema_dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/devices/schemas"
    ))
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(schema_dir().join(format!("{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A validator for one message schema, with the shared header schema resolvable.
fn validator(name: &str) -> jsonschema::Validator {
    let header = load("header");
    let resource = jsonschema::Resource::from_contents(header).unwrap();
    jsonschema::options()
        .with_resource(
            "https://konsign.example/schemas/hulklip/v1/header.json",
            resource,
        )
        .build(&load(name))
        .unwrap()
}

fn assert_valid(name: &str, v: &Value) {
    let val = validator(name);
    let errors: Vec<String> = val.iter_errors(v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{name}: {errors:?}\n{v}");
}

fn assert_invalid(name: &str, v: &Value) {
    assert!(!validator(name).is_valid(v), "{name} accepted: {v}");
}

fn header() -> Header {
    Header::new("vejle", "cut-1", "b-1", "m-1".into(), 1)
}

fn job() -> Job {
    let mut j = Job {
        header: header(),
        job_id: "cj-000001".into(),
        revision: 1,
        content_hash: String::new(),
        line_ref: "L-5c0e8a1f".into(),
        plate: Plate {
            gtin: "05708932000017".into(),
            lot: "CO88721".into(),
            expiry: "2027-12-31".into(),
        },
        quantity: 10,
        shape: Shape::Oval {
            width_mm: 30.0,
            height_mm: 25.0,
            rotation_deg: 0.0,
        },
        tolerance_mm: 0.5,
        sticker: Sticker {
            product: "Basisplade flad, koblingsring 50 mm".into(),
            cut_spec: "oval 30 x 25 mm".into(),
            line_ref: "L-5c0e8a1f".into(),
        },
    };
    j.content_hash = j.compute_hash();
    j
}

fn v<T: serde::Serialize>(m: &T) -> Value {
    serde_json::from_slice(&encode(m)).unwrap()
}

#[test]
fn every_message_validates_against_its_schema() {
    assert_valid("job", &v(&job()));
    assert_valid(
        "cmd",
        &v(&Cmd {
            header: header(),
            cmd_id: "c-1".into(),
            command: Command::Cancel,
            job_id: Some("cj-000001".into()),
            revision: Some(1),
            reason: Some("order cancelled".into()),
        }),
    );
    assert_valid(
        "ack",
        &v(&Ack {
            header: header(),
            ref_message_id: "m-1".into(),
            job_id: Some("cj-000001".into()),
            revision: Some(1),
            cmd_id: None,
            result: AckResult::Rejected,
            job_state: None,
            done: None,
            reason: Some(Reason {
                code: RejectCode::OutOfRange,
                message: "Ø 80 mm is above 70 mm".into(),
            }),
        }),
    );
    assert_valid(
        "event",
        &v(&Event {
            header: header(),
            seq: 7,
            job_id: "cj-000001".into(),
            revision: 1,
            kind: EventKind::Failed,
            done: 3,
            quantity: 10,
            error: Some(ErrorInfo {
                level: Level::Urgent,
                code: "plate_damaged".into(),
                message: "plate cracked".into(),
            }),
        }),
    );
    assert_valid(
        "state",
        &v(&State {
            header: header(),
            mode: Mode::Busy,
            current_job: Some(CurrentJob {
                job_id: "cj-000001".into(),
                revision: 1,
                done: 4,
                quantity: 10,
            }),
            queue: vec![QueuedJob {
                job_id: "cj-000002".into(),
                revision: 2,
            }],
            queue_limit: 3,
            last_event_seq: 6,
            errors: vec![],
        }),
    );
    assert_valid(
        "connection",
        &v(&Connection {
            header: header(),
            connection: ConnectionState::Broken,
        }),
    );
    assert_valid(
        "factsheet",
        &v(&Factsheet {
            header: header(),
            shapes: vec![ShapeKind::Round, ShapeKind::Oval],
            min_mm: 10.0,
            max_mm: 70.0,
            tolerance_mm: 0.5,
            queue_limit: 3,
            versions: Versions {
                protocol: PROTOCOL_VERSION.into(),
                bridge: Some("0.1.0".into()),
                firmware: None,
            },
        }),
    );
    assert_valid(
        "host-state",
        &v(&HostState {
            header: Header::new("vejle", "konsign-1", "b-1", "m-2".into(), 1),
            online: true,
        }),
    );
    assert_valid(
        "host-error",
        &v(&HostError {
            header: Header::new("vejle", "konsign-1", "b-1", "m-3".into(), 1),
            topic: "konsign/v1/vejle/cut-9/event".into(),
            reason: "unknown station cut-9".into(),
        }),
    );
}

#[test]
fn the_schemas_refuse_what_the_protocol_forbids() {
    let mut j = v(&job());
    j["plate"]["gtin"] = json!("5708932000017");
    assert_invalid("job", &j);
    let mut j = v(&job());
    j["header"]["version"] = json!("2.0.0");
    assert_invalid("job", &j);
    let mut j = v(&job());
    j["shape"] = json!({ "kind": "round" });
    assert_invalid("job", &j);
    let mut j = v(&job());
    j.as_object_mut().unwrap().remove("content_hash");
    assert_invalid("job", &j);
    // A rejection without its reason, a failure without its error.
    assert_invalid(
        "ack",
        &json!({ "header": v(&header()), "ref_message_id": "m-1", "job_id": "cj-000001", "revision": 1, "result": "rejected" }),
    );
    assert_invalid(
        "event",
        &json!({ "header": v(&header()), "seq": 1, "job_id": "cj-000001", "revision": 1, "kind": "failed", "done": 0, "quantity": 1 }),
    );
    assert_invalid(
        "cmd",
        &json!({ "header": v(&header()), "cmd_id": "c-1", "command": "start" }),
    );
}

/// The content-hash test vectors published beside the document (`docs/devices/hash-vectors.json`,
/// §4.1): this crate's canonical form and hash match them byte for byte.
#[test]
fn the_content_hash_matches_the_published_vectors() {
    let text = std::fs::read_to_string(schema_dir().join("../hash-vectors.json")).unwrap();
    let vectors: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(vectors.len(), 2);
    for v in vectors {
        let mut j = v["job"].clone();
        j["header"] = serde_json::to_value(header()).unwrap();
        j["content_hash"] = "".into();
        let job: Job = serde_json::from_value(j).unwrap();
        assert_eq!(
            job.compute_hash(),
            v["sha256"].as_str().unwrap(),
            "{}",
            v["canonical"]
        );
        let digest =
            <sha2::Sha256 as sha2::Digest>::digest(v["canonical"].as_str().unwrap().as_bytes());
        assert_eq!(hex::encode(digest), v["sha256"].as_str().unwrap());
    }
}

/// Decoding applies the schemas: what the outside station's run showed konsign accepting is
/// refused, each with the place it breaks; a missing `site` is a schema error, not a sender
/// mismatch; an unknown major version is refused as such.
#[test]
fn decoding_refuses_what_the_schemas_refuse() {
    let good = serde_json::to_value(Connection {
        header: header(),
        connection: ConnectionState::Online,
    })
    .unwrap();
    let broken: Vec<(&str, Breaker)> = vec![
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
        (
            "/connection",
            Box::new(|v| v["connection"] = "maybe".into()),
        ),
    ];
    for (at, f) in &broken {
        let mut v = good.clone();
        f(&mut v);
        match decode::<Connection>(&serde_json::to_vec(&v).unwrap(), "vejle", "cut-1") {
            Err(WireError::Malformed(m)) => assert!(m.contains(at), "{at}: {m}"),
            other => panic!("{at}: {other:?}"),
        }
    }
    let mut v = good.clone();
    v["header"]["version"] = "2.0.0".into();
    assert!(matches!(
        decode::<Connection>(&serde_json::to_vec(&v).unwrap(), "vejle", "cut-1"),
        Err(WireError::UnsupportedVersion(_))
    ));
    let mut v = good;
    v["unknown_field"] = 1.into();
    v["header"]["version"] = "1.7.3".into();
    assert!(decode::<Connection>(&serde_json::to_vec(&v).unwrap(), "vejle", "cut-1").is_ok());
}

/// Breaks a good message in one way.
type Breaker = Box<dyn Fn(&mut Value)>;
