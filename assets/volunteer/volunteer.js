// The volunteers' page: starts the draco worker in a Web Worker (/volunteer-worker.js, which
// speaks the protocol to the PS over a WebSocket) and shows what it does. The join token and,
// for tests and demonstrations, an attack this tab runs on its own messages come from the URL:
// /?token=T[&attack=SPEC]. The latest status is also window.dracoVolunteer (tests read it).
(function () {
  'use strict';
  const q = new URLSearchParams(location.search);
  const token = q.get('token') || '';
  const attack = q.get('attack') || undefined;
  const $ = (id) => document.getElementById(id);
  const bytes = (b) =>
    b < 1024 ? b + ' B' : b < 1048576 ? (b / 1024).toFixed(1) + ' KB' : (b / 1048576).toFixed(1) + ' MB';
  const show = (s) => {
    window.dracoVolunteer = s;
    const state = $('state');
    state.textContent = s.state;
    state.className = 'state ' + s.state;
    $('rank').textContent = s.rank === null ? '-' : s.rank + (s.workers === null ? '' : ' of ' + s.workers);
    $('steps').textContent = String(s.steps);
    $('time').textContent =
      s.steps === 0 ? '-' : s.lastStepMs.toFixed(1) + ' ms (mean ' + s.meanStepMs.toFixed(1) + ' ms)';
    $('sent').textContent = bytes(s.bytesSent);
    $('received').textContent = bytes(s.bytesReceived);
    $('crypto').textContent = s.crypto;
    $('message').textContent = s.message;
    if (s.attack) {
      $('attack').hidden = false;
      $('attack').textContent = 'This tab is Byzantine: it sends ' + s.attack + ' instead of its gradient.';
    }
    $('stop').disabled = s.state === 'done' || s.state === 'stopped' || s.state === 'error';
  };
  if (!token) {
    $('state').textContent = 'error';
    $('state').className = 'state error';
    $('message').textContent =
      'no join token in this link: open the link draco ps printed (it ends in ?token=...)';
    $('stop').disabled = true;
    return;
  }
  const worker = new Worker('/volunteer-worker.js');
  worker.onmessage = (e) => {
    if (e.data && e.data.type === 'status') show(e.data.status);
  };
  worker.onerror = (e) => {
    show(
      Object.assign({}, window.dracoVolunteer || {}, {
        state: 'error',
        message: 'worker failed: ' + e.message,
      }),
    );
  };
  const ws = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host;
  worker.postMessage({
    type: 'start',
    url: ws + '/volunteer/ws?token=' + encodeURIComponent(token),
    wasmPath: location.origin + '/wasm/',
    attack: attack,
  });
  $('stop').addEventListener('click', () => worker.postMessage({ type: 'stop' }));
})();
