// The race board page (/race#class=<code>): every student's live run at once, for the
// projector, over one WebSocket (`/ws/classes/<code>?view=race`, the teacher's token as a
// subprotocol). Students appear by alias unless the teacher shows names; the server sends the
// board every few seconds (LAYERLAB_CLASS_RACE_INTERVAL_S).

import { request } from './http.js';
import { raceBoard } from './widgets/race-board.js';
import { TEACHER_KEY, normalizeCode } from './widgets/class-bar.js';

const $ = (id) => document.getElementById(id);

function teacher() {
  const params = new URLSearchParams((window.location.hash || '').replace(/^#/, ''));
  let saved = null;
  try {
    saved = JSON.parse(localStorage.getItem(TEACHER_KEY) || 'null');
  } catch {
    saved = null;
  }
  const code = params.has('class') ? normalizeCode(params.get('class')) : saved?.code;
  return saved && saved.code === code ? saved : { code, token: null };
}

function start() {
  const { code, token } = teacher();
  const status = $('race-status');
  if (!code || !token) {
    status.textContent = 'Open the race board from your class’s page (/teach), in the browser you teach from.';
    return;
  }
  $('race-code').textContent = code;
  const board = raceBoard({
    root: $('race-board'),
    sortSelect: $('race-sort'),
    onSpotlight: async (runId) => {
      try {
        await request('POST', `/api/classes/${encodeURIComponent(code)}/spotlight`, { body: { run_id: runId }, headers: { 'X-Teacher-Token': token } });
        status.textContent = 'The run is in the spotlight.';
      } catch (err) {
        status.textContent = `The spotlight failed: ${err.message}`;
      }
    },
  });
  let attempt = 0;
  function connect() {
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${window.location.host}/ws/classes/${encodeURIComponent(code)}?view=race`, ['layerlab', `layerlab-teacher.${token}`]);
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === 'hello' || msg.type === 'state') {
        attempt = 0;
        $('race-title').textContent = msg.class.name;
      } else if (msg.type === 'race') {
        board.update(msg);
        document.body.dataset.entries = String(msg.entries.length);
        document.body.dataset.updated = String(msg.time);
      }
    };
    ws.onclose = () => {
      attempt += 1;
      setTimeout(connect, Math.min(8000, 500 * 2 ** (attempt - 1)));
    };
  }
  connect();
}

start();
document.body.dataset.ready = 'true';
