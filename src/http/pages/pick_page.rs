//! The picker's page: the waves to take (with the station for a serial scanner), and the
//! picking screen that shows the next pick and takes scans, kept in the browser while offline.

use super::{lang, page, page_principal_in, t, with_lang_cookie, Lang, LangQuery};
use crate::domain::auth::allow;
use crate::http::AppState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::html;
use serde::Deserialize;

/// The picker's pages.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/pick", get(pick_page))
}

#[derive(Deserialize)]
struct PickQuery {
    lang: Option<String>,
    wave: Option<i64>,
}

/// The picker's page, mobile first: the waves to take, then the next pick in large type with a
/// scan field that a keyboard-wedge handheld types into. Scans are posted without a page reload;
/// good and bad scans flash green or red with a sound; scans made while the connection is lost
/// are kept in the browser (with their scan ids) and sent when it is back, so none is lost or
/// counted twice.
async fn pick_page(
    State(s): State<AppState>,
    Query(q): Query<PickQuery>,
    headers: HeaderMap,
) -> Response {
    let lq = LangQuery {
        lang: q.lang.clone(),
    };
    let l = lang(q.lang.as_deref(), &headers);
    // The page lists waves and picks them: the picking group, not everyone who may read waves.
    let refusal = (
        "Plukkesiden er for plukkere og ledere.",
        "The picking page is for pickers and leads.",
    );
    let principal = match page_principal_in(&s, &headers, allow::PICKING, l, refusal).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let csrf = principal.csrf.clone().unwrap_or_default();
    let body = match q.wave {
        None => {
            let waves = match crate::service::picking::waves(&s.ctx, true).await {
                Ok(w) => w,
                Err(e) => return crate::http::error::ApiError::from(e).into_response(),
            };
            let mine: Vec<_> = waves
                .into_iter()
                .filter(|w| w.picker.as_deref().is_none_or(|p| p == principal.username))
                .collect();
            page(
                l,
                s.ctx.demo.loaded(),
                html! {
                    h1 { (t(l, "waves")) }
                    @if mine.is_empty() { p #nowaves { (t(l, "no_waves")) } }
                    label.station {
                        (t(l, "station_opt"))
                        input #station name="station" autocomplete="off";
                    }
                    div #waves data-csrf=(csrf) {
                        @for w in &mine {
                            form.take method="post" data-wave=(w.id) {
                                button type="submit" { (t(l, "take")) " #" (w.id) " (" (w.status) ")" }
                            }
                        }
                    }
                    (super::assets::script(super::assets::Script::Take))
                },
            )
        }
        Some(wave) => {
            let texts = serde_json::json!({
                "da": l == Lang::Da, "tote": t(l, "tote"), "lot": t(l, "lot"),
                "picks": if l == Lang::Da { "Pluk" } else { "Picks" }, "packs": if l == Lang::Da { "Pakninger" } else { "Packs" }, "done": if l == Lang::Da { "Runden er færdig. Godt gået!" } else { "The wave is done. Well done!" },
                "offline": if l == Lang::Da { "Ingen forbindelse: scanningen er gemt og sendes senere" } else { "No connection: the scan is kept and sent later" },
                "location_first": if l == Lang::Da { "Scan lokationen" } else { "Scan the location" },
                "short_confirm": if l == Lang::Da { "Meld resten af dette pluk som manglende?" } else { "Report the rest of this pick as short?" },
                "tote_first": if l == Lang::Da { "scan kassen {tote} først (ordrens første pakning)" } else { "scan the tote {tote} first (the order's first pack)" },
                "short_done": if l == Lang::Da { "Meldt manglende: placeringen skal tælles." } else { "Reported short: the location is to be counted." },
            })
            .to_string();
            page(
                l,
                s.ctx.demo.loaded(),
                html! {
                    div #pick data-wave=(wave) data-csrf=(csrf) data-texts=(texts) {
                        p #progress {}
                        div #card {
                            div #loc {}
                            div #prod {}
                            div #detail {}
                        }
                        form #scanform autocomplete="off" {
                            input #scan name="scan" autofocus placeholder=(t(l, "scan_here")) inputmode="none";
                            input #qty name="qty" type="number" min="1" value="1" aria-label=(t(l, "quantity"));
                            // A phone without a scanner: the keyboard on demand (the field keeps
                            // it off by default, so a scanner's input is not covered by it).
                            button #kbd type="button" aria-pressed="false" title=(if l == Lang::Da { "Vis tastatur" } else { "Show keyboard" }) { "⌨" }
                        }
                        p #msg role="status" {}
                        div.buttons {
                            button #undo type="button" { (t(l, "undo")) }
                            button #short type="button" { (t(l, "short")) }
                        }
                    }
                    (super::assets::script(super::assets::Script::Feedback)) (super::assets::script(super::assets::Script::Pick))
                },
            )
        }
    };
    with_lang_cookie(l, &lq, body)
}
