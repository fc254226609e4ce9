// The "Try it" panel on the stage (issue 23), under the output views, for a run whose data a
// learner can make themselves: a sentence for a text set (widgets/text-tryit.js), a spoken
// word for spoken_digits (widgets/speech-tryit.js). It appears once the page's run (its own or
// a watched one) has weights: running, paused, finished or stopped. Every question goes through
// POST /api/runs/{id}/predict with `explain` (the server bounds asks per run and per client,
// answers in the run's own turn, and from saved weights once the run ended); one question is
// in flight at a time and the latest typed or recorded one waits behind it (latest wins).
// The speech view's clips are the run's validation examples (GET /api/runs/{id}/clips).

import { api } from '../api.js';
import { request } from '../http.js';
import { h, replace } from '../util/dom.js';
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
  document.getElementById('output-column').append(panel);

  let shown = null; // `${runId}:${kind}` on screen
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
    const name = session.experiment?.dataset?.name;
    const kind = session.runId && LIVE.includes(session.status) ? tryItKind(name) : null;
    const key = kind ? `${session.runId}:${kind}` : null;
    if (key === shown) return;
    shown = key;
    runId = kind ? session.runId : null;
    waiting = undefined;
    panel.hidden = !kind;
    panel.dataset.kind = kind || '';
    if (!kind) {
      view = null;
      replace(body);
      return;
    }
    const id = session.runId;
    view = kind === 'text'
      ? textTryIt({ ask })
      : speechTryIt({ ask, clips: () => request('GET', `/api/runs/${encodeURIComponent(id)}/clips?count=20`) });
    replace(body, view.element);
  }

  page.tryIt = { update, redraw: () => view?.redraw() };
  return page.tryIt;
}
