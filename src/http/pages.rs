//! Server-rendered pages for people: Danish by default, English with `?lang=en` (remembered in a
//! cookie). Login, the start page with the stock overview, logout.

use super::api::session_cookie;
use super::auth::{cookie, same_origin, ClientAddr, SESSION_COOKIE};
use super::AppState;
use crate::service::auth as svc;
use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

pub(super) use super::texts::t;
pub use super::texts::Lang;

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
                style { (super::style::STYLE) }
            }
            body {
                @if demo { (super::texts::demo_band(l)) }
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

async fn home(
    State(s): State<AppState>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let l = lang(q.lang.as_deref(), &headers);
    let principal = match page_principal(&s, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let rows = crate::service::stock::on_hand(
        &s.ctx,
        crate::service::stock::GroupBy::Owner,
        &Default::default(),
    )
    .await;
    let (rows, stock_error) = match rows {
        Ok(rows) => (rows, false),
        Err(e) => {
            tracing::error!(error = %e, "stock overview failed");
            (Vec::new(), true)
        }
    };
    use crate::domain::auth::Role;
    let role = principal.actor.role;
    let lead = matches!(role, Role::Admin | Role::Lead);
    // An operator's way to their cutting station.
    let cut_stations = if role == Role::Operator {
        crate::service::cutting::list_stations(&s.ctx)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|v| v.station.enabled)
            .map(|v| (v.station.id, v.station.name))
            .collect()
    } else {
        Vec::new()
    };
    let pickers = if lead {
        crate::service::picking::pickers(&s.ctx)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let (orders, waves, backorders, exceptions) = if lead {
        let orders = crate::service::orders::counts(&s.ctx).await;
        let waves = crate::service::picking::todays_waves(&s.ctx).await;
        let backorders = crate::service::orders::list(&s.ctx, Some("backordered"), 0, 50).await;
        let exceptions = crate::service::picking::recent_exceptions(&s.ctx).await;
        let failed = [
            orders.as_ref().err(),
            waves.as_ref().err(),
            backorders.as_ref().err(),
            exceptions.as_ref().err(),
        ];
        if let Some(e) = failed.into_iter().flatten().next() {
            tracing::error!(error = %e, "order overview failed");
        }
        (
            orders.unwrap_or_default(),
            waves.unwrap_or_default(),
            backorders.unwrap_or_default(),
            exceptions.unwrap_or_default(),
        )
    } else {
        (Vec::new(), Vec::new(), Vec::new(), Vec::new())
    };
    let printers = if crate::domain::auth::allow::PRINTING.contains(&role) {
        crate::service::printing::list_printers(&s.ctx)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let cut = if lead {
        crate::service::cutting::overview(&s.ctx)
            .await
            .inspect_err(|e| tracing::error!(error = %e, "cutting overview failed"))
            .unwrap_or_default()
    } else {
        Default::default()
    };
    let max = rows.iter().map(|r| r.on_hand).max().unwrap_or(0).max(1);
    let pct = |n: i64| format!("width:{:.1}%", n as f64 * 100.0 / max as f64);
    let csrf = principal.csrf.clone().unwrap_or_default();
    let body = page(
        l,
        s.ctx.demo.loaded(),
        html! {
            p { (t(l, "welcome")) " " strong { (principal.username) } " (" (principal.actor.role.as_str()) ")" }
            @if matches!(role, Role::Admin | Role::Lead | Role::Picker) {
                p { a.big href="/pick" { (t(l, "go_pick")) } }
            }
            @for (id, name) in &cut_stations {
                p { a.big.gocut href=(format!("/cut/{id}")) { (if l == Lang::Da { "Hulklip: " } else { "Cutting: " }) (name) } }
            }
            @if matches!(role, Role::Admin | Role::Lead | Role::Picker | Role::Packer) {
                p { a.big #gostock href="/stock" { (if l == Lang::Da { "Lager: søg, læg på plads, flyt og tæl" } else { "Stock: search, put away, move and count" }) } }
            }
            @if matches!(role, Role::Admin | Role::Lead | Role::Packer) {
                p { a.big #gopack href="/pack" { (t(l, "go_pack")) } }
                p { a.big #gohandover href="/handover" { (t(l, "go_handover")) } }
            }
            @if lead {
                p { a.big #gocarriers href="/carriers" { (t(l, "go_carriers")) } }
                h1 { (t(l, "orders_by_status")) }
                (super::start_live::orders_table(l, &orders))
                @if !backorders.is_empty() {
                    h2 { (t(l, "backorders")) }
                    table #backorders data-csrf=(csrf) data-ask=(t(l, "release_reason")) {
                        tbody { @for o in &backorders { tr {
                            td { (o.external_id) }
                            td { @for m in &o.missing { (m.gtin) " × " (m.missing) " " } }
                            td { button.release type="button" data-order=(o.external_id) { (t(l, "release")) } }
                        } } }
                    }
                }
                @if !exceptions.is_empty() {
                    h2 { (t(l, "exceptions")) }
                    table #exceptions {
                        thead { tr { th { (t(l, "wave")) } th { (t(l, "location")) } th { "GTIN" } th { (t(l, "missing_packs")) } th { (t(l, "reallocated")) } } }
                        tbody { @for x in &exceptions { tr class=(if x.kind == "short" { "" } else { "bad" }) {
                            td { "#" (x.wave_id) } td { (x.location) } td { (x.gtin) } td { (x.expected) } td { (x.reallocated) }
                        } } }
                    }
                    p { small { (t(l, "count_hint")) } }
                }
                h2 { (t(l, "make_wave")) }
                form #makewave data-csrf=(csrf) {
                    label { (t(l, "max_orders")) input name="max_orders" type="number" min="1" max="200" value="20"; }
                    label { (t(l, "delivery_until")) input name="delivery_until" type="date"; }
                    button type="submit" { (t(l, "make_wave")) }
                }
                p #waveresult role="status" {}
                script { (maud::PreEscaped(MAKE_WAVE_JS)) }
                @if !waves.is_empty() {
                    h2 { (if l == Lang::Da { "Dagens plukrunder" } else { "Today's waves" }) }
                    table #waves {
                        thead { tr { th { (t(l, "wave")) } th { (t(l, "picker")) } th { "Status" } th { (t(l, "progress")) } th {} } }
                        tbody { @for (w, p, wave_orders) in &waves { tr class=(if w.status == "done" { "done" } else { "" }) data-wave=(w.id) {
                            td { "#" (w.id)
                                br; small.waveorders { @for (i, (o, tote)) in wave_orders.iter().enumerate() { @if i > 0 { ", " } (o) " → " (tote) } } }
                            td { @if w.status == "done" { (w.picker.clone().unwrap_or_default()) } @else { form.assign data-wave=(w.id) {
                                select name="picker" aria-label=(t(l, "picker")) {
                                    option value="" { "–" }
                                    @for name in &pickers { option value=(name) selected[w.picker.as_deref() == Some(name.as_str())] { (name) } }
                                    @if let Some(cur) = &w.picker { @if !pickers.contains(cur) { option value=(cur) selected { (cur) } } }
                                }
                                button type="submit" { (t(l, "assign")) }
                            } } }
                            td { (wave_status(l, &w.status)) }
                            td { (p.done + p.short) " / " (p.picks) }
                            td.bar { div.bars {
                                span.ok style=(format!("width:{:.1}%", p.done as f64 * 100.0 / p.picks.max(1) as f64)) {}
                                span.x style=(format!("width:{:.1}%", p.short as f64 * 100.0 / p.picks.max(1) as f64)) {}
                            } }
                        } } }
                    }
                    script { (maud::PreEscaped(ASSIGN_JS)) }
                }
                (super::cut_lead::cutting_section(l, &cut))
            }
            @if !printers.is_empty() {
                h2 { (t(l, "printers")) }
                (printers_table(l, &printers))
                script { (maud::PreEscaped(PRINTERS_JS)) }
            }
            @if lead {
                h2 { (t(l, "templates")) }
                div.previews {
                    @for tpl in s.ctx.labels.iter().filter(|t| t.width_mm <= 120.0) {
                        figure {
                            img src=(format!("/api/labels/{}/preview.png", tpl.name)) alt=(tpl.description)
                                width=(format!("{:.0}", tpl.width_mm * 2.0)) loading="lazy";
                            figcaption { (tpl.name) " · " (tpl.width_mm) " × " (tpl.height_mm) " mm" }
                        }
                    }
                }
            }
            h1 { (t(l, "stock_by_owner")) }
            table {
                thead { tr {
                    th { (t(l, "owner")) } th { (t(l, "on_hand")) } th { (t(l, "available")) }
                    th { (t(l, "quarantined")) } th { (t(l, "short_dated")) } th { (t(l, "expired")) } th {}
                } }
                tbody { @for r in &rows { tr {
                    td { (r.owner.clone().unwrap_or_default()) } td { (r.on_hand) } td { (r.available) }
                    td { (r.quarantined) } td { (r.short_dated) } td { (r.expired) }
                    td.bar { div.bars {
                        span.ok style=(pct(r.available)) {}
                        span.q style=(pct(r.quarantined)) {}
                        span.x style=(pct(r.expired)) {}
                    } }
                } } }
            }
            @if stock_error { p.err role="alert" { (t(l, "stock_error")) } }
            p { small { (t(l, "packs")) } }
            p { a href="/api/openapi.json" { (t(l, "api")) } }
            form method="post" action="/logout" {
                input type="hidden" name="csrf_token" value=(csrf);
                button type="submit" { (t(l, "logout")) }
            }
        },
    );
    with_lang_cookie(l, &q, body)
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

/// A wave's status in the page's language.
fn wave_status(l: Lang, status: &str) -> &str {
    match (status, l) {
        ("open", Lang::Da) => "åben",
        ("assigned", Lang::Da) => "tildelt",
        ("picking", Lang::Da) => "plukkes",
        ("done", Lang::Da) => "færdig",
        (s, _) => s,
    }
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

/// Keeps the printers table live: state and queue depth every two seconds.
pub(super) const PRINTERS_JS: &str = r#"
async function pollPrinters() {
  try {
    const r = await fetch('/api/printers');
    if (r.ok) {
      const da = document.documentElement.lang === 'da';
      for (const p of await r.json()) {
        const tr = document.querySelector('tr[data-printer="' + CSS.escape(p.id) + '"]');
        if (!tr) continue;
        tr.className = p.alarm ? 'bad' : 'ok';
        tr.querySelector('.state').textContent = (da ? p.state_da : p.state.replace('_', ' ')) + (p.state_detail ? ' – ' + (da ? p.state_detail_da : p.state_detail) : '');
        tr.querySelector('.queue').textContent = p.queue_depth;
      }
    }
  } finally { setTimeout(pollPrinters, 2000); }
}
pollPrinters();
"#;

/// The station page: every scan at the station with its verdict, live (polls the scans API each
/// second), and a form that receives the last accepted scan with quantity and location.
/// The lead's "make a wave" form and partial-release buttons: post to the API and reload.
const MAKE_WAVE_JS: &str = r#"
const bo = document.getElementById('backorders');
if (bo) for (const b of bo.querySelectorAll('button.release')) {
  b.addEventListener('click', async () => {
    const reason = prompt(bo.dataset.ask);
    if (!reason) return;
    const r = await fetch('/api/orders/' + encodeURIComponent(b.dataset.order) + '/release', { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': bo.dataset.csrf }, body: JSON.stringify({ reason }) });
    if (r.ok) location.reload(); else { const j = await r.json(); alert(document.documentElement.lang === 'da' ? j.message_da : j.message); }
  });
}
const mw = document.getElementById('makewave');
mw.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(mw), body = { max_orders: Number(f.get('max_orders')) || 20 };
  if (f.get('delivery_until')) body.delivery_until = f.get('delivery_until');
  const out = document.getElementById('waveresult');
  const r = await fetch('/api/waves', { method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': mw.dataset.csrf }, body: JSON.stringify(body) });
  const j = await r.json();
  if (r.ok) { out.className = 'okmsg'; out.textContent = '#' + j.id + ': ' + j.progress.picks; setTimeout(() => location.reload(), 600); }
  else { out.className = 'err'; out.textContent = document.documentElement.lang === 'da' ? j.message_da : j.message; }
});
"#;

/// Assigns a wave to the picker chosen in its row.
const ASSIGN_JS: &str = r#"
for (const f of document.querySelectorAll('form.assign')) {
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const picker = String(new FormData(f).get('picker') || '').trim();
    if (!picker) return;
    const r = await fetch('/api/waves/' + f.dataset.wave + '/assign', { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': document.getElementById('makewave').dataset.csrf },
      body: JSON.stringify({ picker }) });
    if (r.ok) location.reload(); else { const j = await r.json(); alert(document.documentElement.lang === 'da' ? j.message_da : j.message); }
  });
}
"#;

/// A scan's answer on a floor page: a short high beep and a green flash, or a low buzz and a
/// red one, with the message in `#msg` (the page's script defines `msg`).
pub(super) const FEEDBACK_JS: &str = r#"
let audio = null;
function tone(type, hz, at, len) {
  const o = audio.createOscillator(), g = audio.createGain();
  o.type = type; o.frequency.value = hz;
  o.connect(g); g.connect(audio.destination); g.gain.value = 0.2;
  o.start(audio.currentTime + at); o.stop(audio.currentTime + at + len);
}
function beep(ok) {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    if (ok === 'warn') { tone('triangle', 660, 0, 0.15); tone('triangle', 660, 0.25, 0.15); }
    else if (ok) tone('sine', 1200, 0, 0.12);
    else tone('square', 220, 0, 0.45);
  } catch (e) {}
}
// ok: true (good), false (refused), or 'warn' (done, but someone must look: a short pick).
function flash(ok, text) {
  document.body.className = ok === 'warn' ? 'warn' : ok ? 'good' : 'bad';
  msg.textContent = text; msg.className = ok === 'warn' ? 'warnmsg' : ok ? 'okmsg' : 'err';
  beep(ok);
  // A newer flash is not cut short by the timer of the one before it.
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => { document.body.className = ''; }, ok === true ? 500 : 1500);
}
"#;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", axum::routing::post(logout_submit))
}
