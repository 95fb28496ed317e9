// A scan's answer on a floor page: a short high beep and a green flash, or a low buzz and a
// red one, with the message in `#msg` (the page's script defines `msg`).
let audio = null;
function tone(type, hz, at, len) {
  const o = audio.createOscillator(), g = audio.createGain();
  o.type = type; o.frequency.value = hz;
  o.connect(g); g.connect(audio.destination); g.gain.value = 0.2;
  o.start(audio.currentTime + at); o.stop(audio.currentTime + at + len);
}
function beep(ok) {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    if (ok === 'warn') { tone('triangle', 660, 0, 0.15); tone('triangle', 660, 0.25, 0.15); }
    else if (ok) tone('sine', 1200, 0, 0.12);
    else tone('square', 220, 0, 0.45);
  } catch (e) {}
}
// ok: true (good), false (refused), or 'warn' (done, but someone must look: a short pick).
function flash(ok, text) {
  document.body.className = ok === 'warn' ? 'warn' : ok ? 'good' : 'bad';
  msg.textContent = text; msg.className = ok === 'warn' ? 'warnmsg' : ok ? 'okmsg' : 'err';
  beep(ok);
  // A newer flash is not cut short by the timer of the one before it.
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => { document.body.className = ''; }, ok === true ? 500 : 1500);
}
