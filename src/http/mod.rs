//! HTTP: the JSON API (documented as OpenAPI), health and metrics, and the server-rendered pages.

pub mod api;
pub mod auth;
pub mod error;
mod headers;
pub mod messages;
mod messages_conflict;
mod openapi;
pub mod pages;
pub mod serve;

use crate::service::Ctx;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::time::Instant;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub ctx: Ctx,
    /// The live dashboard's newest picture as sent, per language (`/dashboard/live`).
    pub live_text: std::sync::Arc<pages::LiveText>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "konsign", description = "Warehouse control for a consignment warehouse of citizen health supplies."),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Login, sessions, users and API tokens"),
        (name = "catalog", description = "Producers, products and locations"),
        (name = "stock", description = "Consignment stock operations, ledger and reports"),
        (name = "counting", description = "Counting locations: blind counts, count tasks from short picks, cycle count runs"),
        (name = "log", description = "Domain events and the audit log"),
        (name = "scanners", description = "Serial barcode scanners and their scans"),
        (name = "orders", description = "Citizen orders: intake, allocation, status and change feed"),
        (name = "picking", description = "Pick waves and scan-verified picking"),
        (name = "packing", description = "Pack stations, parcels, SSCCs, carrier bookings and lot blocks"),
        (name = "handover", description = "Cages: parcels handed over to the carrier"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
        );
    }
}

/// The API's routes and its OpenAPI document (completed, see `openapi.rs`).
fn api_and_document() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api::routes())
        .split_for_parts();
    openapi::complete(&mut doc);
    (api, doc)
}

/// The whole application router.
pub fn router(ctx: Ctx) -> Router {
    let http = ctx.config.http.clone();
    let state = AppState {
        ctx,
        live_text: Default::default(),
    };
    let (api, doc) = api_and_document();
    let doc_json = openapi::to_json(&doc);
    let router = Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], doc_json) }),
        )
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(pages::all_routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(login_then_back))
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .layer(axum::extract::DefaultBodyLimit::max(api::MAX_JSON_BYTES))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state);
    serve::limited(router, &http).layer(axum::middleware::from_fn(headers::security_headers))
}

/// A page that sends a visitor without a session to the login page says where they were going
/// (`/login?next=/cut/cut-1`), so that the login takes them there.
async fn login_then_back(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .filter(|p| p != "/" && req.method() == axum::http::Method::GET);
    let mut res = next.run(req).await;
    if let Some(t) = target {
        if res.status().is_redirection()
            && res
                .headers()
                .get(header::LOCATION)
                .is_some_and(|l| l == "/login")
        {
            let to = format!("/login?next={}", pages::encode_component(&t));
            if let Ok(v) = axum::http::HeaderValue::from_str(&to) {
                res.headers_mut().insert(header::LOCATION, v);
            }
        }
    }
    res
}

async fn not_found() -> error::ApiError {
    error::ApiError::new(
        StatusCode::NOT_FOUND,
        "no_such_endpoint",
        "no such endpoint",
    )
}

async fn method_not_allowed() -> error::ApiError {
    error::ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}

/// Process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers.
async fn readyz(State(s): State<AppState>) -> Response {
    match s.ctx.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn metrics(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(token) = &s.ctx.config.http.metrics_token {
        use subtle::ConstantTimeEq;
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "/metrics needs the metrics token (http.metrics_token)\n",
            )
                .into_response();
        }
    }
    s.ctx.metrics.observe_scanners(&s.ctx.scanners.list());
    // One reading of the dashboard sets the business gauges and the print queues (its devices).
    match crate::service::dashboard::read(&s.ctx).await {
        Ok(d) => s.ctx.metrics.observe_dashboard(&d),
        Err(e) => tracing::warn!(error = %e, "cannot read the dashboard's figures for /metrics"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.ctx.metrics.encode(),
    )
        .into_response()
}

/// Counts and times every request by its route template (never by raw path, which holds ids).
async fn track(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    // A client may send any method: only the standard ones are labels of their own.
    let method = crate::metrics::method_label(req.method()).to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    let m = &s.ctx.metrics;
    m.http_requests
        .get_or_create(&crate::metrics::HttpLabels {
            method,
            route: route.clone(),
            status: res.status().as_u16(),
        })
        .inc();
    m.http_duration
        .get_or_create(&crate::metrics::RouteLabel { route })
        .observe(start.elapsed().as_secs_f64());
    res
}
