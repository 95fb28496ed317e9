// The lead's dashboard, live: the server pushes the whole picture (Server-Sent Events) when
// something happened and every ten seconds; the page puts it in place. EventSource reconnects by
// itself, sending Last-Event-ID; each message is complete, so nothing is lost in between.
(function () {
  const dash = document.getElementById('dash');
  if (!dash || !window.EventSource) return;
  const src = new EventSource(dash.dataset.live);
  src.addEventListener('flow', function (e) {
    const p = JSON.parse(e.data);
    document.getElementById('inwh').textContent = p.in_warehouse;
    document.getElementById('readat').textContent = p.read_at;
    document.querySelector('#dash .chart').innerHTML = p.svg;
    if (p.throughput_html) document.getElementById('throughput').innerHTML = p.throughput_html;
    if (p.devices_html) document.getElementById('devices').innerHTML = p.devices_html;
    for (const [part, id] of [['floor', 'floor'], ['cutoffs', 'cutoffs'], ['exceptions', 'openexceptions']]) {
      const html = p[part + '_html'];
      if (html !== undefined) document.getElementById(id).innerHTML = html;
    }
    for (const s of p.stages) {
      const row = document.querySelector('#stages tr[data-stage="' + s.stage + '"]');
      if (!row) continue;
      row.className = s.late ? 'late' : '';
      const cells = row.querySelectorAll('td.n');
      cells[0].textContent = s.orders;
      cells[1].textContent = s.waited;
    }
    dash.dataset.event = e.lastEventId;
    dash.dataset.online = 'yes';
  });
  src.addEventListener('error', function () { dash.dataset.online = 'no'; });
})();
