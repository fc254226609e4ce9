// "Compare runs": a collapsible panel below the views that lists this server's runs (GET
// /api/runs, newest first) and overlays the validation loss of the ticked ones on one chart,
// drawn by loss-chart.js (one series per run over the union of their epochs). Each run's
// history comes from GET /api/runs/{id} once and is cached; a run still going is fetched again
// when the panel opens or Refresh is pressed. "Load design" puts a run's experiment in the editor.

import { api, TERMINAL } from '../api.js';
import { h, replace, formatNumber } from '../util/dom.js';
import { invalidate } from '../store.js';
import { metricNames } from '../metrics.js';
import { lineChart } from './loss-chart.js';

const MAX_LISTED = 25; // newest runs shown (each needs its detail for the layer summary)
const DASHES = [null, [8, 4], [2, 3], [10, 3, 2, 3]]; // past ten runs the colours repeat: dashes tell them apart

/** "dense 8 · dense 8" for a model's layers. */
export function layerSummary(experiment) {
  const layers = experiment?.model?.layers || [];
  if (!layers.length) return 'no hidden layers';
  return layers.map((l) => [l.type, l.units ?? l.filters ?? ''].join(' ').trim()).join(' · ');
}

/** The run's main validation metric from its last record, as [name, value] or null. */
function mainMetric(last) {
  const name = last ? metricNames([last])[0] : null;
  if (!name) return null;
  const value = last.metrics?.[`val_${name}`] ?? last.metrics?.[name];
  return value === undefined ? null : [name.replace(/_/g, ' '), value];
}

/**
 * runCompare({root, currentRunId() -> id|null, onLoad(experiment)}) -> {refresh(), redraw()}
 * root: an empty element; the panel is built inside it.
 */
export function runCompare({ root, currentRunId, onLoad }) {
  const details = new Map(); // run id -> GET /api/runs/{id} (kept while the run has ended)
  const selected = new Set(); // ticked run ids, in the order ticked
  let runs = []; // the listed summaries, newest first
  let loading = false;

  const status = h('p', { id: 'compare-status', class: 'muted compare-status', 'aria-live': 'polite' });
  const refreshButton = h('button', { type: 'button', id: 'compare-refresh', title: 'List the runs again and fetch the ones still training' }, 'Refresh');
  const table = h('table', { id: 'compare-table', class: 'compare-table' });
  const legend = h('ul', { id: 'compare-legend', class: 'compare-legend', 'aria-label': 'Runs on the chart' });
  const help = 'Validation loss of each ticked run, one colour per run: lower is better. Hover, or focus the chart and use the arrow keys, to read every run’s value at one epoch.';
  const canvas = h('canvas', { id: 'compare-chart', class: 'view-canvas compare-canvas', role: 'img', dataset: { series: 0 }, 'aria-label': `Compared validation loss. ${help}`, title: help });
  const readout = h('p', { id: 'compare-readout', class: 'readout', 'aria-live': 'polite' });
  const chart = lineChart({ canvas, readout, series: [], includeZero: false, emptyText: 'Tick runs in the table to compare their validation loss' });

  const panel = h(
    'details',
    { id: 'compare-runs', class: 'compare' },
    h('summary', { class: 'compare-summary' }, h('h2', { class: 'panel-title', id: 'compare-title' }, 'Compare runs')),
    h(
      'div',
      { class: 'compare-body' },
      h('div', { class: 'compare-head' }, h('p', { class: 'muted' }, 'The runs this server holds, newest first. Tick runs to overlay their validation loss; Load design puts a run’s design in the editor.'), refreshButton),
      status,
      h('div', { class: 'compare-table-wrap' }, table),
      h('section', { class: 'view compare-view', 'aria-labelledby': 'compare-chart-title' }, h('h3', { class: 'view-title', id: 'compare-chart-title' }, 'Validation loss'), legend, canvas, readout),
    ),
  );
  replace(root, panel);

  panel.addEventListener('toggle', () => {
    if (panel.open) refresh();
  });
  refreshButton.addEventListener('click', () => refresh());

  async function refresh() {
    if (loading) return;
    loading = true;
    panel.setAttribute('aria-busy', 'true');
    status.textContent = 'Loading the runs…';
    try {
      const listed = await api.runs();
      runs = listed.slice(0, MAX_LISTED);
      // Fetch what is missing or may have changed: new runs, and runs that had not ended.
      await Promise.all(
        runs.map(async (r) => {
          const known = details.get(r.id);
          if (known && TERMINAL.has(known.status) && known.epoch === r.epoch) return;
          try {
            details.set(r.id, await api.run(r.id));
          } catch {
            details.delete(r.id); // gone since it was listed: shown without its layers
          }
        }),
      );
      for (const id of [...selected]) if (!runs.some((r) => r.id === id)) selected.delete(id);
      status.textContent = !listed.length
        ? 'No runs yet: press Train, and every run this server trains will be listed here to compare.'
        : listed.length > runs.length
          ? `Showing the ${runs.length} newest of ${listed.length} runs.`
          : `${runs.length} run${runs.length === 1 ? '' : 's'} on this server.`;
    } catch (err) {
      status.textContent = `The runs could not be listed: ${err.message}`;
    } finally {
      loading = false;
      panel.removeAttribute('aria-busy');
    }
    renderTable();
    renderChart();
  }

  function renderTable() {
    if (!runs.length) {
      replace(table);
      table.hidden = true;
      return;
    }
    table.hidden = false;
    const mine = currentRunId();
    const head = h(
      'thead',
      {},
      h('tr', {}, ['Compare', 'Run', 'Dataset', 'Layers', 'Learning rate', 'Status', 'Epochs', 'Val loss', 'Metric', 'Design'].map((t) => h('th', { scope: 'col' }, t))),
    );
    const rows = runs.map((r) => {
      const d = details.get(r.id);
      const exp = d?.experiment;
      const last = d?.history?.[d.history.length - 1] ?? r.last;
      const metric = mainMetric(last);
      const isMine = r.id === mine;
      const box = h('input', {
        type: 'checkbox',
        id: `compare-${r.id}`,
        checked: selected.has(r.id),
        disabled: !d,
        'aria-label': `Overlay the validation loss of run ${r.id}`,
        dataset: { run: r.id },
      });
      box.addEventListener('change', () => {
        if (box.checked) selected.add(r.id);
        else selected.delete(r.id);
        renderChart();
      });
      const load = h('button', {
        type: 'button',
        class: 'compare-load',
        disabled: !exp,
        dataset: { run: r.id },
        'aria-label': `Load the design of run ${r.id}`,
        title: 'Put this run’s design in the editor (data, layers, training)',
        onclick: () => {
          onLoad(exp);
          renderTable(); // this page's run was reset: no row is marked any more
          table.querySelector(`.compare-load[data-run="${r.id}"]`)?.focus();
        },
      }, 'Load design');
      return h(
        'tr',
        { dataset: { run: r.id }, 'aria-current': isMine ? 'true' : null, class: isMine ? 'compare-mine' : '' },
        h('td', {}, box),
        h('th', { scope: 'row' }, h('label', { for: `compare-${r.id}` }, h('code', {}, r.id)), isMine ? h('span', { class: 'compare-badge' }, 'this page’s run') : null),
        h('td', {}, r.dataset ?? '–'),
        h('td', { class: 'layers' }, exp ? layerSummary(exp) : '–'),
        h('td', { class: 'num' }, formatNumber(exp?.training?.learning_rate, 3)),
        h('td', {}, h('span', { class: 'status', dataset: { status: r.status } }, r.status)),
        h('td', { class: 'num' }, r.epochs ? `${formatNumber(r.epoch)} / ${formatNumber(r.epochs)}` : formatNumber(r.epoch)),
        h('td', { class: 'num' }, formatNumber(last?.val_loss, 4)),
        h('td', { class: 'num' }, metric ? `${metric[0]} ${formatNumber(metric[1], 3)}` : '–'),
        h('td', {}, load),
      );
    });
    replace(table, h('caption', { class: 'visually-hidden' }, 'Runs on this server, newest first'), head, h('tbody', {}, rows));
  }

  function renderChart() {
    const ids = [...selected].filter((id) => details.has(id));
    // One record per epoch over the union of the runs' epochs; a series reads its own run.
    const byEpoch = new Map();
    ids.forEach((id) => {
      for (const rec of details.get(id).history || []) {
        if (!byEpoch.has(rec.epoch)) byEpoch.set(rec.epoch, { epoch: rec.epoch, val: {} });
        byEpoch.get(rec.epoch).val[id] = rec.val_loss;
      }
    });
    const records = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
    const series = ids.map((id, i) => ({
      label: id,
      color: `--c${i % 10}`,
      dash: DASHES[Math.floor(i / 10) % DASHES.length], // colours first; past ten runs, dashes too
      get: (r) => r.val[id] ?? null,
    }));
    chart.setSeries(series);
    chart.setRecords(records);
    canvas.dataset.series = String(series.length);
    const mine = currentRunId();
    replace(
      legend,
      ids.map((id, i) => {
        const exp = details.get(id).experiment;
        const lr = formatNumber(exp?.training?.learning_rate, 3);
        const swatch = h('span', { class: `swatch${series[i].dash ? ' dashed' : ''}` });
        swatch.style.setProperty('--swatch', `var(--c${i % 10})`);
        return h(
          'li',
          { class: 'legend-item', dataset: { run: id } },
          swatch,
          h('b', {}, id),
          ` ${exp?.dataset?.name ?? ''} · ${layerSummary(exp)} · ${exp?.training?.optimizer ?? ''} lr ${lr}`,
          id === mine ? ' (this page’s run)' : '',
        );
      }),
    );
    legend.hidden = ids.length === 0;
    invalidate('compare-chart', chart.draw);
  }

  return {
    refresh,
    redraw: () => invalidate('compare-chart', chart.draw),
  };
}
