// Assigns a wave to the picker chosen in its row.
for (const f of document.querySelectorAll('form.assign')) {
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const picker = String(new FormData(f).get('picker') || '').trim();
    if (!picker) return;
    const r = await fetch('/api/waves/' + f.dataset.wave + '/assign', { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': document.getElementById('makewave').dataset.csrf },
      body: JSON.stringify({ picker }) });
    if (r.ok) location.reload(); else { const j = await r.json(); alert(document.documentElement.lang === 'da' ? j.message_da : j.message); }
  });
}
