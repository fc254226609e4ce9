// The teacher's class experiment: a base design (the design last pushed, or one pasted as
// JSON), one setting and its values -> POST /api/classes/<code>/experiment; then the class plot:
// each ended run's final metric against the setting's value, one dot per student, with the
// spread (min to max, and the mean) of each value. Rows come from GET .../experiment, fetched
// again while runs end (`refresh()`, called on each dashboard message, at most every 2 s).

import { h, replace } from '../util/dom.js';
import { download } from '../http.js';

const SETTINGS = [
  ['learning_rate', 'Learning rate', '0.003, 0.01, 0.03, 0.1, 0.3'],
  ['units', 'Units per layer', '2, 4, 8, 16'],
  ['layers', 'Hidden layers', '0, 1, 2, 3'],
  ['activation', 'Activation', 'relu, tanh, sigmoid'],
  ['batch_size', 'Batch size', '1, 10, 50'],
  ['optimizer', 'Optimiser', 'sgd, adam'],
  ['data_fraction', 'Training data used', '0.1, 0.3, 1'],
  ['seed', 'Seed', '1, 2, 3'],
];
const TEXT = new Set(['activation', 'optimizer']);
const REFRESH_MS = 2000;
const SVG = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The class plot: values along x (in the order given), the metric up y, one dot per run. */
export function experimentPlot(experiment, rows) {
  const W = 420;
  const H = 220;
  const pad = { l: 44, r: 12, t: 12, b: 36 };
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, class: 'experiment-plot', id: 'experiment-plot', role: 'img' });
  const values = experiment.values;
  const done = rows.filter((r) => r.metric !== null && Number.isFinite(r.metric));
  const name = done[0]?.metric_name || 'metric';
  svg.setAttribute('aria-label', `${name} against ${experiment.setting}: ${done.length} runs`);
  const ys = done.map((r) => r.metric);
  const lo = name === 'val_accuracy' ? 0 : Math.min(0, ...ys);
  const hi = name === 'val_accuracy' ? 1 : Math.max(1e-9, ...ys);
  const x = (i) => pad.l + ((i + 0.5) / values.length) * (W - pad.l - pad.r);
  const y = (v) => H - pad.b - ((v - lo) / (hi - lo || 1)) * (H - pad.t - pad.b);
  svg.append(svgEl('line', { x1: pad.l, x2: W - pad.r, y1: H - pad.b, y2: H - pad.b, class: 'axis' }));
  svg.append(svgEl('line', { x1: pad.l, x2: pad.l, y1: pad.t, y2: H - pad.b, class: 'axis' }));
  for (const t of [lo, (lo + hi) / 2, hi]) svg.append(svgEl('text', { x: pad.l - 4, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, Number(t.toPrecision(2))));
  values.forEach((value, i) => {
    svg.append(svgEl('text', { x: x(i), y: H - pad.b + 16, 'text-anchor': 'middle', class: 'tick' }, String(value)));
    const mine = done.filter((r) => JSON.stringify(r.value) === JSON.stringify(value)).map((r) => r.metric);
    if (mine.length) {
      const mean = mine.reduce((a, b) => a + b, 0) / mine.length;
      svg.append(svgEl('line', { x1: x(i), x2: x(i), y1: y(Math.min(...mine)), y2: y(Math.max(...mine)), class: 'spread' }));
      svg.append(svgEl('line', { x1: x(i) - 10, x2: x(i) + 10, y1: y(mean), y2: y(mean), class: 'mean' }));
    }
    mine.forEach((m, j) => svg.append(svgEl('circle', { cx: x(i) + (j - (mine.length - 1) / 2) * 4, cy: y(m), r: 3.5, class: 'run-dot' })));
  });
  svg.append(svgEl('text', { x: (W + pad.l) / 2, y: H - 4, 'text-anchor': 'middle', class: 'label' }, experiment.setting));
  svg.append(svgEl('text', { x: pad.l + 6, y: pad.t + 8, class: 'label' }, name));
  return svg;
}

function parseValues(setting, text) {
  return text
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)
    .map((v) => (TEXT.has(setting) ? v : Number(v)));
}

/** experimentPanel({root, base, call(method, path, body), pushed() -> design | null}) -> {refresh(), message(msg)} */
export function experimentPanel({ root, base, call, pushed }) {
  const setting = h('select', { id: 'experiment-setting' }, SETTINGS.map(([value, label]) => h('option', { value }, label)));
  const values = h('input', { id: 'experiment-values', type: 'text', value: SETTINGS[0][2], size: 28 });
  setting.addEventListener('change', () => (values.value = SETTINGS.find(([v]) => v === setting.value)[2]));
  const design = h('textarea', { id: 'experiment-design', rows: 3, placeholder: 'the base design as JSON (empty: the design you pushed last)' });
  const status = h('output', { id: 'experiment-status', class: 'muted', 'aria-live': 'polite' });
  const plot = h('div', { class: 'experiment-plot-box', id: 'experiment-plot-box' });
  let current = null;
  let last = 0;

  async function startIt(event) {
    event.preventDefault();
    let base_ = pushed();
    if (design.value.trim()) {
      try {
        base_ = JSON.parse(design.value);
      } catch {
        status.textContent = 'The base design is not valid JSON.';
        return;
      }
    }
    if (!base_) {
      status.textContent = 'Push a design to the class first (or paste one as JSON).';
      return;
    }
    const body = { experiment: base_, setting: setting.value, values: parseValues(setting.value, values.value) };
    const started = await call('POST', `${base}/experiment`, body, 'The experiment has started: every student has a value.');
    if (started) {
      status.textContent = `Started: ${started.assigned} students each have one of ${started.values.length} values.`;
      current = started;
      refresh(true);
    }
  }
  const endIt = async () => {
    if (await call('DELETE', `${base}/experiment`, undefined, 'The experiment has ended.')) {
      status.textContent = 'Ended: students may change the setting again.';
      current = null;
      replace(plot);
    }
  };
  const csv = () => download(`${base}/experiment.csv`, 'class-experiment.csv').catch((err) => (status.textContent = err.message));

  replace(
    root,
    h('h3', { class: 'panel-title' }, 'Class experiment'),
    h(
      'form',
      { class: 'experiment-form', onsubmit: startIt },
      h('label', { for: 'experiment-setting' }, 'Vary'),
      setting,
      h('label', { for: 'experiment-values' }, 'Values'),
      values,
      design,
      h('button', { type: 'submit', id: 'experiment-start' }, 'Start experiment'),
      h('button', { type: 'button', id: 'experiment-end', onclick: endIt }, 'End'),
      h('button', { type: 'button', id: 'experiment-csv', onclick: csv }, 'CSV'),
    ),
    status,
    plot,
  );

  async function refresh(now = false) {
    if (!current || (!now && Date.now() - last < REFRESH_MS)) return;
    last = Date.now();
    const got = await call('GET', `${base}/experiment`);
    if (!got?.experiment) return;
    current = got.experiment;
    root.dataset.rows = String(got.rows.length);
    replace(plot, experimentPlot(got.experiment, got.rows), h('p', { class: 'muted' }, `${got.rows.length} runs ended`));
  }
  call('GET', `${base}/experiment`).then((got) => {
    if (got?.experiment) {
      current = got.experiment;
      refresh(true);
    }
  });
  return { refresh };
}
