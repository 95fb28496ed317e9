//! The picker's page: the waves to take (with the station for a serial scanner), and the
//! picking screen that shows the next pick and takes scans, kept in the browser while offline.

use super::pages::{
    lang, page, page_principal_in, t, with_lang_cookie, Lang, LangQuery, FEEDBACK_JS,
};
use super::AppState;
use crate::domain::auth::allow;
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
                Err(e) => return super::error::ApiError::from(e).into_response(),
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
                    script { (maud::PreEscaped(TAKE_JS)) }
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
                    script { (maud::PreEscaped(FEEDBACK_JS)) (maud::PreEscaped(PICK_JS)) }
                },
            )
        }
    };
    with_lang_cookie(l, &lq, body)
}

const TAKE_JS: &str = r#"
const box = document.getElementById('waves');
const stationInput = document.getElementById('station');
stationInput.value = localStorage.getItem('konsign-station') || '';
for (const f of document.querySelectorAll('form.take')) {
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = f.dataset.wave;
    const station = stationInput.value.trim();
    localStorage.setItem('konsign-station', station);
    const r = await fetch('/api/waves/' + id + '/take', { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': box.dataset.csrf },
      body: JSON.stringify(station ? { station } : {}) });
    if (r.ok) location.href = '/pick?wave=' + id;
    else { const j = await r.json(); alert(document.documentElement.lang === 'da' ? j.message_da : j.message); }
  });
}
"#;

/// The picking screen's script: renders the next pick, posts scans (idempotent scan ids), keeps
/// scans made offline in localStorage and sends them in order when the connection is back.
const PICK_JS: &str = r#"
const el = document.getElementById('pick');
const wave = el.dataset.wave, csrf = el.dataset.csrf, T = JSON.parse(el.dataset.texts);
const input = document.getElementById('scan'), qty = document.getElementById('qty'), msg = document.getElementById('msg');
const KEY = 'konsign-pending-' + wave;
let current = null, sending = false, lastConfirmed = null;
const pending = () => JSON.parse(localStorage.getItem(KEY) || '[]');
const setPending = (p) => localStorage.setItem(KEY, JSON.stringify(p));
function render(next) {
  current = next.pick;
  const p = next.progress;
  document.getElementById('progress').textContent = T.picks + ' ' + (p.done + p.short) + ' / ' + p.picks + ' · ' + T.packs + ' ' + p.packs_picked + ' / ' + p.packs;
  const loc = document.getElementById('loc'), prod = document.getElementById('prod'), det = document.getElementById('detail');
  if (!current) { loc.textContent = '✓'; prod.textContent = T.done; det.textContent = ''; el.dataset.state = 'done'; return; }
  el.dataset.state = current.location_ok || !next.require_location_scan ? (current.tote_ok || !next.require_tote_scan ? 'product' : 'tote') : 'location';
  loc.textContent = current.location;
  prod.textContent = current.product_name;
  det.textContent = (current.quantity - current.picked) + ' stk · ' + T.lot + ' ' + current.lot + ' · ' + T.tote + ' ' + current.tote
    + (el.dataset.state === 'location' ? ' · ' + T.location_first : '')
    + (el.dataset.state === 'tote' ? ' · ' + T.tote_first.replace('{tote}', current.tote) : '');
}
async function api(method, path, body) {
  const r = await fetch(path, { method, headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) throw Object.assign(new Error((T.da ? j.message_da : j.message) || 'error'), { status: r.status });
  return j;
}
async function flush() {
  if (sending) return;
  sending = true;
  try {
    let p = pending();
    while (p.length) {
      let res;
      const sent = p[0];
      try { res = await api('POST', '/api/waves/' + wave + '/scan', sent); }
      catch (e) {
        // A refusal of the request itself (4xx) will not change on a retry; a server or
        // network failure might, so the scan stays queued.
        if (e.status && e.status < 500) { p.shift(); setPending(p); flash(false, e.message); continue; }
        el.dataset.online = 'no'; return;
      }
      el.dataset.online = 'yes';
      p.shift(); setPending(p);
      epoch++;
      if (res.code === 'confirmed') lastConfirmed = sent.scan_id;
      flash(res.accepted, T.da ? res.message_da : res.message);
      render(res.next);
    }
  } finally { sending = false; }
}
// A form with two fields and no button is not submitted by Enter, so Enter (the wedge
// scanner's suffix) is caught on the scan field itself.
input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); submitScan(); } });
document.getElementById('scanform').addEventListener('submit', (ev) => { ev.preventDefault(); submitScan(); });
function submitScan() {
  const data = input.value; input.value = '';
  if (!data.trim()) return;
  const q = Number(qty.value) || 1; qty.value = 1;
  const p = pending();
  p.push({ scan_id: Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10), data, quantity: q });
  setPending(p);
  flush().then(() => { if (pending().length) msg.textContent = T.offline; });
  input.focus();
}
// The undo names the last confirmed scan, so a double tap or a retry undoes it once.
const undoButton = document.getElementById('undo');
undoButton.addEventListener('click', async () => {
  undoButton.disabled = true;
  try {
    epoch++;
    render(await api('POST', '/api/waves/' + wave + '/undo', lastConfirmed ? { scan_id: lastConfirmed } : {}));
    lastConfirmed = null;
    flash(true, '↶');
  } catch (e) { flash(false, e.message); }
  undoButton.disabled = false;
  input.focus();
});
document.getElementById('kbd').addEventListener('click', () => {
  const f = document.getElementById('scan'), b = document.getElementById('kbd');
  const on = f.getAttribute('inputmode') === 'none';
  f.setAttribute('inputmode', on ? 'text' : 'none');
  b.setAttribute('aria-pressed', on ? 'true' : 'false');
  f.blur(); f.focus();
});
document.getElementById('short').addEventListener('click', async () => {
  if (!current || !confirm(T.short_confirm)) return;
  try { epoch++; render(await api('POST', '/api/waves/' + wave + '/short', { pick_id: current.id })); flash('warn', T.short_done); } catch (e) { flash(false, e.message); }
  input.focus();
});
document.addEventListener('click', (ev) => { if (ev.target.tagName !== 'BUTTON' && ev.target !== qty) input.focus(); });
let epoch = 0; // bumped by every answer to a scan, so that an older poll never wins
async function load() {
  const seen = epoch;
  try {
    const next = await api('GET', '/api/waves/' + wave + '/next');
    if (seen === epoch) render(next);
    el.dataset.online = 'yes';
  } catch (e) { el.dataset.online = 'no'; }
  await flush();
}
window.addEventListener('online', flush);
// Scans from a station's serial scanner arrive on the server, not in this page: refresh the
// pick every two seconds while nothing is waiting to be sent.
setInterval(() => { if (pending().length) flush(); else if (!sending) load(); }, 2000);
load();
"#;
