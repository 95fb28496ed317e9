//! The start page: a way to each page the role may use, and the overviews it may read (the
//! lead's orders, waves and cutting; printers; the stock by owner).

use super::{lang, page, page_principal, printers_table, t, with_lang_cookie, Lang, LangQuery};
use crate::domain::auth::{allow, Role};
use crate::domain::wave::WaveStatus;
use crate::http::AppState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
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
    let role = principal.actor.role;
    // A wall screen's role reads the dashboard and nothing else.
    if role == Role::Dashboard {
        return axum::response::Redirect::to("/dashboard?wall=1").into_response();
    }
    // Each section shows what the role may read through the API, and no more.
    let may_read_stock = allow::STOCK_READ.contains(&role);
    let rows = if may_read_stock {
        crate::service::stock::on_hand(
            &s.ctx,
            crate::service::stock::GroupBy::Owner,
            &Default::default(),
        )
        .await
    } else {
        Ok(Vec::new())
    };
    let (rows, stock_error) = match rows {
        Ok(rows) => (rows, false),
        Err(e) => {
            tracing::error!(error = %e, "stock overview failed");
            (Vec::new(), true)
        }
    };
    // The lead's sections: orders (`allow::ORDERS`), waves, backorders and cutting; every lead
    // role may read each of them through the API.
    let lead = allow::LEAD.contains(&role);
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
    let printers = if allow::PRINTING.contains(&role) {
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
            @if allow::PICKING.contains(&role) {
                p { a.big href="/pick" { (t(l, "go_pick")) } }
            }
            @for (id, name) in &cut_stations {
                p { a.big.gocut href=(format!("/cut/{id}")) { (if l == Lang::Da { "Hulklip: " } else { "Cutting: " }) (name) } }
            }
            @if allow::STOCK_FLOOR.contains(&role) {
                p { a.big #gostock href="/stock" { (if l == Lang::Da { "Lager: søg, læg på plads, flyt og tæl" } else { "Stock: search, put away, move and count" }) } }
            }
            @if allow::PACKING.contains(&role) {
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
                (super::assets::script(super::assets::Script::MakeWave))
                @if !waves.is_empty() {
                    h2 { (if l == Lang::Da { "Dagens plukrunder" } else { "Today's waves" }) }
                    table #waves {
                        thead { tr { th { (t(l, "wave")) } th { (t(l, "picker")) } th { "Status" } th { (t(l, "progress")) } th {} } }
                        tbody { @for (w, p, wave_orders) in &waves { tr class=(if w.status == WaveStatus::Done { "done" } else { "" }) data-wave=(w.id) {
                            td { "#" (w.id)
                                br; small.waveorders { @for (i, (o, tote)) in wave_orders.iter().enumerate() { @if i > 0 { ", " } (o) " → " (tote) } } }
                            td { @if w.status == WaveStatus::Done { (w.picker.clone().unwrap_or_default()) } @else { form.assign data-wave=(w.id) {
                                select name="picker" aria-label=(t(l, "picker")) {
                                    option value="" { "–" }
                                    @for name in &pickers { option value=(name) selected[w.picker.as_deref() == Some(name.as_str())] { (name) } }
                                    @if let Some(cur) = &w.picker { @if !pickers.contains(cur) { option value=(cur) selected { (cur) } } }
                                }
                                button type="submit" { (t(l, "assign")) }
                            } } }
                            td { (wave_status(l, w.status)) }
                            td { (p.done + p.short) " / " (p.picks) }
                            td.bar { div.bars {
                                span.ok style=(format!("width:{:.1}%", p.done as f64 * 100.0 / p.picks.max(1) as f64)) {}
                                span.x style=(format!("width:{:.1}%", p.short as f64 * 100.0 / p.picks.max(1) as f64)) {}
                            } }
                        } } }
                    }
                    (super::assets::script(super::assets::Script::Assign))
                }
                (super::cut_lead::cutting_section(l, &cut))
            }
            @if !printers.is_empty() {
                h2 { (t(l, "printers")) }
                (printers_table(l, &printers))
                (super::assets::script(super::assets::Script::Printers))
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
            @if may_read_stock {
                h1 { (t(l, "stock_by_owner")) }
                // Six figures per owner are wider than a phone: the table scrolls, not the page.
                div.scroll { table #owners {
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
                } }
                @if stock_error { p.err role="alert" { (t(l, "stock_error")) } }
                p { small { (t(l, "packs")) } }
            }
            p { a href="/api/openapi.json" { (t(l, "api")) } }
            form method="post" action="/logout" {
                input type="hidden" name="csrf_token" value=(csrf);
                button type="submit" { (t(l, "logout")) }
            }
        },
    );
    with_lang_cookie(l, &q, body)
}

/// A wave's status in the page's language.
fn wave_status(l: Lang, status: WaveStatus) -> &'static str {
    match (status, l) {
        (WaveStatus::Open, Lang::Da) => "åben",
        (WaveStatus::Assigned, Lang::Da) => "tildelt",
        (WaveStatus::Picking, Lang::Da) => "plukkes",
        (WaveStatus::Done, Lang::Da) => "færdig",
        (s, Lang::En) => s.as_str(),
    }
}
