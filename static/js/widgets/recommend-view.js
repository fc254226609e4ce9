// Recommendations, for a run on `ratings` with a recommender layer: pick a user and see the
// items the network would recommend (highest predicted rating among those the user has not
// rated), the user's own ratings beside its predictions, how much better than always guessing
// the mean rating it is (RMSE on held-out ratings), and the item vectors as a map.

import { insightApi } from '../insight-api.js';
import { h, replace, formatNumber } from '../util/dom.js';
import { projectorScatter } from './projector-scatter.js';

const LIVE_MS = 1000;
const TOP = 10;
const MAP_HELP = 'Every item as a dot, placed by its learned vector and coloured by its genre; the recommended items are ringed. Hover a dot for its name.';

/** recommendView({root}) -> {update(session)}: shown for recommender runs only. */
export function recommendView({ root }) {
  const user = h('input', { type: 'number', id: 'rec-user', min: 0, value: 0, step: 1, inputmode: 'numeric' });
  const show = h('button', { type: 'button', id: 'rec-show' }, 'Recommend');
  const other = h('button', { type: 'button', id: 'rec-random', title: 'Another user, at random' }, 'Someone else');
  const score = h('p', { class: 'rec-rmse', id: 'rec-rmse', 'aria-live': 'polite' });
  const status = h('p', { class: 'projector-status', id: 'rec-status', 'aria-live': 'polite', dataset: { state: 'idle' } });
  const top = h('ol', { class: 'rec-list', id: 'rec-top', 'aria-label': 'Recommended items, best first' });
  const rated = h('ul', { class: 'rec-list rec-rated', id: 'rec-rated', 'aria-label': 'Items this user rated' });
  const canvas = h('canvas', { id: 'rec-map', class: 'view-canvas projector-canvas', role: 'img', 'aria-label': MAP_HELP, title: MAP_HELP });
  const card = h('div', { class: 'projector-hover', id: 'rec-hover', hidden: true, role: 'tooltip' });
  const readout = h('p', { class: 'readout', id: 'rec-readout' });
  replace(
    root,
    h('h2', { class: 'panel-title', id: 'rec-title' }, 'Recommendations'),
    h('div', { class: 'projector-controls' }, h('label', { for: 'rec-user' }, 'User'), user, show, other),
    score,
    status,
    h(
      'div',
      { class: 'rec-grid' },
      h('div', {}, h('h3', { class: 'view-title' }, 'Recommended (not rated yet)'), top, h('h3', { class: 'view-title' }, 'Already rated: real ★ and predicted'), rated),
      h('div', {}, h('h3', { class: 'view-title' }, 'Items as a map (their learned vectors, PCA)'), h('div', { class: 'projector-plot' }, canvas, card), readout),
    ),
  );
  const map = projectorScatter({ canvas, card, readout, empty: 'The item map appears once the run has started' });

  let session = null;
  let runId = null;
  let users = null;
  let busy = false;
  let again = false;
  let lastAt = 0;
  let timer = null;
  let lastStatus = null;
  let onScreen = false;
  new IntersectionObserver((entries) => {
    onScreen = entries.some((e) => e.isIntersecting);
    if (!onScreen) return;
    if (runId && status.dataset.state === 'idle') refresh(); // first seen: ask now
    else schedule();
  }).observe(root);

  show.addEventListener('click', () => refresh());
  user.addEventListener('change', () => refresh());
  other.addEventListener('click', () => {
    user.value = String(Math.floor(Math.random() * (users || 1)));
    refresh();
  });

  async function refresh() {
    if (!runId) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    const id = runId;
    const who = Math.max(0, Math.floor(Number(user.value) || 0));
    if (status.dataset.state !== 'ready') {
      status.dataset.state = 'busy';
      status.textContent = 'Asking the network…';
    }
    try {
      const answer = await insightApi.recommendations(id, { user: who, k: TOP });
      if (id !== runId) return;
      users = answer.users;
      user.max = String(answer.users - 1);
      showAnswer(answer);
      status.dataset.state = 'ready';
      status.textContent = `User ${answer.user} of ${answer.users}, at epoch ${session?.epoch ?? 0}.`;
    } catch (err) {
      if (id === runId) {
        status.dataset.state = 'error';
        status.textContent = err.message;
      }
    } finally {
      busy = false;
      lastAt = performance.now();
      if (again) {
        again = false;
        refresh();
      } else schedule();
    }
  }

  function showAnswer(a) {
    const better = a.rmse < a.baseline_rmse;
    score.dataset.rmse = String(a.rmse);
    score.dataset.baseline = String(a.baseline_rmse);
    score.dataset.better = String(better);
    replace(
      score,
      h('strong', {}, `RMSE ${formatNumber(a.rmse)}`),
      ` on held-out ratings (how many stars it is off, typically). Always guessing the mean rating (${formatNumber(a.mean_rating)}★) is off by ${formatNumber(a.baseline_rmse)}: `,
      h('strong', { class: better ? 'rec-better' : 'rec-worse' }, better ? `the network is ${Math.round((1 - a.rmse / a.baseline_rmse) * 100)}% better.` : 'the network does not beat it yet.'),
    );
    replace(top, a.top.map((t) => h('li', { dataset: { item: t.item } }, h('span', { class: 'rec-name' }, t.name), h('span', { class: 'rec-score' }, `${formatNumber(t.score)}★ predicted`))));
    replace(
      rated,
      a.rated.slice(0, 8).map((r) => h('li', { dataset: { item: r.item } }, h('span', { class: 'rec-name' }, r.name), h('span', { class: 'rec-score' }, `${r.rating}★, predicted ${formatNumber(r.score)}★`))),
      a.rated.length > 8 ? h('li', { class: 'muted' }, `and ${a.rated.length - 8} more`) : null,
    );
    map.set(a.map, { highlight: a.top.map((t) => t.item) });
    map.draw();
  }

  function schedule() {
    clearTimeout(timer);
    if (!runId || busy || !onScreen || session?.status !== 'running') return;
    timer = setTimeout(refresh, Math.max(0, lastAt + LIVE_MS - performance.now()));
  }

  return {
    update(s) {
      session = s;
      const id = s.runId && !['failed', 'diverged', 'idle', 'error', 'starting'].includes(s.status) ? s.runId : null;
      const changed = s.status !== lastStatus;
      lastStatus = s.status;
      if (id !== runId) {
        runId = id;
        map.set(null);
        map.draw();
        replace(top);
        replace(rated);
        replace(score);
        status.dataset.state = 'idle';
        status.textContent = id ? '' : 'Start a run to see its recommendations.';
      }
      if (id && onScreen && (changed || status.dataset.state === 'idle')) refresh();
      else schedule();
    },
    redraw: () => map.draw(),
  };
}
