//! Server-rendered pages for people: Danish by default, English with `?lang=en` (remembered in a
//! cookie). The page frame, login and logout, and what the other pages share.

pub(super) mod assets;
mod carrier_page;
mod chart_file;
mod count_pane;
mod cut_lead;
mod cut_page;
mod dashboard_floor;
mod dashboard_page;
mod handover_page;
mod pack_page;
mod pick_page;
mod reports_page;
mod start_live;
mod start_page;
mod station_page;
mod stock_page;
mod style;
pub(super) mod texts;
mod wall_page;

use super::api::session_cookie;
use super::auth::{cookie, same_origin, ClientAddr, SESSION_COOKIE};
use super::AppState;
use crate::domain::auth::Role;
use crate::service::auth as svc;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

pub use dashboard_page::LiveText;
use texts::t;
pub use texts::Lang;

/// The page language: `?lang=` wins, then the `lang` cookie, then Danish.
pub(super) fn lang(q: Option<&str>, headers: &HeaderMap) -> Lang {
    match q.or_else(|| cookie(headers, "lang")) {
        Some("en") => Lang::En,
        _ => Lang::Da,
    }
}

/// The page frame. `demo`: the database holds demo data, and a band on top says so.
pub(super) fn page(l: Lang, demo: bool, body: Markup) -> Markup {
    let other = if l == Lang::Da { "en" } else { "da" };
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (t(l, "title")) }
                style { (style::STYLE) }
            }
            body {
                @if demo { (texts::demo_band(l)) }
                header { strong { "konsign" } a.lang href={ "?lang=" (other) } { (t(l, "other_lang")) } }
                main { (body) }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct LangQuery {
    pub(super) lang: Option<String>,
}

pub(super) fn with_lang_cookie(l: Lang, q: &LangQuery, body: Markup) -> Response {
    let html = Html(body.into_string());
    if q.lang.is_some() {
        let c = format!("lang={}; Path=/; SameSite=Lax; Max-Age=31536000", l.code());
        (AppendHeaders([(header::SET_COOKIE, c)]), html).into_response()
    } else {
        html.into_response()
    }
}

/// Percent-encodes a URL query value (everything but unreserved characters).
pub(super) fn encode_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where a login may send the user on: a path on this site only (never another host).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.starts_with("/login")
                && n.len() <= 500 =>
        {
            n
        }
        _ => "/",
    }
}

fn login_form(l: Lang, demo: bool, error: Option<&str>, username: &str, next: &str) -> Markup {
    page(
        l,
        demo,
        html! {
            h1 { (t(l, "login")) }
            @if let Some(e) = error { p.err role="alert" { (e) } }
            form.login method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                label { (t(l, "username")) input name="username" autocomplete="username" value=(username) required autofocus[username.is_empty()]; }
                label { (t(l, "password")) input name="password" type="password" autocomplete="current-password" required autofocus[!username.is_empty()]; }
                button type="submit" { (t(l, "login")) }
            }
        },
    )
}

#[derive(Deserialize)]
struct LoginQuery {
    lang: Option<String>,
    next: Option<String>,
}

async fn login_page(
    State(s): State<AppState>,
    Query(q): Query<LoginQuery>,
    headers: HeaderMap,
) -> Response {
    let l = lang(q.lang.as_deref(), &headers);
    let lq = LangQuery {
        lang: q.lang.clone(),
    };
    with_lang_cookie(
        l,
        &lq,
        login_form(
            l,
            s.ctx.demo.loaded(),
            None,
            "",
            safe_next(q.next.as_deref()),
        ),
    )
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(
    State(s): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let l = lang(None, &headers);
    if let Err(e) = same_origin(&headers) {
        return e.into_response();
    }
    match svc::login(&s.ctx, &f.username, &f.password, &client).await {
        Ok(ok) => {
            let c = session_cookie(&s, ok.session, i64::from(s.ctx.config.http.session_hours));
            let to = safe_next(f.next.as_deref());
            (AppendHeaders([(header::SET_COOKIE, c)]), Redirect::to(to)).into_response()
        }
        Err(crate::error::Error::BadCredentials) => Html(
            login_form(
                l,
                s.ctx.demo.loaded(),
                Some(t(l, "bad_credentials")),
                &f.username,
                safe_next(f.next.as_deref()),
            )
            .into_string(),
        )
        .into_response(),
        Err(e @ (crate::error::Error::TooMany { .. } | crate::error::Error::Busy { .. })) => {
            let (status, key, secs) = match e {
                crate::error::Error::TooMany { retry_after_secs } => {
                    (StatusCode::TOO_MANY_REQUESTS, "too_many", retry_after_secs)
                }
                crate::error::Error::Busy { retry_after_secs } => {
                    (StatusCode::SERVICE_UNAVAILABLE, "busy", retry_after_secs)
                }
                _ => (StatusCode::SERVICE_UNAVAILABLE, "busy", 1),
            };
            let form = login_form(
                l,
                s.ctx.demo.loaded(),
                Some(t(l, key)),
                &f.username,
                safe_next(f.next.as_deref()),
            );
            (
                status,
                [(header::RETRY_AFTER, secs.to_string())],
                Html(form.into_string()),
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "login page failed");
            Html(
                login_form(
                    l,
                    s.ctx.demo.loaded(),
                    Some(t(l, "error")),
                    &f.username,
                    safe_next(f.next.as_deref()),
                )
                .into_string(),
            )
            .into_response()
        }
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf_token: String,
}

async fn logout_submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LogoutForm>,
) -> Response {
    if let Err(e) = same_origin(&headers) {
        return e.into_response();
    }
    if let Some(session) = cookie(&headers, SESSION_COOKIE) {
        // The form must carry the session's CSRF token, so another site cannot log a user out.
        if let Ok(Some(p)) = svc::session_principal(&s.ctx, session).await {
            if p.csrf.as_deref() != Some(f.csrf_token.as_str()) {
                return super::error::ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    "csrf_token_invalid",
                    "wrong csrf token",
                )
                .into_response();
            }
            if let Err(e) = svc::logout(&s.ctx, session).await {
                return super::error::ApiError::from(e).into_response();
            }
        }
    }
    (
        AppendHeaders([(header::SET_COOKIE, session_cookie(&s, String::new(), 0))]),
        Redirect::to("/login"),
    )
        .into_response()
}

/// Who is looking at a page: the session's user, or the answer to give instead (to the login
/// page without a valid session).
pub(super) async fn page_principal(
    s: &AppState,
    headers: &HeaderMap,
) -> Result<crate::service::auth::Principal, Response> {
    let Some(session) = cookie(headers, SESSION_COOKIE) else {
        return Err(Redirect::to("/login").into_response());
    };
    match svc::session_principal(&s.ctx, session).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(Redirect::to("/login").into_response()),
        Err(e) => Err(super::error::ApiError::from(e).into_response()),
    }
}

/// Who is looking at a page that shows and does what the API allows `roles` (an `allow::*`
/// group): the session's user; without a session the login page; for another role 403 with
/// `refusal` (Danish, English) in the page's language.
pub(super) async fn page_principal_in(
    s: &AppState,
    headers: &HeaderMap,
    roles: &[Role],
    l: Lang,
    refusal: (&str, &str),
) -> Result<crate::service::auth::Principal, Response> {
    let p = page_principal(s, headers).await?;
    if roles.contains(&p.actor.role) {
        return Ok(p);
    }
    let text = if l == Lang::Da { refusal.0 } else { refusal.1 };
    Err((StatusCode::FORBIDDEN, text.to_string()).into_response())
}

/// Printers with their state and queue; a printer whose queue is held is marked.
pub(super) fn printers_table(
    l: Lang,
    printers: &[crate::service::printing::PrinterView],
) -> Markup {
    html! {
        @if printers.is_empty() { p { (t(l, "no_printers")) } }
        @else {
            table #printers {
                thead { tr { th { (t(l, "printer")) } th { (t(l, "station")) } th { (t(l, "state")) } th { (t(l, "queue")) } } }
                tbody { @for p in printers { tr class=(if p.alarm { "bad" } else { "ok" }) data-printer=(p.printer.id) {
                    td { (p.printer.name) " (" (p.printer.id) ")" }
                    td { (p.printer.station.clone().unwrap_or_default()) }
                    td.state { (if l == Lang::Da { p.state_da.clone() } else { p.printer.state.replace('_', " ") })
                        @if !p.printer.state_detail.is_empty() { br; small { (if l == Lang::Da { &p.state_detail_da } else { &p.printer.state_detail }) } } }
                    td.queue { (p.queue_depth) }
                } } }
            }
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", axum::routing::post(logout_submit))
}

/// Every page's routes, and the static scripts they load.
pub fn all_routes() -> Router<AppState> {
    routes()
        .merge(start_page::routes())
        .merge(pick_page::routes())
        .merge(cut_page::routes())
        .merge(pack_page::routes())
        .merge(handover_page::routes())
        .merge(carrier_page::routes())
        .merge(dashboard_page::routes())
        .merge(wall_page::routes())
        .merge(reports_page::routes())
        .merge(stock_page::routes())
        .merge(station_page::routes())
        .merge(assets::routes())
}
