//! The stock work page for the floor (`/stock`): search the stock (by product, GTIN, lot or
//! location, with expiring and quarantined stock), put away and move by scanning the pack and
//! then the target location, and (leads) count a location blind and book the differences. Every
//! action goes through the ledgered stock API; scans are read by `GET /api/stock/lookup`.

use super::pages::{lang, page, page_principal_in, with_lang_cookie, Lang, LangQuery};
use super::AppState;
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
            script { (maud::PreEscaped(STOCK_JS)) }
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

/// Tabs, search (filtering the stock list as one types), put-away (pack, then location) and the
/// blind count (counted first, the system's quantities after).
const STOCK_JS: &str = r#"
const root = document.getElementById('stock');
const csrf = root.dataset.csrf, T = JSON.parse(root.dataset.texts);
const $ = (id) => document.getElementById(id);
const key = () => 'ui-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2);
async function api(method, path, body) {
  const r = await fetch(path, { method, headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: body ? JSON.stringify(body) : undefined });
  const j = await r.json().catch(() => ({}));
  return { ok: r.ok, status: r.status, body: j };
}
const lookup = (code) => api('GET', '/api/stock/lookup?code=' + encodeURIComponent(code));
function cell(tr, text) { const td = document.createElement('td'); td.textContent = text; tr.appendChild(td); return td; }
function reasonText(r) {
  for (const [en, da] of T.reasons) if (r.startsWith(en)) return da + r.slice(en.length);
  return r;
}
function statusText(u) {
  if (u.status !== 'available') return T.quarantine + (u.quarantine_reason ? ' (' + reasonText(u.quarantine_reason) + ')' : '');
  if (u.freshness === 'expired') return T.expired;
  if (u.freshness === 'short_dated') return T.short;
  if (u.location_kind === 'receiving') return T.to_put_away;
  return u.available ? T.available : T.not_pickable;
}
// Tabs.
function show(tab) {
  for (const p of document.querySelectorAll('.pane')) p.hidden = p.id !== tab;
  for (const b of document.querySelectorAll('nav.tabs button')) b.classList.toggle('on', b.dataset.tab === tab);
  const focus = { putaway: 'pa_scan', count: 'ct_scan', search: 'q' }[tab];
  if ($(focus)) $(focus).focus();
  history.replaceState(null, '', '#' + tab);
}
for (const b of document.querySelectorAll('nav.tabs button')) b.onclick = () => show(b.dataset.tab);
// Search.
let all = [];
async function loadUnits() {
  const r = await api('GET', '/api/stock/units');
  if (r.ok) { all = r.body; render(); }
}
function render() {
  const q = $('q').value.trim().toLowerCase(), only = $('onlyexp').checked;
  const body = $('units').querySelector('tbody'); body.replaceChildren();
  const rows = all.filter((u) => (!q || [u.product_name, u.gtin, u.lot, u.location].some((v) => String(v).toLowerCase().includes(q)))
    && (!only || u.status !== 'available' || u.freshness !== 'ok'));
  for (const u of rows.slice(0, 300)) {
    const tr = document.createElement('tr');
    tr.className = u.status !== 'available' || u.freshness === 'expired' ? 'bad' : '';
    const p = cell(tr, u.product_name); const g = document.createElement('small'); g.textContent = ' ' + u.gtin + ' · ' + statusText(u); p.append(document.createElement('br'), g);
    cell(tr, u.lot + ' · ' + u.expiry); cell(tr, u.location);
    cell(tr, u.quantity + (u.reserved ? ' (' + (u.quantity - u.reserved) + ' ' + T.free + ')' : ''));
    body.appendChild(tr);
  }
  if (!rows.length) { const tr = document.createElement('tr'); cell(tr, T.none); body.appendChild(tr); }
}
$('q').oninput = render; $('onlyexp').onchange = render;
// Put away / move: the pack, then the location.
let pa = { unit: null, target: null, suggested: null };
function paReset(msg) {
  pa = { unit: null, target: null, suggested: null };
  $('pa_step').textContent = T.scan_pack; $('pa_card').hidden = true; $('pa_confirm').hidden = true;
  if (msg !== undefined) $('pa_msg').textContent = msg;
}
function paCard() {
  const u = pa.unit, c = $('pa_card'); c.hidden = false; c.replaceChildren();
  const h = document.createElement('strong'); h.textContent = u.product_name;
  const d = document.createElement('div');
  d.textContent = T.lot + ' ' + u.lot + ' · ' + T.expiry + ' ' + u.expiry + ' · ' + T.from + ' ' + u.location + ' · ' + (u.quantity - u.reserved) + ' ' + T.free;
  c.append(h, d);
  if (pa.target) { const t = document.createElement('div'); t.textContent = '→ ' + pa.target; t.className = 'step'; c.append(t); }
}
function paChoose(unit) {
  pa.unit = unit; paCard();
  $('pa_step').textContent = T.scan_target + (pa.suggested ? ' (' + T.suggested + ': ' + pa.suggested + ')' : '');
  $('pa_msg').textContent = '';
}
$('pa_form').onsubmit = async (ev) => {
  ev.preventDefault();
  const code = $('pa_scan').value; $('pa_scan').value = '';
  if (!code.trim()) return;
  const r = await lookup(code);
  if (!r.ok) { $('pa_msg').textContent = (T.da ? r.body.message_da : r.body.message) || r.status; $('pa_msg').className = 'err'; return; }
  $('pa_msg').className = '';
  const l = r.body;
  if (!pa.unit) {
    if (l.kind !== 'product') { $('pa_msg').textContent = T.not_pack; $('pa_msg').className = 'err'; return; }
    const free = l.units.filter((u) => u.quantity - u.reserved > 0);
    // Goods at a receiving location first: that is what waits to be put away.
    free.sort((a, b) => (a.location_kind === 'receiving' ? 0 : 1) - (b.location_kind === 'receiving' ? 0 : 1));
    pa.suggested = l.suggested_location;
    if (!free.length) { $('pa_msg').textContent = T.nothing_free; $('pa_msg').className = 'err'; return; }
    const receiving = free.filter((u) => u.location_kind === 'receiving');
    const options = receiving.length === 1 ? receiving : (free.length === 1 ? free : (receiving.length ? receiving : free));
    if (options.length === 1) return paChoose(options[0]);
    const c = $('pa_card'); c.hidden = false; c.replaceChildren(document.createTextNode(T.choose));
    for (const u of options) {
      const b = document.createElement('button'); b.type = 'button';
      b.textContent = u.product_name + ' · ' + T.lot + ' ' + u.lot + ' · ' + u.location + ' · ' + (u.quantity - u.reserved);
      b.onclick = () => paChoose(u); c.appendChild(b);
    }
    return;
  }
  if (l.kind !== 'location') { $('pa_msg').textContent = T.not_location; $('pa_msg').className = 'err'; return; }
  pa.target = l.location; paCard();
  $('pa_qty').value = pa.unit.quantity - pa.unit.reserved; $('pa_qty').max = pa.unit.quantity - pa.unit.reserved;
  $('pa_confirm').hidden = false; $('pa_qty').focus();
};
$('pa_confirm').onsubmit = async (ev) => {
  ev.preventDefault();
  const n = Number($('pa_qty').value);
  const r = await api('POST', '/api/stock/move', { idempotency_key: key(), stock_unit_id: pa.unit.id, quantity: n, to_location: pa.target });
  if (r.ok) { paReset(T.moved + ': ' + n + ' × ' + pa.unit.product_name + ' → ' + pa.target); $('pa_msg').className = 'okmsg'; loadUnits(); }
  else { $('pa_msg').textContent = (T.da ? r.body.message_da : r.body.message) || r.status; $('pa_msg').className = 'err'; }
  $('pa_scan').focus();
};
paReset();
loadUnits();
show((location.hash || '#search').slice(1) in { search: 1, putaway: 1, count: 1 } && document.getElementById((location.hash || '#search').slice(1)) ? (location.hash || '#search').slice(1) : 'search');
"#;
