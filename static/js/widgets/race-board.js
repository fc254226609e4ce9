// The race board: one card per student (their alias, unless the teacher shows names), with the
// run's loss curve and the family's main view as a thumbnail: the decision surface for 2D data
// (a 20x20 byte grid) or a few image predictions. Cards are kept per student and updated in
// place; the board is sorted by the chosen metric; Spotlight is one click on a card.

import { h, replace } from '../util/dom.js';
import { decodeGrid } from '../bytegrid.js';
import { drawSpark } from './spark.js';

const ORANGE = [245, 147, 34];
const BLUE = [8, 119, 189];
const CLASS_COLOURS = [[245, 147, 34], [8, 119, 189], [46, 157, 91], [192, 57, 43], [142, 68, 173], [127, 140, 141], [211, 84, 0], [22, 160, 133], [41, 128, 185], [39, 55, 70]];

function blend(t) {
  return ORANGE.map((c, i) => Math.round(c + (BLUE[i] - c) * t));
}

/** Draw a surface thumbnail (kind surface) or the image predictions (kind images). */
function drawThumb(canvas, thumb) {
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  canvas.dataset.kind = thumb?.kind || 'none';
  if (!thumb) return;
  const g = decodeGrid(thumb.grid);
  if (!g) return;
  if (thumb.kind === 'surface') {
    const [rows, cols] = g.shape;
    const img = ctx.createImageData(cols, rows);
    for (let i = 0; i < rows * cols; i += 1) {
      const byte = g.bytes[i];
      const rgb = thumb.surface === 'class' ? CLASS_COLOURS[Math.round(g.value(byte)) % CLASS_COLOURS.length] : blend(byte / 255);
      const y = rows - 1 - Math.floor(i / cols); // row 0 is the bottom of the data's extent
      const at = (y * cols + (i % cols)) * 4;
      img.data.set([...rgb, 255], at);
    }
    const tmp = h('canvas', { width: cols, height: rows });
    tmp.getContext('2d').putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  } else if (thumb.kind === 'images') {
    const [n, rows, cols] = g.shape;
    const side = canvas.width / Math.max(1, n);
    for (let k = 0; k < n; k += 1) {
      const img = ctx.createImageData(cols, rows);
      for (let i = 0; i < rows * cols; i += 1) {
        const v = g.bytes[k * rows * cols + i];
        img.data.set([v, v, v, 255], i * 4);
      }
      const tmp = h('canvas', { width: cols, height: rows });
      tmp.getContext('2d').putImageData(img, 0, 0);
      ctx.drawImage(tmp, k * side + 2, 2, side - 4, side - 4);
      ctx.fillStyle = thumb.correct?.[k] ? '#2e9d5b' : '#c0392b';
      ctx.font = `${Math.max(10, Math.round(side / 4))}px system-ui, sans-serif`;
      ctx.fillText(String(thumb.predictions?.[k] ?? ''), k * side + 3, side + Math.max(10, side / 4));
    }
  }
}

const SORTS = {
  metric: (a, b) => a.rank - b.rank,
  val_loss: (a, b) => (a.val_loss ?? Infinity) - (b.val_loss ?? Infinity),
  epoch: (a, b) => (b.epoch || 0) - (a.epoch || 0),
};

function metricText(e) {
  if (e.metric === null || e.metric === undefined) return e.val_loss == null ? '–' : `loss ${Number(e.val_loss).toFixed(3)}`;
  return e.metric_name === 'val_accuracy' ? `${(e.metric * 100).toFixed(1)}%` : Number(e.metric).toFixed(3);
}

/** raceBoard({root, sortSelect, onSpotlight(runId)}) -> {update(message), order()} */
export function raceBoard({ root, sortSelect, onSpotlight }) {
  const cards = new Map(); // student id -> {card, parts, entry}
  const grid = h('ol', { class: 'race-grid', id: 'race-grid' });
  const empty = h('p', { class: 'muted', id: 'race-empty' }, 'Nobody has joined yet.');
  replace(root, empty, grid);
  let last = null;
  sortSelect.addEventListener('change', () => last && arrange(last));

  function build(entry) {
    const parts = {
      rank: h('span', { class: 'race-rank' }),
      name: h('span', { class: 'race-name' }),
      metric: h('span', { class: 'race-metric' }),
      status: h('span', { class: 'race-state muted' }),
      thumb: h('canvas', { class: 'race-thumb', width: 160, height: 160, 'aria-hidden': 'true' }),
      spark: h('canvas', { class: 'race-spark', width: 160, height: 40, 'aria-hidden': 'true' }),
    };
    const item = { parts, entry, sparkKey: null, thumbKey: null };
    parts.spot = h('button', { type: 'button', class: 'race-spotlight', onclick: () => item.entry.run_id && onSpotlight(item.entry.run_id) }, 'Spotlight');
    item.card = h('li', { class: 'race-card', dataset: { student: entry.student } }, h('div', { class: 'race-top' }, parts.rank, parts.name, parts.metric), parts.thumb, parts.spark, h('div', { class: 'race-bottom' }, parts.status, parts.spot));
    return item;
  }

  function fill(item, entry, spotlight) {
    const { parts } = item;
    item.entry = entry;
    parts.rank.textContent = String(entry.rank);
    parts.name.textContent = entry.name;
    parts.metric.textContent = metricText(entry);
    parts.status.textContent = entry.run_id ? `${entry.status} · epoch ${entry.epoch}` : 'no run yet';
    const sparkKey = JSON.stringify(entry.spark);
    if (sparkKey !== item.sparkKey) {
      item.sparkKey = sparkKey;
      drawSpark(parts.spark, entry.spark || []);
    }
    const thumbKey = entry.thumb ? entry.thumb.grid.b64 : '';
    if (thumbKey !== item.thumbKey) {
      item.thumbKey = thumbKey;
      drawThumb(parts.thumb, entry.thumb);
    }
    const lit = Boolean(entry.run_id) && entry.run_id === spotlight;
    item.card.classList.toggle('spotlit', lit);
    parts.spot.hidden = !entry.run_id;
    parts.spot.disabled = lit;
    parts.spot.textContent = lit ? 'In spotlight' : 'Spotlight';
  }

  function arrange(message) {
    const order = [...message.entries].sort(SORTS[sortSelect.value] || SORTS.metric);
    grid.append(...order.map((e) => cards.get(e.student).card));
  }

  return {
    update(message) {
      last = message;
      const seen = new Set();
      for (const entry of message.entries) {
        seen.add(entry.student);
        let item = cards.get(entry.student);
        if (!item) {
          item = build(entry);
          cards.set(entry.student, item);
        }
        fill(item, entry, message.class?.spotlight);
      }
      for (const [id, item] of cards) {
        if (!seen.has(id)) {
          item.card.remove();
          cards.delete(id);
        }
      }
      empty.hidden = message.entries.length > 0;
      arrange(message);
    },
    order: () => [...grid.children].map((li) => li.dataset.student),
  };
}
