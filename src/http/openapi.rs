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
