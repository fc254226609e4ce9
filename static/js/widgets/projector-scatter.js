// A projection drawn as a scatter: one dot per example, coloured by class (or by target value),
// with a hover card that shows what the dot is (its sentence, its feature values, or the image
// itself as a small thumbnail). Used by the projector view and the recommender's item map.

import { fitCanvas, markDrawn, emptyMessage, gridImage, drawGrid } from '../util/canvas.js';
import { cssVar, classColor, greyTable } from '../util/colors.js';
import { drawPoints, extentOf, label } from '../util/plot.js';
import { decodeGrid } from '../bytegrid.js';
import { h, replace } from '../util/dom.js';

const HIT_PX = 8; // a hover this close to a dot shows it

/**
 * projectorScatter({canvas, card, readout, empty}) -> {set(projection, {images, highlight}), draw()}.
 * After each draw `canvas.projected` holds every dot's [x, y] in CSS pixels (the tests hover them).
 */
export function projectorScatter({ canvas, card, readout, empty = 'Nothing to project yet' }) {
  let data = null;
  let images = null;
  let highlight = new Set();
  let placed = []; // [x, y] per point, CSS pixels

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas);
    const points = data?.points || [];
    if (!points.length) {
      emptyMessage(ctx, width, height, empty, cssVar('--muted'));
      markDrawn(canvas, false);
      canvas.projected = [];
      return;
    }
    const classes = Array.isArray(data.labels);
    const names = data.class_names || [];
    const nClasses = classes ? Math.max(3, names.length || new Set(data.labels).size) : 0;
    let colours = classes ? data.labels : data.values || points.map(() => 0);
    if (!classes) {
      const mean = colours.reduce((a, b) => a + (b ?? 0), 0) / (colours.length || 1);
      colours = colours.map((v) => (v ?? mean) - mean); // the diverging scale's middle: the mean
    }
    const legendW = classes && names.length ? Math.min(120, width * 0.3) : 0;
    const rect = { x: 6, y: 6, w: width - 12 - legendW, h: height - 12 };
    const extent = extentOf(points);
    ctx.strokeStyle = cssVar('--grid');
    ctx.strokeRect(rect.x + 0.5, rect.y + 0.5, rect.w, rect.h);
    drawPoints(ctx, points, colours, extent, rect, { nClasses, regression: !classes, radius: points.length > 400 ? 2.5 : 3.5 });
    const [x0, x1, y0, y1] = extent;
    placed = points.map((p) => (p ? [rect.x + ((p[0] - x0) / (x1 - x0 || 1)) * rect.w, rect.y + rect.h - ((p[1] - y0) / (y1 - y0 || 1)) * rect.h] : null));
    ctx.lineWidth = 2;
    ctx.strokeStyle = cssVar('--fg');
    for (const i of highlight) {
      const at = placed[i];
      if (!at) continue;
      ctx.beginPath();
      ctx.arc(at[0], at[1], 7, 0, Math.PI * 2);
      ctx.stroke();
    }
    ctx.lineWidth = 1;
    names.slice(0, 12).forEach((n, i) => {
      ctx.fillStyle = classColor(i, nClasses);
      ctx.fillRect(rect.x + rect.w + 10, 10 + i * 18, 12, 12);
      label(ctx, String(n), rect.x + rect.w + 27, 20 + i * 18, { size: 12 });
    });
    canvas.projected = placed;
    markDrawn(canvas);
    if (readout) readout.textContent = describe();
  }

  function describe() {
    const how = data.method === 'tsne' ? 't-SNE' : 'PCA';
    const what = !data.layer_name ? '' : data.noun ? ` (${data.layer_name})` : ` at ${data.layer_name}`;
    const colour = Array.isArray(data.labels) ? `Colour = ${data.colour_by || 'class'}.` : 'Colour = the target (blue above its mean, orange below).';
    return `${data.points.length} ${data.noun || 'examples'}${what}: ${data.dim} number${data.dim === 1 ? '' : 's'} each, placed in 2D by ${how}. ${colour} Hover a dot to see it.`;
  }

  function nearest(x, y) {
    let best = -1;
    let bestD = HIT_PX * HIT_PX;
    placed.forEach((p, i) => {
      if (!p) return;
      const d = (p[0] - x) ** 2 + (p[1] - y) ** 2;
      if (d <= bestD) {
        bestD = d;
        best = i;
      }
    });
    return best;
  }

  function showCard(i, x, y) {
    if (!card) return;
    if (i < 0 || !data) {
      card.hidden = true;
      return;
    }
    const parts = [];
    const cls = Array.isArray(data.labels) ? data.class_names?.[data.labels[i]] ?? data.labels[i] : null;
    const thumb = images?.[data.index?.[i] ?? i];
    if (thumb) parts.push(thumbnail(thumb));
    parts.push(h('span', { class: 'projector-hover-text' }, data.hover?.[i] ?? `example ${i}`));
    if (cls !== null && cls !== undefined) parts.push(h('span', { class: 'projector-hover-class' }, `class: ${cls}`));
    else if (data.values) parts.push(h('span', { class: 'projector-hover-class' }, `target: ${data.values[i]}`));
    replace(card, parts);
    card.dataset.index = String(data.index?.[i] ?? i);
    card.hidden = false;
    const box = canvas.getBoundingClientRect();
    const left = Math.min(Math.max(0, x + 12), Math.max(0, box.width - 220));
    card.style.left = `${left}px`;
    card.style.top = `${Math.max(0, y - 10)}px`;
  }

  canvas.addEventListener('mousemove', (e) => {
    const box = canvas.getBoundingClientRect();
    const x = e.clientX - box.left;
    const y = e.clientY - box.top;
    showCard(nearest(x, y), x, y);
  });
  canvas.addEventListener('mouseleave', () => showCard(-1));

  return {
    set(next, { images: imgs = images, highlight: marks = [] } = {}) {
      data = next;
      images = imgs;
      highlight = new Set(marks);
    },
    draw,
  };
}

/** A byte-grid image as a small pixelated canvas. */
function thumbnail(grid) {
  const g = decodeGrid(grid);
  const [rows, cols] = g.shape.length >= 2 ? g.shape.slice(-2) : [1, g.size];
  const c = h('canvas', { class: 'projector-thumb', width: 64, height: 64, role: 'img', 'aria-label': 'The example', title: 'The example' });
  const ctx = c.getContext('2d');
  drawGrid(ctx, gridImage(g.bytes, rows, cols, greyTable()), 0, 0, 64, 64);
  return c;
}
