// The decision surface (TensorFlow Playground's output view): the model's output over the
// input plane as colour, with the training and validation points on top. Also shows one neuron's
// surface large when a neuron is hovered in the network graph.

import { fitCanvas, markDrawn, emptyMessage, gridImage, drawGrid } from '../util/canvas.js';
import { cssVar, divergingTable, classColor, parseColor } from '../util/colors.js';
import { decodeGrid, divergingBytes } from '../bytegrid.js';
import { drawPoints, label } from '../util/plot.js';
import { formatNumber } from '../util/dom.js';

/**
 * Colour a grid over the plane for display (row 0 is the top edge, x2 = max).
 * scale: {center, domain} for values on the diverging scale (probabilities: center 0.5,
 * domain 0.5; activations: center 0, symmetric), or {kind: 'class', classes} for a grid of
 * predicted class indices, shaded towards white where `confidence` (a grid of 0..1) is low.
 */
export function surfaceImage(grid, scale = {}, confidence = null) {
  const g = decodeGrid(grid);
  if (!g || g.shape.length < 2) return null;
  const [rows, cols] = g.shape.slice(-2);
  if (scale.kind === 'class') {
    // Discretized: every cell its class's full colour, whatever the confidence.
    return { image: classImage(g, rows, cols, scale.classes, scale.discretize ? null : decodeGrid(confidence)), grid: g, rows, cols };
  }
  let bytes = divergingBytes(g, scale);
  // Discretized (TensorFlow Playground's toggle): each side of the boundary in one colour.
  if (scale.discretize) bytes = bytes.map((b) => (b >= 128 ? 255 : 0));
  return { image: gridImage(bytes, rows, cols, divergingTable()), grid: g, rows, cols };
}

function classImage(g, rows, cols, classes, conf) {
  const n = Math.max(2, classes || Math.round(g.hi) + 1);
  const colours = Array.from({ length: n }, (_, k) => parseColor(classColor(k, Math.max(3, n))));
  const mid = parseColor(cssVar('--mid'));
  const off = document.createElement('canvas');
  off.width = cols;
  off.height = rows;
  const ctx = off.getContext('2d');
  const img = ctx.createImageData(cols, rows);
  for (let i = 0; i < rows * cols; i += 1) {
    const k = Math.max(0, Math.min(n - 1, Math.round(g.at(i))));
    // Confidence 1/n (a guess) is pale, 1 is the full class colour.
    const c = conf ? Math.max(0, (conf.at(i) - 1 / n) / (1 - 1 / n)) : 1;
    const t = 0.25 + 0.75 * c;
    for (let j = 0; j < 3; j += 1) img.data[i * 4 + j] = mid[j] + (colours[k][j] - mid[j]) * t;
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return off;
}

/** Where the plane lies on a surface canvas of this CSS size (the step-through picks points). */
export function surfaceLayout(width, height) {
  const size = Math.max(10, Math.min(width - 30, height - 22));
  return { x: 30, y: 4, w: size, h: size };
}

/** The points without the validation ones (pointOptions.test marks them). */
function trainingOnly({ points, labels, pointOptions }) {
  const test = pointOptions?.test;
  if (!Array.isArray(test)) return { points, labels, pointOptions };
  const keep = points.map((_, i) => !test[i]);
  return {
    points: points.filter((_, i) => keep[i]),
    labels: (labels || []).filter((_, i) => keep[i]),
    pointOptions: { ...pointOptions, test: test.filter((_, i) => keep[i]) },
  };
}

export function surfaceView({ canvas, readout }) {
  const layout = surfaceLayout;
  let state = null;
  let hover = null;

  canvas.addEventListener('mousemove', (e) => {
    const r = canvas.getBoundingClientRect();
    hover = { x: e.clientX - r.left, y: e.clientY - r.top };
    updateReadout();
  });
  canvas.addEventListener('mouseleave', () => {
    hover = null;
    updateReadout();
  });

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas);
    if (!state || !state.grid) {
      if (state?.points) {
        const rect = layout(width, height);
        ctx.fillStyle = cssVar('--panel-2');
        ctx.fillRect(rect.x, rect.y, rect.w, rect.h);
        drawPoints(ctx, state.points, state.labels, state.extent, rect, state.pointOptions);
        axes(ctx, rect, state.extent);
        markDrawn(canvas);
      } else {
        emptyMessage(ctx, width, height, 'Press Train to see the decision surface', cssVar('--muted'));
        markDrawn(canvas, false);
      }
      return;
    }
    const rect = layout(width, height);
    const surf = surfaceImage(state.grid, state.scale, state.confidence);
    if (!surf) return;
    drawGrid(ctx, surf.image, rect.x, rect.y, rect.w, rect.h, true);
    if (state.points && state.showPoints !== false) {
      const { points, labels, pointOptions } = state.showTest === false ? trainingOnly(state) : state;
      drawPoints(ctx, points, labels, state.extent, rect, pointOptions);
    }
    axes(ctx, rect, state.extent);
    if (state.title) label(ctx, state.title, rect.x + 6, rect.y + 16, { color: cssVar('--fg'), bold: true, size: 13 });
    markDrawn(canvas);
    state.rect = rect;
    state.decoded = surf.grid;
    state.size = [surf.rows, surf.cols];
  }

  function axes(ctx, rect, extent) {
    const [x0, x1, y0, y1] = extent;
    label(ctx, formatNumber(x0, 2), rect.x, rect.y + rect.h + 14, { align: 'left' });
    label(ctx, formatNumber(x1, 2), rect.x + rect.w, rect.y + rect.h + 14, { align: 'right' });
    label(ctx, formatNumber(y1, 2), rect.x - 4, rect.y + 10, { align: 'right' });
    label(ctx, formatNumber(y0, 2), rect.x - 4, rect.y + rect.h, { align: 'right' });
  }

  function updateReadout() {
    if (!readout) return;
    if (!hover || !state?.decoded || !state.rect) {
      readout.textContent = state?.caption || '';
      return;
    }
    const { rect, extent, decoded, size } = state;
    const fx = (hover.x - rect.x) / rect.w;
    const fy = (hover.y - rect.y) / rect.h;
    if (fx < 0 || fx > 1 || fy < 0 || fy > 1) {
      readout.textContent = state.caption || '';
      return;
    }
    const [rows, cols] = size;
    const c = Math.min(cols - 1, Math.floor(fx * cols));
    const r = Math.min(rows - 1, Math.floor(fy * rows));
    const v = decoded.at(r * cols + c);
    const x = extent[0] + fx * (extent[1] - extent[0]);
    const y = extent[3] - fy * (extent[3] - extent[2]);
    readout.textContent = `at x1 = ${formatNumber(x, 2)}, x2 = ${formatNumber(y, 2)}: ${state.valueName || 'value'} ${formatNumber(v, 3)}`;
  }

  return {
    /** next: {grid, extent, scale (discretize: two colours), points, labels, pointOptions, showTest, title, caption, valueName}. */
    set(next) {
      state = next;
    },
    draw() {
      draw();
      updateReadout();
    },
  };
}
