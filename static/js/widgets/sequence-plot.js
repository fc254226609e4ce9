// Sequence views: the forecast against the truth, the recurrent layer's hidden state over time,
// and the predicted class probabilities of a few series.

import { fitCanvas, markDrawn, emptyMessage, gridImage, drawGrid } from '../util/canvas.js';
import { cssVar, classColor, divergingTable } from '../util/colors.js';
import { decodeGrid, divergingBytes } from '../bytegrid.js';
import { drawSeries, rangeOf, label } from '../util/plot.js';
import { h, formatNumber, legendItem } from '../util/dom.js';

const flat = (a) => (Array.isArray(a) ? a.map((v) => (Array.isArray(v) ? v[0] : v)) : []);

/** Forecast against truth: the input window, then the true continuation and the prediction. */
export function forecastPlot({ canvas, readout }) {
  let seq = null;

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas);
    let input = flat(seq?.input);
    let truth = flat(seq?.truth);
    let pred = flat(seq?.prediction);
    // A batch of series: show the first.
    if (Array.isArray(seq?.input?.[0]?.[0])) input = flat(seq.input[0]);
    if (Array.isArray(seq?.truth?.[0]) && seq.truth[0].length > 1) truth = flat(seq.truth[0]);
    if (Array.isArray(seq?.prediction?.[0]) && seq.prediction[0].length > 1) pred = flat(seq.prediction[0]);
    if (!truth.length && !pred.length) {
      emptyMessage(ctx, width, height, 'The forecast appears once training starts', cssVar('--muted'));
      markDrawn(canvas, false);
      return;
    }
    const overlay = truth.length >= input.length; // predictions over the whole window
    const total = overlay ? Math.max(truth.length, pred.length) : input.length + truth.length;
    const offset = overlay ? 0 : input.length;
    const [lo, hi] = rangeOf(input, truth, pred);
    const rect = { x: 40, y: 10, w: width - 50, h: height - 34 };
    ctx.strokeStyle = cssVar('--grid');
    ctx.strokeRect(rect.x + 0.5, rect.y + 0.5, rect.w, rect.h);
    label(ctx, formatNumber(hi, 2), rect.x - 4, rect.y + 8, { align: 'right', size: 11 });
    label(ctx, formatNumber(lo, 2), rect.x - 4, rect.y + rect.h, { align: 'right', size: 11 });
    label(ctx, 'time →', rect.x + rect.w, height - 6, { align: 'right', size: 11 });
    if (overlay || !input.length) {
      drawSeries(ctx, truth, rect, lo, hi, { color: cssVar('--train'), width: 2.5, offset, total });
      drawSeries(ctx, pred, rect, lo, hi, { color: cssVar('--val'), width: 2.5, offset, total, dash: [6, 4] });
    } else {
      // The forecast gets at least a quarter of the width: a horizon of 1 is a step forward
      // in the middle of its own zone, not one dot on the right edge.
      const zone = Math.max(0.25, truth.length / total);
      const split = rect.x + (1 - zone) * rect.w;
      const XI = (i) => rect.x + (i / Math.max(1, input.length - 1)) * (split - rect.x - rect.w * 0.03);
      const XF = (k) => split + ((k + 1) / (truth.length + 1)) * (rect.x + rect.w - split) * (truth.length > 1 ? (truth.length + 1) / truth.length : 1);
      const Y = (v) => rect.y + rect.h - ((v - lo) / (hi - lo || 1)) * rect.h;
      const line = (xs, ys, color, dash) => {
        ctx.save();
        ctx.strokeStyle = color;
        ctx.lineWidth = dash ? 2.5 : 2;
        if (dash) ctx.setLineDash(dash);
        ctx.beginPath();
        xs.forEach((x, i) => (i ? ctx.lineTo(x, Y(ys[i])) : ctx.moveTo(x, Y(ys[i]))));
        ctx.stroke();
        ctx.restore();
      };
      line(input.map((_, i) => XI(i)), input, cssVar('--muted'));
      ctx.setLineDash([4, 4]);
      ctx.strokeStyle = cssVar('--grid');
      ctx.beginPath();
      ctx.moveTo(split, rect.y);
      ctx.lineTo(split, rect.y + rect.h);
      ctx.stroke();
      ctx.setLineDash([]);
      const last = input[input.length - 1];
      const xLast = XI(input.length - 1);
      line([xLast, ...truth.map((_, k) => XF(k))], [last, ...truth], cssVar('--train'));
      line([xLast, ...pred.map((_, k) => XF(k))], [last, ...pred], cssVar('--val'), [6, 4]);
      if (truth.length <= 12) {
        truth.forEach((v, k) => dot(ctx, XF(k), Y(v), 6, cssVar('--train'), false));
        pred.forEach((v, k) => dot(ctx, XF(k), Y(v), 6, cssVar('--val'), true));
      }
      label(ctx, truth.length === 1 ? 'next value' : `next ${truth.length}`, split + 4, rect.y + 12, { size: 11 });
    }
    markDrawn(canvas);
    if (readout) {
      let err = 0;
      let n = 0;
      pred.forEach((p, i) => {
        if (Number.isFinite(p) && Number.isFinite(truth[i])) {
          err += Math.abs(p - truth[i]);
          n += 1;
        }
      });
      readout.replaceChildren(
        legendItem('--muted', 'input'),
        ' ',
        legendItem('--train', 'truth'),
        ' ',
        legendItem('--val', 'prediction', { dashed: true }),
        ' ',
        ...(n ? ['mean absolute error ', h('b', {}, formatNumber(err / n, 3))] : []),
      );
    }
  }

  return {
    set(next) {
      seq = next;
    },
    draw,
  };
}

function dot(ctx, x, y, r, color, ring) {
  if (!Number.isFinite(y)) return;
  ctx.beginPath();
  ctx.arc(x, y, r, 0, Math.PI * 2);
  if (ring) {
    ctx.lineWidth = 3;
    ctx.strokeStyle = color;
    ctx.stroke();
  } else {
    ctx.fillStyle = color;
    ctx.fill();
  }
}

/** A (T, H) matrix as a heatmap: time left to right, one row per hidden unit. */
export function hiddenStateView({ canvas, readout }) {
  let grid = null;

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas);
    const g = decodeGrid(grid);
    if (!g || g.shape.length !== 2) {
      emptyMessage(ctx, width, height, 'The hidden state appears once training starts', cssVar('--muted'));
      markDrawn(canvas, false);
      return;
    }
    const [T, H] = g.shape;
    // Transpose so that time runs along x.
    const bytes = divergingBytes(g);
    const t = new Uint8Array(T * H);
    for (let i = 0; i < T; i += 1) for (let j = 0; j < H; j += 1) t[j * T + i] = bytes[i * H + j];
    const rect = { x: 40, y: 6, w: width - 46, h: height - 28 };
    drawGrid(ctx, gridImage(t, H, T, divergingTable()), rect.x, rect.y, rect.w, rect.h, false);
    label(ctx, 'unit', rect.x - 4, rect.y + 10, { align: 'right', size: 11 });
    label(ctx, `${H}`, rect.x - 4, rect.y + rect.h, { align: 'right', size: 11 });
    label(ctx, `time step 1 … ${T} →`, rect.x + rect.w, height - 6, { align: 'right', size: 11 });
    markDrawn(canvas);
    if (readout) {
      readout.textContent = `${H} hidden units over ${T} steps; blue positive, orange negative (from ${formatNumber(g.lo, 2)} to ${formatNumber(g.hi, 2)}).`;
    }
  }

  return {
    set(next) {
      grid = next;
    },
    draw,
  };
}

/** One row per series: its class probabilities as a stacked bar, the true class named. */
export function probabilitiesView({ canvas, readout }) {
  let state = null;

  function draw() {
    const probs = state?.probabilities;
    const rows = Array.isArray(probs) ? probs.slice(0, 12) : [];
    // Its height is the stage's (CSS), whatever arrives: the rows fit into it.
    const { ctx, width, height } = fitCanvas(canvas);
    if (!rows.length) {
      emptyMessage(ctx, width, height, 'Class probabilities appear once training starts', cssVar('--muted'));
      markDrawn(canvas, false);
      return;
    }
    const k = rows[0].length;
    const names = state.classNames || [];
    const labelW = 110;
    const barW = width - labelW - 8;
    let right = 0;
    const rowH = Math.max(8, Math.min(26, (height - 30) / rows.length));
    rows.forEach((p, i) => {
      const y = 6 + i * rowH;
      const truth = state.labels?.[i];
      let x = labelW;
      let best = 0;
      p.forEach((v, c) => {
        if (v > p[best]) best = c;
        ctx.fillStyle = classColor(c, Math.max(3, k));
        ctx.fillRect(x, y, Math.max(0, v * barW), rowH * 0.78);
        x += v * barW;
      });
      if (best === truth) right += 1;
      const tname = String(names[truth] ?? truth ?? '?');
      label(ctx, `${best === truth ? '✓' : '✗'} ${tname}`, 0, y + rowH * 0.6, {
        size: Math.min(13, rowH * 0.6),
        color: best === truth ? cssVar('--ok') : cssVar('--bad'),
        bold: true,
      });
    });
    for (let c = 0; c < k; c += 1) {
      const x = labelW + (c * barW) / k;
      ctx.fillStyle = classColor(c, Math.max(3, k));
      ctx.fillRect(x, height - 16, 12, 12);
      label(ctx, String(names[c] ?? c), x + 16, height - 6, { size: 11 });
    }
    markDrawn(canvas);
    if (readout) readout.textContent = `Each bar is one series, split by the predicted probability of each class; ${right} of ${rows.length} have their true class (named on the left) most likely.`;
  }

  return {
    set(next) {
      state = next;
    },
    draw,
  };
}
