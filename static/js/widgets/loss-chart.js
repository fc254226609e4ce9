// A line chart that grows every epoch: train and validation loss, or a metric.
// Thousands of epochs are drawn as one min/max band per pixel column, so drawing cost does not
// grow with the run. Hover (or focus and use the arrow keys) to read exact values.

import { fitCanvas, markDrawn, emptyMessage } from '../util/canvas.js';
import { cssVar } from '../util/colors.js';
import { h, formatNumber, legendItem } from '../util/dom.js';
import { label, labelPx } from '../util/plot.js';
import { xAxis, ema, smoothingFor } from '../fit.js';

/**
 * lineChart({canvas, readout, series: [{label, color, dash, get(record) -> number|null}],
 *            emptyText, fixedRange: [lo, hi] | null, includeZero, labelSize (px), smooth})
 * -> {setRecords(records), setAxis('all' | 'log' | 'recent'), setMarks([{epoch, text, color}]),
 *     setShade(epoch | null), draw()}
 * smooth: each series drawn raw (thin, faint) with its moving average on top; the readout
 * gives the raw values. setShade(epoch): the area from that epoch on is tinted (overfitting).
 */
export function lineChart({ canvas, readout, series, emptyText = 'Press Train to see this chart grow', fixedRange = null, includeZero = true, xName = 'epoch', labelSize = 12, smooth = false }) {
  const PAD = { left: 10 + labelSize * 3.6, right: 24, top: 10, bottom: labelSize * 2 + 4 };
  let axisMode = 'all';
  let marks = [];
  let shadeFrom = null;
  let xLabel = xName; // what the x of a record is called in the readout
  let records = [];
  let cursor = null; // index into records, or null for "latest"
  let lastLayout = null;
  let currentSeries = series;

  canvas.tabIndex = 0;
  canvas.addEventListener('mousemove', (e) => {
    if (!lastLayout || !records.length) return;
    const rect = canvas.getBoundingClientRect();
    const x = e.clientX - rect.left;
    cursor = indexAtX(x);
    draw();
  });
  canvas.addEventListener('mouseleave', () => {
    cursor = null;
    draw();
  });
  canvas.addEventListener('keydown', (e) => {
    if (!records.length) return;
    const last = records.length - 1;
    const stepBy = e.shiftKey ? Math.max(1, Math.round(records.length / 20)) : 1;
    if (e.key === 'ArrowLeft') cursor = Math.max(0, (cursor ?? last) - stepBy);
    else if (e.key === 'ArrowRight') cursor = Math.min(last, (cursor ?? last) + stepBy);
    else if (e.key === 'Home') cursor = 0;
    else if (e.key === 'End' || e.key === 'Escape') cursor = null;
    else return;
    e.preventDefault();
    draw();
  });

  function indexAtX(x) {
    const { X } = lastLayout;
    // records are sorted by epoch, and X grows with the epoch: binary search for the nearest.
    let lo = 0;
    let hi = records.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (X(records[mid].epoch) < x) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && Math.abs(X(records[lo - 1].epoch) - x) < Math.abs(X(records[lo].epoch) - x)) lo -= 1;
    return Math.max(lo, firstShown);
  }
  let firstShown = 0; // the first record inside the x axis (the recent window hides older ones)

  function range(shown) {
    if (fixedRange) return fixedRange;
    let lo = includeZero ? 0 : Infinity;
    let hi = -Infinity;
    for (const s of currentSeries) {
      for (const r of shown) {
        const v = s.get(r);
        if (v === null || v === undefined || !Number.isFinite(v)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    if (!Number.isFinite(hi)) return [0, 1];
    if (!Number.isFinite(lo)) lo = hi - 1;
    if (hi === lo) hi = lo + 1;
    return [lo, hi + (hi - lo) * 0.05];
  }

  let draws = 0;
  function draw() {
    draws += 1;
    canvas.dataset.draws = String(draws); // how often it was drawn (a test bounds the rate)
    const { ctx, width, height } = fitCanvas(canvas);
    canvas.dataset.points = String(records.length);
    if (!records.length) {
      emptyMessage(ctx, width, height, emptyText, cssVar('--muted'));
      markDrawn(canvas, false);
      updateReadout(null);
      lastLayout = null;
      return;
    }
    const plot = { x: PAD.left, y: PAD.top, w: width - PAD.left - PAD.right, h: height - PAD.top - PAD.bottom };
    const axis = xAxis(axisMode, records[0].epoch, records[records.length - 1].epoch);
    const { e0, e1 } = axis;
    firstShown = 0;
    while (firstShown < records.length - 1 && records[firstShown].epoch < e0) firstShown += 1;
    const shown = firstShown ? records.slice(firstShown) : records;
    const [lo, hi] = range(shown);
    const X = (e) => plot.x + axis.x(e) * plot.w;
    const Y = (v) => plot.y + plot.h - ((v - lo) / (hi - lo)) * plot.h;
    lastLayout = { plot, e0, e1, lo, hi, X };
    canvas.dataset.labelPx = String(labelPx(labelSize)); // the type size drawn, for the tests

    // Overfitting: the epochs since the best validation loss, tinted.
    if (shadeFrom !== null && shadeFrom < e1) {
      const x0 = Math.max(plot.x, X(Math.max(shadeFrom, e0)));
      ctx.save();
      ctx.fillStyle = cssVar('--warn');
      ctx.globalAlpha = 0.12;
      ctx.fillRect(x0, plot.y, plot.x + plot.w - x0, plot.h);
      ctx.restore();
    }
    // Grid and axes.
    ctx.strokeStyle = cssVar('--grid');
    ctx.lineWidth = 1;
    for (const t of ticks(lo, hi, 4)) {
      const y = Math.round(Y(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(plot.x, y);
      ctx.lineTo(plot.x + plot.w, y);
      ctx.stroke();
      label(ctx, formatNumber(t, 2), plot.x - 6, y, { align: 'right', baseline: 'middle', size: labelSize });
    }
    const xTicks = axis.ticks || ticks(e0, e1, Math.max(2, Math.min(5, Math.floor(plot.w / (labelSize * 5))))).filter((t) => Number.isInteger(t));
    let lastRight = -Infinity;
    for (const t of xTicks) {
      const x = X(t);
      const half = (String(formatNumber(t)).length * labelSize * 0.6) / 2;
      if (x - half < lastRight + 4) continue; // never two tick labels over each other
      lastRight = x + half;
      label(ctx, formatNumber(t), x, height - labelSize * 0.6, { align: 'center', size: labelSize });
    }
    // Marks (the best validation epoch): a vertical line with its words at the top.
    for (const m of marks) {
      if (m.epoch < e0 || m.epoch > e1) continue;
      const x = Math.round(X(m.epoch)) + 0.5;
      ctx.save();
      ctx.strokeStyle = cssVar(m.color || '--ok');
      ctx.lineWidth = 2;
      ctx.setLineDash([2, 3]);
      ctx.beginPath();
      ctx.moveTo(x, plot.y);
      ctx.lineTo(x, plot.y + plot.h);
      ctx.stroke();
      ctx.restore();
      if (m.text) label(ctx, m.text, x + (x > plot.x + plot.w * 0.7 ? -4 : 4), plot.y + labelSize * 0.5, { align: x > plot.x + plot.w * 0.7 ? 'right' : 'left', baseline: 'top', size: labelSize * 0.85, color: cssVar(m.color || '--ok'), bold: true });
    }

    // Series: min/max per pixel column when there are more records than pixels.
    const alpha = smooth ? smoothingFor(shown.length) : 1;
    currentSeries.forEach((s) => {
      if (alpha < 1) {
        // Honest smoothing: the raw values stay visible underneath, thin and faint.
        strokeSeries(ctx, shown, s.get, s, X, Y, { width: 1, alpha: 0.35 });
        const values = ema(shown.map((r) => s.get(r)), alpha);
        strokeSeries(ctx, shown, (r) => values[shown.indexOf(r)], s, X, Y, { width: 2.5, alpha: 1, indexed: values });
      } else {
        strokeSeries(ctx, shown, s.get, s, X, Y, { width: 2, alpha: 1 });
      }
    });

    // Cursor.
    const idx = cursor === null ? records.length - 1 : Math.max(firstShown, Math.min(cursor, records.length - 1));
    const rec = records[idx];
    if (cursor !== null) {
      const x = Math.round(X(rec.epoch)) + 0.5;
      ctx.strokeStyle = cssVar('--muted');
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(x, plot.y);
      ctx.lineTo(x, plot.y + plot.h);
      ctx.stroke();
      ctx.setLineDash([]);
      currentSeries.forEach((s) => {
        const v = s.get(rec);
        if (v === null || v === undefined || !Number.isFinite(v)) return;
        ctx.beginPath();
        ctx.arc(X(rec.epoch), Y(v), 4, 0, Math.PI * 2);
        ctx.fillStyle = cssVar(s.color);
        ctx.fill();
      });
    }
    markDrawn(canvas);
    updateReadout(rec);
  }

  function updateReadout(rec) {
    if (!readout) return;
    if (!rec) {
      readout.replaceChildren();
      return;
    }
    const parts = currentSeries.map((s) => legendItem(s.color, s.label, { dashed: Boolean(s.dash), value: formatNumber(s.get(rec), 4) }));
    readout.replaceChildren(h('span', { class: 'legend-epoch' }, `${xLabel} `, h('b', {}, formatNumber(rec.epoch))), ...parts.flatMap((p) => [' ', p]));
  }

  return {
    /** Call the x of the records something else in the readout (e.g. "% of the run"). */
    setXName(name) {
      xLabel = name;
    },
    setRecords(next) {
      records = next;
      if (cursor !== null && cursor >= records.length) cursor = null;
    },
    setSeries(next) {
      currentSeries = next;
    },
    /** The x axis: 'all' epochs, 'log' scale, or the 'recent' window. */
    setAxis(mode) {
      axisMode = mode;
    },
    get axis() {
      return axisMode;
    },
    setMarks(next) {
      marks = next || [];
    },
    setShade(epoch) {
      shadeFrom = epoch ?? null;
    },
    draw,
  };
}

/**
 * One series as a line, min/max per pixel column when there are more records than pixels.
 * `indexed`: values by position in `shown` (the smoothed line) instead of get(record).
 */
function strokeSeries(ctx, shown, get, s, X, Y, { width, alpha, indexed = null }) {
  ctx.save();
  ctx.strokeStyle = cssVar(s.color);
  ctx.lineWidth = width;
  ctx.globalAlpha = alpha;
  if (s.dash) ctx.setLineDash(s.dash);
  ctx.beginPath();
  let started = false;
  let col = null;
  let cMin = 0;
  let cMax = 0;
  const flush = () => {
    if (col === null) return;
    const yMin = Y(cMin);
    const yMax = Y(cMax);
    if (started) ctx.lineTo(col, yMin);
    else ctx.moveTo(col, yMin);
    if (yMax !== yMin) ctx.lineTo(col, yMax);
    started = true;
  };
  for (let i = 0; i < shown.length; i += 1) {
    const r = shown[i];
    const v = indexed ? indexed[i] : get(r);
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    const px = Math.round(X(r.epoch));
    if (px !== col) {
      flush();
      col = px;
      cMin = v;
      cMax = v;
    } else {
      cMin = Math.min(cMin, v);
      cMax = Math.max(cMax, v);
    }
  }
  flush();
  ctx.stroke();
  ctx.restore();
}

/** About `count` round tick values between lo and hi. */
export function ticks(lo, hi, count) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm >= 5 ? 10 : norm >= 2 ? 5 : norm >= 1 ? 2 : 1) * mag;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Number(t.toPrecision(12)));
  }
  return out;
}
