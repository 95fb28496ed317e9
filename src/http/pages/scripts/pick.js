// The picking screen's script: renders the next pick, posts scans (idempotent scan ids), keeps
// scans made offline in localStorage and sends them in order when the connection is back.
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
