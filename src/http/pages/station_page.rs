//! A scanning station's page (`/stations/{station}`): its scans as they come, and at a
//! receiving station the receive form, showing exactly the scan it will receive.

use super::{lang, page, page_principal_in, printers_table, t, with_lang_cookie, Lang, LangQuery};
use crate::domain::auth::allow;
use crate::http::AppState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/stations/{station}", get(station))
}

async fn station(
    State(s): State<AppState>,
    axum::extract::Path(station): axum::extract::Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let l = lang(q.lang.as_deref(), &headers);
    // The page shows the station's scans (`/api/scans`); receiving them is floor work.
    let refusal = (
        "Stationssiden er for lagerets medarbejdere.",
        "The station page is for the warehouse staff.",
    );
    let principal = match page_principal_in(&s, &headers, allow::STOCK_READ, l, refusal).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let role = principal.actor.role;
    let receiving = match crate::service::scans::workflow_of(&s.ctx, &station).await {
        Ok(w) => w == crate::domain::workflow::Workflow::Receiving,
        Err(e) => return crate::http::error::ApiError::from(e).into_response(),
    };
    // The receive form only for those who may receive (`/api/stations/{station}/receive`).
    let receive_form = receiving && allow::STOCK_FLOOR.contains(&role);
    let csrf = principal.csrf.clone().unwrap_or_default();
    let printers: Vec<_> = if allow::PRINTING.contains(&role) {
        crate::service::printing::list_printers(&s.ctx)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.printer.station.as_deref() == Some(station.as_str()))
            .collect()
    } else {
        Vec::new()
    };
    let da = l == Lang::Da;
    let texts = serde_json::json!({
        "da": da, "received": t(l, "received"), "no_scan": t(l, "no_scan"),
        "will": if da { "Modtager" } else { "Will receive" },
        "lot": "Lot", "expiry": if da { "Udløb" } else { "Expiry" },
        "none": if da { "(mangler på stregkoden: skriv det)" } else { "(not on the barcode: type it)" },
        "next": if da { "Scan næste vare." } else { "Scan the next product." },
        "newer": if da { "En nyere scanning er kommet: se hvad der modtages nu, og modtag igen." } else { "A newer scan came in: check what will be received now, and receive again." },
    })
    .to_string();
    let body = page(
        l,
        s.ctx.demo.loaded(),
        html! {
            h1 { (t(l, "station")) " " (station) }
            div #station data-station=(station) data-csrf=(csrf) data-texts=(texts) {
                @if !receiving { p { (t(l, "lookup_mode")) } }
                h2 hidden[!receive_form] { (t(l, "receive")) }
                div #will.will hidden[!receive_form] role="status" aria-live="polite" { (t(l, "no_scan")) }
                form #receive hidden[!receive_form] {
                    label { (t(l, "quantity")) input name="quantity" type="number" min="1" required; }
                    label { (t(l, "location")) input name="location" required; }
                    label { (t(l, "lot_if_missing")) input name="lot"; }
                    label { (t(l, "expiry_if_missing")) input name="expiry"; }
                    button type="submit" { (t(l, "receive")) }
                }
                p #result role="status" {}
                h2 { (t(l, "scans")) }
                table { thead { tr { th { (t(l, "time")) } th { (t(l, "scanner")) } th { (t(l, "verdict")) } } } tbody #scans {} }
            }
            @if !printers.is_empty() {
                h2 { (t(l, "printers")) }
                (printers_table(l, &printers))
                (super::assets::script(super::assets::Script::Printers))
            }
            (super::assets::script(super::assets::Script::Station))
        },
    );
    with_lang_cookie(l, &q, body)
}
