// A wall screen opens /dashboard/wall#key=ks_… once: the key (in the fragment, so it never
// reaches a server log) is sent to the server, which keeps it in an HttpOnly cookie for the
// dashboard only; then the screen shows the wall dashboard and needs nobody again. Without a
// key in the address, the form takes one pasted in.
(function () {
  const form = document.getElementById('wallkey');
  if (!form) return;
  const out = document.getElementById('wallresult');
  async function send(key) {
    out.textContent = form.dataset.wait;
    let r;
    try {
      r = await fetch('/dashboard/wall', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: key }),
        credentials: 'same-origin',
      });
    } catch (e) {
      out.textContent = form.dataset.offline;
      return;
    }
    if (r.status === 204) {
      history.replaceState(null, '', '/dashboard/wall');
      location.replace('/dashboard?wall=1&lang=' + form.dataset.lang);
      return;
    }
    let body = {};
    try { body = await r.json(); } catch (e) { /* not JSON */ }
    out.textContent = (form.dataset.lang === 'da' ? body.message_da : body.message) || form.dataset.bad;
  }
  const m = /[#&]key=([^&]+)/.exec(location.hash);
  if (m) {
    history.replaceState(null, '', '/dashboard/wall');
    send(decodeURIComponent(m[1]));
  }
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    send(form.elements.key.value);
  });
})();
