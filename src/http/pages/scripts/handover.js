const el = document.getElementById('handover');
const csrf = el.dataset.csrf, T = JSON.parse(el.dataset.texts);
const $ = (id) => document.getElementById(id);
const input = $('scan'), msg = $('msg');
let cage = Number(new URLSearchParams(location.search).get('cage')) || null;
async function api(method, path, body) {
  const r = await fetch(path, { method, headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) throw Object.assign(new Error((T.da ? j.message_da : j.message) || 'error'), { status: r.status });
  return j;
}
function fill(id, items, text) {
  const ul = $(id); ul.innerHTML = '';
  for (const i of items) { const li = document.createElement('li'); li.textContent = text(i); ul.appendChild(li); }
}
async function load() {
  if (!cage) return;
  const v = await api('GET', '/api/cages/' + cage);
  $('work').hidden = false;
  el.dataset.cage = v.cage.code; el.dataset.count = v.parcels.length; el.dataset.state = v.cage.state;
  $('cagehead').textContent = T.cage + ' ' + v.cage.code + ' · ' + v.cage.carrier + ' · ' + v.parcels.length + ' ' + T.parcels;
  fill('oncage', v.parcels, (p) => p.sscc + (p.tracking_number && p.tracking_number !== p.sscc ? ' · ' + p.tracking_number : ''));
  fill('expected', v.expected, (p) => p.sscc);
  fill('refused', v.refused, (r) => r.scanned + ': ' + (T.da ? r.message_da : r.message));
  $('closecage').hidden = v.cage.state !== 'open';
  input.disabled = v.cage.state !== 'open';
  if (v.cage.state !== 'open') showClosed(v.cage);
}
function showClosed(c, shipped) {
  const r = $('result'); r.innerHTML = '';
  const p = document.createElement('p'); p.className = 'okmsg';
  p.textContent = T.closed + (shipped ? ': ' + shipped.length + ' ' + T.shipped + ' (' + shipped.join(', ') + ')' : '');
  const a = document.createElement('a'); a.href = '/api/cages/' + c.id + '/list.pdf'; a.target = '_blank'; a.textContent = T.list; a.id = 'listpdf';
  r.appendChild(p); r.appendChild(a);
}
for (const b of document.querySelectorAll('button.cagebtn')) b.addEventListener('click', () => { cage = Number(b.dataset.cage); history.replaceState(null, '', '?cage=' + cage); load(); input.focus(); });
$('newcage').addEventListener('click', async () => {
  const sel = $('carrier');
  try { const c = await api('POST', '/api/cages', sel ? { carrier: sel.value } : {}); cage = c.id; history.replaceState(null, '', '?cage=' + cage); await load(); input.focus(); }
  catch (e) { flash(false, e.status ? e.message : T.offline); }
});
input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); submitScan(); } });
$('scanform').addEventListener('submit', (ev) => { ev.preventDefault(); submitScan(); });
async function submitScan() {
  const data = input.value; input.value = '';
  if (!data.trim() || !cage) return;
  const scan_id = Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10);
  try { const r = await api('POST', '/api/cages/' + cage + '/scan', { scan_id, data }); flash(r.accepted, T.da ? r.message_da : r.message); await load(); }
  catch (e) { flash(false, e.status ? e.message : T.offline); }
  input.focus();
}
$('closecage').addEventListener('click', async () => {
  if (!confirm(T.close_ask)) return;
  try { const r = await api('POST', '/api/cages/' + cage + '/close'); await load(); showClosed(r.cage, r.shipped); flash(true, T.closed); }
  catch (e) { flash(false, e.status ? e.message : T.offline); }
});
$('returnform').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = $('returnscan'), data = f.value; f.value = '';
  if (!data.trim()) return;
  const scan_id = 'ret-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10);
  const say = (ok, text) => { flash(ok, text); const m = $('retmsg'); m.textContent = text; m.className = ok ? 'okmsg' : 'err'; };
  try { const r = await api('POST', '/api/returns', { scan_id, data }); say(true, T.returned + ': ' + r.order + ', ' + r.packs + ' ' + (r.packs === 1 ? T.pack : T.packs) + ' → ' + r.location); }
  catch (e) { say(false, e.status ? e.message : T.offline); }
});
load();
