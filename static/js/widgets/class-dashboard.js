// The teacher's dashboard table: one row per student (their latest run), as the server sorts
// it (a leaderboard), with a sparkline of the validation loss. Redrawn from each `dashboard`
// message (about once a second); rows are rebuilt whole, which at 60 rows costs ~1 ms.

import { h, replace } from '../util/dom.js';

const fmt = (x, digits = 3) => (x === null || x === undefined ? '–' : Number(x).toFixed(digits));

function metricText(row) {
  if (row.metric === null || row.metric === undefined) return '–';
  return row.metric_name === 'val_accuracy' ? `${(row.metric * 100).toFixed(1)}%` : fmt(row.metric);
}

/** A small canvas drawing `values` (nulls skipped) as a line, scaled to their own range. */
function sparkline(values) {
  const canvas = h('canvas', { class: 'spark', width: 120, height: 28, 'aria-hidden': 'true' });
  const finite = values.filter((v) => v !== null && Number.isFinite(v));
  if (finite.length < 2) return canvas;
  const ctx = canvas.getContext('2d');
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const span = hi - lo || 1;
  ctx.strokeStyle = getComputedStyle(document.body).getPropertyValue('--accent') || '#1663c7';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let first = true;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) return;
    const x = 2 + (i / (values.length - 1)) * (canvas.width - 4);
    const y = 2 + (1 - (v - lo) / span) * (canvas.height - 4);
    if (first) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
    first = false;
  });
  ctx.stroke();
  return canvas;
}

/**
 * classDashboard({root, onSpotlight(runId), onPush(runId)}) -> {update(message)}
 * `message` is a `dashboard` message of WS /ws/classes/{code}.
 */
export function classDashboard({ root, onSpotlight, onPush }) {
  const body = h('tbody', { id: 'dashboard-rows' });
  const table = h(
    'table',
    { class: 'dashboard', id: 'dashboard' },
    h('thead', {}, h('tr', {}, ...['#', 'Student', 'Design', 'Status', 'Epoch', 'Val. loss', 'Metric', 'Loss curve', ''].map((t) => h('th', { scope: 'col' }, t)))),
    body,
  );
  const empty = h('p', { class: 'muted', id: 'dashboard-empty' }, 'Nobody has joined yet: read the code aloud, or share the link.');
  const workers = h('p', { class: 'muted dashboard-workers', id: 'dashboard-workers' });
  replace(root, empty, h('div', { class: 'dashboard-scroll' }, table), workers);

  return {
    update(message) {
      const rows = message.students || [];
      empty.hidden = rows.length > 0;
      table.hidden = rows.length === 0;
      const spot = message.class?.spotlight;
      replace(
        body,
        ...rows.map((row) =>
          h(
            'tr',
            { dataset: { student: row.student, run: row.run_id || '', status: row.status || 'none' }, class: row.run_id && row.run_id === spot ? 'spotlit' : '' },
            h('td', {}, String(row.rank)),
            h('th', { scope: 'row', class: 'student-name' }, row.name),
            h('td', { class: 'design', title: row.design || '' }, row.design || 'no run yet'),
            h('td', { class: `status status-${row.status || 'none'}` }, row.status || '–'),
            h('td', { class: 'num' }, String(row.epoch || 0)),
            h('td', { class: 'num val-loss' }, fmt(row.val_loss)),
            h('td', { class: 'num metric' }, metricText(row)),
            h('td', {}, sparkline(row.spark || [])),
            h(
              'td',
              { class: 'row-actions' },
              row.run_id
                ? [
                    h('button', { type: 'button', class: 'spotlight-button', disabled: row.run_id === spot, onclick: () => onSpotlight(row.run_id), title: 'Show this run on every student’s page and the projector' }, row.run_id === spot ? 'In spotlight' : 'Spotlight'),
                    h('button', { type: 'button', class: 'push-button', onclick: () => onPush(row.run_id), title: 'Load this run’s design on every student’s page' }, 'Push design'),
                  ]
                : null,
            ),
          ),
        ),
      );
      const used = (message.workers || []).map((w) => `worker ${w.pid}: ${w.students.length} (${w.students.slice(0, 6).join(', ')}${w.students.length > 6 ? '…' : ''})`);
      workers.textContent = `${message.active} active run${message.active === 1 ? '' : 's'}. ${used.length ? `Server workers in use: ${used.join('; ')}.` : 'No worker in use.'}`;
    },
  };
}
