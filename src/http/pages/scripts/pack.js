// Posts scans with idempotent scan ids, renders the station's view, and polls it every two
// seconds so scans from a serial scanner at the station show too.
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
