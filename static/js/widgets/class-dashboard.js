// The teacher's dashboard table: one row per student (their latest run) with their real name
// (this is the teacher's own screen), projector alias, group, run, a loss curve and flags.
//
// A teacher must be able to trust a click: rows are kept by student and their cells updated in
// place; the order changes only while the pointer is off the table and nothing in it has focus
// (or when the teacher picks a sort), so Spotlight and Push never move under the cursor.
// Flags come from the server: `diagnosis` [{code, sentence}] and `hand` (a raised hand).

import { h, replace } from '../util/dom.js';
import { drawSpark } from './spark.js';

const fmt = (x, digits = 3) => (x === null || x === undefined ? '–' : Number(x).toFixed(digits));

function metricText(row) {
  if (row.metric === null || row.metric === undefined) return '–';
  return row.metric_name === 'val_accuracy' ? `${(row.metric * 100).toFixed(1)}%` : fmt(row.metric);
}

const SORTS = {
  rank: (a, b) => a.rank - b.rank,
  name: (a, b) => a.name.localeCompare(b.name),
  group: (a, b) => (a.group || '\uffff').localeCompare(b.group || '\uffff') || a.rank - b.rank,
  flags: (a, b) => flagCount(b) - flagCount(a) || a.rank - b.rank,
};
const flagCount = (row) => (row.diagnosis?.length || 0) + (row.hand ? 10 : 0);

/**
 * classDashboard({root, onSpotlight(runId), onPush(row), onRename(row), onGroup(row),
 * onRemove(row)}) -> {update(message), rowOrder()}; `message` is a `dashboard` message of
 * WS /ws/classes/{code}.
 */
export function classDashboard({ root, onSpotlight, onPush, onRename, onGroup, onRemove }) {
  const body = h('tbody', { id: 'dashboard-rows' });
  const heads = ['#', 'Student', 'Group', 'Status', 'Epoch', 'Val. loss', 'Metric', 'Loss curve', 'Flags', ''];
  const table = h('table', { class: 'dashboard', id: 'dashboard' }, h('thead', {}, h('tr', {}, ...heads.map((t) => h('th', { scope: 'col' }, t)))), body);
  const empty = h('p', { class: 'muted', id: 'dashboard-empty' }, 'Nobody has joined yet: read the code aloud, or share the link.');
  const sortBy = h('select', { id: 'dashboard-sort', 'aria-label': 'Sort the students by' }, ...[['rank', 'Best first'], ['name', 'Name'], ['group', 'Group'], ['flags', 'Needs help first']].map(([v, t]) => h('option', { value: v }, t)));
  const held = h('span', { class: 'muted', id: 'dashboard-held', hidden: true }, 'Order held while the pointer is on the table.');
  const footer = h('p', { class: 'muted dashboard-footer', id: 'dashboard-footer' });
  replace(root, h('div', { class: 'dashboard-tools' }, h('label', {}, 'Sort ', sortBy), held), empty, h('div', { class: 'dashboard-scroll' }, table), footer);

  const rows = new Map(); // student id -> {tr, cells, row}
  let hovering = false;
  let last = null;
  table.addEventListener('pointerenter', () => { hovering = true; held.hidden = false; });
  table.addEventListener('pointerleave', () => { hovering = false; held.hidden = true; if (last) reorder(last); });
  sortBy.addEventListener('change', () => last && reorder(last, true));

  function build(row) {
    const cells = {
      rank: h('td', { class: 'num rank' }),
      name: h('span', { class: 'student-name' }),
      alias: h('span', { class: 'student-alias muted' }),
      group: h('td', { class: 'group' }),
      status: h('td', {}),
      epoch: h('td', { class: 'num epoch' }),
      loss: h('td', { class: 'num val-loss' }),
      metric: h('td', { class: 'num metric' }),
      spark: h('canvas', { class: 'spark', width: 120, height: 20, 'aria-hidden': 'true' }),
      flags: h('td', { class: 'flags' }),
      actions: h('td', { class: 'row-actions' }),
    };
    const entry = { cells, row, runKey: null };
    const spot = h('button', { type: 'button', class: 'spotlight-button', onclick: () => entry.row.run_id && onSpotlight(entry.row.run_id), title: 'Show this run on every student’s page and the projector' }, 'Spotlight');
    const push = h('button', { type: 'button', class: 'push-button', onclick: () => entry.row.run_id && onPush(entry.row), title: 'Load this run’s design on every student’s page (asks first)' }, 'Push');
    // The row's menu closes once a choice is made, and when another row's menu opens.
    const choose = (fn) => () => {
      more.open = false;
      fn(entry.row);
    };
    const more = h(
      'details',
      { class: 'row-more', ontoggle: () => more.open && body.querySelectorAll('details.row-more[open]').forEach((d) => d !== more && (d.open = false)) },
      h('summary', { title: 'Rename, set the group, remove' }, '⋯'),
      h('div', { class: 'row-menu' },
        h('button', { type: 'button', class: 'rename-button', onclick: choose(onRename) }, 'Rename'),
        h('button', { type: 'button', class: 'group-button', onclick: choose(onGroup) }, 'Set group'),
        h('button', { type: 'button', class: 'remove-button', onclick: choose(onRemove) }, 'Remove')),
    );
    Object.assign(entry, { spot, push });
    replace(cells.actions, spot, push, more);
    entry.tr = h('tr', { dataset: { student: row.student } }, cells.rank, h('th', { scope: 'row' }, cells.name, ' ', cells.alias), cells.group, cells.status, cells.epoch, cells.loss, cells.metric, h('td', {}, cells.spark), cells.flags, cells.actions);
    return entry;
  }

  function fill(entry, row, spotlight) {
    const { cells, tr } = entry;
    entry.row = row;
    cells.rank.textContent = String(row.rank);
    cells.name.textContent = row.name;
    cells.alias.textContent = row.alias ? `(${row.alias})` : '';
    cells.group.textContent = row.group || '';
    cells.status.className = `status status-${row.status || 'none'}`;
    cells.status.textContent = row.status || 'no run yet';
    cells.epoch.textContent = String(row.epoch || 0);
    cells.loss.textContent = fmt(row.val_loss);
    cells.metric.textContent = metricText(row);
    const key = JSON.stringify(row.spark || []);
    if (key !== entry.runKey) {
      entry.runKey = key;
      drawSpark(cells.spark, row.spark || []);
    }
    const flags = [];
    if (row.hand) flags.push(h('span', { class: 'flag flag-hand', title: 'This student raised a hand' }, '✋ hand'));
    for (const d of row.diagnosis || []) flags.push(h('span', { class: `flag flag-${d.code}`, title: d.sentence, dataset: { code: d.code } }, d.code.replace(/_/g, ' ')));
    replace(cells.flags, ...flags);
    tr.dataset.run = row.run_id || '';
    tr.dataset.status = row.status || 'none';
    tr.title = row.design || '';
    const lit = Boolean(row.run_id) && row.run_id === spotlight;
    tr.classList.toggle('spotlit', lit);
    entry.spot.hidden = entry.push.hidden = !row.run_id;
    entry.spot.disabled = lit;
    entry.spot.textContent = lit ? 'In spotlight' : 'Spotlight';
  }

  function reorder(message, force = false) {
    if (!force && (hovering || table.contains(document.activeElement))) return;
    const order = [...(message.students || [])].sort(SORTS[sortBy.value] || SORTS.rank);
    const wanted = order.map((r) => rows.get(r.student)?.tr).filter(Boolean);
    const now = [...body.children];
    if (wanted.length === now.length && wanted.every((tr, i) => tr === now[i])) return;
    body.append(...wanted); // moves the rows; their cells and buttons stay the same elements
  }

  return {
    update(message) {
      last = message;
      const list = message.students || [];
      empty.hidden = list.length > 0;
      table.hidden = list.length === 0;
      const spot = message.class?.spotlight;
      const seen = new Set();
      for (const row of list) {
        seen.add(row.student);
        let entry = rows.get(row.student);
        if (!entry) {
          entry = build(row);
          rows.set(row.student, entry);
          body.append(entry.tr); // a newcomer goes last until the order may change
        }
        fill(entry, row, spot);
      }
      for (const [id, entry] of rows) {
        if (!seen.has(id)) {
          entry.tr.remove();
          rows.delete(id);
        }
      }
      reorder(message);
      const flagged = list.filter((r) => r.hand || r.diagnosis?.length).length;
      const parts = [`${list.length} student${list.length === 1 ? '' : 's'}`, `${message.active} training now`];
      if (flagged) parts.push(`${flagged} flagged`);
      if (message.groups?.length) parts.push(`groups: ${message.groups.join(', ')}`);
      footer.textContent = `${parts.join(' · ')}.`;
    },
    rowOrder: () => [...body.children].map((tr) => tr.dataset.student),
  };
}
