//! The stock page's count tab (leads): open count tasks (from short picks and cycle counts), a
//! blind count of a scanned location booked as one operation that closes its tasks, and cycle
//! count runs with their progress. Everything goes through `/api/counts`, `/api/count-sheets`,
//! `/api/count-tasks` and `/api/count-runs`.

use super::texts::Lang;
use maud::{html, Markup, PreEscaped};

pub(super) fn pane(l: Lang) -> Markup {
    let da = l == Lang::Da;
    let tr = |d: &'static str, e: &'static str| if da { d } else { e };
    let texts = serde_json::json!({
        "da": da,
        "short_pick": tr("Mangel ved pluk", "Short pick"), "cycle": tr("Cyklisk optælling", "Cycle count"),
        "adhoc": tr("Optælling", "Count"), "count": tr("Tæl", "Count"), "no_tasks": tr("Ingen åbne opgaver.", "No open tasks."),
        "location": tr("Placering", "Location"), "product": tr("Produkt", "Product"), "lot": "Lot",
        "expiry": tr("Udløb", "Expiry"), "counted": tr("Optalt", "Counted"), "expected": tr("Forventet", "Expected"),
        "diff": tr("Forskel", "Difference"), "last": tr("Sidst talt", "Last counted"), "never": tr("aldrig", "never"),
        "found_line": tr("fundet ved optælling", "found at the count"),
        "not_location": tr("Det var ikke en placering: scan placeringens stregkode.", "That was not a location: scan the location's barcode."),
        "not_pack": tr("Scan pakningens GS1-kode med lot og udløb.", "Scan the pack's GS1 code with lot and expiry."),
        "fill_all": tr("Skriv det optalte antal for hver linje først (0 hvis der ingen er).", "Enter the counted quantity on every line first (0 when there are none)."),
        "need_reason": tr("Optællingen afviger: skriv en årsag.", "The count differs: give a reason."),
        "booked": tr("Optælling bogført", "Count booked"), "diffs": tr("forskelle", "differences"), "diff1": tr("forskel", "difference"),
        "closed": tr("opgaver lukket", "tasks closed"), "closed1": tr("opgave lukket", "task closed"), "no_diff": tr("Ingen forskelle.", "No differences."),
        "empty": tr("Intet på denne placering ifølge systemet. Tilføj det du finder, eller bogfør den tom.", "Nothing here according to the system. Add what you find, or book it empty."),
        "tasks_here": tr("Åbne opgaver her", "Open tasks here"),
        "done_of": tr("talt af", "counted of"), "cancel": tr("Annullér", "Cancel"),
        "created": tr("Optælling oprettet", "Count created"), "none_runs": tr("Ingen cykliske optællinger endnu.", "No cycle counts yet."),
        "scope_zone": tr("Zone", "Zone"), "scope_product": tr("Placeringer med", "Locations holding"),
        "scope_days": tr("Ikke talt i N dage", "Not counted for N days"),
        "offline": tr("Ingen forbindelse. Prøv igen.", "No connection. Try again."),
    })
    .to_string();
    html! {
        section #count.pane hidden data-texts=(texts) {
            h2 { (tr("Opgaver", "Tasks")) }
            div.scroll { table #ct_tasks { thead { tr {
                th { (tr("Placering", "Location")) } th { (tr("Hvorfor", "Why")) } th { (tr("Oprettet", "Created")) } th {}
            } } tbody {} } }
            h2 { (tr("Tæl en placering", "Count a location")) }
            p.step { (tr("Scan placeringen. Antallene i systemet vises først, når du har talt.", "Scan the location. The system's quantities show only after you have counted.")) }
            form #ct_form.scanform { input #ct_scan autocomplete="off" placeholder=(tr("Placeringens stregkode", "The location's barcode")); button type="submit" { "OK" } }
            h3 #ct_title {}
            p #ct_info {}
            div.scroll { table #ct_lines { thead {} tbody {} } }
            form #ct_add.scanform hidden {
                input #ct_add_scan autocomplete="off" placeholder=(tr("Fandt du en vare, der ikke står her? Scan den", "Found a product not listed? Scan it"));
                button type="submit" { "+" }
            }
            label #ct_reason_l hidden { (tr("Årsag til forskellen", "Reason for the difference")) input #ct_reason; }
            div.buttons {
                button #ct_show type="button" hidden { (tr("Vis forskelle", "Show differences")) }
                button #ct_book type="button" hidden { (tr("Bogfør optællingen", "Book the count")) }
            }
            p #ct_msg role="status" {}
            h2 { (tr("Cyklisk optælling", "Cycle counting")) }
            form #run_form.runform {
                select #run_kind {
                    option value="days" { (tr("Placeringer ikke talt i … dage", "Locations not counted for … days")) }
                    option value="zone" { (tr("En zone", "A zone")) }
                    option value="gtin" { (tr("Placeringer med et produkt (GTIN)", "Locations holding a product (GTIN)")) }
                }
                input #run_value required autocomplete="off" value="30";
                button type="submit" { (tr("Opret optælling", "Create count")) }
            }
            p #run_msg role="status" {}
            div.scroll { table #runs { thead { tr {
                th { (tr("Optælling", "Count")) } th { (tr("Fremdrift", "Progress")) } th { (tr("Forskel", "Difference")) } th {}
            } } tbody {} } }
        }
    }
}

/// Runs after the stock page's script, whose helpers it uses.
pub(super) fn script() -> Markup {
    html! {
        style { (PreEscaped(COUNT_CSS)) }
        script { (PreEscaped(COUNT_JS)) }
    }
}

const COUNT_CSS: &str = "#stock [hidden]{display:none!important}.runform{display:flex;gap:.5rem;flex-wrap:wrap}.runform input{width:9rem}\
.bar{display:inline-block;width:8rem;max-width:40vw;height:.8rem;background:#dfe5ea;border-radius:.4rem;overflow:hidden;vertical-align:middle;margin-right:.4rem}\
.bar i{display:block;height:100%;background:#1f7a3a}#ct_tasks td,#runs td,#ct_tasks th,#runs th{text-align:left}\
tr.found td{font-style:italic}";

/// Uses the stock page's helpers (`api`, `lookup`, `cell`, `$`, `key`).
const COUNT_JS: &str = r#"
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
"#;
