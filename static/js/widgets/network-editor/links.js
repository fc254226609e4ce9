// The network editor's canvas: connectors between blocks and the neuron links (neutral from
// the design, coloured by sign and sized by weight once a 2D run sends its weights), and the
// neurons' small heatmaps. Returns the links drawn, for hit-testing.

import { formatNumber } from '../../util/dom.js';
import { fitCanvas, markDrawn, drawGrid } from '../../util/canvas.js';
import { cssVar } from '../../util/colors.js';
import { surfaceImage } from '../heatmap.js';
import { linkWeights } from './format.js';

const PASSTHROUGH = new Set(['dropout', 'batchnorm']); // dense links are drawn across these

export function drawLinks({ canvas, graph, row, columns, boundary, layers }) {
  const g = graph.getBoundingClientRect();
  const w = row.scrollWidth;
  const hgt = Math.max(row.scrollHeight, graph.clientHeight);
  // Its CSS size is the graph's (fitCanvas sizes the pixels, for HiDPI screens too).
  if (canvas.style.width !== `${w}px`) canvas.style.width = `${w}px`;
  if (canvas.style.height !== `${hgt}px`) canvas.style.height = `${hgt}px`;
  const { ctx } = fitCanvas(canvas, w, hgt);
  const segments = [];
  const b = boundary;
  // Each element's box is read once per draw (a snapshot redraws 20 times a second).
  const rects = new Map();
  const at = (el, side) => {
    let r = rects.get(el);
    if (!r) rects.set(el, (r = el.getBoundingClientRect()));
    return { x: (side === 'right' ? r.right : side === 'left' ? r.left : r.left + r.width / 2) - g.left + graph.scrollLeft, y: r.top + r.height / 2 - g.top };
  };
  // Connectors between consecutive blocks (behind everything).
  const blocks = [...row.querySelectorAll('.gblock')];
  ctx.strokeStyle = cssVar('--border');
  ctx.lineWidth = 2;
  for (let i = 0; i + 1 < blocks.length; i += 1) {
    const a = at(blocks[i], 'right');
    const z = at(blocks[i + 1], 'left');
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(z.x, z.y);
    ctx.stroke();
  }
  drawSkips(ctx, row, layers, g, graph);
  // Neuron links between consecutive neuron columns (across dropout / batch norm only).
  const weights = (b?.weights || []).map((m, ci) => linkWeights(m, ci === b.weights.length - 1));
  let wMax = 0;
  for (const m of weights) for (const r of m || []) for (const w of r || []) if (w !== null) wMax = Math.max(wMax, Math.abs(w));
  const pos = cssVar('--pos');
  const neg = cssVar('--neg');
  const muted = cssVar('--muted');
  for (let c = 0; c + 1 < columns.length; c += 1) {
    const from = columns[c];
    const to = columns[c + 1];
    if (!adjacent(from, to, layers)) continue;
    const m = b ? weights[c] : null;
    to.nodes.forEach((tn, o) => {
      const z = at(tn, 'left');
      from.nodes.forEach((fn, i) => {
        const a = at(fn, 'right');
        const w = m?.[o]?.[i];
        if (m && (w === null || w === undefined)) return;
        if (m) {
          const t = wMax ? Math.abs(w) / wMax : 0;
          ctx.strokeStyle = w >= 0 ? pos : neg;
          ctx.globalAlpha = 0.25 + 0.75 * t;
          ctx.lineWidth = 0.6 + 4 * t;
        } else {
          ctx.strokeStyle = muted;
          ctx.globalAlpha = 0.45;
          ctx.lineWidth = 0.8;
        }
        ctx.beginPath();
        ctx.moveTo(a.x, a.y);
        ctx.bezierCurveTo((a.x + z.x) / 2, a.y, (a.x + z.x) / 2, z.y, z.x, z.y);
        ctx.stroke();
        const fromName = from.kind === 'input' ? fn._name : `layer ${from.layer + 1} neuron ${i + 1}`;
        const toName = to.kind === 'output' ? 'the output' : `layer ${to.layer + 1} neuron ${o + 1}`;
        segments.push({
          id: `${c}:${o}:${i}`,
          x1: a.x, y1: a.y, x2: z.x, y2: z.y,
          text: m ? `Weight from ${fromName} to ${toName}: ${formatNumber(w, 3)}` : `Link from ${fromName} to ${toName} (its weight appears once training starts).`,
          name: `from ${fromName} to ${toName}`,
          // Editable where the drawn link is one real weight (not the folded two-class head).
          edit: m && m === b.weights[c] ? { column: c + 1, to: o, from: i, value: w } : null,
        });
      });
    });
  }
  ctx.globalAlpha = 1;
  canvas.dataset.links = String(segments.length);
  markDrawn(canvas);
  return segments;
}

/** True when only dropout / batch norm lie between two neuron columns. */
function adjacent(from, to, layers) {
  const start = from.kind === 'input' ? 0 : from.layer + 1;
  const end = to.kind === 'output' ? layers.length : to.layer;
  for (let i = start; i < end; i += 1) if (!PASSTHROUGH.has(layers[i]?.type)) return false;
  return true;
}

export function drawNeurons(columns, outputScale) {
  for (const col of columns) {
    for (const node of col.nodes) {
      if (!node._canvas || !node._grid) continue;
      const scale = col.kind === 'output' ? outputScale || {} : {};
      const image = surfaceImage(node._grid, scale, node._confidence)?.image;
      const c = node._canvas;
      const ctx = c.getContext('2d');
      if (image) drawGrid(ctx, image, 0, 0, c.width, c.height, true);
    }
  }
}


/**
 * Graph designs: every input other than the layer just before (a skip, a branch from the
 * input) is drawn as an arc over the blocks, from the block it reads to the block reading it,
 * ending in an arrow; a join (add, concat) so shows all its incoming branches.
 */
function drawSkips(ctx, row, layers, g, graph) {
  const ids = new Map();
  (layers || []).forEach((l, i) => {
    if (l.id) ids.set(l.id, i);
  });
  let drawn = 0;
  ctx.save();
  ctx.strokeStyle = cssVar('--accent');
  ctx.fillStyle = cssVar('--accent');
  ctx.lineWidth = 2;
  (layers || []).forEach((l, i) => {
    if (!l.inputs) return;
    for (const name of [].concat(l.inputs)) {
      const j = name === 'input' ? -1 : ids.get(name);
      if (j === undefined || j === i - 1) continue;
      const from = row.querySelector(`.gblock[data-block='${j < 0 ? 'input' : j}']`);
      const to = row.querySelector(`.gblock[data-block='${i}']`);
      if (!from || !to) continue;
      const a = from.getBoundingClientRect();
      const z = to.getBoundingClientRect();
      const x0 = a.left + a.width / 2 - g.left + graph.scrollLeft;
      const x1 = z.left + z.width / 2 - g.left + graph.scrollLeft;
      const y0 = a.top - g.top;
      const y1 = z.top - g.top;
      const lift = Math.max(2, Math.min(y0, y1) - 10 - 4 * (drawn % 3));
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.bezierCurveTo(x0, lift, x1, lift, x1, y1);
      ctx.stroke();
      ctx.beginPath(); // the arrowhead, into the block that reads it
      ctx.moveTo(x1, y1);
      ctx.lineTo(x1 - 4, y1 - 7);
      ctx.lineTo(x1 + 4, y1 - 7);
      ctx.fill();
      drawn += 1;
    }
  });
  ctx.restore();
  ctx.canvas.dataset.skips = String(drawn);
}
