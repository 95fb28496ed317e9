// The lead's "make a wave" form and partial-release buttons: post to the API and reload.
const bo = document.getElementById('backorders');
if (bo) for (const b of bo.querySelectorAll('button.release')) {
  b.addEventListener('click', async () => {
    const reason = prompt(bo.dataset.ask);
    if (!reason) return;
    const r = await fetch('/api/orders/' + encodeURIComponent(b.dataset.order) + '/release', { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': bo.dataset.csrf }, body: JSON.stringify({ reason }) });
    if (r.ok) location.reload(); else { const j = await r.json(); alert(document.documentElement.lang === 'da' ? j.message_da : j.message); }
  });
}
const mw = document.getElementById('makewave');
mw.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(mw), body = { max_orders: Number(f.get('max_orders')) || 20 };
  if (f.get('delivery_until')) body.delivery_until = f.get('delivery_until');
  const out = document.getElementById('waveresult');
  const r = await fetch('/api/waves', { method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': mw.dataset.csrf }, body: JSON.stringify(body) });
  const j = await r.json();
  if (r.ok) { out.className = 'okmsg'; out.textContent = '#' + j.id + ': ' + j.progress.picks; setTimeout(() => location.reload(), 600); }
  else { out.className = 'err'; out.textContent = document.documentElement.lang === 'da' ? j.message_da : j.message; }
});
