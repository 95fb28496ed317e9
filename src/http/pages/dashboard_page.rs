//! The logistics lead's dashboard (`/dashboard`): orders per stage now, as a stacked bar and a
//! table with the age of the oldest order in each stage (red past the configured limit).
//! Below it: the open exceptions, the carriers' cut-off, today's throughput by the hour, people
//! and stations (`dashboard_floor`), and every device with its health. Danish by default;
//! `?wall=1` is the wall-screen look (large type, dark, no form controls). `/dashboard/live`
//! keeps the page up to date by Server-Sent Events (`service::live`).

use super::chart_file::{self, Format};
use super::dashboard_floor::age;
use super::{lang, page, with_lang_cookie, Lang, LangQuery};
use crate::http::AppState;
use crate::service::dashboard::{self as svc, FlowStage};
use crate::service::live::Published;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, PreEscaped};
use serde::Deserialize;
use std::sync::Arc;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(dashboard))
        .route("/dashboard/live", get(live))
        .route("/dashboard/chart/{file}", get(chart_download))
}

/// The dashboard's charts that download: the flow's bar, then one per throughput measure.
const CHARTS: [&str; 5] = [
    "flow",
    "packs_picked",
    "cut_jobs_finished",
    "parcels_closed",
    "parcels_handed_over",
];

#[derive(Debug, Deserialize)]
struct DashQuery {
    lang: Option<String>,
    /// `1`: the wall-screen look.
    wall: Option<String>,
}

/// Who asks for the dashboard: a lead's session or a wall screen's key; refused otherwise.
async fn principal(
    s: &AppState,
    headers: &HeaderMap,
    l: Lang,
) -> Result<crate::service::auth::Principal, Response> {
    let refusal = ("Oversigten er for ledere.", "The dashboard is for leads.");
    super::wall_page::dashboard_principal(s, headers, l, refusal).await
}

/// A stage's name for a lead.
pub(super) fn stage_name(l: Lang, s: FlowStage) -> &'static str {
    let (da, en) = match s {
        FlowStage::Received => ("Modtaget", "Received"),
        FlowStage::Backordered => ("Restordre", "Backordered"),
        FlowStage::Allocated => ("Reserveret", "Allocated"),
        FlowStage::Picking => ("Plukkes", "Picking"),
        FlowStage::Cutting => ("Hulklip", "Cutting"),
        FlowStage::Picked => ("Plukket, til pakning", "Picked, to packing"),
        FlowStage::Packed => ("Pakket, venter på booking", "Packed, awaiting booking"),
        FlowStage::Booked => ("Booket, venter på afhentning", "Booked, awaiting handover"),
        FlowStage::Shipped => ("Overleveret", "Handed over"),
        FlowStage::Delivered => ("Leveret i dag", "Delivered today"),
        FlowStage::Exception => ("Afvigelse", "Exception"),
    };
    if l == Lang::Da {
        da
    } else {
        en
    }
}

/// The flow as the stacked bar, with the stages named in the reader's language.
fn flow_svg(flow: &svc::FlowNow, l: Lang) -> String {
    let title = if l == Lang::Da {
        "Ordrer pr. trin"
    } else {
        "Orders per stage"
    };
    svc::flow_chart(flow, |st| stage_name(l, st).to_string(), title)
}

async fn dashboard(
    State(s): State<AppState>,
    Query(q): Query<DashQuery>,
    headers: HeaderMap,
) -> Response {
    let lq = LangQuery {
        lang: q.lang.clone(),
    };
    let l = lang(q.lang.as_deref(), &headers);
    let principal = match principal(&s, &headers, l).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let svc::Dashboard {
        flow,
        throughput,
        devices,
        floor,
        cutoffs,
        exceptions,
    } = match svc::read(&s.ctx).await {
        Ok(d) => d,
        Err(e) => return crate::http::error::ApiError::from(e).into_response(),
    };
    let da = l == Lang::Da;
    let tr = |d: &'static str, e: &'static str| if da { d } else { e };
    // A wall screen (its key's role) always gets the wall look.
    let wall = q.wall.as_deref() == Some("1")
        || principal.actor.role == crate::domain::auth::Role::Dashboard;
    let chart = flow_svg(&flow, l);
    let at = crate::domain::time::from_db(&flow.at)
        .map(crate::domain::time::business_local)
        .unwrap_or_default();
    let body = page(
        l,
        s.ctx.demo.loaded(),
        html! {
            style { (STYLE) (PreEscaped(super::dashboard_floor::STYLE)) }
            div #dash .wall[wall] data-live=(format!("/dashboard/live?lang={}", l.code())) {
                h1 { (tr("Flow nu", "Flow now")) }
                p.sub {
                    (tr("I lageret", "In the warehouse")) ": " strong #inwh { (flow.in_warehouse) } " "
                    (tr("ordrer", "orders")) " · " (tr("læst", "read")) " " span #readat { (at) }
                }
                div.chart { (PreEscaped(chart)) }
                ul.legend { @for st in &flow.stages {
                    li { span.sw style=(format!("background:{}", svc::colour(st.stage))) {} (stage_name(l, st.stage)) }
                } }
                table #stages {
                    thead { tr {
                        th { (tr("Trin", "Stage")) }
                        th.n { (tr("Ordrer", "Orders")) }
                        th.n { (tr("Ældste har ventet", "Oldest has waited")) }
                    } }
                    tbody { @for st in &flow.stages {
                        tr data-stage=(st.stage.as_str()) class=(if st.late { "late" } else { "" }) {
                            td { (stage_name(l, st.stage)) }
                            td.n { (st.orders) }
                            td.n { @match st.oldest_minutes { Some(m) => (age(l, m)), None => "–" } }
                        }
                    } }
                }
                p.sub { (tr("Rød: ældste ordre har ventet mere end", "Red: the oldest order has waited more than")) " "
                    (age(l, flow.age_limit_minutes)) " " (tr("i trinnet.", "in the stage.")) }
                h2 { (tr("Afvigelser", "Exceptions")) }
                div #openexceptions { (super::dashboard_floor::exceptions_html(&exceptions, l)) }
                h2 { (tr("Sidste afhentning", "Carrier cut-off")) }
                div #cutoffs { (super::dashboard_floor::cutoffs_html(&cutoffs, l)) }
                h2 { (tr("Gennemløb i dag", "Throughput today")) }
                div #throughput { (throughput_html(&throughput, l)) }
                h2 { (tr("Folk og stationer", "People and stations")) }
                div #floor { (super::dashboard_floor::floor_html(&floor, l)) }
                h2 { (tr("Udstyr", "Devices")) }
                div #devices { (devices_html(&devices, l)) }
                @if !wall {
                    p.downloads #chartfiles { (tr("Hent graferne", "Download the charts")) ": "
                        @for (i, c) in CHARTS.iter().enumerate() {
                            @if i > 0 { " · " }
                            (if *c == "flow" { tr("Ordrer pr. trin", "Orders per stage") } else { measure_name(l, c) }) " ("
                            a href=(format!("/dashboard/chart/{c}.svg?lang={}", l.code())) download { "SVG" } ", "
                            a href=(format!("/dashboard/chart/{c}.png?lang={}", l.code())) download { "PNG" } ")"
                        }
                    }
                }
            }
            (super::assets::script(super::assets::Script::Dashboard))
        },
    );
    with_lang_cookie(l, &lq, body)
}

/// A measure's name for a lead.
fn measure_name(l: Lang, m: &str) -> &'static str {
    let (da, en) = match m {
        "packs_picked" => ("Pakninger plukket", "Packs picked"),
        "cut_jobs_finished" => ("Hulklip færdige", "Cutting jobs finished"),
        "parcels_closed" => ("Kolli lukket", "Parcels closed"),
        "parcels_handed_over" => ("Kolli overleveret", "Parcels handed over"),
        _ => ("", ""),
    };
    if l == Lang::Da {
        da
    } else {
        en
    }
}

/// Today's throughput: one chart per measure (today as bars, yesterday dashed and last week
/// dotted), the totals, and the parcels projected by the end of the day against the target.
fn throughput_html(t: &svc::Throughput, l: Lang) -> maud::Markup {
    let da = l == Lang::Da;
    let tr = |d: &'static str, e: &'static str| if da { d } else { e };
    html! {
        @if let Some(p) = t.projected_parcels {
            p.projection {
                (tr("Kolli forventet ved dagens slut", "Parcels expected by the end of the day")) ": " strong #projected { (p) }
                @if let Some(target) = t.parcel_target {
                    " · " (tr("mål", "target")) " " strong { (target) }
                    @if p < target { " " span.short { (tr("(under målet)", "(below target)")) } }
                }
            }
        }
        div.hours { @for s in &t.series {
            figure data-measure=(s.measure) {
                figcaption { strong { (measure_name(l, &s.measure)) } br;
                    (tr("i dag", "today")) " " strong.total { (s.today_total) } " · "
                    (tr("i går", "yesterday")) " " (s.yesterday_total) " · "
                    (tr("for en uge siden", "a week ago")) " " (s.last_week_total) }
                (PreEscaped(crate::charts::hourly(&s.today, t.now_hour,
                    &[(&s.yesterday, "5 3"), (&s.last_week, "1 3")], 300, 110, measure_name(l, &s.measure))))
            }
        } }
        p.sub { (tr("Søjler: i dag. Stiplet: i går. Prikket: samme ugedag sidste uge.", "Bars: today. Dashed: yesterday. Dotted: the same weekday last week.")) }
    }
}

/// The devices, the worst first: a coloured dot, what it is, its state and for how long.
fn devices_html(devices: &[svc::Device], l: Lang) -> maud::Markup {
    let da = l == Lang::Da;
    let tr = |d: &'static str, e: &'static str| if da { d } else { e };
    let kind = |k: &str| match k {
        "scanner" => tr("Scanner", "Scanner"),
        "printer" => tr("Printer", "Printer"),
        "cutter" => tr("Hulklipper", "Cutting station"),
        _ => "",
    };
    let health = |h: svc::Health| match h {
        svc::Health::Green => "h-green",
        svc::Health::Yellow => "h-yellow",
        svc::Health::Red => "h-red",
    };
    let now = chrono::Utc::now();
    html! {
        @if devices.is_empty() { p.sub { (tr("Intet udstyr sat op.", "No devices set up.")) } }
        @else { table #devtable { tbody { @for d in devices {
            tr data-device=(format!("{}:{}", d.kind, d.id)) class=(health(d.health)) {
                td { span.dot {} } td { (kind(&d.kind)) } td { (d.name) " " small { (d.id) } }
                td { (if da { &d.state_da } else { &d.state }) @if let Some(q) = d.queue { " · " (q) " " (tr("i kø", "queued")) } }
                td.n { (super::dashboard_floor::ago(l, d.since.as_deref(), now)) }
            }
        } } } }
    }
}

/// `/dashboard/chart/<name>.<svg|png>`: one of `CHARTS` as it stands now, as a file; an hourly
/// chart at twice the size the page shows it.
async fn chart_download(
    State(s): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<DashQuery>,
    headers: HeaderMap,
) -> Response {
    let l = lang(q.lang.as_deref(), &headers);
    if let Err(r) = principal(&s, &headers, l).await {
        return r;
    }
    let Some((name, format)) = file
        .rsplit_once('.')
        .and_then(|(n, ext)| Some((n, Format::from_ext(ext)?)))
        .filter(|(n, _)| CHARTS.contains(n))
    else {
        return (StatusCode::NOT_FOUND, "no such chart").into_response();
    };
    let d = match svc::read(&s.ctx).await {
        Ok(d) => d,
        Err(e) => return crate::http::error::ApiError::from(e).into_response(),
    };
    let da = l == Lang::Da;
    let today = crate::service::today();
    let svg = if name == "flow" {
        let at = crate::domain::time::from_db(&d.flow.at)
            .map(crate::domain::time::business_local)
            .unwrap_or_default();
        let legend: Vec<(String, &'static str)> = d
            .flow
            .stages
            .iter()
            .map(|st| {
                (
                    format!("{}: {}", stage_name(l, st.stage), st.orders),
                    svc::colour(st.stage),
                )
            })
            .collect();
        crate::charts::with_heading(
            &flow_svg(&d.flow, l),
            (960, 48),
            if da {
                "Ordrer pr. trin"
            } else {
                "Orders per stage"
            },
            &if da {
                format!("{} ordrer i lageret, læst {at}", d.flow.in_warehouse)
            } else {
                format!("{} orders in the warehouse, read {at}", d.flow.in_warehouse)
            },
            &legend,
        )
    } else {
        let t = &d.throughput;
        let Some(series) = t.series.iter().find(|x| x.measure == name) else {
            return (StatusCode::NOT_FOUND, "no such chart").into_response();
        };
        let chart = crate::charts::hourly(
            &series.today,
            t.now_hour,
            &[(&series.yesterday, "5 3"), (&series.last_week, "1 3")],
            600,
            220,
            measure_name(l, name),
        );
        crate::charts::with_heading(
            &chart,
            (600, 220),
            &format!("{} {today}", measure_name(l, name)),
            if da {
                "Søjler: i dag. Stiplet: i går. Prikket: samme ugedag sidste uge."
            } else {
                "Bars: today. Dashed: yesterday. Dotted: the same weekday last week."
            },
            &[],
        )
    };
    let stem = format!("konsign-{name}-{today}");
    chart_file::chart(svg, &stem, format).await
}

/// What a live update carries, in the reader's language: each stage's count, wait and lateness,
/// the bar, and when it was read.
fn picture_json(d: &svc::Dashboard, l: Lang) -> String {
    let flow = &d.flow;
    let stages: Vec<serde_json::Value> = flow
        .stages
        .iter()
        .map(|s| {
            serde_json::json!({
                "stage": s.stage,
                "orders": s.orders,
                "late": s.late,
                "waited": s.oldest_minutes.map_or_else(|| "–".to_string(), |m| age(l, m)),
            })
        })
        .collect();
    serde_json::json!({
        "in_warehouse": flow.in_warehouse,
        "read_at": crate::domain::time::from_db(&flow.at).map(crate::domain::time::business_local).unwrap_or_default(),
        "stages": stages,
        "svg": flow_svg(flow, l),
        "throughput_html": throughput_html(&d.throughput, l).into_string(),
        "devices_html": devices_html(&d.devices, l).into_string(),
        "floor_html": super::dashboard_floor::floor_html(&d.floor, l).into_string(),
        "cutoffs_html": super::dashboard_floor::cutoffs_html(&d.cutoffs, l).into_string(),
        "exceptions_html": super::dashboard_floor::exceptions_html(&d.exceptions, l).into_string(),
    })
    .to_string()
}

/// `/dashboard/live`: the dashboard's updates as Server-Sent Events (`event: flow`, `id:` the
/// newest event included, `data:` the whole picture). The first comes at once; then one each
/// time something happened, and every ten seconds (the clock moves ages and rates). 503 past the bound on open dashboards.
async fn live(
    State(s): State<AppState>,
    Query(q): Query<DashQuery>,
    headers: HeaderMap,
) -> Response {
    let l = lang(q.lang.as_deref(), &headers);
    if let Err(r) = principal(&s, &headers, l).await {
        return r;
    }
    let Some(watcher) = s.ctx.live.watch() else {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, "30")],
            "too many open dashboards",
        )
            .into_response();
    };
    // The picture brought up to date first, so this dashboard does not start with an old one.
    crate::service::live::catch_up(&s.ctx).await;
    let texts = s.live_text.clone();
    let stream = futures_util::stream::unfold((watcher, true), move |(mut w, first)| {
        let texts = texts.clone();
        async move {
            if !first && w.rx.changed().await.is_err() {
                return None;
            }
            let p = w.rx.borrow_and_update().clone();
            let event = match &p.dashboard {
                Some(_) => Event::default()
                    .event("flow")
                    .id(p.event_id.to_string())
                    .data(&*texts.of(&p, l)),
                None => Event::default().comment("nothing read yet"),
            };
            Some((Ok::<_, std::convert::Infallible>(event), (w, false)))
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response()
}

/// The newest picture as the live stream sends it, rendered once per language: every open
/// dashboard gets the same text, so twenty wall screens cost one rendering, not twenty.
#[derive(Default)]
pub struct LiveText {
    newest: std::sync::Mutex<Vec<Rendered>>,
}

/// A picture, the language it was rendered in, and the text.
type Rendered = (Arc<Published>, Lang, Arc<str>);

impl LiveText {
    /// `p` in `l`, rendered now or taken from the last rendering of the same picture.
    fn of(&self, p: &Arc<Published>, l: Lang) -> Arc<str> {
        let lock = || self.newest.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, text)) = lock().iter().find(|(q, m, _)| Arc::ptr_eq(q, p) && *m == l) {
            return text.clone();
        }
        let text: Arc<str> = p
            .dashboard
            .as_ref()
            .map_or_else(String::new, |d| picture_json(d, l))
            .into();
        let mut newest = lock();
        // Only the newest picture's renderings are kept (one per language).
        newest.retain(|(q, _, _)| Arc::ptr_eq(q, p));
        newest.push((p.clone(), l, text.clone()));
        text
    }
}

const STYLE: &str = "#devtable{max-width:44rem}#devtable td{text-align:left}#devtable td.n{text-align:right}.dot{display:inline-block;width:.9rem;height:.9rem;border-radius:50%;background:#2e7d32}.h-yellow .dot{background:#f9a825}.h-red .dot{background:#c62828}.h-red td{font-weight:700}#dash.wall #devtable{background:#1b1b1b;color:#eee;max-width:none}\
.hours{display:grid;grid-template-columns:repeat(auto-fill,minmax(18rem,1fr));gap:.8rem}.hours figure{margin:0;background:#fff;padding:.5rem;border-radius:.3rem}.hours svg{width:100%;height:auto}.projection{font-size:1.2rem}.short{color:#b00020}#dash.wall .hours figure{background:#1b1b1b}\
#dash h1{margin:.2rem 0}#dash .sub{color:#555}.chart svg{width:100%;height:auto;display:block;margin:.6rem 0}\
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.95rem}.sw{display:inline-block;width:.9rem;height:.9rem;margin-right:.3rem;vertical-align:middle}\
#stages{border-collapse:collapse;width:100%;max-width:44rem;font-size:1.15rem}#stages td,#stages th{padding:.35rem .6rem;border-bottom:1px solid #ddd;text-align:left}\
#stages .n{text-align:right;font-variant-numeric:tabular-nums}#stages tr.late td{color:#b00020;font-weight:700}\
body:has(#dash.wall){background:#111;color:#eee}body:has(#dash.wall) nav,body:has(#dash.wall) form{display:none}#dash.wall{font-size:1.6rem}#dash.wall #stages{font-size:2rem;max-width:none;background:#1b1b1b;color:#eee}body:has(#dash.wall) main{max-width:none}\
#dash.wall .sub{color:#bbb}#dash.wall #stages td,#dash.wall #stages th{border-color:#333}#dash.wall #stages tr.late td{color:#ff6b6b}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_a_lead_says_them() {
        assert_eq!(age(Lang::Da, 45), "45 min");
        assert_eq!(age(Lang::Da, 185), "3 t 05 min");
        assert_eq!(age(Lang::En, 185), "3 h 05 min");
        assert_eq!(age(Lang::Da, 3 * 1440 + 125), "3 d 2 t");
    }
}
