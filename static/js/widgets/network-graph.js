// TensorFlow Playground's network drawing: the input features, every dense neuron and the
// output, each with a small heatmap of what it computes over the input plane; links coloured by
// the sign of their weight (blue positive, orange negative) and thickened by its magnitude.
// Hover a neuron (or focus the graph and use the arrow keys) to see its surface large.
// Before the first snapshot it draws the design from the latest POST /api/check instead: the
// same columns as empty nodes, joined by thin neutral links (there are no weights yet).

import { fitCanvas, markDrawn, emptyMessage, drawGrid } from '../util/canvas.js';
import { cssVar } from '../util/colors.js';
import { surfaceImage } from './heatmap.js';
import { label } from '../util/plot.js';

const MAX_NODES = 10;
const MAX_NEURONS = 64; // per column, as the probes send (server/engine/probes.py MAX_NEURONS)

const lastDim = (shape) => (Array.isArray(shape) && shape.length ? Number(shape[shape.length - 1]) || 0 : 0);

/** Columns of nodes from a snapshot's boundary section. */
function columnsOf(b, featureLabels) {
  const layers = b.neuron_layers || b.neurons.map((_, i) => i);
  const columns = b.neurons.map((grids, ci) => {
    const index = layers[ci];
    if (index === -1) {
      const names = featureLabels?.length === grids.length ? featureLabels : b.features || [];
      return { kind: 'input', title: 'Features', items: grids.map((grid, j) => ({ grid, name: names[j] ?? `x${j + 1}` })) };
    }
    return { kind: 'hidden', layer: index, title: `Layer ${index}`, items: grids.map((grid) => ({ grid })) };
  });
  columns.push({ kind: 'output', title: 'Output', items: [{ grid: b.output, confidence: b.confidence }] });
  return columns;
}

/**
 * Columns of nodes from a design's check: the input features, one column per dense layer (other
 * layers are not drawn, as in a snapshot), then the head's outputs. null unless the input is flat.
 */
export function designColumns(check, featureLabels) {
  if (!check || !Array.isArray(check.input_shape) || check.input_shape.length !== 1) return null;
  const nIn = lastDim(check.input_shape);
  const names = featureLabels?.length === nIn ? featureLabels : [];
  const columns = [{ kind: 'input', title: 'Features', items: Array.from({ length: nIn }, (_, j) => ({ name: names[j] ?? `x${j + 1}` })) }];
  for (const l of check.layers || []) {
    if (l.type !== 'dense') continue;
    const n = Math.min(MAX_NEURONS, lastDim(l.output_shape));
    columns.push({ kind: 'hidden', layer: l.index, title: `Layer ${l.index}`, items: Array.from({ length: n }, () => ({})) });
  }
  const nOut = Math.max(1, lastDim(check.head?.output_shape));
  columns.push({ kind: 'output', title: 'Output', items: Array.from({ length: nOut }, () => ({})) });
  return columns;
}

/** Weights into `to` from `from` as rows (to) x cols (from); the head is folded to one node. */
function linkWeights(matrix, toKind) {
  if (!Array.isArray(matrix)) return null;
  if (toKind !== 'output' || matrix.length === 1) return matrix;
  if (matrix.length === 2) return [matrix[1].map((w, i) => (w ?? 0) - (matrix[0][i] ?? 0))];
  // Many classes: the strongest weight from each input, its sign kept.
  const cols = matrix[0].length;
  const row = [];
  for (let i = 0; i < cols; i += 1) {
    let best = 0;
    for (const r of matrix) if (Math.abs(r[i] ?? 0) > Math.abs(best)) best = r[i];
    row.push(best);
  }
  return [row];
}

/** A link from the right edge of node `from` to the left edge of node `to`. */
function link(ctx, from, to, size) {
  const x1 = from.x + size;
  const y1 = from.y + size / 2;
  const x2 = to.x;
  const y2 = to.y + size / 2;
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.bezierCurveTo((x1 + x2) / 2, y1, (x1 + x2) / 2, y2, x2, y2);
  ctx.stroke();
}

export function networkGraph({ canvas, readout, onHover }) {
  let state = null; // {boundary, featureLabels, outputScale} or {check, featureLabels}
  let nodes = [];
  let focusIdx = null;
  let hovered = null;

  canvas.tabIndex = 0;
  canvas.addEventListener('mousemove', (e) => {
    const r = canvas.getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    const hit = nodes.find((n) => x >= n.x - 2 && x <= n.x + n.size + 2 && y >= n.y - 2 && y <= n.y + n.size + 2);
    setHovered(hit || null);
  });
  canvas.addEventListener('mouseleave', () => setHovered(null));
  canvas.addEventListener('blur', () => setHovered(null));
  canvas.addEventListener('keydown', (e) => {
    if (!nodes.length) return;
    const cur = focusIdx !== null && focusIdx < nodes.length ? focusIdx : 0;
    const n = nodes[cur];
    let next = cur;
    if (e.key === 'ArrowDown') next = nodes.findIndex((m, i) => i > cur && m.column === n.column);
    else if (e.key === 'ArrowUp') next = findLast(nodes, (m, i) => i < cur && m.column === n.column);
    else if (e.key === 'ArrowRight') next = nodes.findIndex((m) => m.column === n.column + 1);
    else if (e.key === 'ArrowLeft') next = nodes.findIndex((m) => m.column === n.column - 1);
    else if (e.key === 'Escape') {
      focusIdx = null;
      setHovered(null);
      return;
    } else return;
    e.preventDefault();
    if (next >= 0) {
      focusIdx = next;
      setHovered(nodes[next]);
    }
  });

  function findLast(list, pred) {
    for (let i = list.length - 1; i >= 0; i -= 1) if (pred(list[i], i)) return i;
    return -1;
  }

  function setHovered(node) {
    if (node === hovered || (node && hovered && node.column === hovered.column && node.index === hovered.index)) return;
    hovered = node;
    const idle = state?.boundary ? 'to see it large' : 'to name it';
    if (readout) readout.textContent = node ? describe(node) : `Hover a neuron, or focus the drawing and use the arrow keys, ${idle}.`;
    onHover?.(node);
    draw();
  }

  function describe(node) {
    if (node.design) {
      if (node.kind === 'input') return `Input feature ${node.name}. Press Train to see every neuron draw what it computes over the plane.`;
      if (node.kind === 'output') return `Output ${node.index + 1} of ${node.of}${state?.check?.head?.description ? ` (${state.check.head.description})` : ''}. Press Train to see the prediction over the plane.`;
      return `Layer ${node.layer}, neuron ${node.index}. Press Train to see what it computes over the plane.`;
    }
    if (node.kind === 'input') return `Input feature ${node.name}: its value over the plane (blue high, orange low).`;
    if (node.kind === 'output') return 'Output: the network’s prediction over the plane.';
    return `Layer ${node.layer}, neuron ${node.index}: its activation over the plane (blue positive, orange negative).`;
  }

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas);
    nodes = [];
    const b = Array.isArray(state?.boundary?.neurons) ? state.boundary : null;
    const columns = b ? columnsOf(b, state.featureLabels) : designColumns(state?.check, state?.featureLabels);
    if (!columns) {
      emptyMessage(ctx, width, height, 'Press Train to see every neuron learn', cssVar('--muted'));
      delete canvas.dataset.columns;
      delete canvas.dataset.mode;
      markDrawn(canvas, false);
      return;
    }
    const maxItems = Math.min(MAX_NODES, Math.max(...columns.map((c) => c.items.length)));
    const left = 44;
    const colGap = (width - left) / columns.length;
    const top = 24;
    const avail = height - top - 18;
    const size = Math.max(12, Math.min(46, colGap * 0.5, avail / (maxItems * 1.3)));
    const gap = maxItems > 1 ? Math.min(size * 0.6, (avail - maxItems * size) / (maxItems - 1)) : 0;

    const pos = columns.map((col, ci) => {
      const shown = col.items.slice(0, MAX_NODES);
      const total = shown.length * size + (shown.length - 1) * gap;
      const x = left + colGap * ci + (colGap - size) / 2;
      const y0 = top + Math.max(0, (avail - total) / 2);
      return shown.map((item, j) => ({ x, y: y0 + j * (size + gap), item }));
    });

    // Links under the nodes: before training (the design) thin and neutral, all alike.
    if (!b) {
      ctx.strokeStyle = cssVar('--muted');
      ctx.globalAlpha = 0.35;
      ctx.lineWidth = 0.75;
      for (let ci = 0; ci + 1 < columns.length; ci += 1) {
        for (const to of pos[ci + 1]) for (const from of pos[ci]) link(ctx, from, to, size);
      }
    }
    const weights = (b?.weights || []).map((m, ci) => linkWeights(m, columns[ci + 1]?.kind));
    let wMax = 0;
    for (const m of weights) for (const row of m || []) for (const w of row || []) if (w !== null) wMax = Math.max(wMax, Math.abs(w));
    const posColor = cssVar('--pos');
    const negColor = cssVar('--neg');
    for (let ci = 0; ci + 1 < columns.length; ci += 1) {
      const m = weights[ci];
      if (!m) continue;
      pos[ci + 1].forEach((to, o) => {
        pos[ci].forEach((from, i) => {
          const w = m[o]?.[i];
          if (w === null || w === undefined) return;
          const t = wMax ? Math.abs(w) / wMax : 0;
          ctx.strokeStyle = w >= 0 ? posColor : negColor;
          ctx.globalAlpha = 0.2 + 0.8 * t;
          ctx.lineWidth = 0.5 + 5 * t;
          link(ctx, from, to, size);
        });
      });
    }
    ctx.globalAlpha = 1;

    columns.forEach((col, ci) => {
      label(ctx, col.title, left + colGap * ci + colGap / 2, 14, { align: 'center', color: cssVar('--fg'), bold: true, size: 12 });
      pos[ci].forEach((p, j) => {
        const scale = col.kind === 'output' ? state.outputScale : {};
        const image = p.item.grid ? surfaceImage(p.item.grid, scale, p.item.confidence)?.image : null;
        if (image) drawGrid(ctx, image, p.x, p.y, size, size, true);
        else {
          ctx.fillStyle = cssVar('--panel-2');
          ctx.fillRect(p.x, p.y, size, size);
        }
        const node = { x: p.x, y: p.y, size, column: ci, kind: col.kind, index: j, of: col.items.length, layer: col.layer, name: p.item.name, grid: p.item.grid, design: !b };
        nodes.push(node);
        const active = hovered && hovered.column === ci && hovered.index === j;
        ctx.strokeStyle = active ? cssVar('--focus') : cssVar('--border');
        ctx.lineWidth = active ? 3 : 1;
        ctx.strokeRect(p.x, p.y, size, size);
        if (col.kind === 'input') label(ctx, p.item.name, p.x - 4, p.y + size / 2, { align: 'right', baseline: 'middle', size: 12, color: cssVar('--fg') });
      });
      if (col.items.length > MAX_NODES) {
        const last = pos[ci][pos[ci].length - 1];
        label(ctx, `+${col.items.length - MAX_NODES}`, last.x + size / 2, last.y + size + 12, { align: 'center', size: 11 });
      }
    });
    canvas.dataset.nodes = String(nodes.length);
    // Neurons per column (at most MAX_NEURONS; the first MAX_NODES of each are drawn, then +N).
    canvas.dataset.columns = columns.map((c) => c.items.length).join(',');
    canvas.dataset.mode = b ? 'snapshot' : 'design';
    markDrawn(canvas);
  }

  return {
    /** next: {boundary, featureLabels, outputScale} (a snapshot), {check, featureLabels} (the design) or null. */
    set(next) {
      state = next;
    },
    draw,
    get hovered() {
      return hovered;
    },
  };
}
