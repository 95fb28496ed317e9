//! The lead's carrier page (`/carriers`): each carrier with its cut-off and how many parcels wait,
//! the bookings a carrier rejected (sent again from here, perhaps with another carrier or
//! service), the parcels still waiting for a booking, and the parcels whose journey went wrong
//! (marked as dealt with from here). Danish by default; no personal data beyond order numbers.

use super::{lang, page, page_principal_in, with_lang_cookie, Lang, LangQuery};
use crate::domain::tracking::Tracking;
use crate::http::AppState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use maud::html;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/carriers", get(carriers))
}

fn short_time(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| {
            t.with_timezone(&chrono_tz::Europe::Copenhagen)
                .format("%d.%m %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| at.chars().take(16).collect())
}

/// A booking's last error as the page shows it. In Danish the failure class (the stored text's
/// first word) is said in words; the carrier's own text follows in quotes, as konsign cannot
/// translate what a carrier answers.
fn last_error(l: Lang, stored: Option<&str>) -> String {
    let stored = stored.unwrap_or("");
    if l == Lang::En || stored.is_empty() {
        return stored.to_string();
    }
    let (class, said) = stored.split_once(": ").unwrap_or((stored, ""));
    let class = match class {
        "transient" => "Transportøren kunne ikke nås; der prøves igen",
        "ambiguous" => "Intet svar i tide: det er uvist, om pakken blev booket; der tjekkes igen",
        "rejected" => "Transportøren afviste bookingen",
        "unauthorized" => "Transportøren afviste konsigns adgang (nøgle eller adgangskode)",
        "partial" => "Transportørens svar manglede denne pakke",
        _ => return format!("Transportøren svarede: «{stored}»"),
    };
    if said.is_empty() {
        format!("{class}.")
    } else {
        format!("{class}. Transportørens svar: «{said}»")
    }
}

async fn carriers(
    State(s): State<AppState>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let l = lang(q.lang.as_deref(), &headers);
    let refusal = ("Siden er for ledere.", "A lead's page.");
    let principal =
        match page_principal_in(&s, &headers, crate::domain::auth::allow::LEAD, l, refusal).await {
            Ok(p) => p,
            Err(r) => return r,
        };
    let ctx = &s.ctx;
    // Each state asked for by itself: the newest bookings of all states would be booked ones
    // on any busy day, and the rejected ones older than them would not show.
    let of = |state| crate::service::bookings::list(ctx, Some(state));
    let (rejected, pending) = tokio::join!(of("rejected"), of("pending"));
    let (rejected, pending) = (rejected.unwrap_or_default(), pending.unwrap_or_default());
    let exceptions = crate::service::tracking::exceptions(ctx)
        .await
        .unwrap_or_default();
    let ids: Vec<String> = ctx.carriers.ids().map(String::from).collect();
    let used = ctx.config.carrier.carriers();
    let csrf = principal.csrf.clone().unwrap_or_default();
    let da = l == Lang::Da;
    let tr = |d: &'static str, e: &'static str| if da { d } else { e };
    let body = page(
        l,
        s.ctx.demo.loaded(),
        html! {
            style { (STYLE) }
            div #carrierpage data-csrf=(csrf) data-da=(da) {
                h1 { (tr("Transportører", "Carriers")) }
                table #carriers {
                    thead { tr {
                        th { (tr("Transportør", "Carrier")) } th { (tr("Sidste overlevering", "Cut-off")) }
                        th { (tr("Venter på booking", "Waiting for booking")) } th { (tr("Afvist", "Rejected")) }
                    } }
                    tbody { @for id in ids.iter().filter(|i| used.contains(i)) { tr {
                        td { (id) }
                        td { (ctx.config.carrier.cutoff.get(id).map_or("–", String::as_str)) }
                        td { (pending.iter().filter(|b| &b.carrier == id).count()) }
                        td { (rejected.iter().filter(|b| &b.carrier == id).count()) }
                    } } }
                }
                h2 #rejected { (tr("Afviste bookinger", "Rejected bookings")) " (" (rejected.len()) ")" }
                @if rejected.is_empty() { p.none { (tr("Ingen afviste bookinger.", "No rejected bookings.")) } }
                @for b in &rejected {
                    div.rejected data-booking=(b.id) {
                        p { strong { (b.sscc.as_deref().unwrap_or("–")) } " · " (tr("ordre", "order")) " " (b.order_ref) " · " (b.carrier) " " (b.service) }
                        p.err { (last_error(l, b.last_error.as_deref())) }
                        form.resend {
                            label { (tr("Transportør", "Carrier")) " "
                                select name="carrier" { @for id in &ids { option value=(id) selected[*id == b.carrier] { (id) } } } }
                            label { (tr("Service", "Service")) " " input name="service" value=(b.service) size="6" maxlength="10"; }
                            label { (tr("Note", "Note")) " " input name="note" size="30" maxlength="500"; }
                            button type="submit" { (tr("Send igen", "Send again")) }
                        }
                    }
                }
                h2 { (tr("Venter på booking", "Waiting for booking")) " (" (pending.len()) ")" }
                @if pending.is_empty() { p.none { (tr("Alle pakker er booket.", "Every parcel is booked.")) } }
                @else { table #pending {
                    thead { tr { th { "SSCC" } th { (tr("Ordre", "Order")) } th { (tr("Transportør", "Carrier")) }
                        th { (tr("Forsøg", "Attempts")) } th { (tr("Næste forsøg", "Next attempt")) } th { (tr("Sidste fejl", "Last error")) } } }
                    tbody { @for b in &pending { tr {
                        td { (b.sscc.as_deref().unwrap_or("–")) } td { (b.order_ref) } td { (b.carrier) }
                        td { (b.attempts) } td { (short_time(&b.next_attempt_at)) } td.err { (last_error(l, b.last_error.as_deref())) }
                    } } }
                } }
                h2 #delivery { (tr("Afvigelser i leveringen", "Delivery exceptions")) " (" (exceptions.len()) ")" }
                @if exceptions.is_empty() { p.none { (tr("Ingen afvigelser.", "No exceptions.")) } }
                @for x in &exceptions {
                    div.exception data-booking=(x.booking_id) {
                        p { strong { (x.sscc.as_deref().unwrap_or("–")) } " · " (tr("ordre", "order")) " " (x.order) " · " (x.carrier)
                            " · " span.status { (Tracking::from_db(&x.tracking_status).map_or(x.tracking_status.as_str(), |t| if da { t.danish() } else { t.as_str() })) } }
                        p { (x.last_text.as_deref().unwrap_or("")) " " (x.last_at.as_deref().map(short_time).unwrap_or_default()) }
                        button.ack type="button" { (tr("Håndteret", "Dealt with")) }
                    }
                }
                p #msg role="status" {}
            }
            (super::assets::script(super::assets::Script::Carrier))
        },
    );
    with_lang_cookie(l, &q, body)
}

const STYLE: &str = "table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{padding:.3rem .7rem;text-align:left;border-bottom:1px solid #ccc}\
.rejected,.exception{border:2px solid #a32020;border-radius:.4rem;padding:.5rem .8rem;margin:.6rem 0;max-width:60rem}\
.exception{border-color:#b56b00}.err{color:#8a1c1c}.resend label{margin-right:.8rem}.resend button,.ack{min-height:2.6rem;font-size:1.1rem}\
.none{color:#2d6a2d}#msg{font-size:1.2rem;min-height:1.6rem}\
.resend input{max-width:100%;box-sizing:border-box}@media (max-width:30rem){table{font-size:.9rem}td,th{padding:.3rem .3rem}}";
