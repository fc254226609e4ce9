// A line chart that grows every epoch: train and validation loss, or a metric.
// Thousands of epochs are drawn as one min/max band per pixel column, so drawing cost does not
// grow with the run. Hover (or focus and use the arrow keys) to read exact values.

import { fitCanvas, markDrawn, emptyMessage } from '../util/canvas.js';
import { cssVar } from '../util/colors.js';
import { h, formatNumber, legendItem } from '../util/dom.js';
import { label } from '../util/plot.js';

const PAD = { left: 52, right: 24, top: 10, bottom: 26 };

/**
 * lineChart({canvas, readout, series: [{label, color, dash, get(record) -> number|null}],
 *            emptyText, fixedRange: [lo, hi] | null, includeZero})
 * -> {setRecords(records), draw()}
 */
export function lineChart({ canvas, readout, series, emptyText = 'Press Train to see this chart grow', fixedRange = null, includeZero = true, xName = 'epoch' }) {
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
    const { plot, e0, e1 } = lastLayout;
    const epoch = e0 + ((x - plot.x) / plot.w) * (e1 - e0);
    // records are sorted by epoch: binary search for the nearest.
    let lo = 0;
    let hi = records.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (records[mid].epoch < epoch) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && Math.abs(records[lo - 1].epoch - epoch) < Math.abs(records[lo].epoch - epoch)) lo -= 1;
    return lo;
  }

  function range() {
    if (fixedRange) return fixedRange;
    let lo = includeZero ? 0 : Infinity;
    let hi = -Infinity;
    for (const s of currentSeries) {
      for (const r of records) {
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

  function draw() {
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
    const [lo, hi] = range();
    const e0 = Math.min(records[0].epoch, 1);
    const e1 = Math.max(records[records.length - 1].epoch, e0 + 1);
    lastLayout = { plot, e0, e1, lo, hi };
    const X = (e) => plot.x + ((e - e0) / (e1 - e0)) * plot.w;
    const Y = (v) => plot.y + plot.h - ((v - lo) / (hi - lo)) * plot.h;

    // Grid and axes.
    ctx.strokeStyle = cssVar('--grid');
    ctx.lineWidth = 1;
    for (const t of ticks(lo, hi, 4)) {
      const y = Math.round(Y(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(plot.x, y);
      ctx.lineTo(plot.x + plot.w, y);
      ctx.stroke();
      label(ctx, formatNumber(t, 2), plot.x - 6, y, { align: 'right', baseline: 'middle' });
    }
    for (const t of ticks(e0, e1, 5).filter((t) => Number.isInteger(t))) {
      label(ctx, formatNumber(t), X(t), height - 8, { align: 'center' });
    }

    // Series: min/max per pixel column when there are more records than pixels.
    currentSeries.forEach((s) => {
      ctx.save();
      ctx.strokeStyle = cssVar(s.color);
      ctx.lineWidth = 2;
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
      for (const r of records) {
        const v = s.get(r);
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
    });

    // Cursor.
    const idx = cursor === null ? records.length - 1 : Math.min(cursor, records.length - 1);
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
    draw,
  };
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
