//! The lead's hulklip view on the start page: stations (with pause and resume), jobs per state
//! as bars, the jobs being taken back (with "plate not cut: release"), and the replacement
//! plates not picked yet (a short one can be tried again).

use super::texts::{t, Lang};
use maud::{html, Markup};

/// The lead's hulklip view: stations (with pause/resume), jobs per state as bars, and the
/// replacement plates not picked yet (a short one can be tried again).
pub(super) fn cutting_section(l: Lang, cut: &crate::service::cutting::CutOverview) -> Markup {
    let count = |states: &[&str]| -> i64 {
        cut.by_state
            .iter()
            .filter(|(s, _)| states.contains(&s.as_str()))
            .map(|(_, n)| *n)
            .sum()
    };
    let bars = [
        ("cj_queued", count(&["queued"]), "q"),
        (
            "cj_at_stations",
            count(&["sent", "accepted", "running", "recalling"]),
            "ok",
        ),
        ("cj_finished", count(&["finished"]), "ok"),
        ("cj_failed", count(&["failed", "cancelled"]), "x"),
    ];
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    html! {
        h2 #hulklip { (t(l, "cutting")) }
        @if cut.stations.is_empty() { p { (t(l, "no_cut_stations")) } }
        @else {
            table #cutstations {
                thead { tr { th { (t(l, "station")) } th { (t(l, "state")) } th { (t(l, "cut_jobs_here")) } th {} } }
                tbody { @for (st, load) in &cut.stations {
                    @let mode = st.station.mode.as_deref().unwrap_or("");
                    @let key = match (st.station.connection.as_str(), mode) {
                        ("online", "paused") => "cut_paused",
                        ("online", "fault") => "cut_fault",
                        ("online", _) if !st.available => "cut_stale",
                        ("online", "busy") => "cut_busy",
                        ("online", _) => "cut_ready",
                        ("broken", _) => "cut_broken",
                        ("offline", _) => "cut_offline",
                        _ => "cut_unknown",
                    };
                    tr class=(if st.available { "ok" } else { "bad" }) data-cutstation=(st.station.id) {
                        td { a href=(format!("/cut/{}", st.station.id)) { (st.station.name) } " (" (st.station.id) ")" }
                        td { (t(l, key)) }
                        td { (load) }
                        td {
                            @if mode == "paused" {
                                button.cutcmd type="button" data-station=(st.station.id) data-command="resume" { (t(l, "resume")) }
                            } @else {
                                button.cutcmd type="button" data-station=(st.station.id) data-command="pause" { (t(l, "pause")) }
                            }
                        }
                    }
                } }
            }
        }
        h3 { (t(l, "cut_jobs")) }
        table #cutjobs {
            tbody { @for (key, n, class) in &bars { tr {
                td { (t(l, key)) } td { (n) }
                td.bar { div.bars { span class=(class) style=(format!("width:{:.1}%", *n as f64 * 100.0 / max as f64)) {} } }
            } } }
        }
        @if !cut.recalling.is_empty() {
            @let da = l == Lang::Da;
            h3 { (if da { "Job der tages tilbage" } else { "Jobs being taken back" }) }
            p { small { (if da {
                "Stationen er bedt om at annullere jobbet; det sendes først videre, når stationen har svaret. Kan stationen ikke svare (ude af drift), så se på maskinen: er pladen ikke klippet, så frigiv jobbet."
            } else {
                "The station was told to cancel the job; it goes elsewhere only once the station has answered. If the station cannot answer (out of service), look at the machine: if the plate was not cut, release the job."
            }) } }
            table #recalling {
                thead { tr { th { (t(l, "job")) } th { (t(l, "station")) } th { (t(l, "reason")) } th { (if da { "siden" } else { "since" }) } th {} } }
                tbody { @for j in &cut.recalling { tr.bad data-job=(j.id) {
                    td { (j.id) } td { (j.station_id.as_deref().unwrap_or("–")) }
                    td { small { (j.recall_reason.as_deref().unwrap_or("")) } }
                    td { (j.updated_at.get(11..19).unwrap_or(&j.updated_at)) }
                    td { button.cutrelease type="button" data-job=(j.id) { (if da { "Pladen er ikke klippet: frigiv" } else { "Plate not cut: release" }) } }
                } } }
            }
        }
        @if !cut.replacements.is_empty() {
            h3 { (t(l, "replacements")) }
            table #replacements {
                thead { tr { th { (t(l, "job")) } th { "GTIN" } th { (t(l, "packs_n")) } th { (t(l, "state")) } th { (t(l, "reason")) } th {} } }
                tbody { @for r in &cut.replacements { tr class=(if r.state == "short" { "bad" } else { "" }) {
                    td { (r.job_id) } td { (r.gtin) } td { (r.quantity) }
                    td { (t(l, if r.state == "short" { "repl_short" } else { "repl_picking" }))
                        @if let Some(w) = r.wave_id { " · #" (w) } }
                    td { small { (r.reason) } }
                    td { @if r.state == "short" {
                        button.replretry type="button" data-replacement=(r.id) { (t(l, "retry")) }
                    } }
                } } }
            }
        }
        (super::assets::script(super::assets::Script::CutLead))
    }
}
