const box = document.getElementById('waves');
const stationInput = document.getElementById('station');
stationInput.value = localStorage.getItem('konsign-station') || '';
for (const f of document.querySelectorAll('form.take')) {
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = f.dataset.wave;
    const station = stationInput.value.trim();
    localStorage.setItem('konsign-station', station);
    const r = await fetch('/api/waves/' + id + '/take', { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': box.dataset.csrf },
      body: JSON.stringify(station ? { station } : {}) });
    if (r.ok) location.href = '/pick?wave=' + id;
    else { const j = await r.json(); alert(document.documentElement.lang === 'da' ? j.message_da : j.message); }
  });
}
