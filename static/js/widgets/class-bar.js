// The student's class bar: join a class with a display name (`/#class=<code>`), then follow
// the class over one WebSocket (`/ws/classes/<code>`): the teacher's spotlight (the page
// watches that run, read-only, until it ends), pushed designs ("load this") and the lock.
//
// The code is kept for the tab (sessionStorage), the student token per class in localStorage,
// so a reload or a restart of the server keeps the student in their class. A page of the
// teacher's own browser (their token is in localStorage) follows the class as a projector.

import { h, replace } from '../util/dom.js';
import { setClassAuth, request, classProtocols } from '../http.js';

const CODE_KEY = 'layerlab.class';
const studentKey = (code) => `layerlab.student.${code}`;
const pushKey = (code) => `layerlab.push.${code}`;
export const TEACHER_KEY = 'layerlab.teacher'; // {code, token} of the teacher's last class

/** `K7Q-4MX` from what was typed or linked (case and dashes as they come). */
export function normalizeCode(text) {
  const plain = String(text || '').replace(/[^0-9A-Za-z]/g, '').toUpperCase();
  return plain.length === 6 ? `${plain.slice(0, 3)}-${plain.slice(3)}` : plain;
}

function codeFromHash() {
  const params = new URLSearchParams((window.location.hash || '').replace(/^#/, ''));
  return params.has('class') ? normalizeCode(params.get('class')) : null;
}

function teacherFor(code) {
  try {
    const saved = JSON.parse(localStorage.getItem(TEACHER_KEY) || 'null');
    return saved && saved.code === code ? saved.token : null;
  } catch {
    return null;
  }
}

function post(path, body) {
  const words = (status, detail) => (Array.isArray(detail) ? detail.map((e) => e.msg).join('; ') : detail || `the server answered ${status}`);
  return request('POST', path, { body, describe: words });
}

/**
 * classBar({root, onSpotlight(runId | null, removed), onPush(experiment), onLock(locked), onMessage(msg)})
 * -> {code, role, state} (null code: this page is in no class; the bar stays hidden).
 * Call it before the page writes its own hash: it reads `#class=<code>` once.
 */
export function classBar({ root, onSpotlight, onPush, onLock, onMessage }) {
  const fromHash = codeFromHash();
  if (fromHash) sessionStorage.setItem(CODE_KEY, fromHash);
  const code = fromHash || sessionStorage.getItem(CODE_KEY);
  const bar = { code, role: null, state: null, student: null };
  // Joining comes first: a page of a class trains only once it is in (a name, or the teacher).
  bar.mustJoin = () => Boolean(code) && !bar.role;
  if (!code) return bar;
  root.hidden = false;
  document.body.dataset.classCode = code;

  const teacherToken = teacherFor(code);
  let token = teacherToken || localStorage.getItem(studentKey(code));
  let socket = null;
  let attempt = 0;
  let spotlight = null;

  function auth() {
    return teacherToken
      ? { header: 'X-Teacher-Token', query: 'teacher', token }
      : { header: 'X-Student-Token', query: 'student', token };
  }

  function showJoin(message = '') {
    const name = h('input', { id: 'class-name', type: 'text', maxlength: 40, required: true, autocomplete: 'nickname', placeholder: 'your name' });
    const error = h('span', { id: 'class-error', class: 'class-error', role: 'alert' }, message);
    const form = h(
      'form',
      {
        class: 'class-join',
        onsubmit: async (event) => {
          event.preventDefault();
          error.textContent = '';
          try {
            const joined = await post(`/api/classes/${encodeURIComponent(code)}/join`, { name: name.value });
            token = joined.student_token;
            localStorage.setItem(studentKey(code), token);
            connect();
          } catch (err) {
            error.textContent = err.message;
          }
        },
      },
      h('label', { for: 'class-name' }, `Join class ${code} as`),
      name,
      h('button', { type: 'submit', id: 'class-join' }, 'Join'),
      error,
    );
    replace(root, form);
    name.focus();
  }

  function render() {
    const s = bar.state;
    if (!s) return;
    const who = bar.role === 'teacher' ? 'projector (teacher)' : bar.student && `${bar.student.name} (on the projector: ${bar.student.alias})`;
    const notes = [];
    if (s.closed) notes.push(h('span', { class: 'class-note' }, 'The teacher has closed this class.'));
    if (s.spotlight) notes.push(h('span', { class: 'class-note class-spot', id: 'class-spotlight' }, 'Spotlight: the teacher is showing one run to the class.'));
    if (s.locked) notes.push(h('span', { class: 'class-note', id: 'class-locked' }, 'Editing is locked by the teacher.'));
    replace(
      root,
      h('strong', { class: 'class-name' }, s.name),
      h('span', { class: 'class-code', title: 'The join code' }, s.code),
      h('span', { class: 'class-who', id: 'class-who' }, who ? `· ${who}` : ''),
      ...notes,
    );
  }

  function apply(state, change) {
    const before = bar.state;
    bar.state = state;
    document.body.dataset.classLocked = String(Boolean(state.locked));
    render();
    if (!before || before.locked !== state.locked) onLock(Boolean(state.locked && bar.role === 'student'));
    if (state.push && bar.role === 'student') {
      const seen = Number(localStorage.getItem(pushKey(code)) || 0);
      if (state.push.seq > seen) {
        localStorage.setItem(pushKey(code), String(state.push.seq));
        onPush(state.push.experiment);
      }
    }
    if (state.spotlight !== spotlight) {
      spotlight = state.spotlight;
      onSpotlight(spotlight);
    }
    root.dataset.change = change || 'hello';
  }

  function connect() {
    setClassAuth(auth());
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${window.location.host}/ws/classes/${encodeURIComponent(code)}`;
    const ws = new WebSocket(url, classProtocols(auth())); // the token, never in the URL
    socket = ws;
    let opened = false;
    ws.onmessage = (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (msg.type === 'hello') {
        opened = true;
        attempt = 0;
        bar.role = msg.role;
        bar.student = msg.student;
        root.dataset.role = msg.role;
        apply(msg.class, null);
      } else if (msg.type === 'state') {
        apply(msg.class, msg.change);
      } else if (msg.type === 'removed') {
        // The teacher removed this student: the token is spent; join again to come back.
        const locked = Boolean(bar.state?.locked);
        socket = null;
        ws.close();
        localStorage.removeItem(studentKey(code));
        setClassAuth(null);
        token = null;
        bar.role = null;
        bar.state = null;
        showJoin(`The teacher removed you from class ${code}. Join again to come back.`);
        // Nothing of the class holds the page now: a spotlight ends here (the page goes back
        // to its own design; its run, which the removal stopped, is let be) and the lock lifts.
        if (spotlight) {
          spotlight = null;
          onSpotlight(null, true);
        }
        if (locked) onLock(false);
      }
      onMessage?.(msg); // experiments, questions (flows/class-lab-flow.js)
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      if (!opened && !bar.state) {
        // Refused: the token is not (or no longer) of this class. Join again.
        if (!teacherToken) localStorage.removeItem(studentKey(code));
        setClassAuth(null);
        token = null;
        showJoin(`Could not enter class ${code}: check the code, or join again.`);
        return;
      }
      attempt += 1;
      setTimeout(connect, Math.min(8000, 500 * 2 ** (attempt - 1)));
    };
  }

  if (token) connect();
  else showJoin();
  return bar;
}
