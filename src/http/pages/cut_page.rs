//! The hulklip operator's page at a cutting station.

use super::{lang, page, page_principal_in, with_lang_cookie, Lang, LangQuery};
use crate::domain::auth::allow;
use crate::http::AppState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use maud::html;

/// The cutting station's page.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/cut/{station}", get(cut_station))
}

/// The hulklip operator's page at a cutting station, for a touch screen: the station's state,
/// the current job in large type (the cut, the quantity, the plate and its lot) with buttons,
/// and the queue. At a station linked to its machine the machine reports each job's outcome:
/// the operator can start a job (the machine is told) or report a problem (the job is taken
/// back, or the machine is asked for its state). At a manual station the operator confirms a
/// job done or reports a fault. It follows the jobs live (polls every second) without a reload.
async fn cut_station(
    State(s): State<AppState>,
    axum::extract::Path(station): axum::extract::Path<String>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let l = lang(q.lang.as_deref(), &headers);
    let refusal = (
        "Hulklipsiden er for hulklipoperatører og ledere.",
        "Only hulklip operators and leads use this page.",
    );
    let principal = match page_principal_in(&s, &headers, allow::CUTTING, l, refusal).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let csrf = principal.csrf.clone().unwrap_or_default();
    let da = l == Lang::Da;
    let texts = serde_json::json!({
        "online": if da { "forbundet" } else { "online" },
        "offline": if da { "ikke forbundet" } else { "not connected" },
        "broken": if da { "forbindelsen er tabt" } else { "connection lost" },
        "unknown": if da { "ukendt" } else { "unknown" },
        "none": if da { "Ingen opgave lige nu." } else { "No job right now." },
        "plates": if da { "plader" } else { "plates" },
        "plate": if da { "plade" } else { "plate" },
        "lot": "Lot",
        "ask_reason": if da { "Hvad gik galt?" } else { "What went wrong?" },
        "ask_problem": if da { "Hvad er problemet? (jobbet tages tilbage, hvis det ikke er startet)" } else { "What is the problem? (the job is taken back if it has not started)" },
        "machine_reports": if da { "Maskinen melder selv, når jobbet er færdigt eller fejler." } else { "The machine reports when the job is finished or fails." },
        "start_asked": if da { "Maskinen er bedt om at starte jobbet." } else { "The machine was asked to start the job." },
        "ask_damaged": if da { "Hvor mange plader er ødelagt? (de bliver kasseret og plukket igen)" } else { "How many plates are ruined? (they are scrapped and picked again)" },
        "states": if da {
            serde_json::json!({"queued":"i kø","sent":"sendt","accepted":"modtaget","running":"i gang","recalling":"tages tilbage","finished":"færdig","failed":"fejl","cancelled":"annulleret"})
        } else {
            serde_json::json!({"queued":"queued","sent":"sent","accepted":"accepted","running":"running","recalling":"being taken back","finished":"finished","failed":"failed","cancelled":"cancelled"})
        },
    })
    .to_string();
    let body = page(
        l,
        s.ctx.demo.loaded(),
        html! {
            div #cut data-station=(station) data-csrf=(csrf) data-texts=(texts) {
                h1 { "Hulklip " (station) " " span #conn.badge { "…" } }
                div #current.current {
                    p #spec.spec { "…" }
                    p #what.what {}
                    div.actions {
                        button #start.big type="button" { "Start" }
                        button #done.big.ok type="button" { (if da { "Færdig" } else { "Done" }) }
                        button #fault.big.bad type="button" { (if da { "Fejl" } else { "Fault" }) }
                        button #problem.big.bad type="button" hidden { (if da { "Meld et problem" } else { "Report a problem" }) }
                        button #reprint.big type="button" { (if da { "Udskriv etiket igen" } else { "Print sticker again" }) }
                    }
                    p #how.how {}
                    p #msg role="status" {}
                }
                h2 { (if da { "Kø" } else { "Queue" }) }
                ol #queue {}
            }
            (super::assets::script(super::assets::Script::Cut))
        },
    );
    with_lang_cookie(l, &q, body)
}
