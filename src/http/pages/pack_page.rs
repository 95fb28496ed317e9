//! The packer's page at a pack station, for a touch screen with a keyboard-wedge scanner (or a
//! serial scanner bound to the station, whose scans it follows): scan the tote, see the
//! recipient and what goes into the parcel, scan every pack and cut box, choose the box, close
//! it (or split), report a damaged pack, and reprint or void a closed parcel. Danish by default.

use super::{lang, page, page_principal_in, with_lang_cookie, Lang, LangQuery};
use crate::domain::auth::allow;
use crate::http::AppState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::html;

/// Every text of the page in the page's language.
fn texts(l: Lang) -> serde_json::Value {
    let da = l == Lang::Da;
    let t = |d: &str, e: &str| if da { d.to_string() } else { e.to_string() };
    serde_json::json!({
        "da": da,
        "scan_tote": t("Scan kassen eller ordrenummeret", "Scan the tote or the order reference"),
        "order": t("Ordre", "Order"),
        "tote": t("Kasse", "Tote"),
        "product": t("Vare", "Product"),
        "lot": t("Lot", "Lot"),
        "expiry": t("Udløb", "Expiry"),
        "scanned": t("Scannet", "Scanned"),
        "cut_box": t("Hulklip-æske", "Cut box"),
        "missing": t("Mangler", "Missing"),
        "complete": t("Alt er i pakken: luk den", "Everything is in the parcel: close it"),
        "closed": t("Pakken er lukket", "The parcel is closed"),
        "parcels": t("Pakker", "Parcels"),
        "reprint": t("Udskriv etiket igen", "Print the label again"),
        "slip": t("Følgeseddel (PDF)", "Packing slip (PDF)"),
        "reprint_slip": t("Udskriv følgeseddel igen", "Print the packing slip again"),
        "void": t("Annullér pakken", "Void the parcel"),
        "void_ask": t("Hvorfor annulleres pakken?", "Why is the parcel voided?"),
        "short_ask": t("Hvad er der galt med pakningen?", "What is wrong with the pack?"),
        "blocked": t("Spærret", "Blocked"),
        "waiting_pick": t("venter på genplukning", "waiting for a replacement pick"),
        "status": {
            "picked": t("klar til pakning", "ready for packing"),
            "cutting": t("i hulklip", "in cutting"),
            "picking": t("plukkes", "being picked"),
            "packed": t("pakket", "packed"),
        },
        "state": {
            "closed": t("lukket", "closed"),
            "voided": t("annulleret", "voided"),
        },
        "label_waits": t("etiketten udskrives, når ordren er færdigpakket", "the label prints when the order is fully packed"),
        "offline": t("Ingen forbindelse: prøv igen", "No connection: try again"),
        "weight_est": t("beregnet", "computed"),
        "packed_next": t("Ordren er pakket. Scan den næste kasse", "The order is packed. Scan the next tote"),
    })
}

/// What a role outside `allow::PACKING` is told.
const REFUSAL: (&str, &str) = (
    "Pakkesiden er for pakkere og ledere.",
    "The packing page is for packers and leads.",
);

/// The pack station's pages.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/pack", get(choose))
        .route("/pack/{station}", get(station))
}

/// `/pack`: choose the station (remembered in the browser).
async fn choose(
    State(s): State<AppState>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let l = lang(q.lang.as_deref(), &headers);
    if let Err(r) = page_principal_in(&s, &headers, allow::PACKING, l, REFUSAL).await {
        return r;
    }
    let stations = crate::service::packing::stations(&s.ctx)
        .await
        .unwrap_or_default();
    if let [only] = stations.as_slice() {
        return Redirect::to(&format!("/pack/{only}")).into_response();
    }
    let body = page(
        l,
        s.ctx.demo.loaded(),
        html! {
            h1 { (if l == Lang::Da { "Vælg pakkebord" } else { "Choose the pack station" }) }
            div #stations {
                @for st in &stations {
                    a.big.station href={ "/pack/" (st) } { (st) }
                    " "
                }
            }
        },
    );
    with_lang_cookie(l, &q, body)
}

/// `/pack/{station}`: the pack station itself.
async fn station(
    State(s): State<AppState>,
    axum::extract::Path(station): axum::extract::Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let l = lang(q.lang.as_deref(), &headers);
    let principal = match page_principal_in(&s, &headers, allow::PACKING, l, REFUSAL).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let csrf = principal.csrf.clone().unwrap_or_default();
    let da = l == Lang::Da;
    let tr = |d: &'static str, e: &'static str| if da { d } else { e };
    let body = page(
        l,
        s.ctx.demo.loaded(),
        html! {
            style { (PACK_STYLE) }
            div #pack data-station=(station) data-csrf=(csrf) data-texts=(texts(l).to_string()) {
                div.packhead {
                    h1 { (tr("Pakkebord", "Pack station")) " " (station) }
                    span #orderline {}
                }
                div #who {
                    div #recipient {}
                    div #orderinfo {}
                }
                form #scanform autocomplete="off" {
                    input #scan name="scan" autofocus placeholder=(tr("Scan her", "Scan here")) inputmode="none";
                    input #qty name="qty" type="number" min="1" value="1" aria-label=(tr("Antal", "Quantity"));
                }
                p #msg role="status" {}
                table #contents {
                    thead { tr {
                        th { (tr("Vare", "Product")) } th { (tr("Lot", "Lot")) } th { (tr("Udløb", "Expiry")) }
                        th { (tr("Scannet", "Scanned")) }
                    } }
                    tbody {}
                }
                ul #missing {}
                div.closebar {
                    label { (tr("Emballage", "Box")) select #ptype {} }
                    label { (tr("Vægt (g)", "Weight (g)")) input #weight type="number" min="1" max="100000"; }
                    button #close.ok type="button" { (tr("Luk pakke", "Close parcel")) }
                    button #closemore type="button" { (tr("Luk og fortsæt i ny pakke", "Close and continue in a new parcel")) }
                }
                div.closebar {
                    label { (tr("Skadet pakning", "Damaged pack")) select #shortlot {} }
                    button #short.bad type="button" { (tr("Meld skadet", "Report damaged")) }
                    button #leave type="button" { (tr("Forlad ordren", "Leave the order")) }
                }
                h2 { (tr("Pakker", "Parcels")) }
                table #parcels { tbody {} }
            }
            (super::assets::script(super::assets::Script::Feedback)) (super::assets::script(super::assets::Script::Pack))
        },
    );
    with_lang_cookie(l, &q, body)
}

const PACK_STYLE: &str = ".packhead{display:flex;justify-content:space-between;align-items:baseline;flex-wrap:wrap}\
#who{display:flex;gap:1rem;flex-wrap:wrap;background:#fff;border-radius:.5rem;padding:.8rem 1rem;margin:.5rem 0}\
#recipient{font-size:1.8rem;font-weight:700}#orderinfo{font-size:1.2rem;align-self:center}\
#contents td,#parcels td{font-size:1.2rem;text-align:left}#contents tr.done td{color:#1b5e20;background:#e8f5e9}\
#contents tr.blocked td{color:#a40000;background:#fdecea;font-weight:600}#contents td.count{font-weight:700;text-align:right;white-space:nowrap}#contents td.nw{white-space:nowrap}\
#missing{font-size:1.2rem;color:#7a4b00}.closebar{display:flex;flex-wrap:wrap;gap:.6rem;align-items:end;margin:.8rem 0}\
.closebar label{display:grid;font-size:1rem}.closebar select,.closebar input{font-size:1.3rem;padding:.5rem;min-width:8rem}\
.closebar button{min-height:3.5rem;font-size:1.3rem;padding:.5rem 1rem}button.ok{background:#1f7a3a}button.bad{background:#a32020}\
[hidden]{display:none!important}#parcels .sscc{font-family:monospace;font-size:1.3rem;font-weight:700;white-space:nowrap}#parcels td.acts{display:flex;flex-wrap:wrap;gap:.4rem}#parcels button,#parcels a{font-size:1rem}#parcels tr.voided td{color:#888;text-decoration:line-through}\
a.station{display:inline-block;padding:1rem 1.5rem;background:#fff;border-radius:.5rem;margin:.3rem}";
