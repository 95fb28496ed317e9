const el = document.getElementById('carrierpage');
const csrf = el.dataset.csrf;
async function api(path, body) {
  const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body) });
  if (r.status === 204) return {};
  const j = await r.json();
  if (!r.ok) throw new Error((document.documentElement.lang === 'da' ? j.message_da : j.message) || 'error');
  return j;
}
function say(text, ok) { const m = document.getElementById('msg'); m.textContent = text; m.className = ok ? 'okmsg' : 'err'; }
for (const f of document.querySelectorAll('form.resend')) f.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const id = f.closest('.rejected').dataset.booking, d = new FormData(f);
  const body = { carrier: d.get('carrier'), service: d.get('service') };
  if (d.get('note')) body.note = d.get('note');
  try { await api('/api/bookings/' + id + '/resend', body); location.reload(); } catch (e) { say(e.message, false); }
});
for (const b of document.querySelectorAll('button.ack')) b.addEventListener('click', async () => {
  try { await api('/api/tracking/exceptions/' + b.closest('.exception').dataset.booking + '/ack', {}); location.reload(); }
  catch (e) { say(e.message, false); }
});
