//! The stock work page for the floor (`/stock`): search the stock (by product, GTIN, lot or
//! location, with expiring and quarantined stock), put away and move by scanning the pack and
//! then the target location, and (leads) count a location blind and book the differences. Every
//! action goes through the ledgered stock API; scans are read by `GET /api/stock/lookup`.

use super::{lang, page, page_principal_in, with_lang_cookie, Lang, LangQuery};
use crate::http::AppState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use maud::html;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/stock", get(stock_page))
}

async fn stock_page(
    State(s): State<AppState>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let l = lang(q.lang.as_deref(), &headers);
    use crate::domain::auth::allow;
    let refusal = (
        "Lagersiden er for ledere, plukkere og pakkere.",
        "The stock page is for leads, pickers and packers.",
    );
    let principal = match page_principal_in(&s, &headers, allow::STOCK_FLOOR, l, refusal).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let da = l == Lang::Da;
    let may_count = allow::STOCK_CONTROL.contains(&principal.actor.role);
    let csrf = principal.csrf.clone().unwrap_or_default();
    let tr = |d: &'static str, e: &'static str| if da { d } else { e };
    // System-written quarantine reasons, in Danish on a Danish page (people's own reasons as typed).
    let reasons = if da {
        serde_json::json!([
            [
                "short pick: count the location",
                "mangel ved pluk: tæl placeringen"
            ],
            [
                "damaged: found at packing:",
                "beskadiget, fundet ved pakning:"
            ],
            ["returned", "returneret"]
        ])
    } else {
        serde_json::json!([])
    };
    let texts = serde_json::json!({
        "reasons": reasons, "da": da,
        "product": tr("Produkt", "Product"), "lot": "Lot", "expiry": tr("Udløb", "Expiry"),
        "location": tr("Placering", "Location"), "qty": tr("Antal", "Quantity"), "free": tr("fri", "free"),
        "status": tr("Status", "Status"), "none": tr("Intet fundet.", "Nothing found."),
        "available": tr("kan plukkes", "available"), "quarantine": tr("i karantæne", "quarantined"),
        "expired": tr("udløbet", "expired"), "short": tr("kort holdbarhed", "short-dated"),
        "to_put_away": tr("venter på at komme på plads", "waiting to be put away"),
        "not_pickable": tr("kan ikke plukkes herfra", "not pickable here"),
        "scan_pack": tr("1. Scan pakken der skal på plads", "1. Scan the pack to put away"),
        "scan_target": tr("2. Scan placeringen", "2. Scan the location"),
        "suggested": tr("forslag", "suggested"),
        "from": tr("fra", "from"), "move": tr("Flyt", "Move"),
        "moved": tr("Flyttet", "Moved"), "nothing_free": tr("Ingen fri beholdning af denne vare.", "No free stock of this product."),
        "not_location": tr("Det var ikke en placering: scan placeringens stregkode.", "That was not a location: scan the location's barcode."),
        "not_pack": tr("Det var en placering: scan først pakken.", "That was a location: scan the pack first."),
        "choose": tr("Vælg hvilken:", "Choose which:"),
    })
    .to_string();
    let body = page(
        l,
        s.ctx.demo.loaded(),
        html! {
            h1 { (tr("Lager", "Stock")) }
            div #stock data-csrf=(csrf) data-texts=(texts) {
                nav.tabs {
                    button.tab type="button" data-tab="search" { (tr("Søg", "Search")) }
                    button.tab type="button" data-tab="putaway" { (tr("Læg på plads / flyt", "Put away / move")) }
                    @if may_count { button.tab type="button" data-tab="count" { (tr("Optælling", "Count")) } }
                }
                section #search.pane {
                    label { (tr("Søg efter produkt, GTIN, lot eller placering", "Search by product, GTIN, lot or location"))
                        input #q type="search" autocomplete="off"; }
                    label.inline { input #onlyexp type="checkbox"; " " (tr("Kun udløbne, kort holdbarhed og karantæne", "Only expired, short-dated and quarantined")) }
                    div.scroll { table #units { thead { tr {
                        th { (tr("Produkt", "Product")) } th { (tr("Lot · udløb", "Lot · expiry")) }
                        th { (tr("Placering", "Location")) } th { (tr("Antal", "Qty")) }
                    } } tbody {} } }
                }
                section #putaway.pane hidden {
                    p #pa_step.step {}
                    form #pa_form.scanform { input #pa_scan autocomplete="off" placeholder=(tr("Scan eller skriv stregkoden", "Scan or type the barcode")); button type="submit" { "OK" } }
                    div #pa_card.card hidden {}
                    form #pa_confirm hidden {
                        label { (tr("Antal", "Quantity")) input #pa_qty type="number" min="1" required; }
                        button type="submit" { (tr("Flyt", "Move")) }
                    }
                    p #pa_msg role="status" {}
                }
                @if may_count { (super::count_pane::pane(l)) }
            }
            style { (maud::PreEscaped(STOCK_CSS)) }
            (super::assets::script(super::assets::Script::Stock))
            @if may_count { (super::count_pane::script()) }
        },
    );
    with_lang_cookie(l, &q, body)
}

const STOCK_CSS: &str = "nav.tabs{display:flex;gap:.4rem;flex-wrap:wrap;margin-bottom:1rem}\
nav.tabs button{font-size:1.1rem;background:#dfe5ea;color:#123c5a}nav.tabs button.on{background:#123c5a;color:#fff}\
.pane label{display:grid;gap:.2rem;margin:.5rem 0}.pane label.inline{display:block}.scroll{overflow-x:auto;max-width:100%}\
#units td,#ct_lines td,#units th,#ct_lines th{text-align:left}.scanform{display:flex;gap:.5rem}.scanform input{flex:1;min-width:0;font-size:1.4rem}\
.step{font-size:1.3rem;font-weight:600}.card{background:#fff;border:2px solid #123c5a;border-radius:.5rem;padding:.8rem;margin:.8rem 0;font-size:1.15rem}\
.card button{margin:.2rem .3rem 0 0;font-size:1rem}#ct_lines input{width:4rem;font-size:1.2rem;padding:.3rem}td.diff{font-weight:700}td.diff.bad{color:#a40000}\
@media (max-width:520px){#units td,#units th,#ct_lines td,#ct_lines th{padding:.3rem .25rem;font-size:.95rem}main{padding:0 .6rem}}";
