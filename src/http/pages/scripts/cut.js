// Polls the station and its jobs each second; the buttons post the operator's actions.
const el = document.getElementById('cut');
const station = el.dataset.station, csrf = el.dataset.csrf, T = JSON.parse(el.dataset.texts);
let current = null, last = null, manual = false;
const $ = (id) => document.getElementById(id);
async function post(path, body) {
  const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body || {}) });
  const j = await r.json().catch(() => ({}));
  $('msg').textContent = r.ok ? (body && body.action === 'start' && !manual ? T.start_asked : '') : ((document.documentElement.lang === 'da' ? j.message_da : j.message) || r.status);
  $('msg').className = r.ok ? '' : 'err';
  poll(false);
}
async function poll(again = true) {
  try {
    const [sr, jr] = await Promise.all([fetch('/api/cut-stations'), fetch('/api/cut-jobs')]);
    if (sr.ok) {
      const st = (await sr.json()).find((x) => x.id === station);
      const c = st ? (st.manual ? 'online' : st.connection) : 'unknown';
      manual = !!(st && st.manual);
      $('conn').textContent = T[c] || c;
      $('conn').className = 'badge ' + (c === 'online' ? 'ok' : 'bad');
    }
    if (jr.ok) {
      const jobs = (await jr.json()).filter((j) => j.station_id === station);
      const open = jobs.filter((j) => ['sent', 'accepted', 'running', 'recalling'].includes(j.state));
      const done = jobs.filter((j) => j.state === 'finished');
      current = open.find((j) => j.state === 'running') || open[0] || null;
      last = done.length ? done[done.length - 1] : null;
      const show = current || last;
      $('spec').textContent = show ? show.sticker.cut_spec : T.none;
      $('what').textContent = show ? (show.quantity + ' ' + (show.quantity === 1 ? T.plate : T.plates) + ' · ' + show.sticker.product + ' · ' + T.lot + ' ' + show.lot + ' · ' + (T.states[show.state] || show.state)) : '';
      $('current').dataset.job = show ? show.id : '';
      $('current').dataset.state = show ? show.state : '';
      $('start').disabled = !(current && ['sent', 'accepted'].includes(current.state));
      $('done').hidden = !manual; $('fault').hidden = !manual; $('problem').hidden = manual;
      $('how').textContent = manual ? '' : T.machine_reports;
      $('done').disabled = !(current && ['accepted', 'running'].includes(current.state));
      $('fault').disabled = !(current && ['accepted', 'running'].includes(current.state));
      $('problem').disabled = !(current && ['sent', 'accepted', 'running'].includes(current.state));
      $('reprint').disabled = !(last && last.sticker_job);
      const q = $('queue'); q.replaceChildren();
      for (const j of open.filter((j) => j !== current)) {
        const li = document.createElement('li');
        li.textContent = j.sticker.cut_spec + ' · ' + j.quantity + ' ' + (j.quantity === 1 ? T.plate : T.plates) + ' · ' + T.lot + ' ' + j.lot;
        q.appendChild(li);
      }
    }
  } finally { if (again) setTimeout(poll, 1000); }
}
$('start').onclick = () => current && post('/api/cut-jobs/' + current.id + '/action', { action: 'start' });
$('done').onclick = () => current && post('/api/cut-jobs/' + current.id + '/action', { action: 'done' });
$('fault').onclick = () => {
  if (!current) return;
  const r = prompt(T.ask_reason); if (!r) return;
  const d = prompt(T.ask_damaged, '1'); if (d === null) return;
  const n = parseInt(d, 10);
  post('/api/cut-jobs/' + current.id + '/action', { action: 'fault', reason: r, plates_damaged: Number.isFinite(n) ? n : 1 });
};
$('problem').onclick = () => {
  if (!current) return;
  const r = prompt(T.ask_problem); if (!r) return;
  post('/api/cut-jobs/' + current.id + '/action', { action: 'problem', reason: r });
};
$('reprint').onclick = () => last && post('/api/cut-jobs/' + last.id + '/reprint-sticker');
poll();
