//! The packer's page at a pack station, for a touch screen with a keyboard-wedge scanner (or a
//! serial scanner bound to the station, whose scans it follows): scan the tote, see the
//! recipient and what goes into the parcel, scan every pack and cut box, choose the box, close
//! it (or split), report a damaged pack, and reprint or void a closed parcel. Danish by default.

use super::pages::{lang, page, page_principal_in, with_lang_cookie, Lang, LangQuery};
use super::AppState;
use crate::domain::auth::allow;
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
            script { (maud::PreEscaped(super::pages::FEEDBACK_JS)) (maud::PreEscaped(PACK_JS)) }
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

/// Posts scans with idempotent scan ids, renders the station's view, and polls it every two
/// seconds so scans from a serial scanner at the station show too.
const PACK_JS: &str = r#"
const el = document.getElementById('pack');
const station = el.dataset.station, csrf = el.dataset.csrf, T = JSON.parse(el.dataset.texts);
const $ = (id) => document.getElementById(id);
const input = $('scan'), qty = $('qty'), msg = $('msg');
let view = null, recipientFor = null, epoch = 0;
async function api(method, path, body) {
  const r = await fetch(path, { method, headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 204) return null;
  const j = await r.json();
  if (!r.ok) throw Object.assign(new Error((T.da ? j.message_da : j.message) || 'error'), { status: r.status, code: j.code });
  return j;
}
const base = '/api/pack-stations/' + encodeURIComponent(station);
function cell(tr, text, cls) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td; }
function render(v) {
  view = v;
  const body = $('contents').tBodies[0]; body.innerHTML = '';
  $('missing').innerHTML = ''; $('parcels').tBodies[0].innerHTML = '';
  if (!v) {
    $('orderline').textContent = ''; $('recipient').textContent = T.scan_tote; $('orderinfo').textContent = '';
    el.dataset.order = ''; recipientFor = null;
    for (const bar of document.querySelectorAll('.closebar')) bar.hidden = true;
    return;
  }
  el.dataset.order = v.external_id; el.dataset.complete = v.complete ? 'yes' : 'no'; el.dataset.status = v.status;
  for (const bar of document.querySelectorAll('.closebar')) bar.hidden = v.status !== 'picked';
  $('orderline').textContent = T.order + ' ' + v.external_id + ' · ' + (T.status[v.status] || v.status);
  $('orderinfo').textContent = T.tote + ' ' + (v.tote || '-');
  if (recipientFor !== v.order_id) loadRecipient();
  for (const l of v.lots) {
    const need = l.in_tote - l.in_cut_boxes;
    if (need <= 0) continue;
    const tr = document.createElement('tr');
    tr.className = l.blocked ? 'blocked' : (l.verified >= need ? 'done' : '');
    cell(tr, l.product_name + (l.blocked ? ' · ' + T.blocked + ': ' + l.blocked : ''));
    cell(tr, l.lot, 'nw'); cell(tr, l.expiry, 'nw'); cell(tr, l.verified + ' / ' + need, 'count');
    body.appendChild(tr);
  }
  for (const b of v.cut_boxes) {
    if (b.packed) continue;
    const tr = document.createElement('tr');
    tr.className = b.verified ? 'done' : '';
    tr.dataset.job = b.job_id;
    cell(tr, '✂ ' + T.cut_box + ' ' + b.job_id + ' · ' + b.cut_spec + ' · ' + b.product_name);
    cell(tr, b.lot, 'nw'); cell(tr, b.expiry, 'nw'); cell(tr, (b.verified ? b.quantity : 0) + ' / ' + b.quantity, 'count');
    body.appendChild(tr);
  }
  for (const m of v.missing) { const li = document.createElement('li'); li.textContent = T.missing + ': ' + (T.da ? m.what_da : m.what); $('missing').appendChild(li); }
  if (v.complete) { const li = document.createElement('li'); li.className = 'okmsg'; li.textContent = T.complete; $('missing').appendChild(li); }
  if (v.status === 'packed') { const li = document.createElement('li'); li.className = 'okmsg'; li.textContent = T.packed_next; $('missing').appendChild(li); }
  const ptype = $('ptype');
  if (!ptype.options.length) for (const p of v.parcel_types) {
    const o = document.createElement('option'); o.value = p.name;
    o.textContent = p.name + ' (' + p.length_mm + '×' + p.width_mm + '×' + p.height_mm + ' mm, ≤ ' + (p.max_weight_g / 1000) + ' kg)';
    ptype.appendChild(o);
  }
  $('weight').placeholder = v.estimated_weight_g ? v.estimated_weight_g + ' (' + T.weight_est + ')' : '';
  const sl = $('shortlot'); const keep = sl.value; sl.innerHTML = '';
  for (const l of v.lots) if (l.in_tote - l.in_cut_boxes - l.verified > 0) {
    const o = document.createElement('option'); o.value = l.gtin + '|' + l.lot; o.textContent = l.product_name + ' · ' + l.lot; sl.appendChild(o);
  }
  if (keep) sl.value = keep;
  for (const p of v.parcels) {
    const tr = document.createElement('tr'); tr.className = p.state; tr.dataset.parcel = p.id;
    const info = cell(tr, '');
    const code = document.createElement('div'); code.className = 'sscc'; code.textContent = p.sscc || '-'; info.appendChild(code);
    const sub = document.createElement('div');
    sub.textContent = (p.parcels_total ? p.seq + '/' + p.parcels_total : T.label_waits) + ' · ' + p.parcel_type + ' · ' + p.weight_g + ' g · ' + (T.state[p.state] || p.state);
    info.appendChild(sub);
    const td = cell(tr, '', 'acts');
    if (p.state === 'closed') {
      if (p.label_job) { const b = document.createElement('button'); b.textContent = T.reprint; b.className = 'reprint'; b.onclick = () => act('/api/parcels/' + p.id + '/reprint', { document: 'label' }); td.appendChild(b); }
      if (p.slip_job) { const b = document.createElement('button'); b.textContent = T.reprint_slip; b.className = 'reprintslip'; b.onclick = () => act('/api/parcels/' + p.id + '/reprint', { document: 'slip' }); td.appendChild(b); }
      const a = document.createElement('a'); a.href = '/api/parcels/' + p.id + '/packing-slip.pdf'; a.target = '_blank'; a.textContent = T.slip; td.appendChild(a);
      const vb = document.createElement('button'); vb.textContent = T.void; vb.className = 'void bad';
      vb.onclick = () => { const reason = prompt(T.void_ask); if (reason) act('/api/parcels/' + p.id + '/void', { reason }); };
      td.appendChild(vb);
    }
    $('parcels').tBodies[0].appendChild(tr);
  }
}
async function loadRecipient() {
  if (!view) return;
  recipientFor = view.order_id;
  try {
    const v = await api('GET', base + '?with_recipient=true');
    if (v && v.recipient) $('recipient').textContent = v.recipient.name + ', ' + v.recipient.postcode;
  } catch (e) {}
}
async function act(path, body) {
  try { await api('POST', path, body); epoch++; await load(); flash(true, '✓'); }
  catch (e) { flash(false, e.status ? e.message : T.offline); }
  input.focus();
}
input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); submitScan(); } });
$('scanform').addEventListener('submit', (ev) => { ev.preventDefault(); submitScan(); });
async function submitScan() {
  const data = input.value; input.value = '';
  if (!data.trim()) return;
  const quantity = Number(qty.value) || 1; qty.value = 1;
  const scan_id = Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10);
  try {
    const r = await api('POST', base + '/scan', { scan_id, data, quantity });
    epoch++;
    flash(r.accepted, T.da ? r.message_da : r.message);
    if (r.view) render(r.view);
  } catch (e) { flash(false, e.status ? e.message : T.offline); }
  input.focus();
}
async function closeParcel(more) {
  const body = { request_key: 'close-' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8), parcel_type: $('ptype').value, more };
  const w = Number($('weight').value); if (w) body.weight_g = w;
  try {
    const p = await api('POST', base + '/close', body);
    $('weight').value = '';
    epoch++;
    flash(true, T.closed + ': SSCC ' + p.sscc + (p.print_error ? ' · ' + (T.da ? p.print_error_da : p.print_error) : ''));
    await load();
  } catch (e) { flash(false, e.status ? e.message : T.offline); }
  input.focus();
}
$('close').addEventListener('click', () => closeParcel(false));
$('closemore').addEventListener('click', () => closeParcel(true));
$('short').addEventListener('click', async () => {
  const v = $('shortlot').value; if (!v) return;
  const reason = prompt(T.short_ask); if (!reason) return;
  const [gtin, lot] = v.split('|');
  try { render(await api('POST', base + '/short', { request_key: 's-' + Date.now().toString(36), gtin, lot, reason })); flash(true, '!'); }
  catch (e) { flash(false, e.status ? e.message : T.offline); }
  input.focus();
});
$('leave').addEventListener('click', async () => { await act(base + '/leave'); recipientFor = null; });
document.addEventListener('click', (ev) => { if (!['BUTTON', 'SELECT', 'INPUT', 'A', 'OPTION'].includes(ev.target.tagName)) input.focus(); });
async function load() {
  const seen = epoch;
  try { const v = await api('GET', base); if (seen === epoch) render(v); } catch (e) {}
}
setInterval(load, 2000);
load();
"#;
