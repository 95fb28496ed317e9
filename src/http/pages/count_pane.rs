//! The stock page's count tab (leads): open count tasks (from short picks and cycle counts), a
//! blind count of a scanned location booked as one operation that closes its tasks, and cycle
//! count runs with their progress. Everything goes through `/api/counts`, `/api/count-sheets`,
//! `/api/count-tasks` and `/api/count-runs`.

use super::texts::Lang;
use maud::{html, Markup, PreEscaped};

pub(super) fn pane(l: Lang) -> Markup {
    let da = l == Lang::Da;
    let tr = |d: &'static str, e: &'static str| if da { d } else { e };
    let texts = serde_json::json!({
        "da": da,
        "short_pick": tr("Mangel ved pluk", "Short pick"), "cycle": tr("Cyklisk optælling", "Cycle count"),
        "adhoc": tr("Optælling", "Count"), "count": tr("Tæl", "Count"), "no_tasks": tr("Ingen åbne opgaver.", "No open tasks."),
        "location": tr("Placering", "Location"), "product": tr("Produkt", "Product"), "lot": "Lot",
        "expiry": tr("Udløb", "Expiry"), "counted": tr("Optalt", "Counted"), "expected": tr("Forventet", "Expected"),
        "diff": tr("Forskel", "Difference"), "last": tr("Sidst talt", "Last counted"), "never": tr("aldrig", "never"),
        "found_line": tr("fundet ved optælling", "found at the count"),
        "not_location": tr("Det var ikke en placering: scan placeringens stregkode.", "That was not a location: scan the location's barcode."),
        "not_pack": tr("Scan pakningens GS1-kode med lot og udløb.", "Scan the pack's GS1 code with lot and expiry."),
        "fill_all": tr("Skriv det optalte antal for hver linje først (0 hvis der ingen er).", "Enter the counted quantity on every line first (0 when there are none)."),
        "need_reason": tr("Optællingen afviger: skriv en årsag.", "The count differs: give a reason."),
        "booked": tr("Optælling bogført", "Count booked"), "diffs": tr("forskelle", "differences"), "diff1": tr("forskel", "difference"),
        "closed": tr("opgaver lukket", "tasks closed"), "closed1": tr("opgave lukket", "task closed"), "no_diff": tr("Ingen forskelle.", "No differences."),
        "empty": tr("Intet på denne placering ifølge systemet. Tilføj det du finder, eller bogfør den tom.", "Nothing here according to the system. Add what you find, or book it empty."),
        "tasks_here": tr("Åbne opgaver her", "Open tasks here"),
        "done_of": tr("talt af", "counted of"), "cancel": tr("Annullér", "Cancel"),
        "created": tr("Optælling oprettet", "Count created"), "none_runs": tr("Ingen cykliske optællinger endnu.", "No cycle counts yet."),
        "scope_zone": tr("Zone", "Zone"), "scope_product": tr("Placeringer med", "Locations holding"),
        "scope_days": tr("Ikke talt i N dage", "Not counted for N days"),
        "offline": tr("Ingen forbindelse. Prøv igen.", "No connection. Try again."),
    })
    .to_string();
    html! {
        section #count.pane hidden data-texts=(texts) {
            h2 { (tr("Opgaver", "Tasks")) }
            div.scroll { table #ct_tasks { thead { tr {
                th { (tr("Placering", "Location")) } th { (tr("Hvorfor", "Why")) } th { (tr("Oprettet", "Created")) } th {}
            } } tbody {} } }
            h2 { (tr("Tæl en placering", "Count a location")) }
            p.step { (tr("Scan placeringen. Antallene i systemet vises først, når du har talt.", "Scan the location. The system's quantities show only after you have counted.")) }
            form #ct_form.scanform { input #ct_scan autocomplete="off" placeholder=(tr("Placeringens stregkode", "The location's barcode")); button type="submit" { "OK" } }
            h3 #ct_title {}
            p #ct_info {}
            div.scroll { table #ct_lines { thead {} tbody {} } }
            form #ct_add.scanform hidden {
                input #ct_add_scan autocomplete="off" placeholder=(tr("Fandt du en vare, der ikke står her? Scan den", "Found a product not listed? Scan it"));
                button type="submit" { "+" }
            }
            label #ct_reason_l hidden { (tr("Årsag til forskellen", "Reason for the difference")) input #ct_reason; }
            div.buttons {
                button #ct_show type="button" hidden { (tr("Vis forskelle", "Show differences")) }
                button #ct_book type="button" hidden { (tr("Bogfør optællingen", "Book the count")) }
            }
            p #ct_msg role="status" {}
            h2 { (tr("Cyklisk optælling", "Cycle counting")) }
            form #run_form.runform {
                select #run_kind {
                    option value="days" { (tr("Placeringer ikke talt i … dage", "Locations not counted for … days")) }
                    option value="zone" { (tr("En zone", "A zone")) }
                    option value="gtin" { (tr("Placeringer med et produkt (GTIN)", "Locations holding a product (GTIN)")) }
                }
                input #run_value required autocomplete="off" value="30";
                button type="submit" { (tr("Opret optælling", "Create count")) }
            }
            p #run_msg role="status" {}
            div.scroll { table #runs { thead { tr {
                th { (tr("Optælling", "Count")) } th { (tr("Fremdrift", "Progress")) } th { (tr("Forskel", "Difference")) } th {}
            } } tbody {} } }
        }
    }
}

/// Runs after the stock page's script, whose helpers it uses.
pub(super) fn script() -> Markup {
    html! {
        style { (PreEscaped(COUNT_CSS)) }
        (super::assets::script(super::assets::Script::Count))
    }
}

const COUNT_CSS: &str = "#stock [hidden]{display:none!important}.runform{display:flex;gap:.5rem;flex-wrap:wrap}.runform input{width:9rem}\
.bar{display:inline-block;width:8rem;max-width:40vw;height:.8rem;background:#dfe5ea;border-radius:.4rem;overflow:hidden;vertical-align:middle;margin-right:.4rem}\
.bar i{display:block;height:100%;background:#1f7a3a}#ct_tasks td,#runs td,#ct_tasks th,#runs th{text-align:left}\
tr.found td{font-style:italic}";
