// The "Try it" section (issue 23), below the stage and opened by the "Try it" button in the
// Step through row, for a design whose data a learner can make themselves: a sentence for a
// text set (widgets/text-tryit.js), a spoken word for spoken_digits (widgets/speech-tryit.js).
// It is there as soon as such a design is chosen, and answers once the page's run (its own or
// a watched one) has weights: running, paused, finished or stopped. Every question goes through
// POST /api/runs/{id}/predict with `explain` (the server bounds asks per run and per client,
// answers in the run's own turn, and from saved weights once the run ended); one question is
// in flight at a time and the latest typed or recorded one waits behind it (latest wins).
// The speech view's clips are the run's validation examples (GET /api/runs/{id}/clips).

import { api } from '../api.js';
import { request } from '../http.js';
import { h, replace } from '../util/dom.js';
import { addDeeperSection } from '../widgets/deeper-views.js';
import { textTryIt } from '../widgets/text-tryit.js';
import { speechTryIt } from '../widgets/speech-tryit.js';
import { tryItKind } from '../widgets/tryit-kind.js';

const LIVE = ['running', 'paused', 'finished', 'stopped'];

/** tryItFlow(page): fills page.tryIt = {update(session), redraw()}. */
export function tryItFlow(page) {
  const body = h('div', { class: 'tryit-body' });
  const panel = h(
    'section',
    { class: 'panel tryit-panel', id: 'tryit-panel', 'aria-labelledby': 'tryit-title', hidden: true },
    h('h2', { class: 'panel-title', id: 'tryit-title' }, 'Try it'),
    body,
  );
  // A section below the stage, opened by a "Try it" button in the Step through row: in the
  // output column it grew the stage as a run started (test_watchable_stage's boxes moved).
  const section = addDeeperSection({ id: 'tryit-section', title: 'Try it', element: panel });
  section.hidden = true;
  const open = h('button', { type: 'button', id: 'open-tryit', hidden: true, title: 'Try it: ask the network about a sentence or a spoken word of your own' }, 'Try it ▾');
  const strip = document.getElementById('insight-strip'); // the Step through row's buttons
  if (strip) strip.prepend(open);
  else document.getElementById('model-column').append(open);
  open.addEventListener('click', () => {
    section.hidden = false;
    section.scrollIntoView({ block: 'start' });
    panel.querySelector('h2')?.setAttribute('tabindex', '-1');
    panel.querySelector('h2')?.focus({ preventScroll: true });
  });

  let shown; // `${runId}:${kind}` or `idle:${kind}` on screen (undefined: the first update always applies)
  let runId = null;
  let view = null;
  let asking = false;
  let waiting;

  async function ask(input) {
    if (!runId || !view) return;
    if (asking) {
      waiting = input; // latest wins
      return;
    }
    asking = true;
    const [id, target] = [runId, view];
    try {
      const answer = await api.predict(id, { input, explain: true });
      if (id === runId && target === view) target.show(answer);
    } catch (err) {
      if (id === runId && target === view) target.fail(err.message);
    } finally {
      asking = false;
      if (waiting !== undefined) {
        const next = waiting;
        waiting = undefined;
        ask(next);
      }
    }
  }

  function update(session) {
    // The panel is there as soon as the design's data fits (before a run: a note), so that
    // starting or ending a run never changes the stage's boxes (test_watchable_stage).
    const kind = tryItKind((session.experiment || page.experiment?.())?.dataset?.name);
    const live = Boolean(kind && session.runId && LIVE.includes(session.status));
    const key = kind ? (live ? `${session.runId}:${kind}` : `idle:${kind}`) : null;
    if (key === shown) return;
    shown = key;
    runId = live ? session.runId : null;
    waiting = undefined;
    panel.hidden = !kind;
    open.hidden = !kind;
    section.hidden = !kind;
    const link = document.querySelector('.deeper-link[data-section="tryit-section"]');
    if (link) link.hidden = !kind; // the bar of sections below names it only when it applies
    panel.dataset.kind = kind || '';
    view = null;
    if (!kind) {
      replace(body);
      return;
    }
    if (!live) {
      const what = kind === 'text' ? 'type a sentence' : 'record a spoken digit';
      replace(body, h('p', { class: 'muted tryit-idle' }, `Train the network, then ${what} here and see what it makes of it.`));
      return;
    }
    const id = session.runId;
    view = kind === 'text'
      ? textTryIt({ ask })
      : speechTryIt({ ask, clips: () => request('GET', `/api/runs/${encodeURIComponent(id)}/clips?count=20`) });
    replace(body, view.element);
  }

  page.tryIt = { update, redraw: () => view?.redraw() };
  if (page.session) update(page.session); // the design already chosen: its button and section
  return page.tryIt;
}
