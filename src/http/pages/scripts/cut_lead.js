// Pause/resume buttons and replacement retries on the lead's page.
(() => {
  const csrf = document.getElementById('makewave').dataset.csrf;
  const send = async (path, body) => {
    const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify(body) });
    if (r.ok) setTimeout(() => location.reload(), 800); else { const j = await r.json(); alert(document.documentElement.lang === 'da' ? j.message_da : j.message); }
  };
  for (const b of document.querySelectorAll('button.cutcmd')) {
    b.addEventListener('click', () => send('/api/cut-stations/' + encodeURIComponent(b.dataset.station) + '/command', { command: b.dataset.command }));
  }
  for (const b of document.querySelectorAll('button.cutrelease')) {
    b.addEventListener('click', () => {
      const da = document.documentElement.lang === 'da';
      const reason = prompt(da ? 'Hvorfor? (fx "maskinen er ude af drift, pladen ligger uklippet")' : 'Why? (e.g. "the machine is out of service, the plate lies uncut")');
      if (!reason) return;
      if (!confirm(da ? 'Har du set, at pladen IKKE er klippet? Jobbet sendes til en anden station.' : 'Have you seen that the plate was NOT cut? The job goes to another station.')) return;
      send('/api/cut-jobs/' + encodeURIComponent(b.dataset.job) + '/release', { reason, plate_not_cut: true });
    });
  }
  for (const b of document.querySelectorAll('button.replretry')) {
    b.addEventListener('click', () => send('/api/cut-replacements/' + b.dataset.replacement + '/retry', {}));
  }
})();
