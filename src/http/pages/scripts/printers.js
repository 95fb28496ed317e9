// Keeps the printers table live: state and queue depth every two seconds.
async function pollPrinters() {
  try {
    const r = await fetch('/api/printers');
    if (r.ok) {
      const da = document.documentElement.lang === 'da';
      for (const p of await r.json()) {
        const tr = document.querySelector('tr[data-printer="' + CSS.escape(p.id) + '"]');
        if (!tr) continue;
        tr.className = p.alarm ? 'bad' : 'ok';
        tr.querySelector('.state').textContent = (da ? p.state_da : p.state.replace('_', ' ')) + (p.state_detail ? ' – ' + (da ? p.state_detail_da : p.state_detail) : '');
        tr.querySelector('.queue').textContent = p.queue_depth;
      }
    }
  } finally { setTimeout(pollPrinters, 2000); }
}
pollPrinters();
