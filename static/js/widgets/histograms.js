// Activation histograms per layer: the latest histogram as bars, and beside it how the
// distribution moved over the run (time runs left to right, darker = more values there).
// Saturated tanh/sigmoid units pile up at the edges; dead ReLUs collapse to a spike at zero.

import { fitCanvas, markDrawn, emptyMessage } from '../util/canvas.js';
import { cssVar, sequentialTable } from '../util/colors.js';
import { label } from '../util/plot.js';
import { formatNumber } from '../util/dom.js';

const ROW = 58;

/** "layer 2 · conv2d", or "output head". */
export function layerName(layer, row) {
  if (layer.type === 'head') return 'output head';
  return `layer ${(layer.index ?? row) + 1} · ${layer.type}`; // numbered from 1, as on the page
}

export function histogramsView({ canvas }) {
  let snapshot = null;
  let history = [];

  function draw() {
    const layers = snapshot?.layers?.filter((l) => l.hist && Array.isArray(l.hist.counts)) || [];
    canvas.style.height = `${Math.max(120, layers.length * ROW + 8)}px`;
    const { ctx, width, height } = fitCanvas(canvas);
    if (!layers.length) {
      emptyMessage(ctx, width, height, 'Activation histograms appear once training starts', cssVar('--muted'));
      markDrawn(canvas, false);
      return;
    }
    const labelW = Math.min(150, width * 0.25);
    const barsW = Math.min(220, (width - labelW) * 0.4);
    const stripX = labelW + barsW + 16;
    const stripW = Math.max(20, width - stripX - 4);
    const fg = cssVar('--fg');
    const barColor = cssVar('--accent');
    layers.forEach((layer, row) => {
      const y = row * ROW + 4;
      const h = ROW - 14;
      label(ctx, layerName(layer, row), 0, y + 14, { color: fg, bold: true, size: 13 });
      label(ctx, `mean ${formatNumber(layer.mean, 2)}`, 0, y + 30, { size: 11 });
      label(ctx, `std ${formatNumber(layer.std, 2)}`, 0, y + 44, { size: 11 });
      // Latest histogram.
      const counts = layer.hist.counts;
      const max = Math.max(1, ...counts);
      const bw = barsW / counts.length;
      ctx.fillStyle = barColor;
      counts.forEach((c, k) => {
        const bh = (c / max) * h;
        ctx.fillRect(labelW + k * bw, y + h - bh, Math.max(1, bw - 0.5), bh);
      });
      ctx.strokeStyle = cssVar('--grid');
      ctx.strokeRect(labelW + 0.5, y + 0.5, barsW, h);
      label(ctx, formatNumber(layer.hist.lo, 2), labelW, y + h + 10, { size: 10 });
      label(ctx, formatNumber(layer.hist.hi, 2), labelW + barsW, y + h + 10, { size: 10, align: 'right' });
      drawStrip(ctx, row, stripX, y, stripW, h);
    });
    label(ctx, 'over the run →', stripX + stripW, 12, { align: 'right', size: 10 });
    markDrawn(canvas);
  }

  function drawStrip(ctx, row, x, y, w, h) {
    const cols = history.slice(-Math.floor(w)).map((s) => s.layers?.[row]?.hist).filter(Boolean);
    if (cols.length < 2) return;
    let lo = Infinity;
    let hi = -Infinity;
    for (const hist of cols) {
      lo = Math.min(lo, hist.lo);
      hi = Math.max(hi, hist.hi);
    }
    if (!(hi > lo)) hi = lo + 1;
    const H = Math.max(1, Math.round(h));
    const W = cols.length;
    const img = ctx.createImageData(W, H);
    const table = sequentialTable();
    cols.forEach((hist, c) => {
      const n = hist.counts.length;
      const max = Math.max(1, ...hist.counts);
      const span = hist.hi - hist.lo || 1;
      for (let py = 0; py < H; py += 1) {
        const v = hi - ((py + 0.5) / H) * (hi - lo);
        const k = Math.floor(((v - hist.lo) / span) * n);
        const t = k >= 0 && k < n ? Math.sqrt(hist.counts[k] / max) : 0;
        const b = Math.round(t * 255);
        const o = (py * W + c) * 4;
        img.data[o] = table[b * 3];
        img.data[o + 1] = table[b * 3 + 1];
        img.data[o + 2] = table[b * 3 + 2];
        img.data[o + 3] = 255;
      }
    });
    const off = document.createElement('canvas');
    off.width = W;
    off.height = H;
    off.getContext('2d').putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, x, y, w, h);
    ctx.imageSmoothingEnabled = true;
    label(ctx, formatNumber(hi, 2), x - 3, y + 8, { size: 10, align: 'right' });
    label(ctx, formatNumber(lo, 2), x - 3, y + h, { size: 10, align: 'right' });
  }

  return {
    set(snap, hist) {
      snapshot = snap;
      history = hist || [];
    },
    draw,
  };
}
