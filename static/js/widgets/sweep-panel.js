// "Sweep": train the current design in several variants at once, one or two settings varied
// (POST /api/sweeps, owned by this browser's X-Owner-Token). Every variant is an ordinary run:
// the panel follows each one's WebSocket (api.js RunSocket: history first, then every epoch),
// overlays their validation loss on one chart and plots the chosen metric against the first
// setting (sweep-plot.js), live; Stop sweep stops every variant still going. The last sweep
// started here is shown again after a reload (its runs are read back from the server).

import { api, RunSocket, TERMINAL } from '../api.js';
import { h, replace, formatNumber } from '../util/dom.js';
import { invalidate } from '../store.js';
import { lineChart } from './loss-chart.js';
import { sweepPlot } from './sweep-plot.js';

const LAST_KEY = 'layerlab.lastSweep';
const DASHES = [null, [8, 4]];
export const SETTINGS = [
  ['learning_rate', 'Learning rate', '0.001, 0.01, 0.1, 1'],
  ['units', 'Units of a layer', '2, 4, 8, 16'],
  ['layers', 'Number of layers', '1, 2, 4, 6'],
  ['batch_size', 'Batch size', '5, 10, 50, 100'],
  ['activation', 'Activation', 'relu, tanh, sigmoid'],
  ['optimizer', 'Optimiser', 'sgd, adam, rmsprop'],
  ['data_fraction', 'Training data used', '0.05, 0.1, 0.25, 0.5, 1'],
];
const TITLE = Object.fromEntries(SETTINGS.map(([k, t]) => [k, t.toLowerCase()]));
const NAMES = new Set(['activation', 'optimizer']);

/** "0.001, 0.01" -> [0.001, 0.01]; names stay text. */
export function parseValues(setting, text) {
  const parts = String(text).split(/[,\s]+/).map((s) => s.trim()).filter(Boolean);
  return NAMES.has(setting) ? parts : parts.map((s) => (/^-?[\d.]+(e-?\d+)?%?$/i.test(s) ? (s.endsWith('%') ? Number(s.slice(0, -1)) / 100 : Number(s)) : s));
}

/**
 * sweepPanel({root, getExperiment() -> experiment}) -> {prefill(sweep), redraw(), follow(id)}
 * sweep (a lesson's): {axes: [{setting, values, layer}], epochs}.
 */
export function sweepPanel({ root, getExperiment }) {
  let current = null; // {id, axes, variants: [{..., records: [], status, socket}]}
  const axisRows = [0, 1].map((i) => axisRow(i));
  const epochs = h('input', { id: 'sweep-epochs', type: 'number', min: 1, max: 10000, step: 1, value: 100, 'aria-label': 'Epochs per variant' });
  const start = h('button', { type: 'submit', id: 'sweep-start', class: 'primary' }, 'Start sweep');
  const stop = h('button', { type: 'button', id: 'sweep-stop', disabled: true, onclick: () => stopSweep() }, 'Stop sweep');
  const status = h('p', { id: 'sweep-status', class: 'muted', 'aria-live': 'polite' });
  const legend = h('ul', { id: 'sweep-legend', class: 'compare-legend', 'aria-label': 'Variants on the chart' });
  const help = 'Validation loss of every variant, one colour per variant, as it trains.';
  const curves = h('canvas', { id: 'sweep-curves', class: 'view-canvas compare-canvas', role: 'img', 'aria-label': `Variants’ validation loss. ${help}`, title: help });
  const readout = h('p', { id: 'sweep-readout', class: 'readout', 'aria-live': 'polite' });
  const chart = lineChart({ canvas: curves, readout, series: [], includeZero: false, emptyText: 'Start a sweep to overlay its variants’ curves' });
  const plotHelp = 'The chosen metric of each variant against the first setting: hollow while it trains, filled once it ended.';
  const plotCanvas = h('canvas', { id: 'sweep-plot', class: 'view-canvas compare-canvas', role: 'img', 'aria-label': `Metric against the setting. ${plotHelp}`, title: plotHelp });
  const plot = sweepPlot({ canvas: plotCanvas });
  let chosenMetric = null; // picked by the person; else the main one (val accuracy, or val loss)
  const metric = h('select', { id: 'sweep-metric', 'aria-label': 'Metric to plot', onchange: () => { chosenMetric = metric.value; redraw(); } });
  const plotLegend = h('ul', { id: 'sweep-plot-legend', class: 'compare-legend', 'aria-label': 'Second setting’s values' });
  const table = h('table', { id: 'sweep-table', class: 'compare-table', hidden: true });

  const form = h(
    'form',
    { id: 'sweep-form', class: 'sweep-form', onsubmit: (e) => { e.preventDefault(); startSweep(); } },
    axisRows.map((r) => r.el),
    h('div', { class: 'sweep-row' }, h('label', { for: 'sweep-epochs' }, 'Epochs per variant'), epochs, start, stop),
  );
  const panel = h(
    'details',
    { id: 'sweep', class: 'compare sweep', ontoggle: () => panel.open && restore() },
    h('summary', { class: 'compare-summary' }, h('h2', { class: 'panel-title', id: 'sweep-title' }, 'Sweep')),
    h(
      'div',
      { class: 'compare-body' },
      h('p', { class: 'muted' }, 'Train the current design in several variants at once: pick one or two settings and their values (comma-separated). Every combination starts together as a run of its own.'),
      form,
      status,
      h(
        'div',
        { class: 'sweep-views' },
        h('section', { class: 'view compare-view', 'aria-labelledby': 'sweep-curves-title' }, h('h3', { class: 'view-title', id: 'sweep-curves-title' }, 'Validation loss of every variant'), legend, curves, readout),
        h('section', { class: 'view compare-view', 'aria-labelledby': 'sweep-plot-title' }, h('h3', { class: 'view-title', id: 'sweep-plot-title' }, 'Final metric against the setting', metric), plotLegend, plotCanvas),
      ),
      h('div', { class: 'compare-table-wrap' }, table),
    ),
  );
  root.classList.add('compare-panel');
  replace(root, panel);
  axisRows.forEach((r) => r.sync());

  function axisRow(i) {
    const setting = h(
      'select',
      { id: `sweep-setting-${i}`, 'aria-label': i ? 'Second setting (optional)' : 'Setting to vary', onchange: () => { values.value = SETTINGS.find(([k]) => k === setting.value)?.[2] || ''; sync(); } },
      i ? h('option', { value: '' }, 'none') : null,
      SETTINGS.map(([k, t]) => h('option', { value: k }, t)),
    );
    if (i) setting.value = '';
    const layer = h('select', { id: `sweep-layer-${i}`, 'aria-label': 'Which layer', onfocus: () => layerOptions() });
    const values = h('input', { id: `sweep-values-${i}`, type: 'text', value: i ? '' : SETTINGS[0][2], 'aria-label': i ? 'Values of the second setting' : 'Values, comma-separated', placeholder: 'values, comma-separated' });
    const el = h('div', { class: 'sweep-row sweep-axis', dataset: { axis: i } }, h('span', { class: 'sweep-axis-name' }, i ? 'and' : 'Vary'), setting, layer, values);
    function layerOptions() {
      const layers = getExperiment()?.model?.layers || [];
      const keep = layer.value;
      replace(layer, h('option', { value: '' }, 'every layer'), layers.map((l, k) => h('option', { value: String(k) }, `layer ${k + 1} (${l.type}${l.units ? ` ${l.units}` : ''})`)));
      layer.value = [...layer.options].some((o) => o.value === keep) ? keep : '';
    }
    function sync() {
      layer.hidden = !['units', 'activation'].includes(setting.value);
      values.hidden = !setting.value;
      layerOptions();
    }
    return {
      el,
      sync,
      set(axis) {
        setting.value = axis ? axis.setting : '';
        values.value = axis ? axis.values.join(', ') : '';
        sync();
        layer.value = axis && axis.layer !== null && axis.layer !== undefined ? String(axis.layer) : '';
      },
      read() {
        if (!setting.value) return null;
        const axis = { setting: setting.value, values: parseValues(setting.value, values.value) };
        if (!layer.hidden && layer.value !== '') axis.layer = Number(layer.value);
        return axis;
      },
      mark(bad) {
        values.classList.toggle('sweep-bad', bad);
      },
    };
  }

  function say(text) {
    status.textContent = text;
  }

  async function startSweep() {
    const axes = axisRows.map((r) => r.read()).filter(Boolean);
    axisRows.forEach((r) => r.mark(false));
    const exp = structuredClone(getExperiment());
    exp.training = { ...exp.training, epochs: Number(epochs.value) || null };
    start.disabled = true;
    say('Checking every variant…');
    try {
      const created = await api.owned('POST', '/api/sweeps', { experiment: exp, axes });
      try {
        localStorage.setItem(LAST_KEY, created.id);
      } catch {
        /* not kept across a reload */
      }
      follow({ id: created.id, axes: axes.map((a) => ({ ...a, title: TITLE[a.setting] })), variants: created.variants.map((v) => ({ ...v, status: 'queued', epochs: exp.training.epochs })) });
    } catch (err) {
      for (const e of err.errors || []) if (e.loc?.[1] === 'axes' && typeof e.loc[2] === 'number') axisRows[e.loc[2]]?.mark(true);
      say(`The sweep could not start: ${err.message}`);
    } finally {
      start.disabled = false;
    }
  }

  /** Show sweep `detail` ({id, axes, variants: [{index, values, label, run, status}]}) and follow its runs. */
  function follow(detail) {
    current?.variants.forEach((v) => v.socket?.close());
    current = { ...detail, variants: detail.variants.map((v) => ({ ...v, records: [] })) };
    panel.dataset.sweep = detail.id;
    for (const v of current.variants) {
      v.socket = new RunSocket(v.run, {
        onHello: (msg) => {
          v.records = [...(msg.history || [])];
          v.status = msg.run?.status || v.status;
          changed();
        },
        onEpoch: (records) => {
          const last = v.records.length ? v.records[v.records.length - 1].epoch : 0;
          v.records.push(...records.filter((r) => r.epoch > last));
          changed();
        },
        onStatus: (msg) => {
          v.status = msg.status;
          v.message = msg.message;
          changed();
        },
      });
    }
    changed();
  }

  async function restore() {
    if (current) return;
    let id = null;
    try {
      id = localStorage.getItem(LAST_KEY);
    } catch {
      return;
    }
    if (!id) return;
    try {
      follow(await api.owned('GET', `/api/sweeps/${encodeURIComponent(id)}`));
    } catch {
      /* gone (another server): nothing to show */
    }
  }

  async function stopSweep() {
    if (!current) return;
    stop.disabled = true;
    try {
      await api.owned('POST', `/api/sweeps/${encodeURIComponent(current.id)}/stop`);
      say('Stopping every variant…');
    } catch (err) {
      say(`The sweep could not be stopped: ${err.message}`);
    }
  }

  let summarised = null;
  function changed() {
    const ended = current.variants.every((v) => TERMINAL.has(v.status));
    stop.disabled = ended;
    const done = current.variants.filter((v) => TERMINAL.has(v.status)).length;
    if (!ended) say(`Sweep ${current.id}: ${done} of ${current.variants.length} variants ended.`);
    else if (summarised !== current.id) {
      summarised = current.id;
      summarise(current.id);
    }
    invalidate('sweep-panel', redraw);
  }

  /** Once every variant ended: the server's summary (the best variant by its metric). */
  async function summarise(id) {
    try {
      const s = await api.owned('GET', `/api/sweeps/${encodeURIComponent(id)}`);
      if (current?.id !== id) return;
      const best = s.best ? ` Best: ${s.best.label} (${s.metric.replace(/_/g, ' ')} ${formatNumber(s.best.value, 3)}).` : '';
      say(`Sweep ${id} ${s.status}: ${Object.entries(s.counts).map(([k, n]) => `${n} ${k}`).join(', ')}.${best}`);
      panel.dataset.status = s.status;
    } catch (err) {
      say(`Sweep ${id} ended; its summary could not be read: ${err.message}`);
    }
  }

  function metricOptions() {
    const rec = current.variants.map((v) => v.records[v.records.length - 1]).find(Boolean);
    const names = ['val_loss', 'loss', ...Object.keys(rec?.metrics || {}).filter((k) => k.startsWith('val_')), ...Object.keys(rec?.metrics || {}).filter((k) => !k.startsWith('val_'))];
    if (names.length === metric.options.length && names.every((n, i) => metric.options[i].value === n)) return;
    const keep = chosenMetric || (names.includes('val_accuracy') ? 'val_accuracy' : 'val_loss');
    replace(metric, names.map((n) => h('option', { value: n }, n.replace(/_/g, ' '))));
    metric.value = names.includes(keep) ? keep : 'val_loss';
  }

  const valueOf = (rec, name) => (!rec ? null : name === 'loss' || name === 'val_loss' ? rec[name] : rec.metrics?.[name]) ?? null;

  function redraw() {
    if (!current) {
      invalidate('sweep-curves', chart.draw);
      invalidate('sweep-plot', plot.draw);
      return;
    }
    metricOptions();
    const vs = current.variants;
    const byEpoch = new Map();
    vs.forEach((v, i) => {
      for (const r of v.records) {
        if (!byEpoch.has(r.epoch)) byEpoch.set(r.epoch, { epoch: r.epoch, val: {} });
        byEpoch.get(r.epoch).val[i] = r.val_loss;
      }
    });
    chart.setSeries(vs.map((v, i) => ({ label: v.label, color: `--c${i % 10}`, dash: DASHES[Math.floor(i / 10) % 2], get: (r) => r.val[i] ?? null })));
    chart.setRecords([...byEpoch.values()].sort((a, b) => a.epoch - b.epoch));
    curves.dataset.series = String(vs.length);
    replace(
      legend,
      vs.map((v, i) => {
        const swatch = h('span', { class: `swatch${i >= 10 ? ' dashed' : ''}` });
        swatch.style.setProperty('--swatch', `var(--c${i % 10})`);
        return h('li', { class: 'legend-item', dataset: { run: v.run } }, swatch, v.label);
      }),
    );
    const [first, second] = current.axes;
    const key = (a) => (a.layer === null || a.layer === undefined ? a.setting : `${a.setting}@${a.layer}`);
    const name = metric.value;
    plot.set({
      axes: current.axes.map((a) => ({ ...a, title: a.title || TITLE[a.setting] })),
      metric: name,
      higherIsBetter: !name.includes('loss') && !name.includes('mae'),
      points: vs.map((v) => ({
        x: v.values[key(first)],
        group: second ? second.values.indexOf(v.values[key(second)]) : 0,
        value: valueOf(v.records[v.records.length - 1], name),
        done: TERMINAL.has(v.status),
      })),
    });
    replace(
      plotLegend,
      second
        ? second.values.map((val, g) => {
          const swatch = h('span', { class: 'swatch' });
          swatch.style.setProperty('--swatch', `var(--c${g % 10})`);
          return h('li', { class: 'legend-item' }, swatch, `${second.title || TITLE[second.setting]} ${val}`);
        })
        : [],
    );
    renderTable(name);
    invalidate('sweep-curves', chart.draw);
    invalidate('sweep-plot', plot.draw);
  }

  function renderTable(name) {
    table.hidden = false;
    const head = h('thead', {}, h('tr', {}, ['Variant', 'Run', 'Status', 'Epoch', 'Val loss', name.replace(/_/g, ' ')].map((t) => h('th', { scope: 'col' }, t))));
    const rows = current.variants.map((v) => {
      const last = v.records[v.records.length - 1];
      return h(
        'tr',
        { dataset: { run: v.run, status: v.status } },
        h('th', { scope: 'row' }, v.label),
        h('td', {}, h('code', {}, v.run)),
        h('td', { title: v.message || null }, h('span', { class: 'status', dataset: { status: v.status } }, v.status)),
        h('td', { class: 'num' }, `${formatNumber(last?.epoch ?? 0)}${v.epochs ? ` / ${formatNumber(v.epochs)}` : ''}`),
        h('td', { class: 'num' }, formatNumber(last?.val_loss, 4)),
        h('td', { class: 'num' }, formatNumber(valueOf(last, name), 4)),
      );
    });
    replace(table, h('caption', { class: 'visually-hidden' }, 'The sweep’s variants'), head, h('tbody', {}, rows));
  }

  return {
    /** A lesson's sweep: fill in its settings and epochs and open the panel. */
    prefill(sweep) {
      axisRows.forEach((r, i) => r.set(sweep.axes[i] || null));
      if (sweep.epochs) epochs.value = String(sweep.epochs);
      panel.open = true;
    },
    redraw,
    get current() {
      return current;
    },
  };
}
