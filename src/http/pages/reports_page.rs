//! The lead's reports (`/reports`): throughput per day, week or month over a chosen range as a
//! chart, a table with totals and the time from intake to handover, the backorders by their
//! wait, and a weekday x hour heat map of parcels closed; the table as CSV and both charts as
//! SVG and PNG downloads. Danish by default, `?lang=en` for English.

use super::chart_file::{self, download, Format};
use super::{lang, page, page_principal_in, with_lang_cookie, Lang, LangQuery};
use crate::domain::auth::allow;
use crate::http::AppState;
use crate::service::reports::{self as svc, Period, ThroughputReport};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, PreEscaped};
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/reports", get(reports))
        .route("/reports/throughput.csv", get(csv))
        .route("/reports/throughput.svg", get(svg))
        .route("/reports/throughput.png", get(png))
        .route("/reports/parcels-heat.svg", get(heat_svg))
        .route("/reports/parcels-heat.png", get(heat_png))
}

#[derive(Debug, Deserialize)]
struct ReportForm {
    lang: Option<String>,
    from: Option<String>,
    to: Option<String>,
    period: Option<String>,
}

impl ReportForm {
    /// The range asked for; the last 30 days by the day when nothing is said.
    fn parse(&self) -> crate::error::Result<(chrono::NaiveDate, chrono::NaiveDate, Period)> {
        let today = crate::service::today();
        let to = self.to.clone().unwrap_or_else(|| today.to_string());
        let from = self
            .from
            .clone()
            .unwrap_or_else(|| (today - chrono::Duration::days(29)).to_string());
        let (from, to) = svc::range(&from, &to)?;
        Ok((
            from,
            to,
            Period::parse(self.period.as_deref().unwrap_or("day"))?,
        ))
    }
    fn query(&self, from: &str, to: &str, period: Period, l: Lang) -> String {
        format!(
            "from={from}&to={to}&period={}&lang={}",
            period.as_str(),
            l.code()
        )
    }
}

/// A measure's name for a lead.
fn measure_name(l: Lang, m: &str) -> &'static str {
    let (da, en) = match m {
        "orders_received" => ("Ordrer modtaget", "Orders received"),
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

/// A duration in minutes as a lead reads it; `–` when there is none.
fn minutes(l: Lang, m: Option<i64>) -> String {
    m.map_or_else(|| "–".into(), |m| super::dashboard_floor::age(l, m))
}

fn weekdays(l: Lang) -> [&'static str; 7] {
    if l == Lang::Da {
        ["man", "tir", "ons", "tor", "fre", "lør", "søn"]
    } else {
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    }
}

fn chart_title(l: Lang, p: Period) -> &'static str {
    match (l == Lang::Da, p) {
        (true, Period::Day) => "Gennemløb pr. dag",
        (true, Period::Week) => "Gennemløb pr. uge",
        (true, Period::Month) => "Gennemløb pr. måned",
        (false, Period::Day) => "Throughput per day",
        (false, Period::Week) => "Throughput per week",
        (false, Period::Month) => "Throughput per month",
    }
}

fn heat_title(l: Lang) -> &'static str {
    if l == Lang::Da {
        "Kolli lukket pr. ugedag og time"
    } else {
        "Parcels closed by weekday and hour"
    }
}

/// The report asked for, or the response that says why it cannot be made.
async fn report(
    s: &AppState,
    headers: &HeaderMap,
    f: &ReportForm,
) -> Result<(Lang, ThroughputReport), Response> {
    let l = lang(f.lang.as_deref(), headers);
    let refusal = ("Rapporterne er for ledere.", "The reports are for leads.");
    page_principal_in(s, headers, allow::LEAD, l, refusal).await?;
    let (from, to, period) = f
        .parse()
        .map_err(|e| crate::http::error::ApiError::from(e).into_response())?;
    svc::throughput(&s.ctx, from, to, period)
        .await
        .map(|r| (l, r))
        .map_err(|e| crate::http::error::ApiError::from(e).into_response())
}

async fn reports(
    State(s): State<AppState>,
    Query(f): Query<ReportForm>,
    headers: HeaderMap,
) -> Response {
    let l = lang(f.lang.as_deref(), &headers);
    let lq = LangQuery {
        lang: f.lang.clone(),
    };
    let refusal = ("Rapporterne er for ledere.", "The reports are for leads.");
    if let Err(r) = page_principal_in(&s, &headers, allow::LEAD, l, refusal).await {
        return r;
    }
    let da = l == Lang::Da;
    let tr = |d: &'static str, e: &'static str| if da { d } else { e };
    let asked = f.parse();
    let made = match &asked {
        Ok((from, to, period)) => Some(svc::throughput(&s.ctx, *from, *to, *period).await),
        Err(_) => None,
    };
    let (from, to, period) = match &asked {
        Ok((a, b, p)) => (a.to_string(), b.to_string(), *p),
        Err(_) => (
            f.from.clone().unwrap_or_default(),
            f.to.clone().unwrap_or_default(),
            Period::Day,
        ),
    };
    let error = match (&asked, &made) {
        (Err(e), _) | (_, Some(Err(e))) => Some(e.to_string()),
        _ => None,
    };
    let q = f.query(&from, &to, period, l);
    let body = page(
        l,
        s.ctx.demo.loaded(),
        html! {
            style { (STYLE) }
            h1 { (tr("Rapporter", "Reports")) }
            form #reportform method="get" action="/reports" {
                input type="hidden" name="lang" value=(l.code());
                label { (tr("Fra", "From")) " " input type="date" name="from" value=(from) required; }
                " " label { (tr("Til", "To")) " " input type="date" name="to" value=(to) required; }
                " " label { (tr("Pr.", "Per")) " " select name="period" {
                    option value="day" selected[period == Period::Day] { (tr("dag", "day")) }
                    option value="week" selected[period == Period::Week] { (tr("uge", "week")) }
                    option value="month" selected[period == Period::Month] { (tr("måned", "month")) }
                } }
                " " button type="submit" { (tr("Vis", "Show")) }
            }
            @if let Some(e) = &error { p.err #reporterror role="alert" { (e) } }
            @if let Some(Ok(r)) = &made {
                div.chart { (PreEscaped(svc::chart(r, |m| measure_name(l, m).to_string(), chart_title(l, r.period)))) }
                p.downloads {
                    (tr("Hent", "Download")) ": "
                    a #csv href=(format!("/reports/throughput.csv?{q}")) download { "CSV" } " · "
                    a #svg href=(format!("/reports/throughput.svg?{q}")) download { (tr("graf (SVG)", "chart (SVG)")) } " · "
                    a #png href=(format!("/reports/throughput.png?{q}")) download { (tr("graf (PNG)", "chart (PNG)")) } " · "
                    a #heatsvg href=(format!("/reports/parcels-heat.svg?{q}")) download { (tr("varmekort (SVG)", "heat map (SVG)")) } " · "
                    a #heatpng href=(format!("/reports/parcels-heat.png?{q}")) download { (tr("varmekort (PNG)", "heat map (PNG)")) }
                }
                div.tw { table #report {
                    thead { tr {
                        th { (tr("Periode", "Period")) }
                        @for m in &r.measures { th.n { (measure_name(l, m)) } }
                        th.n { (tr("Gennemløbstid, median", "Intake to handover, median")) }
                        th.n { (tr("Gennemløbstid, 90 %", "Intake to handover, 90th pct.")) }
                        th.n { (tr("Til tiden", "On time")) }
                    } }
                    tbody { @for row in &r.rows { tr {
                        td { (row.period) }
                        @for v in &row.values { td.n { (v) } }
                        td.n { (minutes(l, row.cycle_p50_minutes)) }
                        td.n { (minutes(l, row.cycle_p90_minutes)) }
                        td.n title=(format!("{} / {}", row.orders_on_time, row.orders_judged)) { (on_time(l, row.on_time_percent)) }
                    } } }
                    tfoot { tr {
                        th { (tr("I alt", "Total")) }
                        @for v in &r.totals { th.n { (v) } }
                        th {} th {}
                        th.n #ontimetotal { (on_time(l, r.on_time_percent)) }
                    } }
                } }
                p.note { (tr("Til tiden: overleveret senest ved fragtfirmaets sidste afhentning den første hverdag, hvor ordren var klar til pluk inden afhentningen. Kun fragtfirmaer med en sidste afhentning (carrier.cutoff) tælles.",
                    "On time: handed over to the carrier by the first cut-off (weekdays) after the order became ready to pick. Only carriers with a cut-off (carrier.cutoff) count.")) }
                h2 { (tr("Restordrer nu, efter ventetid", "Backorders now, by their wait")) }
                table #backorderages { tbody {
                    tr { td { (tr("under 1 dag", "under 1 day")) } td.n { (r.backorders.under_1_day) } }
                    tr { td { (tr("1-3 dage", "1-3 days")) } td.n { (r.backorders.days_1_to_3) } }
                    tr { td { (tr("3-7 dage", "3-7 days")) } td.n { (r.backorders.days_3_to_7) } }
                    tr { td { (tr("over 7 dage", "over 7 days")) } td.n { (r.backorders.over_7_days) } }
                } }
                h2 { (heat_title(l)) }
                div.heat { (PreEscaped(svc::heat_chart(r, &weekdays(l), heat_title(l)))) }
            }
        },
    );
    with_lang_cookie(l, &lq, body)
}

/// An on-time rate as the lead reads it (`96,5 %` in Danish); a dash without a figure.
fn on_time(l: Lang, p: Option<f64>) -> String {
    match p {
        None => "–".into(),
        Some(p) if l == Lang::Da => format!("{} %", format!("{p:.1}").replace('.', ",")),
        Some(p) => format!("{p:.1} %"),
    }
}

/// A report's downloads.
#[derive(Debug, Clone, Copy)]
enum File {
    Csv,
    Chart(Format),
    Heat(Format),
}

/// The report asked for as one of its downloads.
async fn file(s: AppState, f: ReportForm, headers: HeaderMap, what: File) -> Response {
    let (l, r) = match report(&s, &headers, &f).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let name = |stem: &str| format!("konsign-{stem}-{}-{}", r.from, r.to);
    match what {
        File::Csv => download(
            "text/csv; charset=utf-8",
            &format!("{}.csv", name("throughput")),
            svc::csv(&r).into_bytes(),
        ),
        File::Chart(format) => {
            let svg = svc::chart(
                &r,
                |m| measure_name(l, m).to_string(),
                chart_title(l, r.period),
            );
            chart_file::chart(svg, &name("throughput"), format).await
        }
        File::Heat(format) => {
            let svg = svc::heat_chart(&r, &weekdays(l), heat_title(l));
            chart_file::chart(svg, &name("parcels-heat"), format).await
        }
    }
}

async fn csv(State(s): State<AppState>, Query(f): Query<ReportForm>, h: HeaderMap) -> Response {
    file(s, f, h, File::Csv).await
}

async fn svg(State(s): State<AppState>, Query(f): Query<ReportForm>, h: HeaderMap) -> Response {
    file(s, f, h, File::Chart(Format::Svg)).await
}

async fn png(State(s): State<AppState>, Query(f): Query<ReportForm>, h: HeaderMap) -> Response {
    file(s, f, h, File::Chart(Format::Png)).await
}

async fn heat_svg(
    State(s): State<AppState>,
    Query(f): Query<ReportForm>,
    h: HeaderMap,
) -> Response {
    file(s, f, h, File::Heat(Format::Svg)).await
}

async fn heat_png(
    State(s): State<AppState>,
    Query(f): Query<ReportForm>,
    h: HeaderMap,
) -> Response {
    file(s, f, h, File::Heat(Format::Png)).await
}

const STYLE: &str = ".chart svg,.heat svg{max-width:100%;height:auto;display:block;margin:.6rem 0}.tw{overflow-x:auto;max-width:100%}\
#report{border-collapse:collapse;width:100%}#report tbody td:first-child{white-space:nowrap}#report td,#report th{padding:.3rem .5rem;border-bottom:1px solid #ddd;text-align:left}\
#report .n,#backorderages .n{text-align:right;font-variant-numeric:tabular-nums}#backorderages td{padding:.2rem .8rem .2rem 0}#report tfoot th{border-top:2px solid #333}#reportform{margin:.6rem 0}#reportform label{display:inline-block;margin:.2rem 0}#reportform select{font-size:1rem;padding:.35rem}.err{color:#b00020}.note{color:#555;font-size:.9rem;max-width:60rem}body:has(#report) main{max-width:84rem}";
