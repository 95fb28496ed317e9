//! Who may call what: every operation of the OpenAPI document and every page, asked by an
//! anonymous client and by one user of each role. Anonymous callers get 401 (pages: a redirect to
//! the login page), a role outside the operation's group in `src/domain/auth.rs` gets 403, a role
//! inside it anything else (a 404 for a placeholder id proves that the role check let it through).
//! A new route fails these tests until it is added to a table below.

mod common;

use common::{Backend, Client};
use konsign::domain::auth::{allow, Role};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeSet;

on_both_backends!(
    every_api_operation_is_in_the_role_table,
    every_api_operation_admits_exactly_its_roles,
    every_page_admits_exactly_its_roles,
    start_page_shows_each_role_only_what_it_may_read,
);

/// Who may call an operation.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// Anyone, logged in or not.
    Public,
    /// Authenticated by a carrier's signature, never by a session: without one, 401 for everyone.
    Signed,
    /// The roles of a group of `allow::*`.
    Roles(&'static [Role]),
}

use Who::*;

/// Every logged-in user (their own session: who am I, log out).
const ANY_USER: &[Role] = &Role::ALL;

/// Every operation of the OpenAPI document with who may call it (one row a line).
#[rustfmt::skip]
const API: &[(&str, &str, Who)] = &[
    // auth
    ("POST", "/api/auth/login", Public),
    ("POST", "/api/auth/logout", Roles(ANY_USER)),
    ("GET", "/api/auth/me", Roles(ANY_USER)),
    ("GET", "/api/users", Roles(allow::ADMIN)),
    ("POST", "/api/users", Roles(allow::ADMIN)),
    ("PUT", "/api/users/{username}/password", Roles(allow::ADMIN)),
    ("GET", "/api/tokens", Roles(allow::ADMIN)),
    ("POST", "/api/tokens", Roles(allow::ADMIN)),
    ("DELETE", "/api/tokens/{id}", Roles(allow::ADMIN)),
    // catalog
    ("GET", "/api/producers", Roles(allow::CATALOG_READ)),
    ("POST", "/api/producers", Roles(allow::CATALOG_WRITE)),
    ("GET", "/api/products", Roles(allow::CATALOG_READ)),
    ("POST", "/api/products", Roles(allow::CATALOG_WRITE)),
    ("GET", "/api/products/{gtin}", Roles(allow::CATALOG_READ)),
    ("PUT", "/api/products/{gtin}", Roles(allow::CATALOG_WRITE)),
    ("GET", "/api/locations", Roles(allow::CATALOG_READ)),
    ("POST", "/api/locations", Roles(allow::CATALOG_WRITE)),
    ("GET", "/api/locations/{code}", Roles(allow::CATALOG_READ)),
    ("POST", "/api/import/products", Roles(allow::CATALOG_WRITE)),
    ("POST", "/api/import/locations", Roles(allow::CATALOG_WRITE)),
    // stock
    ("POST", "/api/stock/receive", Roles(allow::STOCK_FLOOR)),
    ("POST", "/api/stock/move", Roles(allow::STOCK_FLOOR)),
    ("POST", "/api/stock/adjust", Roles(allow::STOCK_CONTROL)),
    ("POST", "/api/stock/quarantine", Roles(allow::STOCK_CONTROL)),
    ("POST", "/api/stock/release", Roles(allow::STOCK_CONTROL)),
    ("POST", "/api/stock/scrap", Roles(allow::STOCK_CONTROL)),
    ("POST", "/api/stock/transfer", Roles(allow::STOCK_CONTROL)),
    ("GET", "/api/stock/units", Roles(allow::STOCK_READ)),
    ("GET", "/api/stock/units/{id}", Roles(allow::STOCK_READ)),
    ("GET", "/api/stock/units/{id}/ledger", Roles(allow::STOCK_READ)),
    ("GET", "/api/stock/on-hand", Roles(allow::STOCK_READ)),
    ("GET", "/api/stock/expiring", Roles(allow::STOCK_READ)),
    ("GET", "/api/stock/lookup", Roles(allow::STOCK_FLOOR)),
    ("GET", "/api/owners/{owner}/statement", Roles(allow::STATEMENTS)),
    // counting
    ("GET", "/api/count-sheets/{location}", Roles(allow::STOCK_CONTROL)),
    ("POST", "/api/counts", Roles(allow::STOCK_CONTROL)),
    ("GET", "/api/count-tasks", Roles(allow::STOCK_FLOOR)),
    ("GET", "/api/count-runs", Roles(allow::STOCK_FLOOR)),
    ("POST", "/api/count-runs", Roles(allow::STOCK_CONTROL)),
    ("POST", "/api/count-runs/{id}/cancel", Roles(allow::STOCK_CONTROL)),
    // log
    ("GET", "/api/events", Roles(allow::EVENTS)),
    ("GET", "/api/audit", Roles(allow::ADMIN)),
    // scanners
    ("GET", "/api/scanners", Roles(allow::SCANNERS_READ)),
    ("PUT", "/api/scanners/{id}", Roles(allow::ADMIN)),
    ("DELETE", "/api/scanners/{id}", Roles(allow::ADMIN)),
    ("GET", "/api/scans", Roles(allow::STOCK_READ)),
    ("POST", "/api/stations/{station}/receive", Roles(allow::STOCK_FLOOR)),
    ("PUT", "/api/stations/{station}/workflow", Roles(allow::CATALOG_WRITE)),
    // orders
    ("POST", "/api/orders", Roles(allow::ORDERS)),
    ("GET", "/api/orders", Roles(allow::ORDERS)),
    ("GET", "/api/order-counts", Roles(allow::ORDERS)),
    ("GET", "/api/orders/{external_id}", Roles(allow::ORDER_PERSONAL)),
    ("PUT", "/api/orders/{external_id}", Roles(allow::ORDERS)),
    ("GET", "/api/orders/{external_id}/status", Roles(allow::ORDERS)),
    ("POST", "/api/orders/{external_id}/cancel", Roles(allow::ORDERS)),
    ("POST", "/api/orders/{external_id}/release", Roles(allow::LEAD)),
    ("GET", "/api/order-changes", Roles(allow::ORDERS)),
    // picking
    ("POST", "/api/waves", Roles(allow::LEAD)),
    ("GET", "/api/waves", Roles(allow::WAVES_READ)),
    ("GET", "/api/waves/{id}", Roles(allow::WAVES_READ)),
    ("POST", "/api/waves/{id}/assign", Roles(allow::LEAD)),
    ("POST", "/api/waves/{id}/take", Roles(allow::PICKING)),
    ("GET", "/api/waves/{id}/next", Roles(allow::PICKING)),
    ("POST", "/api/waves/{id}/scan", Roles(allow::PICKING)),
    ("POST", "/api/waves/{id}/short", Roles(allow::PICKING)),
    ("POST", "/api/waves/{id}/undo", Roles(allow::PICKING)),
    // printing
    ("GET", "/api/printers", Roles(allow::PRINTING)),
    ("PUT", "/api/printers/{id}", Roles(allow::ADMIN)),
    ("DELETE", "/api/printers/{id}", Roles(allow::ADMIN)),
    ("POST", "/api/print", Roles(allow::PRINTING)),
    ("GET", "/api/print-jobs", Roles(allow::PRINTING)),
    ("GET", "/api/print-jobs/{id}", Roles(allow::PRINTING)),
    ("GET", "/api/print-jobs/{id}/label", Roles(allow::PRINT_LABEL_READ)),
    ("POST", "/api/print-jobs/{id}/reprint", Roles(allow::PRINTING)),
    ("GET", "/api/labels", Roles(allow::PRINTING)),
    ("POST", "/api/labels/{template}/render", Roles(allow::PRINTING)),
    ("GET", "/api/labels/{template}/preview.png", Roles(allow::PRINTING)),
    // cutting
    ("GET", "/api/cut-stations", Roles(allow::CUTTING_READ)),
    ("PUT", "/api/cut-stations/{id}", Roles(allow::ADMIN)),
    ("POST", "/api/cut-stations/{id}/command", Roles(allow::CUTTING)),
    ("GET", "/api/cut-jobs", Roles(allow::CUTTING_READ)),
    ("GET", "/api/cut-jobs/{id}", Roles(allow::CUTTING_READ)),
    ("POST", "/api/cut-jobs/{id}/action", Roles(allow::CUTTING)),
    ("POST", "/api/cut-jobs/{id}/reprint-sticker", Roles(allow::CUTTING)),
    ("POST", "/api/cut-jobs/{id}/requeue", Roles(allow::LEAD)),
    ("POST", "/api/cut-jobs/{id}/release", Roles(allow::LEAD)),
    ("GET", "/api/cut-replacements", Roles(allow::CUT_REPLACEMENTS_READ)),
    ("POST", "/api/cut-replacements/{id}/retry", Roles(allow::LEAD)),
    // packing
    ("POST", "/api/pack-stations/{station}/open", Roles(allow::PACKING)),
    ("GET", "/api/pack-stations/{station}", Roles(allow::PACKING)),
    ("POST", "/api/pack-stations/{station}/leave", Roles(allow::PACKING)),
    ("POST", "/api/pack-stations/{station}/scan", Roles(allow::PACKING)),
    ("POST", "/api/pack-stations/{station}/short", Roles(allow::PACKING)),
    ("POST", "/api/pack-stations/{station}/close", Roles(allow::PACKING)),
    ("GET", "/api/parcels", Roles(allow::PARCELS_READ)),
    ("GET", "/api/parcels/{id}", Roles(allow::PARCELS_READ)),
    ("POST", "/api/parcels/{id}/void", Roles(allow::PACKING)),
    ("POST", "/api/parcels/{id}/reprint", Roles(allow::PACKING)),
    ("GET", "/api/parcels/{id}/packing-slip.pdf", Roles(allow::PACKING)),
    ("GET", "/api/pack-shorts", Roles(allow::PACKING)),
    ("POST", "/api/pack-shorts/{id}/retry", Roles(allow::LEAD)),
    ("GET", "/api/bookings", Roles(allow::PARCELS_READ)),
    ("POST", "/api/lot-blocks", Roles(allow::STOCK_CONTROL)),
    ("POST", "/api/lot-blocks/release", Roles(allow::STOCK_CONTROL)),
    ("GET", "/api/lot-blocks", Roles(allow::STOCK_READ)),
    // handover
    ("POST", "/api/cages", Roles(allow::PACKING)),
    ("GET", "/api/cages", Roles(allow::PARCELS_READ)),
    ("GET", "/api/cages/{id}", Roles(allow::PACKING)),
    ("POST", "/api/cages/{id}/scan", Roles(allow::PACKING)),
    ("POST", "/api/cages/{id}/close", Roles(allow::PACKING)),
    ("GET", "/api/cages/{id}/list.pdf", Roles(allow::PACKING)),
    ("POST", "/api/returns", Roles(allow::PACKING)),
    ("GET", "/api/returns", Roles(allow::PARCELS_READ)),
    // carriers
    ("GET", "/api/carriers", Roles(allow::PARCELS_READ)),
    ("POST", "/api/carriers/{carrier}/events", Signed),
    ("GET", "/api/carriers/pushes", Roles(allow::LEAD)),
    ("POST", "/api/tracking/pull", Roles(allow::LEAD)),
    // dashboard
    ("GET", "/api/dashboard/flow", Roles(allow::DASHBOARD)),
    ("GET", "/api/dashboard/throughput", Roles(allow::DASHBOARD)),
    ("GET", "/api/dashboard/devices", Roles(allow::DASHBOARD)),
    ("GET", "/api/dashboard/floor", Roles(allow::DASHBOARD)),
    ("GET", "/api/dashboard/cutoffs", Roles(allow::DASHBOARD)),
    ("GET", "/api/dashboard/exceptions", Roles(allow::DASHBOARD)),
    ("GET", "/api/reports/throughput", Roles(allow::LEAD)),
    ("GET", "/api/tracking/exceptions", Roles(allow::LEAD)),
    ("POST", "/api/tracking/exceptions/{booking}/ack", Roles(allow::LEAD)),
    ("POST", "/api/bookings/{id}/resend", Roles(allow::LEAD)),
    ("POST", "/api/bookings/{id}/tracking", Roles(allow::LEAD)),
];

/// Routes outside the OpenAPI document that anyone may call.
const PLAIN_PUBLIC: &[&str] = &[
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/openapi.json",
    "/login",
    // A wall screen's key form (the key itself is the credential; `tests/dashboard_floor.rs`).
    "/dashboard/wall",
];

/// Static files anyone may fetch: the pages' scripts, which hold no data (`src/http/pages/assets.rs`).
const STATIC_PUBLIC: &[&str] = &["/static/{file}"];

/// Every page (a GET route outside `/api`) with the API group behind it: what the page shows and
/// does is what that group may read and do through the API.
const PAGES: &[(&str, &[Role])] = &[
    // Every user has a start page; what it shows is checked section by section below.
    ("/", ANY_USER),
    // The waves to take and the picking screen (`/api/waves/{id}/take`, `next`, `scan`).
    ("/pick", allow::PICKING),
    ("/pack", allow::PACKING),
    ("/pack/{station}", allow::PACKING),
    // Open cages, parcels waiting for booking, cage scans (`/api/cages/*`).
    ("/handover", allow::PACKING),
    ("/carriers", allow::LEAD),
    // The lead's dashboard (`/api/dashboard/flow`).
    ("/dashboard", allow::DASHBOARD),
    ("/dashboard/live", allow::DASHBOARD),
    ("/dashboard/chart/{file}", allow::DASHBOARD),
    // The reports (`/api/reports/throughput`) and their downloads.
    ("/reports", allow::LEAD),
    ("/reports/throughput.csv", allow::LEAD),
    ("/reports/throughput.svg", allow::LEAD),
    ("/reports/parcels-heat.svg", allow::LEAD),
    ("/reports/throughput.png", allow::LEAD),
    ("/reports/parcels-heat.png", allow::LEAD),
    ("/stock", allow::STOCK_FLOOR),
    // A scanner station's scans (`/api/scans`).
    ("/stations/{station}", allow::STOCK_READ),
    ("/cut/{station}", allow::CUTTING),
];

/// A path with its parameters filled in with values that name nothing: a number for ids, a
/// code otherwise.
fn fill(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open + rest[open..].find('}').expect("closing brace");
        let value = match &rest[open + 1..close] {
            "id" | "booking" => "999999",
            // The one carrier that takes pushed events (configured in `clients`).
            "carrier" => "postnord",
            // A dashboard chart that exists.
            "file" => "flow.svg",
            _ => "X-1",
        };
        out.push_str(value);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// An anonymous client and one logged-in client per role, named after the role.
async fn clients(b: Backend) -> Option<(common::TestApp, Vec<(Option<Role>, Client)>)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = common::database_url(b, dir.path()).await?;
    let app = common::start_app(url, Some(dir), |c| {
        // Seven logins from one address: within the limit, but no reason to be near it.
        c.auth.login_per_client_per_minute = 1000;
        // A carrier that takes signed pushes (its API is never reached: nothing is booked).
        c.carrier
            .push_secrets
            .insert("postnord".into(), "push-secret-for-tests-0001".into());
        c.carrier.postnord = Some(konsign::config::PostNordConfig {
            base_url: "http://127.0.0.1:9".into(),
            api_key: "0123456789abcdef0123456789abcdef".into(),
            customer_number: "12345678".into(),
            test_indicator: true,
            ..Default::default()
        });
    })
    .await;
    let mut all = vec![(None, app.anon())];
    for role in Role::ALL {
        all.push((Some(role), app.user(role.as_str(), role).await));
    }
    Some((app, all))
}

fn name(role: Option<Role>) -> &'static str {
    role.map_or("anonymous", Role::as_str)
}

async fn every_api_operation_is_in_the_role_table(b: Backend) {
    let Some(app) = common::spawn_app(b).await else {
        return;
    };
    let doc = app.anon().get("/api/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    let mut documented = BTreeSet::new();
    for (path, item) in doc.body["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if [
                "get", "put", "post", "delete", "patch", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    let mut table = BTreeSet::new();
    for (method, path, _) in API {
        assert!(
            table.insert((method.to_string(), path.to_string())),
            "{method} {path} is twice in the table"
        );
    }
    let missing: Vec<_> = documented.difference(&table).collect();
    let stale: Vec<_> = table.difference(&documented).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "operations with no row in the role table of tests/roles.rs (add them with their allow \
         group): {missing:?}; rows of the table that the OpenAPI document does not have: {stale:?}"
    );
}

async fn every_api_operation_admits_exactly_its_roles(b: Backend) {
    let Some((app, clients)) = clients(b).await else {
        return;
    };
    let mut wrong = Vec::new();
    // Logging out ends the session the other requests use: it goes last.
    let mut ops: Vec<_> = API.iter().collect();
    ops.sort_by_key(|(_, path, _)| *path == "/api/auth/logout");
    for (method, template, who) in ops {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let path = fill(template);
        for (role, c) in &clients {
            let mut req = c.req(method.clone(), &path);
            if matches!(method, Method::POST | Method::PUT | Method::PATCH) {
                req = req.json(&json!({}));
            }
            let r = Client::send(req).await;
            let code = r.body["code"].as_str().unwrap_or("").to_string();
            let refused = r.status == StatusCode::UNAUTHORIZED || r.status == StatusCode::FORBIDDEN;
            let ok = match (who, role) {
                (Public, _) => !refused,
                (Signed, _) => r.status == StatusCode::UNAUTHORIZED,
                (Roles(_), None) => r.status == StatusCode::UNAUTHORIZED,
                (Roles(group), Some(role)) if group.contains(role) => !refused,
                // Refused for the role, not for a missing CSRF token or a bad body.
                (Roles(_), Some(_)) => r.status == StatusCode::FORBIDDEN && code == "forbidden",
            };
            if !ok {
                let expected = match (who, role) {
                    (Public, _) => "not 401/403".to_string(),
                    (Signed, _) | (Roles(_), None) => "401".to_string(),
                    (Roles(group), Some(role)) if group.contains(role) => "not 401/403".to_string(),
                    (Roles(group), Some(_)) => format!("403 forbidden (only {group:?})"),
                };
                wrong.push(format!(
                    "{method} {path} as {}: {} {code}, expected {expected}",
                    name(*role),
                    r.status.as_u16()
                ));
            }
        }
    }
    for path in PLAIN_PUBLIC {
        let r = clients[0].1.get(path).await;
        if r.status != StatusCode::OK {
            wrong.push(format!("GET {path} as anonymous: {}", r.status));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    app.stop().await;
}

/// A client that does not follow redirects, with the session of `c`.
fn no_redirects(c: &Client) -> Client {
    Client {
        base: c.base.clone(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        auth: c.auth.clone(),
    }
}

/// The GET routes outside `/api` that the app's source declares (`.route("/x", get(...))`).
fn page_routes_in_source() -> BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut found = BTreeSet::new();
    let files = std::fs::read_dir(&root)
        .unwrap()
        .chain(std::fs::read_dir(root.join("pages")).unwrap());
    for entry in files {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = rest[at + 7..].trim_start();
            let Some(quoted) = rest.strip_prefix('"') else {
                continue;
            };
            let Some(end) = quoted.find('"') else {
                continue;
            };
            let route = &quoted[..end];
            let after = quoted[end + 1..].trim_start().trim_start_matches(',');
            if after.trim_start().starts_with("get(") {
                found.insert(route.to_string());
            }
        }
    }
    found
}

async fn every_page_admits_exactly_its_roles(b: Backend) {
    let declared = page_routes_in_source();
    let mut known: BTreeSet<String> = PAGES.iter().map(|(p, _)| p.to_string()).collect();
    known.extend(PLAIN_PUBLIC.iter().map(|p| p.to_string()));
    known.extend(STATIC_PUBLIC.iter().map(|p| p.to_string()));
    let missing: Vec<_> = declared.difference(&known).collect();
    let stale: Vec<_> = known.difference(&declared).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "pages with no row in the page table of tests/roles.rs: {missing:?}; rows of the table \
         with no route: {stale:?}"
    );
    let Some((app, clients)) = clients(b).await else {
        return;
    };
    let mut wrong = Vec::new();
    let mut paths: Vec<(String, &[Role])> = PAGES.iter().map(|(p, g)| (fill(p), *g)).collect();
    // The picking screen of one wave is the same page with a query.
    paths.push(("/pick?wave=999999".into(), allow::PICKING));
    for (path, group) in &paths {
        for (role, c) in &clients {
            let r = no_redirects(c).req(Method::GET, path).send().await.unwrap();
            let status = r.status();
            let location = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let to_login = status.is_redirection() && location.starts_with("/login");
            let ok = match role {
                None => to_login,
                Some(role) if group.contains(role) => {
                    // `/pack` with one station goes straight to it.
                    status == StatusCode::OK || (status.is_redirection() && !to_login)
                }
                Some(_) => status == StatusCode::FORBIDDEN,
            };
            if !ok {
                wrong.push(format!(
                    "GET {path} as {}: {} {location}",
                    name(*role),
                    status.as_u16()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    app.stop().await;
}

async fn start_page_shows_each_role_only_what_it_may_read(b: Backend) {
    let Some((app, clients)) = clients(b).await else {
        return;
    };
    let admin = &clients
        .iter()
        .find(|(r, _)| *r == Some(Role::Admin))
        .unwrap()
        .1;
    let seed = app.seed(admin).await;
    common::receive(
        admin,
        &seed.plate,
        "L1",
        &common::in_days(400),
        "A-01-1",
        10,
    )
    .await;
    // A section of the start page, and the API group that may read what it shows.
    let sections: &[(&str, &str, &[Role])] = &[
        ("stock by owner", r#"id="owners""#, allow::STOCK_READ),
        ("orders by status", r#"id="orders""#, allow::ORDERS),
        ("backorders", r#"id="backorders""#, allow::ORDERS),
        ("waves", r#"id="waves""#, allow::WAVES_READ),
        ("make a wave", r#"id="makewave""#, allow::LEAD),
        ("pick exceptions", r#"id="exceptions""#, allow::WAVES_READ),
        ("printers", r#"id="printers""#, allow::PRINTING),
        ("label previews", "/api/labels/", allow::PRINTING),
        (
            "cutting stations",
            r#"id="cutstations""#,
            allow::CUTTING_READ,
        ),
        ("cutting jobs", r#"id="cutjobs""#, allow::CUTTING_READ),
        (
            "cutting station links",
            r#"href="/cut/"#,
            allow::CUTTING_READ,
        ),
    ];
    let mut wrong = Vec::new();
    for (role, c) in &clients {
        let Some(role) = role else { continue };
        let r = c.get("/").await;
        assert_eq!(r.status, StatusCode::OK, "/ as {}", role.as_str());
        let html = r.body.as_str().unwrap_or_default();
        for (what, marker, group) in sections {
            if html.contains(marker) && !group.contains(role) {
                wrong.push(format!("/ as {} shows {what}", role.as_str()));
            }
        }
        // The roles that may read stock see it.
        if allow::STOCK_READ.contains(role) && !html.contains("COLOPLAST") {
            wrong.push(format!("/ as {} lacks the stock by owner", role.as_str()));
        }
        if !allow::STOCK_READ.contains(role) && html.contains("COLOPLAST") {
            wrong.push(format!("/ as {} shows an owner's stock", role.as_str()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    app.stop().await;
}
