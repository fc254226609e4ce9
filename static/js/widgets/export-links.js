// "Export": once a run has finished or been stopped, download links: the trained network as a
// standalone PyTorch script (model.py), its weights (weights.safetensors) and the network as
// ONNX (model.onnx, made by the server on the first download), and the history as CSV. The server
// says whether a run has an export (GET /api/runs/{id} -> `export`), so runs without one (failed,
// diverged, or on a server that keeps no ended runs) never show the group.

import { h } from '../util/dom.js';
import { api } from '../api.js';
import { classHeaders, download } from '../http.js';

const EXPORTED = new Set(['finished', 'stopped']);

/** exportLinks({root}) -> {update(session)}: asks the server once per ended run. */
export function exportLinks({ root }) {
  const link = (id, text, label, tip) =>
    h('a', { id, class: 'export-link', href: '#', download: '', 'aria-label': label, title: tip }, text);
  const script = link(
    'export-script',
    'model.py',
    'Download model.py, a standalone PyTorch script of this network',
    'A standalone PyTorch script: rebuilds this network with plain torch.nn and loads the weights',
  );
  const weights = link(
    'export-weights',
    'weights',
    'Download weights.safetensors, the trained weights',
    'The trained weights as safetensors (no pickle), for model.py',
  );
  const onnx = link(
    'export-onnx',
    'ONNX',
    'Download model.onnx, this network as ONNX for onnxruntime and other runtimes',
    'The network as ONNX (made on the first download: it takes a few seconds)',
  );
  onnx.classList.add('off');
  const history = link(
    'export-history',
    'CSV',
    'Download the run’s history as CSV: loss, validation loss and metrics per epoch',
    'Every epoch record of this run as a table (CSV), for a spreadsheet or a plot of your own',
  );
  const group = h(
    'div',
    // Its place is kept from the start (the header never reflows): invisible until a run ended.
    { id: 'export-links', class: 'run-share export-links off', role: 'group', 'aria-labelledby': 'export-label' },
    h('span', { id: 'export-label', class: 'counter-label' }, 'Export'),
    script,
    weights,
    onnx,
    history,
  );
  root.append(group);
  let asked = null; // the ended run the links are (being) looked up for

  // In a class, a run's files answer its student (or teacher) only, by a header that a plain
  // link cannot send: the click fetches with the token and saves what it gets.
  const names = new Map([[script, 'model.py'], [weights, 'weights.safetensors'], [onnx, 'model.onnx']]);
  for (const a of [script, weights, onnx, history]) {
    a.addEventListener('click', (event) => {
      if (!Object.keys(classHeaders()).length || a.getAttribute('href') === '#') return;
      event.preventDefault();
      const name = names.get(a) || `layerlab-${asked}-history.csv`;
      a.removeAttribute('data-error');
      download(a.getAttribute('href'), name).catch((err) => {
        a.dataset.error = err.message;
        a.title = `Could not download: ${err.message}`;
      });
    });
  }

  async function lookUp(runId) {
    let files = null;
    try {
      files = (await api.run(runId))?.export || null;
    } catch {
      files = null; // the run is gone (a restart): nothing to offer
    }
    if (asked !== runId || !files?.['model.py'] || !files?.['weights.safetensors']) return;
    script.href = files['model.py'];
    weights.href = files['weights.safetensors'];
    onnx.classList.toggle('off', !files['model.onnx']);
    if (files['model.onnx']) onnx.href = files['model.onnx'];
    history.href = `/api/runs/${encodeURIComponent(runId)}/history.csv`;
    group.classList.remove('off');
  }

  return {
    update(session) {
      const ended = session.runId && EXPORTED.has(session.status) ? session.runId : null;
      if (ended === asked) return;
      asked = ended;
      group.classList.add('off');
      if (ended) lookUp(ended);
    },
  };
}
