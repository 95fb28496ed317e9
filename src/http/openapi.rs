//! What the OpenAPI document says beyond each handler's own annotation, added in one place so
//! that it is true of every operation: the error answers that the extractors and the caller
//! check give to any operation (400, 401, 403, 413, 415, 422), and operation ids that are unique.

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// Every operation of the document.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(|o| o.as_mut())
}

/// Adds the common answers and makes the ids unique.
pub fn complete(doc: &mut OpenApi) {
    common_errors(doc);
    unique_operation_ids(doc);
}

/// The document as served: `complete`'s document, with every integer bounded by the range of
/// the type the server reads it into (`format` `int64` or `int32`, when the schema does not bound
/// it more narrowly itself). A path id or a count past that range cannot be read, and is
/// answered 400: without the bounds a client would take it for a valid request.
pub fn to_json(doc: &OpenApi) -> String {
    let Ok(mut v) = serde_json::to_value(doc) else {
        return "{}".into();
    };
    bound_integers(&mut v);
    for (schema, field, rule) in BODY_RULES {
        if let Some(f) = v.pointer_mut(&format!("/components/schemas/{schema}/properties/{field}"))
        {
            merge(f, rule);
        }
    }
    for (path, name, rule) in PARAM_RULES {
        let Some(item) = v.pointer_mut(&format!("/paths/{}", path.replace('/', "~1"))) else {
            continue;
        };
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            for p in op
                .get_mut("parameters")
                .and_then(|p| p.as_array_mut())
                .into_iter()
                .flatten()
            {
                if p.get("name").and_then(|n| n.as_str()) == Some(name) {
                    if let Some(s) = p.get_mut("schema") {
                        merge(s, rule);
                    }
                }
            }
        }
    }
    serde_json::to_string_pretty(&v).unwrap_or_else(|_| "{}".into())
}

/// One of the server's text rules as JSON Schema keywords.
pub struct Rule(&'static [(&'static str, Kw)]);

/// A keyword's value.
pub enum Kw {
    Int(i64),
    Text(&'static str),
}

fn merge(schema: &mut serde_json::Value, rule: &Rule) {
    if let Some(m) = schema.as_object_mut() {
        for (k, val) in rule.0 {
            let val = match val {
                Kw::Int(n) => serde_json::Value::from(*n),
                Kw::Text(t) => serde_json::Value::from(*t),
            };
            m.insert((*k).to_string(), val);
        }
    }
}

/// `domain::stock::note` when not required: at most 500 characters, no control character but a
/// line break.
const NOTE_OPT: Rule = Rule(&[
    ("maxLength", Kw::Int(500)),
    (
        "pattern",
        Kw::Text("^[^\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f]*$"),
    ),
]);
/// No control character, at least one that is not a space (the text is trimmed).
const NON_BLANK: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$";
/// `domain::stock::note` when required: trimmed, 1 to 500 characters, no control character
/// but a line break.
const NOTE: Rule = Rule(&[
    ("minLength", Kw::Int(1)),
    ("maxLength", Kw::Int(500)),
    ("pattern", Kw::Text("^[^\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f]*$")),
]);
/// A client's scan id: trimmed, 1 to 128 characters, no control character.
const SCAN_ID: Rule = Rule(&[
    ("minLength", Kw::Int(1)),
    ("maxLength", Kw::Int(128)),
    ("pattern", Kw::Text(NON_BLANK)),
]);
/// A reason a lead must give (cutting): 1 to 500 characters, not only spaces.
const REASON: Rule = Rule(&[
    ("minLength", Kw::Int(1)),
    ("maxLength", Kw::Int(500)),
    ("pattern", Kw::Text("\\S")),
]);
/// A cage scan's id: 1 to 128 characters, not only spaces.
const CAGE_SCAN_ID: Rule = Rule(&[
    ("minLength", Kw::Int(1)),
    ("maxLength", Kw::Int(128)),
    ("pattern", Kw::Text("\\S")),
]);
/// A return's scan id: 1 to 64 characters, not only spaces.
const SCAN_ID_64: Rule = Rule(&[
    ("minLength", Kw::Int(1)),
    ("maxLength", Kw::Int(64)),
    ("pattern", Kw::Text("\\S")),
]);
/// A GTIN of 8, 12, 13 or 14 digits (its check digit is checked too).
const GTIN: Rule = Rule(&[("pattern", Kw::Text("^([0-9]{8}|[0-9]{12,14})$"))]);
/// `domain::catalog` codes (producer, location, pack station): letters, digits, `-`, `_`, `.`,
/// at most 32 (the text is trimmed).
const CODE: Rule = Rule(&[(
    "pattern",
    Kw::Text("^[ \\t\\r\\n]*[A-Za-z0-9._-]{1,32}[ \\t\\r\\n]*$"),
)]);
/// The same in a path: no spaces around it.
const CODE_PATH: Rule = Rule(&[("pattern", Kw::Text("^[A-Za-z0-9._-]{1,32}$"))]);
/// A location's place in the walking order: 0 to 1,000,000.
const WALK_SEQ: Rule = Rule(&[("minimum", Kw::Int(0)), ("maximum", Kw::Int(1_000_000))]);
/// A cutting station's queue: 1 to 100 jobs.
const QUEUE_LIMIT: Rule = Rule(&[("minimum", Kw::Int(1)), ("maximum", Kw::Int(100))]);
/// A zone: the same, at most 16.
const ZONE: Rule = Rule(&[(
    "pattern",
    Kw::Text("^[ \\t\\r\\n]*[A-Za-z0-9._-]{1,16}[ \\t\\r\\n]*$"),
)]);
/// `domain::auth::username`: 2 to 64 of letters, digits, `-`, `_`, `.`, `@`.
const USERNAME: Rule = Rule(&[(
    "pattern",
    Kw::Text("^[ \\t\\r\\n]*[A-Za-z0-9._@-]{2,64}[ \\t\\r\\n]*$"),
)]);
/// A cutting station id: an MQTT topic segment.
const STATION_ID: Rule = Rule(&[("pattern", Kw::Text("^[a-z0-9_-]{1,64}$"))]);
/// A date written `YYYY-MM-DD`.
const DATE: Rule = Rule(&[("format", Kw::Text("date"))]);
/// An RFC 3339 instant.
const INSTANT: Rule = Rule(&[("format", Kw::Text("date-time"))]);
/// `domain::stock::Lot`: GS1 AI (10), 1 to 20 of its characters (the text is trimmed).
const LOT: Rule = Rule(&[(
    "pattern",
    Kw::Text("^[ \\t\\r\\n]*[A-Za-z0-9!\"%&'()*+,./:;<=>?_-]{1,20}[ \\t\\r\\n]*$"),
)]);
/// `domain::catalog` names: 1 to 200 characters, trimmed, no control character.
const NAME: Rule = Rule(&[
    ("minLength", Kw::Int(1)),
    ("maxLength", Kw::Int(200)),
    ("pattern", Kw::Text(NON_BLANK)),
]);
/// `domain::auth::password_policy`: at least 10 characters.
const PASSWORD: Rule = Rule(&[("minLength", Kw::Int(10)), ("maxLength", Kw::Int(256))]);
/// A token's name: 2 to 64 characters.
const TOKEN_NAME: Rule = Rule(&[("minLength", Kw::Int(2)), ("maxLength", Kw::Int(64))]);
/// A filter that, when given, must not be empty.
const NOT_EMPTY: Rule = Rule(&[("minLength", Kw::Int(1))]);
/// A scanned or typed barcode: 1 to 200 characters.
const BARCODE: Rule = Rule(&[("minLength", Kw::Int(1)), ("maxLength", Kw::Int(200))]);
/// A scanner station: 1 to 64 characters, no control character.
const STATION: Rule = Rule(&[
    ("minLength", Kw::Int(1)),
    ("maxLength", Kw::Int(64)),
    ("pattern", Kw::Text(NON_BLANK)),
]);
/// A number of packs in one operation: 1 to 1,000,000.
const PACKS: Rule = Rule(&[("minimum", Kw::Int(1)), ("maximum", Kw::Int(1_000_000))]);

/// The text rules of request bodies that utoipa's attributes do not state (they take literals
/// only, and these are shared): schema, property, rule. `tests/openapi.rs` fails when an entry
/// names a property the document does not have.
pub const BODY_RULES: &[(&str, &str, Rule)] = &[
    ("BlockRequest", "gtin", GTIN),
    ("BlockRequest", "reason", NOTE),
    ("CageScan", "scan_id", CAGE_SCAN_ID),
    ("CountRequest", "location", CODE),
    ("NewLocation", "code", CODE),
    ("NewLocation", "zone", ZONE),
    ("NewProducer", "code", CODE),
    ("NewUser", "username", USERNAME),
    ("PackScanRequest", "scan_id", SCAN_ID),
    ("PackShortRequest", "gtin", GTIN),
    ("PackShortRequest", "reason", NOTE),
    ("ProductBody", "gtin", GTIN),
    ("ProductBody", "producer", CODE),
    ("ReasonBody", "reason", NOTE),
    ("ReceiveRequest", "gtin", GTIN),
    ("ReceiveRequest", "location", CODE),
    ("ReleaseRequest", "reason", REASON),
    ("RequeueRequest", "reason", REASON),
    ("ReturnScan", "scan_id", SCAN_ID_64),
    ("ScanRequest", "scan_id", SCAN_ID),
    ("UnitOpRequest", "quantity", PACKS),
    ("ReceiveRequest", "quantity", PACKS),
    ("ReceiveRequest", "lot", LOT),
    ("BlockRequest", "lot", LOT),
    ("PackShortRequest", "lot", LOT),
    ("NewProducer", "name", NAME),
    ("ProductBody", "name", NAME),
    ("NewUser", "password", PASSWORD),
    ("NewPassword", "password", PASSWORD),
    ("NewToken", "name", TOKEN_NAME),
    ("NewLocation", "walk_seq", WALK_SEQ),
    ("StationInput", "queue_limit", QUEUE_LIMIT),
    ("ReceiveRequest", "expiry", DATE),
    ("ReceiveRequest", "reference", NOTE_OPT),
    ("UnitOpRequest", "reference", NOTE_OPT),
    ("PickShortRequest", "note", NOTE_OPT),
    ("UnitOpRequest", "reason", NOTE_OPT),
    ("CountRequest", "reason", NOTE_OPT),
    ("VoidRequest", "reason", NOTE),
];

/// The same for parameters: path template, parameter name, rule.
pub const PARAM_RULES: &[(&str, &str, Rule)] = &[
    ("/api/audit", "from", INSTANT),
    ("/api/audit", "to", INSTANT),
    ("/api/count-sheets/{location}", "location", CODE_PATH),
    ("/api/cut-stations/{id}", "id", STATION_ID),
    ("/api/cut-stations/{id}/command", "id", STATION_ID),
    ("/api/owners/{owner}/statement", "from", DATE),
    ("/api/owners/{owner}/statement", "to", DATE),
    ("/api/pack-stations/{station}", "station", CODE_PATH),
    ("/api/pack-stations/{station}/close", "station", CODE_PATH),
    ("/api/pack-stations/{station}/leave", "station", CODE_PATH),
    ("/api/pack-stations/{station}/open", "station", CODE_PATH),
    ("/api/pack-stations/{station}/scan", "station", CODE_PATH),
    ("/api/pack-stations/{station}/short", "station", CODE_PATH),
    ("/api/products/{gtin}", "gtin", GTIN),
    ("/api/owners/{owner}/statement", "owner", CODE_PATH),
    ("/api/orders/{external_id}", "purpose", NOTE),
    ("/api/stock/lookup", "code", BARCODE),
    ("/api/stock/units", "owner", NOT_EMPTY),
    ("/api/stock/units", "lot", NOT_EMPTY),
    ("/api/stock/units", "location", NOT_EMPTY),
    ("/api/stock/on-hand", "owner", NOT_EMPTY),
    ("/api/stock/on-hand", "lot", NOT_EMPTY),
    ("/api/stock/on-hand", "location", NOT_EMPTY),
    ("/api/stock/expiring", "owner", NOT_EMPTY),
    ("/api/parcels", "day", DATE),
    ("/api/stations/{station}/workflow", "station", STATION),
    ("/api/stations/{station}/receive", "station", STATION),
    ("/api/stock/on-hand", "gtin", GTIN),
    ("/api/stock/units", "gtin", GTIN),
    ("/api/users/{username}/password", "username", USERNAME),
];

fn bound_integers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            let integer = match m.get("type") {
                Some(serde_json::Value::String(t)) => t == "integer",
                Some(serde_json::Value::Array(ts)) => ts.iter().any(|t| t == "integer"),
                _ => false,
            };
            let range = match m.get("format").and_then(|f| f.as_str()) {
                Some("int64") => Some((i64::MIN, i64::MAX)),
                Some("int32") => Some((i64::from(i32::MIN), i64::from(i32::MAX))),
                _ => None,
            };
            if let (true, Some((lo, hi))) = (integer, range) {
                m.entry("minimum").or_insert(lo.into());
                m.entry("maximum").or_insert(hi.into());
            }
            for x in m.values_mut() {
                bound_integers(x);
            }
        }
        serde_json::Value::Array(xs) => xs.iter_mut().for_each(bound_integers),
        _ => {}
    }
}

/// Answers every operation of a kind can give, with the error body, unless the operation
/// documents them itself:
/// - with a caller (`security`): 401 without a valid session or token, 403 for a role that may
///   not, or a session post without its CSRF token;
/// - with parameters or a body: 400 for a query or path that cannot be read, 422 for values
///   that break a rule;
/// - with a path that names something (`{id}`): 404 when it does not exist;
/// - with a body: 413 over the size limit; a JSON body also 400 when it cannot be read and 415
///   without a JSON content type.
fn common_errors(doc: &mut OpenApi) {
    let answer = |what: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let names_something = path.contains('{');
        for op in operations(item) {
            let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let body = op.request_body.is_some();
            let json_body = op
                .request_body
                .as_ref()
                .is_some_and(|b| b.content.contains_key("application/json"));
            let mut add = |status: &str, what: &str| {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| answer(what));
            };
            if secured {
                add(
                    "401",
                    "Not logged in, or the session or token is not valid (`unauthenticated`).",
                );
                add("403", "The caller's role may not do this, or a session post lacks its CSRF token (`forbidden`).");
            }
            if params || body {
                add(
                    "400",
                    "The request cannot be read: a query, path or JSON body of the wrong form.",
                );
                add(
                    "422",
                    "A value breaks a rule; `field` names it (`invalid_input`).",
                );
            }
            if names_something {
                add("404", "What the path names does not exist (`not_found`).");
            }
            if body {
                add("413", "The body is over the size limit (`body_too_large`).");
            }
            if json_body {
                add(
                    "415",
                    "The body is not sent as `application/json` (`json_content_type_required`).",
                );
            }
        }
    }
}

/// Operation ids are the handlers' names, and several tags have a `list`, `scan` or `release`:
/// such an id gets its tag in front (`handover_scan`, `picking_scan`), so that every id is
/// unique, as OpenAPI requires and client generators need.
fn unique_operation_ids(doc: &mut OpenApi) {
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            if let Some(id) = &op.operation_id {
                *seen.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
            if let (Some(id), Some(tag)) = (&op.operation_id, tag) {
                if seen.get(id).is_some_and(|n| *n > 1) {
                    op.operation_id = Some(format!("{tag}_{id}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_names_a_field_or_parameter_of_the_document_and_is_applied() {
        let (_, doc) = crate::http::api_and_document();
        let v: serde_json::Value = serde_json::from_str(&to_json(&doc)).unwrap();
        for (schema, field, rule) in BODY_RULES {
            let f = v
                .pointer(&format!("/components/schemas/{schema}/properties/{field}"))
                .unwrap_or_else(|| panic!("no property {schema}.{field} in the document"));
            for (k, _) in rule.0 {
                assert!(f.get(*k).is_some(), "{schema}.{field} lacks {k}");
            }
        }
        for (path, name, rule) in PARAM_RULES {
            let item = v
                .pointer(&format!("/paths/{}", path.replace('/', "~1")))
                .unwrap_or_else(|| panic!("no path {path}"));
            let mut found = 0;
            for op in item.as_object().unwrap().values() {
                for p in op["parameters"].as_array().into_iter().flatten() {
                    if p["name"] == *name {
                        found += 1;
                        for (k, _) in rule.0 {
                            assert!(p["schema"].get(*k).is_some(), "{path} {name} lacks {k}");
                        }
                    }
                }
            }
            assert!(found > 0, "no parameter {name} at {path}");
        }
        // Integers are bounded by their type.
        let id = v
            .pointer("/paths/~1api~1waves~1{id}/get/parameters/0/schema")
            .unwrap();
        assert_eq!(id["maximum"], i64::MAX);
    }
}
