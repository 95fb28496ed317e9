//! The handover page: open a cage for the carrier, scan each parcel's label onto it (a wrong one
//! is refused with the reason), see what is on it and what is still expected, and close it; the
//! handover list opens as a PDF for the driver's signature. Danish by default.

use super::{lang, page, page_principal_in, with_lang_cookie, Lang, LangQuery};
use crate::domain::auth::allow;
use crate::http::AppState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use maud::html;

fn texts(l: Lang) -> serde_json::Value {
    let t = |d: &str, e: &str| {
        if l == Lang::Da {
            d.to_string()
        } else {
            e.to_string()
        }
    };
    serde_json::json!({
        "da": l == Lang::Da,
        "cage": t("Bur", "Cage"),
        "on_cage": t("I buret", "On the cage"),
        "expected": t("Forventet, ikke scannet", "Expected, not scanned"),
        "refused": t("Afvist", "Refused"),
        "closed": t("Buret er lukket", "The cage is closed"),
        "shipped": t("afsendt", "shipped"),
        "list": t("Overleveringsliste (PDF)", "Handover list (PDF)"),
        "parcels": t("kolli", "parcels"),
        "close_ask": t("Luk buret? Pakkerne i det er så overleveret.", "Close the cage? Its parcels are then handed over."),
        "offline": t("Ingen forbindelse: prøv igen", "No connection: try again"),
        "returned": t("Returneret og sat i karantæne", "Returned and put in quarantine"),
        "packs": t("pakninger", "packs"),
        "pack": t("pakning", "pack"),
    })
}

/// The handover page.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/handover", get(handover))
}

/// `/handover`: the open cages, a button for a new one, and the cage being worked.
async fn handover(
    State(s): State<AppState>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let l = lang(q.lang.as_deref(), &headers);
    // The page shows open cages and parcels waiting for booking, and works cages: packing.
    let refusal = (
        "Overleveringssiden er for pakkere og ledere.",
        "The handover page is for packers and leads.",
    );
    let principal = match page_principal_in(&s, &headers, allow::PACKING, l, refusal).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let csrf = principal.csrf.clone().unwrap_or_default();
    let cages = crate::service::handover::list(&s.ctx, Some("open"))
        .await
        .unwrap_or_default();
    let waiting = crate::service::bookings::list(&s.ctx, Some("pending"))
        .await
        .unwrap_or_default();
    let rejected = crate::service::bookings::list(&s.ctx, Some("rejected"))
        .await
        .unwrap_or_default();
    let cutoffs: Vec<(String, String)> = s
        .ctx
        .config
        .carrier
        .carriers()
        .into_iter()
        .filter_map(|c| s.ctx.config.carrier.cutoff.get(&c).map(|t| (c, t.clone())))
        .collect();
    let carriers = s.ctx.config.carrier.carriers();
    let da = l == Lang::Da;
    let tr = |d: &'static str, e: &'static str| if da { d } else { e };
    let body = page(
        l,
        s.ctx.demo.loaded(),
        html! {
            style { (STYLE) }
            div #handover data-csrf=(csrf) data-texts=(texts(l).to_string()) {
                h1 { (tr("Overlevering til transportør", "Handover to the carrier")) }
                @for (c, t) in &cutoffs {
                    p.cutoff { (tr("Sidste overlevering i dag", "Last handover today")) " (" (c) "): " strong { (t) } }
                }
                @if !waiting.is_empty() || !rejected.is_empty() {
                    details #waiting {
                        summary { (tr("På hylden: venter på booking", "On the shelf: waiting for booking")) " (" (waiting.len() + rejected.len()) ")" }
                        ul { @for b in waiting.iter().chain(rejected.iter()) {
                            li { (b.sscc.as_deref().unwrap_or("–")) " · " (b.carrier)
                                @if b.state == "rejected" { " · " strong.err { (tr("afvist: en leder ser på den", "rejected: a lead is on it")) } } }
                        } }
                    }
                }
                @if carriers.len() > 1 {
                    label { (tr("Transportør", "Carrier")) " " select #carrier { @for c in &carriers { option value=(c) { (c) } } } }
                }
                div #cages {
                    @for c in &cages {
                        button.cagebtn type="button" data-cage=(c.id) { (c.code) " (" (c.parcels) ")" }
                    }
                    button #newcage type="button" { (tr("Åbn nyt bur", "Open a new cage")) }
                }
                details #returns {
                    summary { (tr("Returpakke fra transportøren", "A parcel returned by the carrier")) }
                    form #returnform autocomplete="off" {
                        input #returnscan name="returnscan" placeholder=(tr("Scan returpakkens etiket", "Scan the returned parcel's label")) inputmode="none";
                    }
                    p #retmsg role="status" {}
                }
                div #work hidden {
                    h2 #cagehead {}
                    form #scanform autocomplete="off" {
                        input #scan name="scan" placeholder=(tr("Scan pakkens etiket", "Scan the parcel's label")) inputmode="none";
                    }
                    p #msg role="status" {}
                    button #closecage.bad type="button" { (tr("Luk buret", "Close the cage")) }
                    div #result {}
                    h3 { (tr("I buret", "On the cage")) } ul #oncage {}
                    h3 { (tr("Forventet, ikke scannet", "Expected, not scanned")) } ul #expected {}
                    h3 { (tr("Afvist", "Refused")) } ul #refused {}
                }
            }
            (super::assets::script(super::assets::Script::Feedback)) (super::assets::script(super::assets::Script::Handover))
        },
    );
    with_lang_cookie(l, &q, body)
}

const STYLE: &str = "#cages{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0}#cages button{min-height:3.5rem;font-size:1.3rem}\
#scan{width:100%;font-size:1.6rem;padding:.6rem;box-sizing:border-box}#msg{font-size:1.4rem;min-height:2rem}\
#closecage{min-height:3.5rem;font-size:1.3rem;background:#a32020}#work li{font-family:monospace;font-size:1.2rem}\
#result{font-size:1.3rem;margin:.8rem 0}.cutoff{font-size:1.2rem}#waiting,#returns{margin:.6rem 0;font-size:1.1rem}#returnscan{width:100%;font-size:1.3rem;padding:.5rem;box-sizing:border-box}.err{color:#8a1c1c}[hidden]{display:none!important}";
