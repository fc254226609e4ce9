// A student's help panel: what the server's diagnosis finds in their latest run (a sentence
// and the change to try, per finding: GET /api/classes/<code>/help) and a hand to raise for
// the teacher (POST .../hand). Refreshed every REFRESH_MS while the page is open.

import { h, replace } from '../util/dom.js';
import { request, describeMessages } from '../http.js';

const REFRESH_MS = 4000; // 200 students: 50 cheap requests a second, all from memory

/** helpFlags({root, base}) -> {refresh(), resume(), pause()}; `base`: /api/classes/<code>. */
export function helpFlags({ root, base }) {
  let hand = false;
  const button = h('button', { type: 'button', id: 'raise-hand', 'aria-pressed': 'false' }, 'Raise hand');
  const list = h('ul', { class: 'help-findings', id: 'help-findings' });
  const note = h('output', { class: 'muted', id: 'hand-note', 'aria-live': 'polite' });
  button.addEventListener('click', async () => {
    try {
      const answer = await request('POST', `${base}/hand`, { body: { raised: !hand }, describe: describeMessages });
      show(answer.raised, null);
    } catch (err) {
      note.textContent = `The hand could not be raised: ${err.message}`;
    }
  });
  replace(root, h('h3', { class: 'panel-title' }, 'Help'), list, h('div', { class: 'help-actions' }, button, note));

  function show(raised, diagnosis, runId = null) {
    hand = Boolean(raised);
    button.textContent = hand ? 'Lower hand' : 'Raise hand';
    button.setAttribute('aria-pressed', String(hand));
    note.textContent = hand ? 'Your teacher sees your hand.' : '';
    if (!diagnosis) return;
    root.dataset.codes = diagnosis.map((d) => d.code).join(' ');
    replace(
      list,
      diagnosis.length
        ? diagnosis.map((d) => h('li', { class: 'help-finding', dataset: { code: d.code } }, h('strong', {}, d.sentence), ' ', h('span', { class: 'help-try' }, `Try: ${d.suggestion}`)))
        : h('li', { class: 'muted' }, runId ? 'Nothing looks wrong with your latest run.' : 'Train a run: if something goes wrong, it says here what to try.'),
    );
  }

  let timer = null; // the poll's interval; null while paused
  async function refresh() {
    if (timer === null) return; // paused: removed from the class
    try {
      const help = await request('GET', `${base}/help`, { describe: describeMessages });
      show(help.hand, help.diagnosis, help.run_id);
    } catch (err) {
      // Refused: this token is spent (removed from the class; the socket's 'removed' may still
      // be on its way). Otherwise the class socket reconnects on its own and the next refresh
      // tries again.
      if (err.status === 403) pause();
    }
  }
  // Polled while the student is in the class; paused and hidden once removed (its token is
  // spent: a refused request would only log errors, a raised hand reach nobody) until they
  // join again.
  function resume() {
    root.hidden = false;
    if (timer === null) timer = setInterval(refresh, REFRESH_MS);
    refresh();
  }
  function pause() {
    root.hidden = true;
    clearInterval(timer);
    timer = null;
  }
  resume();
  return { refresh, resume, pause };
}
