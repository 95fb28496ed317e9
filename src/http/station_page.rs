//! A scanning station's page (`/stations/{station}`): its scans as they come, and at a
//! receiving station the receive form, showing exactly the scan it will receive.

use super::pages::{
    lang, page, page_principal_in, printers_table, t, with_lang_cookie, Lang, LangQuery,
    PRINTERS_JS,
};
use super::AppState;
use crate::domain::auth::allow;
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
        Ok(w) => w == "receiving",
        Err(e) => return super::error::ApiError::from(e).into_response(),
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
                script { (maud::PreEscaped(PRINTERS_JS)) }
            }
            script { (maud::PreEscaped(STATION_JS)) }
        },
    );
    with_lang_cookie(l, &q, body)
}

/// Polls the scans API and posts receipts; the CSRF token comes from the page. The form shows
/// exactly the scan it will receive (product, GTIN, lot, expiry); a new product scan replaces it
/// and clears the quantity, and a receipt consumes it (the next one needs a new scan).
const STATION_JS: &str = r#"
const el = document.getElementById('station');
const station = el.dataset.station, csrf = el.dataset.csrf, texts = JSON.parse(el.dataset.texts);
const will = document.getElementById('will'), form = document.getElementById('receive');
const qty = form.querySelector('input[name=quantity]');
let after = 0, shown = null;
const names = {};
async function productName(gtin) {
  if (!(gtin in names)) {
    const r = await fetch('/api/products/' + encodeURIComponent(gtin));
    names[gtin] = r.ok ? (await r.json()).name : '';
  }
  return names[gtin];
}
async function show(s) {
  shown = s;
  qty.value = '';
  if (!s) { will.textContent = texts.no_scan; will.dataset.scan = ''; return; }
  const p = s.parsed || {};
  const name = await productName(p.gtin);
  will.replaceChildren();
  const h = document.createElement('strong'); h.textContent = texts.will + ': ' + (name || p.gtin);
  const d = document.createElement('div');
  d.textContent = 'GTIN ' + p.gtin + ' · ' + texts.lot + ' ' + (p.lot || texts.none) + ' · ' + texts.expiry + ' ' + (p.expiry || texts.none);
  will.append(h, d);
  will.dataset.scan = String(s.id);
  will.classList.remove('flash'); void will.offsetWidth; will.classList.add('flash');
}
async function poll() {
  try {
    const r = await fetch('/api/scans?station=' + encodeURIComponent(station) + '&after=' + after + '&limit=200');
    if (r.ok) {
      for (const s of await r.json()) {
        after = s.id;
        if (s.kind === 'location' && s.parsed) form.querySelector('input[name=location]').value = s.parsed.location;
        else if (s.outcome === 'ok' && s.parsed && s.parsed.gtin) await show(s);
        const tr = document.createElement('tr');
        tr.className = s.outcome === 'ok' ? 'ok' : 'bad';
        const time = new Date(s.at).toLocaleTimeString('da-DK', { timeZone: 'Europe/Copenhagen' });
        for (const v of [time, s.scanner_id, texts.da ? s.message_da : s.message]) {
          const td = document.createElement('td'); td.textContent = v; tr.appendChild(td);
        }
        document.getElementById('scans').prepend(tr);
      }
    }
  } finally { setTimeout(poll, 1000); }
}
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = document.getElementById('result');
  if (!shown) { out.textContent = texts.no_scan; out.className = 'err'; return; }
  const f = new FormData(ev.target);
  const body = { scan_id: shown.id, quantity: Number(f.get('quantity')), location: f.get('location') };
  if (f.get('lot')) body.lot = f.get('lot');
  if (f.get('expiry')) body.expiry = f.get('expiry');
  const r = await fetch('/api/stations/' + encodeURIComponent(station) + '/receive', {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body) });
  const j = await r.json();
  if (r.ok) {
    out.textContent = texts.received + ': ' + j.entries[0].delta + ' · ' + will.querySelector('strong').textContent.replace(texts.will + ': ', '') + ' (' + j.entries[0].location + '). ' + texts.next;
    out.className = 'okmsg';
    form.querySelector('input[name=lot]').value = ''; form.querySelector('input[name=expiry]').value = '';
    await show(null);
  } else {
    out.textContent = j.code === 'scan_not_latest' ? texts.newer : texts.da ? j.message_da : j.message;
    out.className = 'err';
  }
});
poll();
"#;
