// The embedding projector: the validation set's activations at one layer of the run's network,
// projected to 2D and coloured by class. PCA follows the run live (asked at most once a second
// while the run trains and the view is on screen: server/engine/projector.py measures why it
// is asked for, not streamed); t-SNE is computed on demand, with its progress shown while the
// server works. Hover a dot for its example: the image, the sentence or the values.

import { insightApi } from '../insight-api.js';
import { h, replace } from '../util/dom.js';
import { projectorScatter } from './projector-scatter.js';

const LIVE_MS = 1000; // one PCA per second at most while the run trains
const LIMIT = 300; // examples drawn
const PLOT_HELP = 'Each validation example as a dot, placed by the layer’s activations and coloured by its class. Hover a dot to see the example.';

/** projectorView({root}) -> {update(session, dataset), visible(): bool}. */
export function projectorView({ root }) {
  const layerSelect = h('select', { id: 'projector-layer', 'aria-label': 'Layer whose activations are projected' });
  const pca = h('button', { type: 'button', id: 'projector-pca', 'aria-pressed': 'true', title: 'Principal components: exact, and live while the run trains' }, 'PCA (live)');
  const tsne = h('button', { type: 'button', id: 'projector-tsne', 'aria-pressed': 'false', title: 't-SNE: neighbours stay neighbours; computed on the server when you ask' }, 't-SNE');
  const status = h('p', { class: 'projector-status', id: 'projector-status', 'aria-live': 'polite', dataset: { state: 'idle' } });
  const canvas = h('canvas', { id: 'projector-canvas', class: 'view-canvas projector-canvas', role: 'img', 'aria-label': PLOT_HELP, title: PLOT_HELP });
  const card = h('div', { class: 'projector-hover', id: 'projector-hover', hidden: true, role: 'tooltip' });
  const readout = h('p', { class: 'readout', id: 'projector-readout', 'aria-live': 'polite' });
  const help = h(
    'details',
    { class: 'help' },
    h('summary', {}, 'What is this?'),
    h('p', {}, 'Every dot is one validation example. The network turns it into a list of numbers at the layer you pick; PCA lays those lists flat on the screen along their two widest directions, t-SNE so that examples the layer finds alike sit together. When the colours (the classes) separate, that layer has learned to tell them apart.'),
  );
  replace(
    root,
    h('h2', { class: 'panel-title', id: 'projector-title' }, 'Embedding projector'),
    h('div', { class: 'projector-controls' }, h('label', { for: 'projector-layer' }, 'Layer'), layerSelect, h('span', { class: 'projector-methods', role: 'group', 'aria-label': 'Projection' }, pca, tsne)),
    help,
    status,
    h('div', { class: 'projector-plot' }, canvas, card),
    readout,
  );
  const scatter = projectorScatter({ canvas, card, readout, empty: 'The projection appears once the run has started' });

  let session = null;
  let runId = null;
  let family = null;
  let method = 'pca';
  let layer = null;
  let images = null; // the run's example thumbnails (image sets), asked once per run
  let busy = false;
  let again = false;
  let lastAt = 0;
  let timer = null;
  let onScreen = false;
  let lastStatus = null;
  new IntersectionObserver((entries) => {
    onScreen = entries.some((e) => e.isIntersecting);
    if (!onScreen) return;
    if (runId && status.dataset.state === 'idle') refresh(); // first seen: ask now
    else schedule();
  }).observe(root);

  function setState(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function setMethod(next) {
    method = next;
    pca.setAttribute('aria-pressed', String(next === 'pca'));
    tsne.setAttribute('aria-pressed', String(next === 'tsne'));
    refresh();
  }
  pca.addEventListener('click', () => setMethod('pca'));
  tsne.addEventListener('click', () => setMethod('tsne'));
  layerSelect.addEventListener('change', () => {
    layer = layerSelect.value;
    refresh();
  });

  function fillLayers(choices) {
    const key = JSON.stringify(choices.map((c) => c.layer));
    if (layerSelect.dataset.key === key) return;
    layerSelect.dataset.key = key;
    replace(layerSelect, choices.map((c) => h('option', { value: String(c.layer) }, `${c.name} (${c.dim} value${c.dim === 1 ? '' : 's'})`)));
    layerSelect.value = String(layer);
  }

  /** Ask now (or right after the answer in flight). */
  async function refresh() {
    if (!runId) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    const id = runId;
    const asked = method;
    const started = performance.now();
    let ticker = null;
    if (asked === 'tsne') {
      // t-SNE takes seconds on the server: say so, and count them.
      const say = () => setState('busy', `Computing t-SNE of ${LIMIT} examples on the server… ${Math.round((performance.now() - started) / 1000)} s`);
      say();
      ticker = setInterval(say, 500);
    } else if (status.dataset.state !== 'ready') setState('busy', 'Projecting…');
    try {
      const wantImages = family === 'image' && !images;
      const answer = await insightApi.projection(id, { layer, method: asked, limit: LIMIT, examples: wantImages || null });
      if (id !== runId) return;
      if (answer.images) images = answer.images;
      fillLayers(answer.layers || []);
      scatter.set(answer, { images });
      scatter.draw();
      canvas.dataset.method = answer.method;
      canvas.dataset.layer = String(answer.layer);
      const epoch = session?.epoch ?? 0;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const live = asked === 'pca' && session?.status === 'running' ? ' Live: it follows the training.' : '';
      setState('ready', `${asked === 'tsne' ? 't-SNE' : 'PCA'} at epoch ${epoch} (${seconds} s).${live}`);
    } catch (err) {
      if (id === runId) setState('error', err.message);
    } finally {
      clearInterval(ticker);
      busy = false;
      lastAt = performance.now();
      if (again) {
        again = false;
        refresh();
      } else schedule();
    }
  }

  /** While the run trains and the view is on screen: PCA again, at most once a second. */
  function schedule() {
    clearTimeout(timer);
    if (!runId || busy || !onScreen || method !== 'pca' || session?.status !== 'running') return;
    timer = setTimeout(refresh, Math.max(0, lastAt + LIVE_MS - performance.now()));
  }

  return {
    update(s, dataset) {
      session = s;
      const id = s.runId && !['failed', 'diverged', 'idle', 'error', 'starting'].includes(s.status) ? s.runId : null;
      if (id !== runId) {
        runId = id;
        images = null;
        family = dataset?.family || null;
        const n = s.experiment?.model?.layers?.length || 0;
        layer = n ? String(n - 1) : 'head'; // the last layer before the output: the most telling
        layerSelect.dataset.key = '';
        scatter.set(null);
        scatter.draw();
        setState('idle', id ? '' : 'Start a run to project its data.');
        if (id && onScreen) refresh();
        return;
      }
      const changed = s.status !== lastStatus;
      lastStatus = s.status;
      // A paused or ended run: one last PCA of its final weights.
      if (id && onScreen && ((changed && method === 'pca') || status.dataset.state === 'idle')) refresh();
      else schedule();
    },
    redraw: () => scatter.draw(),
  };
}
