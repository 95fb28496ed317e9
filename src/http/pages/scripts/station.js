// Polls the scans API and posts receipts; the CSRF token comes from the page. The form shows
// exactly the scan it will receive (product, GTIN, lot, expiry); a new product scan replaces it
// and clears the quantity, and a receipt consumes it (the next one needs a new scan).
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
