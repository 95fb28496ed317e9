// Tabs, search (filtering the stock list as one types), put-away (pack, then location) and the
// blind count (counted first, the system's quantities after).
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
