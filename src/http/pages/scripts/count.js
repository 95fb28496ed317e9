// Uses the stock page's helpers (`api`, `lookup`, `cell`, `$`, `key`).
(() => {
const pane = document.getElementById('count');
if (!pane) return;
const C = JSON.parse(pane.dataset.texts);
const msg = (r) => r.status === 0 ? C.offline : ((C.da ? r.body.message_da : r.body.message) || r.body.message || String(r.status));
const say = (id, text, ok) => { $(id).textContent = text; $(id).className = ok === undefined ? '' : (ok ? 'okmsg' : 'err'); };
const when = (at) => at ? at.slice(0, 16).replace('T', ' ') : C.never;
let sheet = null, found = [];
async function loadTasks() {
  const r = await api('GET', '/api/count-tasks?status=open&limit=200');
  const body = $('ct_tasks').querySelector('tbody'); body.replaceChildren();
  if (!r.ok) return;
  for (const t of r.body) {
    const tr = document.createElement('tr');
    cell(tr, t.location);
    cell(tr, (C[t.source] || t.source) + (t.note ? ': ' + t.note : ''));
    cell(tr, when(t.created_at));
    const td = document.createElement('td'); const b = document.createElement('button'); b.type = 'button'; b.textContent = C.count;
    b.onclick = () => start(t.location); td.appendChild(b); tr.appendChild(td);
    body.appendChild(tr);
  }
  if (!r.body.length) { const tr = document.createElement('tr'); cell(tr, C.no_tasks); body.appendChild(tr); }
}
async function start(location) {
  say('ct_msg', '');
  const r = await api('GET', '/api/count-sheets/' + encodeURIComponent(location));
  if (!r.ok) return say('ct_msg', msg(r), false);
  sheet = r.body; found = [];
  $('ct_title').textContent = C.location + ' ' + sheet.location;
  let info = C.last + ': ' + when(sheet.last_counted_at);
  if (sheet.tasks.length) info += ' · ' + C.tasks_here + ': ' + sheet.tasks.map((t) => (C[t.source] || t.source) + (t.note ? ' (' + t.note + ')' : '')).join(', ');
  $('ct_info').textContent = info;
  const head = $('ct_lines').querySelector('thead'); head.replaceChildren();
  const hr = document.createElement('tr'); for (const h of [C.product, C.lot + ' · ' + C.expiry, C.counted]) { const th = document.createElement('th'); th.textContent = h; hr.appendChild(th); }
  head.appendChild(hr);
  $('ct_lines').querySelector('tbody').replaceChildren();
  for (const lot of sheet.lots) addRow(lot, false);
  if (!sheet.lots.length) say('ct_msg', C.empty);
  $('ct_add').hidden = false; $('ct_show').hidden = false; $('ct_book').hidden = true; $('ct_reason_l').hidden = true; $('ct_reason').value = '';
  const first = $('ct_lines').querySelector('input'); (first || $('ct_add_scan')).focus();
  $('ct_title').scrollIntoView({ block: 'start' });
}
function addRow(lot, isFound) {
  const tr = document.createElement('tr'); tr.className = isFound ? 'found' : '';
  tr.dataset.gtin = lot.gtin; tr.dataset.lot = lot.lot; tr.dataset.expiry = lot.expiry; tr.dataset.expected = isFound ? 0 : lot.expected;
  cell(tr, lot.product_name + (isFound ? ' (' + C.found_line + ')' : ''));
  cell(tr, lot.lot + ' · ' + lot.expiry);
  const td = document.createElement('td'); const inp = document.createElement('input'); inp.type = 'number'; inp.min = '0'; inp.className = 'counted'; td.appendChild(inp); tr.appendChild(td);
  $('ct_lines').querySelector('tbody').appendChild(tr);
  return inp;
}
$('ct_form').onsubmit = async (ev) => {
  ev.preventDefault();
  const code = $('ct_scan').value; $('ct_scan').value = '';
  if (!code.trim()) return;
  const r = await lookup(code);
  if (!r.ok) return say('ct_msg', msg(r), false);
  if (r.body.kind !== 'location') return say('ct_msg', C.not_location, false);
  start(r.body.location);
};
$('ct_add').onsubmit = async (ev) => {
  ev.preventDefault();
  const code = $('ct_add_scan').value; $('ct_add_scan').value = '';
  if (!code.trim() || !sheet) return;
  const r = await lookup(code);
  if (!r.ok) return say('ct_msg', msg(r), false);
  const l = r.body;
  if (l.kind !== 'product' || !l.lot || !l.expiry) return say('ct_msg', C.not_pack, false);
  const row = [...$('ct_lines').querySelectorAll('tbody tr')].find((tr) => tr.dataset.gtin === l.gtin && tr.dataset.lot === l.lot && tr.dataset.expiry === l.expiry);
  if (row) { row.querySelector('input').focus(); return; }
  say('ct_msg', '');
  addRow({ gtin: l.gtin, product_name: l.product_name, lot: l.lot, expiry: l.expiry }, true).focus();
};
$('ct_show').onclick = () => {
  const rows = [...$('ct_lines').querySelectorAll('tbody tr')];
  if (rows.some((tr) => tr.querySelector('input').value === '')) return say('ct_msg', C.fill_all, false);
  say('ct_msg', '');
  const hr = $('ct_lines').querySelector('thead tr');
  for (const h of [C.expected, C.diff]) { const th = document.createElement('th'); th.textContent = h; hr.appendChild(th); }
  let diffs = 0;
  for (const tr of rows) {
    const n = Number(tr.querySelector('input').value), e = Number(tr.dataset.expected);
    tr.querySelector('input').disabled = true;
    cell(tr, String(e));
    const d = cell(tr, (n - e > 0 ? '+' : '') + (n - e)); d.className = 'diff' + (n !== e ? ' bad' : '');
    if (n !== e) diffs++;
  }
  $('ct_show').hidden = true; $('ct_add').hidden = true; $('ct_book').hidden = false;
  if (diffs) { $('ct_reason_l').hidden = false; $('ct_reason').focus(); } else { say('ct_msg', C.no_diff, true); $('ct_book').focus(); }
  $('ct_book').dataset.diffs = diffs; $('ct_book').dataset.key = key();
};
$('ct_book').onclick = async () => {
  const diffs = Number($('ct_book').dataset.diffs), reason = $('ct_reason').value.trim();
  if (diffs && !reason) return say('ct_msg', C.need_reason, false);
  const lines = [...$('ct_lines').querySelectorAll('tbody tr')].map((tr) => ({ gtin: tr.dataset.gtin, lot: tr.dataset.lot, expiry: tr.dataset.expiry, counted: Number(tr.querySelector('input').value) }));
  const r = await api('POST', '/api/counts', { idempotency_key: $('ct_book').dataset.key, location: sheet.location, lines, reason: reason || null });
  if (!r.ok) return say('ct_msg', msg(r), false);
  $('ct_book').hidden = true; $('ct_reason_l').hidden = true; $('ct_add').hidden = true;
  $('ct_title').textContent = ''; $('ct_info').textContent = '';
  $('ct_lines').querySelector('thead').replaceChildren(); $('ct_lines').querySelector('tbody').replaceChildren();
  const closed = r.body.tasks.filter((t) => t.source !== 'adhoc').length;
  say('ct_msg', C.booked + ' (' + sheet.location + '): ' + diffs + ' ' + (diffs === 1 ? C.diff1 : C.diffs) + ', ' + closed + ' ' + (closed === 1 ? C.closed1 : C.closed) + '.', true);
  sheet = null; loadTasks(); loadRuns(); if (typeof loadUnits === 'function') loadUnits();
  $('ct_scan').focus();
};
function runTitle(run) {
  if (run.title) return run.title;
  const [kind, v] = [run.scope.split(':')[0], run.scope.slice(run.scope.indexOf(':') + 1)];
  if (kind === 'zone') return C.scope_zone + ' ' + v;
  if (kind === 'product') return C.scope_product + ' ' + v;
  if (kind === 'not_counted_for') return C.scope_days.replace('N', v);
  return run.scope;
}
async function loadRuns() {
  const r = await api('GET', '/api/count-runs');
  const body = $('runs').querySelector('tbody'); body.replaceChildren();
  if (!r.ok) return;
  for (const run of r.body) {
    const tr = document.createElement('tr');
    cell(tr, runTitle(run) + ' · ' + when(run.created_at));
    const td = cell(tr, ''); const bar = document.createElement('span'); bar.className = 'bar';
    const fill = document.createElement('i'); fill.style.width = (run.tasks ? Math.round(100 * run.done / run.tasks) : 0) + '%'; bar.appendChild(fill);
    td.append(bar, document.createTextNode(run.done + ' ' + C.done_of + ' ' + run.tasks));
    cell(tr, (run.difference > 0 ? '+' : '') + run.difference);
    const act = document.createElement('td');
    if (run.done + run.cancelled < run.tasks) {
      const b = document.createElement('button'); b.type = 'button'; b.textContent = C.cancel;
      b.onclick = async () => { const x = await api('POST', '/api/count-runs/' + run.id + '/cancel'); if (!x.ok) say('run_msg', msg(x), false); loadRuns(); loadTasks(); };
      act.appendChild(b);
    }
    tr.appendChild(act); body.appendChild(tr);
  }
  if (!r.body.length) { const tr = document.createElement('tr'); cell(tr, C.none_runs); body.appendChild(tr); }
}
$('run_kind').onchange = () => { $('run_value').value = $('run_kind').value === 'days' ? '30' : ''; $('run_value').focus(); };
$('run_form').onsubmit = async (ev) => {
  ev.preventDefault();
  const v = $('run_value').value.trim(), k = $('run_kind').value;
  const body = k === 'days' ? { not_counted_for_days: Number(v) } : (k === 'zone' ? { zone: v } : { gtin: v });
  const r = await api('POST', '/api/count-runs', body);
  if (!r.ok) return say('run_msg', msg(r), false);
  say('run_msg', C.created + ': ' + runTitle(r.body) + ' (' + r.body.tasks + ')', true);
  loadRuns(); loadTasks();
};
loadTasks(); loadRuns();
})();
