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

const MAX_LISTED = 40;
const MINE_KEY = 'layerlab.myRuns'; // run ids this browser started (a class's runs: "mine" first)

/** Remember that this browser started run `id` (kept for the last 200). */
export function rememberMyRun(id) {
  try {
    const ids = JSON.parse(localStorage.getItem(MINE_KEY) || '[]').filter((x) => x !== id);
    localStorage.setItem(MINE_KEY, JSON.stringify([id, ...ids].slice(0, 200)));
  } catch {
    // storage refused (private mode): runs are then not marked as mine
  }
}

function myRuns() {
  try {
    return new Set(JSON.parse(localStorage.getItem(MINE_KEY) || '[]'));
  } catch {
    return new Set();
  }
}

/** "just now", "4 min ago", "2 h ago", or the date. */
export function ago(seconds, now = Date.now() / 1000) {
  if (typeof seconds !== 'number') return '–';
  const d = Math.max(0, now - seconds);
  if (d < 45) return 'just now';
  if (d < 3600) return `${Math.round(d / 60)} min ago`;
  if (d < 86400) return `${Math.round(d / 3600)} h ago`;
  return new Date(seconds * 1000).toLocaleDateString();
}

/** The learning rates a run used, in order: "0.01" or "0.01 → 0.003 → 0.001". */
export function lrChanges(history, planned) {
  const seen = [];
  for (const r of history || []) if (typeof r.lr === 'number' && seen[seen.length - 1] !== r.lr) seen.push(r.lr);
  if (!seen.length) return formatNumber(planned, 3);
  return seen.map((v) => formatNumber(v, 3)).join(' → ');
} // newest runs shown (each needs its detail for the layer summary)
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
 * runCompare({root, currentRunId() -> id|null, onLoad(experiment)})
 *   -> {refresh(), redraw(), setDesign(design | null)}
 * root: an empty element; the panel is built inside it.
 */
export function runCompare({ root, currentRunId, onLoad }) {
  const details = new Map(); // run id -> GET /api/runs/{id} (kept while the run has ended)
  const selected = new Set(); // ticked run ids, in the order ticked
  let runs = []; // the listed summaries, newest first
  let loading = false;

  const status = h('p', { id: 'compare-status', class: 'muted compare-status', 'aria-live': 'polite' });
  const refreshButton = h('button', { type: 'button', id: 'compare-refresh', title: 'List the runs again and fetch the ones still training' }, 'Refresh');
  // Which runs: all the server's, this browser's (X-Owner-Token), or those of the saved design
  // in the editor (opened from My designs).
  let design = null;
  const designOption = h('option', { value: 'design', disabled: true }, 'Runs of this design');
  const show = h(
    'select',
    { id: 'compare-show', 'aria-label': 'Which runs to list', onchange: () => refresh() },
    h('option', { value: 'all' }, 'All runs'),
    h('option', { value: 'mine' }, 'My runs'),
    designOption,
  );
  const table = h('table', { id: 'compare-table', class: 'compare-table' });
  const legend = h('ul', { id: 'compare-legend', class: 'compare-legend', 'aria-label': 'Runs on the chart' });
  const help = 'Validation loss of each ticked run, one colour per run: lower is better. Hover, or focus the chart and use the arrow keys, to read every run’s value at one epoch.';
  const canvas = h('canvas', { id: 'compare-chart', class: 'view-canvas compare-canvas', role: 'img', dataset: { series: 0 }, 'aria-label': `Compared validation loss. ${help}`, title: help });
  const readout = h('p', { id: 'compare-readout', class: 'readout', 'aria-live': 'polite' });
  const chart = lineChart({ canvas, readout, series: [], includeZero: false, emptyText: 'Tick runs in the table to compare their validation loss' });
  // Runs of different lengths: plot each over its own length (0-100%) instead of by epoch.
  const normalise = h('input', { type: 'checkbox', id: 'compare-normalise' });
  normalise.addEventListener('change', () => renderChart());
  const normaliseField = h('label', { class: 'check compare-normalise', for: 'compare-normalise', title: 'When runs have different lengths, draw each over its own length so their shapes line up' }, normalise, ' Epochs as % of each run');

  const panel = h(
    'details',
    { id: 'compare-runs', class: 'compare' },
    h('summary', { class: 'compare-summary' }, h('h2', { class: 'panel-title', id: 'compare-title' }, 'Compare runs')),
    h(
      'div',
      { class: 'compare-body' },
      h('div', { class: 'compare-head' }, h('p', { class: 'muted' }, 'The runs this server holds, newest first. Tick runs to overlay their validation loss; Load design puts a run’s design in the editor.'), show, refreshButton),
      status,
      h('div', { class: 'compare-table-wrap' }, table),
      h('section', { class: 'view compare-view', 'aria-labelledby': 'compare-chart-title' }, h('h3', { class: 'view-title', id: 'compare-chart-title' }, 'Validation loss', normaliseField), legend, canvas, readout),
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
      const filters = show.value === 'mine' ? { owner: 'me' } : show.value === 'design' && design ? { design: design.id } : {};
      const listed = await api.runs(filters);
      // Mine first (this browser's runs), then everyone else's; newest first within each.
      const mine = myRuns();
      runs = [...listed.filter((r) => mine.has(r.id)), ...listed.filter((r) => !mine.has(r.id))].slice(0, MAX_LISTED);
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
        ? show.value === 'design'
          ? `No runs of “${design?.name}” yet: press Train to start one.`
          : 'No runs yet: press Train, and every run this server trains will be listed here to compare.'
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
    const own = myRuns();
    const head = h(
      'thead',
      {},
      h('tr', {}, ['Compare', 'Run', 'Started', 'Dataset', 'Layers', 'Learning rate', 'Status', 'Epochs', 'Val loss', 'Metric', 'Design'].map((t) => h('th', { scope: 'col' }, t))),
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
        h(
          'th',
          { scope: 'row' },
          h('label', { for: `compare-${r.id}` }, h('code', {}, r.id)),
          isMine ? h('span', { class: 'compare-badge' }, 'this page’s run') : own.has(r.id) ? h('span', { class: 'compare-badge mine' }, 'mine') : null,
        ),
        h('td', { class: 'when', title: r.created ? new Date(r.created * 1000).toLocaleString() : null }, ago(r.created)),
        h('td', {}, r.dataset ?? '–'),
        h('td', { class: 'layers' }, exp ? layerSummary(exp) : '–'),
        h('td', { class: 'num lr', title: 'The learning rate over the run: each change made while it trained' }, lrChanges(d?.history, exp?.training?.learning_rate)),
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
    // Normalised: x is the share of each run's own length (0.5% steps), so a 50-epoch and a
    // 500-epoch run line up from start to end.
    const byEpoch = new Map();
    const share = normalise.checked;
    ids.forEach((id) => {
      const history = details.get(id).history || [];
      const length = history.length ? history[history.length - 1].epoch : 1;
      for (const rec of history) {
        const x = share ? Math.round((rec.epoch / length) * 200) / 2 : rec.epoch;
        if (!byEpoch.has(x)) byEpoch.set(x, { epoch: x, val: {} });
        byEpoch.get(x).val[id] = rec.val_loss;
      }
    });
    chart.setXName(share ? '% of each run:' : 'epoch');
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
        const lr = lrChanges(details.get(id).history, exp?.training?.learning_rate);
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
    /** The saved design in the editor ({id, name}) or null: enables "Runs of this design". */
    setDesign(saved) {
      design = saved || null;
      designOption.disabled = !design;
      designOption.textContent = design ? `Runs of “${design.name}”` : 'Runs of this design';
      if (!design && show.value === 'design') show.value = 'all';
      if (design) show.value = 'design';
      if (panel.open) refresh();
    },
  };
}
