(() => {
const table = document.getElementById('orders');
const labels = JSON.parse(table.dataset.texts);
async function poll() {
  try {
    const r = await fetch('/api/order-counts');
    if (!r.ok) return;
    const counts = await r.json();
    const max = Math.max(1, ...counts.map((c) => c.count));
    const body = table.querySelector('tbody');
    body.replaceChildren(...counts.map((c) => {
      const tr = document.createElement('tr');
      const a = document.createElement('td'); a.textContent = labels[c.status] || c.status;
      const n = document.createElement('td'); n.className = 'n'; n.textContent = c.count;
      const b = document.createElement('td'); b.className = 'bar';
      const bars = document.createElement('div'); bars.className = 'bars';
      const s = document.createElement('span'); s.className = c.status === 'backordered' ? 'q' : 'ok';
      s.style.width = (c.count * 100 / max).toFixed(1) + '%';
      bars.appendChild(s); b.appendChild(bars); tr.append(a, n, b); return tr;
    }));
    document.getElementById('noorders').hidden = counts.length > 0;
  } catch (e) { /* offline: keep the last figures */ } finally { setTimeout(poll, 5000); }
}
setTimeout(poll, 5000);
})();
