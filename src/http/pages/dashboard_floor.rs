//! The dashboard's lower sections: people and stations, the carriers' cut-off, and the open
//! exceptions with links to where they are resolved. Rendered for the first page and for each
//! live picture (`dashboard_page`).

use super::Lang;
use crate::service::dashboard as svc;
use maud::html;

/// Minutes as a lead reads them: `45 min`, `3 t 05 min`, `2 d 4 t`.
pub(super) fn age(l: Lang, minutes: i64) -> String {
    let h = if l == Lang::Da { "t" } else { "h" };
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m < 24 * 60 => format!("{} {h} {:02} min", m / 60, m % 60),
        m => format!("{} d {} {h}", m / (24 * 60), m % (24 * 60) / 60),
    }
}

/// Minutes since an instant as stored, as a lead reads them; `–` without one.
pub(super) fn ago(l: Lang, at: Option<&str>, now: chrono::DateTime<chrono::Utc>) -> String {
    at.and_then(crate::domain::time::from_db)
        .map_or_else(|| "–".into(), |t| age(l, (now - t).num_minutes().max(0)))
}

/// Each carrier's day against its cut-off: a row coloured by its status.
pub(super) fn cutoffs_html(cutoffs: &[svc::CarrierCutoff], l: Lang) -> maud::Markup {
    let da = l == Lang::Da;
    let tr = |d: &'static str, e: &'static str| if da { d } else { e };
    let status = |s: &str| match s {
        "on_track" => tr("når det", "on track"),
        "behind" => tr("bagud", "behind"),
        "missed" => tr("overskredet", "missed"),
        "done" => tr("alt afleveret", "all handed over"),
        _ => "",
    };
    html! {
        @if cutoffs.is_empty() {
            p.sub { (tr("Ingen sidste afhentning sat op (carrier.cutoff).", "No cut-off set up (carrier.cutoff).")) }
        } @else {
            div.tw { table #cutofftable { thead { tr {
                th { (tr("Fragtfirma", "Carrier")) } th { (tr("Status", "Status")) }
                th.n { (tr("Tid tilbage", "Time left")) } th { (tr("Sidste afhentning", "Cut-off")) }
                th.n { (tr("Pakket, venter", "Packed, waiting")) } th.n { (tr("Skal pakkes i dag", "To pack today")) }
                th.n { (tr("Behøvet pr. time", "Needed per hour")) } th.n { (tr("Sidste time", "Last hour")) }
            } } tbody { @for c in cutoffs {
                tr data-carrier=(c.carrier) class=(format!("cut-{}", c.status)) {
                    td { (c.carrier) } td { strong { (status(&c.status)) } }
                    td.n { @if c.minutes_left > 0 { (age(l, c.minutes_left)) } @else { "–" } }
                    td { (c.cutoff) }
                    td.n { (c.packed_waiting) } td.n { (c.to_pack) }
                    td.n { @match c.needed_per_hour { Some(n) => (format!("{n:.0}")), None => "–" } }
                    td.n { (c.handed_over_last_hour) }
                }
            } } } }
        }
    }
}

/// Pickers (the idle first) and stations, each with their rate.
pub(super) fn floor_html(f: &svc::Floor, l: Lang) -> maud::Markup {
    let da = l == Lang::Da;
    let tr = |d: &'static str, e: &'static str| if da { d } else { e };
    let now = chrono::Utc::now();
    let kind = |k: &str| match k {
        "pack" => tr("Pakkebord", "Pack station"),
        "cut" => tr("Hulklipper", "Cutting station"),
        _ => "",
    };
    html! {
        div.floor {
            div {
                h3 { (tr("Plukkere", "Pickers")) }
                @if f.pickers.is_empty() { p.sub { (tr("Ingen har plukket i dag.", "Nobody has picked today.")) } }
                @else { div.tw { table #pickertable { thead { tr {
                    th { (tr("Plukker", "Picker")) } th.n { (tr("Linjer sidste time", "Lines last hour")) }
                    th.n { (tr("Linjer i dag", "Lines today")) } th.n { (tr("Afviste scan", "Scans refused")) }
                    th { (tr("Runde", "Wave")) } th.n { (tr("Sidst", "Last")) }
                } } tbody { @for p in &f.pickers {
                    tr data-picker=(p.name) class=(if p.idle { "idle" } else { "" }) {
                        td { (p.name) @if p.idle { " " span.tag { (tr("ledig", "idle")) } } }
                        td.n { (p.lines_last_hour) } td.n { (p.lines_today) } td.n { (p.scans_refused_today) }
                        td { @match p.wave { Some(w) => (w), None => "–" } }
                        td.n { (ago(l, p.last_at.as_deref(), now)) }
                    }
                } } } } }
            }
            div {
                h3 { (tr("Stationer", "Stations")) }
                @if f.stations.is_empty() { p.sub { (tr("Ingen station har arbejdet i dag.", "No station has worked today.")) } }
                @else { div.tw { table #stationtable { thead { tr {
                    th { (tr("Station", "Station")) } th.n { (tr("Sidste time", "Last hour")) }
                    th.n { (tr("I dag", "Today")) } th.n { (tr("Fejl", "Faults")) } th.n { (tr("Sidst", "Last")) }
                } } tbody { @for s in &f.stations {
                    tr data-station=(format!("{}:{}", s.kind, s.station)) class=(if s.idle { "idle" } else { "" }) {
                        td { (kind(&s.kind)) " " (s.station) @if s.idle { " " span.tag { (tr("ledig", "idle")) } } }
                        td.n { (s.last_hour) } td.n { (s.today) }
                        td.n class=(if s.faults_today > 0 { "bad" } else { "" }) { (s.faults_today) }
                        td.n { (ago(l, s.last_at.as_deref(), now)) }
                    }
                } } } } }
            }
        }
        p.sub { (tr("Linjer og kolli pr. time er den sidste times. Ledig: intet gjort i", "Lines and parcels per hour are the last hour's. Idle: nothing done for")) " "
            (age(l, f.idle_minutes)) "." }
    }
}

/// The open exceptions by kind: how many, the oldest, and the link to resolve them.
pub(super) fn exceptions_html(groups: &[svc::ExceptionGroup], l: Lang) -> maud::Markup {
    let da = l == Lang::Da;
    let tr = |d: &'static str, e: &'static str| if da { d } else { e };
    let now = chrono::Utc::now();
    let name = |k: &str| match k {
        "booking_rejected" => tr("Afviste bookinger", "Rejected bookings"),
        "delivery_exception" => tr("Afvigelser i leveringen", "Delivery exceptions"),
        "cut_failed" => tr("Fejlede hulklip", "Failed cutting jobs"),
        "short_pick" => tr("Manglende varer ved pluk i dag", "Short picks today"),
        "old_backorder" => tr("Gamle restordrer", "Old backorders"),
        _ => "",
    };
    html! {
        @if groups.is_empty() { p.sub #noexceptions { (tr("Ingen åbne afvigelser.", "No open exceptions.")) } }
        @else { div.exc { @for g in groups {
            section data-kind=(g.kind) {
                h3 { a href=(g.link) { (name(&g.kind)) } " " span.count { (g.total) } }
                ul { @for i in &g.items {
                    li { strong { (i.order) } @if let Some(d) = &i.detail { " · " (d) }
                         " · " span.sub { (ago(l, Some(&i.since), now)) } }
                } }
                @if g.total > g.items.len() as i64 {
                    p.sub { a href=(g.link) { (tr("Se alle", "See all")) " (" (g.total) ")" } }
                }
            }
        } } }
    }
}

pub(super) const STYLE: &str = ".tw{overflow-x:auto;max-width:100%}.floor{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(20rem,100%),1fr));gap:1rem}.floor>div{min-width:0}\
.floor table,#cutofftable{border-collapse:collapse;width:100%}.floor td,.floor th,#cutofftable td,#cutofftable th{padding:.3rem .5rem;border-bottom:1px solid #ddd;text-align:left}\
.floor .n,#cutofftable .n{text-align:right;font-variant-numeric:tabular-nums}tr.idle td{color:#8a5a00}.tag{background:#f9a825;color:#000;border-radius:.2rem;padding:0 .3rem;font-size:.85em}.bad{color:#b00020;font-weight:700}\
.cut-behind td{color:#8a5a00;font-weight:700}.cut-missed td{color:#b00020;font-weight:700}.cut-done td{color:#2e7d32}\
.exc{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(18rem,100%),1fr));gap:.8rem}.exc section{background:#fff;border-left:.3rem solid #c62828;padding:.3rem .7rem}.exc h3{margin:.2rem 0}.exc ul{margin:.2rem 0;padding-left:1.1rem}.count{background:#c62828;color:#fff;border-radius:1rem;padding:0 .5rem}\
#dash.wall .exc section{background:#1b1b1b}#dash.wall #cutofftable,#dash.wall .floor table{background:#1b1b1b;color:#eee}#dash.wall .exc a{color:#9ecbff}#dash.wall .floor td,#dash.wall .floor th,#dash.wall #cutofftable td,#dash.wall #cutofftable th{border-color:#333}#dash.wall tr.idle td{color:#ffcf5c}#dash.wall .cut-behind td{color:#ffcf5c}#dash.wall .cut-missed td{color:#ff6b6b}#dash.wall .cut-done td{color:#8fd694}";
