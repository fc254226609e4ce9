// The teacher's page (/teach): open a class, then its dashboard over one WebSocket
// (`WS /ws/classes/<code>?teacher=<token>`), with the controls: spotlight a run, push a
// design (asked first), lock editing, pause, resume or stop every run, close the class; rename,
// group or remove a student; show real names or aliases on projected pages; the race board;
// the results as CSV.
//
// The teacher token stays in this browser (localStorage, TEACHER_KEY): a reload, or a page
// of the playground opened as the projector (`/#class=<code>`), finds it.

import { h, replace } from './util/dom.js';
import { request, describeMessages } from './http.js';
import { classDashboard } from './widgets/class-dashboard.js';
import { TEACHER_KEY } from './widgets/class-bar.js';
import { experimentPanel } from './widgets/class-experiment-panel.js';
import { questionPanel } from './widgets/class-question-panel.js';

const root = document.getElementById('teach');

function saved() {
  try {
    return JSON.parse(localStorage.getItem(TEACHER_KEY) || 'null');
  } catch {
    return null;
  }
}

// Every call through the page's one request function; the teacher's token on each.
const teacherWords = (status, detail) =>
  Array.isArray(detail) ? detail.map((e) => `${(e.loc || []).slice(1).join('.')}: ${e.msg}`).join('; ') : detail || `the server answered ${status}`;

function call(method, path, token, body) {
  return request(method, path, { body, headers: { 'X-Teacher-Token': token }, describe: teacherWords });
}

function showOpen(message = '') {
  const name = h('input', { id: 'class-title', type: 'text', maxlength: 120, required: true, placeholder: 'e.g. 9B, Tuesday' });
  const error = h('p', { class: 'class-error', role: 'alert', id: 'open-error' }, message);
  replace(
    root,
    h(
      'form',
      {
        class: 'panel open-class',
        onsubmit: async (event) => {
          event.preventDefault();
          try {
            const data = await request('POST', '/api/classes', { body: { name: name.value }, describe: describeMessages });
            localStorage.setItem(TEACHER_KEY, JSON.stringify({ code: data.code, token: data.teacher_token }));
            showClass(data.code, data.teacher_token);
          } catch (err) {
            error.textContent = `The class could not be opened: ${err.message}`;
          }
        },
      },
      h('h2', { class: 'panel-title' }, 'Open a class'),
      h('p', { class: 'muted' }, 'Students join with a short code, give a display name and train their own designs; you see them all here, live.'),
      h('label', { for: 'class-title' }, 'Class name'),
      name,
      h('button', { type: 'submit', id: 'open-class' }, 'Open the class'),
      error,
    ),
  );
  name.focus();
}

function showClass(code, token) {
  const link = `${window.location.origin}/#class=${code}`;
  const status = h('output', { id: 'teach-status', class: 'muted', 'aria-live': 'polite' });
  const lock = h('button', { type: 'button', id: 'lock', 'aria-pressed': 'false' }, 'Lock editing');
  const endSpot = h('button', { type: 'button', id: 'end-spotlight', disabled: true }, 'End spotlight');
  const title = h('h2', { class: 'class-title', id: 'class-heading' }, 'Class');
  let state = null;

  async function act(what, method, path, body) {
    try {
      const result = await call(method, path, token, body);
      status.textContent = what;
      return result;
    } catch (err) {
      status.textContent = `${what} failed: ${err.message}`;
      return null;
    }
  }
  const base = `/api/classes/${encodeURIComponent(code)}`;
  const dashRoot = h('section', { id: 'dashboard-panel', class: 'panel dashboard-panel', 'aria-label': 'The students, best first' });
  const dashboard = classDashboard({
    root: dashRoot,
    onSpotlight: (runId) => act('The run is in the spotlight.', 'POST', `${base}/spotlight`, { run_id: runId }),
    onPush: async (row) => {
      const ask = `Load ${row.name}’s design on every student’s page?\n\nRuns that are training keep going; each student can go back to their own design with one click.`;
      if (!window.confirm(ask)) return;
      const run = await act('Design loaded.', 'GET', `/api/runs/${encodeURIComponent(row.run_id)}`);
      if (run) await act(`${row.name}’s design was pushed to every student.`, 'POST', `${base}/push`, { experiment: run.experiment });
    },
    onRename: (row) => {
      const name = window.prompt(`A new name for ${row.name}:`, row.name);
      if (name && name.trim() !== row.name) act(`Renamed to ${name.trim()}.`, 'PATCH', `${base}/students/${row.student}`, { name: name.trim() });
    },
    onGroup: (row) => {
      const group = window.prompt(`The group of ${row.name} (empty: no group):`, row.group || '');
      if (group !== null) act(group.trim() ? `${row.name} is in group ${group.trim()}.` : `${row.name} is in no group.`, 'PATCH', `${base}/students/${row.student}`, { group: group.trim() });
    },
    onRemove: (row) => {
      if (window.confirm(`Remove ${row.name} from the class? Their runs stop and their page leaves the class.`)) act(`${row.name} was removed.`, 'DELETE', `${base}/students/${row.student}`);
    },
  });
  const names = h('button', { type: 'button', id: 'show-names', 'aria-pressed': 'false', title: 'What projected pages (the race board) call students' }, 'Show names on projector');
  names.addEventListener('click', () => act(state?.show_names ? 'The projector shows aliases.' : 'The projector shows real names.', 'POST', `${base}/names`, { show: !state?.show_names }));
  async function exportCsv() {
    const response = await fetch(`${base}/results.csv`, { headers: { 'X-Teacher-Token': token } });
    if (!response.ok) {
      status.textContent = `The export failed: the server answered ${response.status}.`;
      return;
    }
    const url = URL.createObjectURL(await response.blob());
    const a = h('a', { href: url, download: `class-${code}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
    status.textContent = 'The results were downloaded (CSV).';
  }
  // The class as one experiment: its panels below the dashboard (widgets/class-*-panel.js).
  const labCall = (method, path, body, done) => (done ? act(done, method, path, body) : call(method, path, token, body).catch(() => null));
  const experimentRoot = h('section', { id: 'experiment-panel', class: 'panel lab-panel', 'aria-label': 'Class experiment' });
  const questionRoot = h('section', { id: 'question-panel', class: 'panel lab-panel', 'aria-label': 'Predict, then reveal' });
  const experiment = experimentPanel({ root: experimentRoot, base, call: labCall, pushed: () => state?.push?.experiment || null });
  const sketchData = () => state?.push?.experiment?.dataset || { name: 'spiral', samples: 200 }; // the pushed design's data
  const question = questionPanel({ root: questionRoot, base, call: labCall, spotlight: () => state?.spotlight, dataset: sketchData });
  lock.addEventListener('click', () => act(state?.locked ? 'Editing unlocked.' : 'Editing locked.', 'POST', `${base}/lock`, { locked: !state?.locked }));
  endSpot.addEventListener('click', () => act('The spotlight has ended.', 'POST', `${base}/spotlight`, { run_id: null }));
  const button = (id, label, fn, tip) => h('button', { type: 'button', id, onclick: fn, title: tip }, label);
  replace(
    root,
    h(
      'section',
      { class: 'panel class-head' },
      title,
      h('p', { class: 'join-line' }, 'Join code ', h('strong', { class: 'join-code', id: 'join-code' }, code), ' · ', h('a', { href: link, id: 'join-link', target: '_blank', rel: 'noopener' }, link)),
      h(
        'div',
        { class: 'teach-actions', role: 'group', 'aria-label': 'Class controls' },
        lock,
        endSpot,
        button('pause-all', 'Pause all', () => act('Every run is paused.', 'POST', `${base}/pause-all`, { action: 'pause' })),
        button('resume-all', 'Resume all', () => act('Every paused run goes on.', 'POST', `${base}/pause-all`, { action: 'resume' })),
        button('stop-all', 'Stop all', () => window.confirm('Stop every run of the class?') && act('Every run is stopped.', 'POST', `${base}/pause-all`, { action: 'stop' })),
        h('a', { href: `/#class=${code}`, target: '_blank', rel: 'noopener', id: 'projector-link', class: 'teach-link', title: 'The playground following the spotlight, for the projector' }, 'Projector view'),
        h('a', { href: `/race#class=${code}`, target: '_blank', rel: 'noopener', id: 'race-link', class: 'teach-link', title: 'Every student’s live run at once, with aliases, for the projector' }, 'Race board'),
        names,
        button('export-csv', 'Results (CSV)', exportCsv, 'Every student’s runs with their final metrics'),
        button('close-class', 'Close class', async () => {
          if (!window.confirm('Close the class? Every run stops and nobody can join.')) return;
          await act('The class is closed.', 'POST', `${base}/close`);
        }),
        button('new-class', 'New class', () => {
          localStorage.removeItem(TEACHER_KEY);
          socket?.close();
          showOpen();
        }),
      ),
      status,
    ),
    dashRoot,
    h('div', { class: 'lab-panels' }, experimentRoot, questionRoot),
  );

  function applyState(s) {
    state = s;
    title.textContent = `${s.name}${s.closed ? ' (closed)' : ''}`;
    lock.textContent = s.locked ? 'Unlock editing' : 'Lock editing';
    lock.setAttribute('aria-pressed', String(Boolean(s.locked)));
    endSpot.disabled = !s.spotlight;
    names.textContent = s.show_names ? 'Show aliases on projector' : 'Show names on projector';
    names.setAttribute('aria-pressed', String(Boolean(s.show_names)));
    document.body.dataset.spotlight = s.spotlight || '';
  }

  let socket = null;
  let attempt = 0;
  function connect() {
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${window.location.host}/ws/classes/${encodeURIComponent(code)}`;
    const ws = new WebSocket(url, ['layerlab', `layerlab-teacher.${token}`]); // never in the URL
    socket = ws;
    let opened = false;
    ws.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === 'hello') {
        opened = true;
        attempt = 0;
        applyState(msg.class);
      } else if (msg.type === 'state') {
        applyState(msg.class);
      } else if (msg.type === 'dashboard') {
        applyState(msg.class);
        dashboard.update(msg);
        document.body.dataset.students = String(msg.students.length);
        document.body.dataset.dashboardTime = String(msg.time);
        experiment.refresh();
      } else {
        question.message(msg);
      }
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      if (!opened && !state) {
        localStorage.removeItem(TEACHER_KEY);
        showOpen(`Class ${code} could not be opened with this browser's teacher token.`);
        return;
      }
      attempt += 1;
      setTimeout(connect, Math.min(8000, 500 * 2 ** (attempt - 1)));
    };
  }
  connect();
}

const last = saved();
if (last?.code && last?.token) showClass(last.code, last.token);
else showOpen();
document.body.dataset.ready = 'true';
