// Autoencoder views: the latent space (each example's code, coloured by its class) and the
// anomaly scores (reconstruction error of normal and anomalous examples).

import { fitCanvas, markDrawn, emptyMessage } from '../util/canvas.js';
import { cssVar, classColor } from '../util/colors.js';
import { drawPoints, extentOf, label } from '../util/plot.js';
import { formatNumber } from '../util/dom.js';

export function latentScatter({ canvas, readout }) {
  let latent = null;

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas);
    const points = latent?.points || [];
    if (!points.length) {
      emptyMessage(ctx, width, height, 'The latent space appears once training starts', cssVar('--muted'));
      markDrawn(canvas, false);
      return;
    }
    const known = Array.isArray(latent.labels);
    const labels = known ? latent.labels : points.map(() => 0);
    const classes = known ? [...new Set(labels)].sort((a, b) => a - b) : [];
    const nClasses = Math.max(3, classes.length);
    const extent = extentOf(points);
    const size = Math.min(width - 90, height - 8);
    const rect = { x: 4, y: 4, w: size, h: size };
    ctx.strokeStyle = cssVar('--grid');
    ctx.strokeRect(rect.x + 0.5, rect.y + 0.5, rect.w, rect.h);
    drawPoints(ctx, points, labels, extent, rect, { nClasses, radius: 3 });
    classes.slice(0, 12).forEach((c, i) => {
      ctx.fillStyle = classColor(c, nClasses);
      ctx.fillRect(rect.x + rect.w + 12, 8 + i * 18, 12, 12);
      label(ctx, String(latent.classNames?.[c] ?? c), rect.x + rect.w + 30, 18 + i * 18, { size: 12 });
    });
    markDrawn(canvas);
    if (readout) {
      const where = latent.layer !== undefined ? ` of layer ${latent.layer + 1}` : '';
      const proj = latent.projection && latent.projection !== 'none' ? `, its ${latent.dims} numbers projected to 2D (${latent.projection.toUpperCase()})` : '';
      readout.textContent = `${points.length} examples placed by their code${where}${proj}.${known ? ' Colour = class: separate clusters were found without labels.' : ''}`;
    }
  }

  return {
    set(next) {
      latent = next;
    },
    draw,
  };
}

/** Histogram of anomaly scores for normal (label 0) and anomalous (label 1) examples. */
export function anomalyChart({ canvas, readout }) {
  let anomaly = null;

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas);
    const scores = anomaly?.scores || [];
    if (!scores.length) {
      emptyMessage(ctx, width, height, 'Anomaly scores appear once training starts', cssVar('--muted'));
      markDrawn(canvas, false);
      return;
    }
    const labels = anomaly.labels || scores.map(() => 0);
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of scores) {
      if (s === null || !Number.isFinite(s)) continue;
      lo = Math.min(lo, s);
      hi = Math.max(hi, s);
    }
    if (!(hi > lo)) hi = lo + 1;
    const bins = 30;
    const counts = [new Array(bins).fill(0), new Array(bins).fill(0)];
    scores.forEach((s, i) => {
      if (s === null || !Number.isFinite(s)) return;
      const k = Math.min(bins - 1, Math.floor(((s - lo) / (hi - lo)) * bins));
      counts[labels[i] ? 1 : 0][k] += 1;
    });
    const rect = { x: 10, y: 22, w: width - 20, h: height - 46 };
    const max = Math.max(1, ...counts[0], ...counts[1]);
    const bw = rect.w / bins;
    const colors = [cssVar('--pos'), cssVar('--bad')];
    [0, 1].forEach((cls) => {
      ctx.fillStyle = colors[cls];
      ctx.globalAlpha = cls ? 0.8 : 0.6;
      counts[cls].forEach((c, k) => {
        const h = (c / max) * rect.h;
        ctx.fillRect(rect.x + k * bw, rect.y + rect.h - h, Math.max(1, bw - 1), h);
      });
    });
    ctx.globalAlpha = 1;
    label(ctx, `score ${formatNumber(lo, 2)}`, rect.x, height - 6, { size: 11 });
    label(ctx, formatNumber(hi, 2), rect.x + rect.w, height - 6, { size: 11, align: 'right' });
    ctx.fillStyle = colors[0];
    ctx.fillRect(rect.x, 4, 12, 12);
    label(ctx, 'normal', rect.x + 16, 14, { size: 12 });
    ctx.fillStyle = colors[1];
    ctx.fillRect(rect.x + 90, 4, 12, 12);
    label(ctx, 'anomaly', rect.x + 106, 14, { size: 12 });
    if (Number.isFinite(anomaly.roc_auc)) {
      label(ctx, `ROC AUC ${formatNumber(anomaly.roc_auc, 3)}`, rect.x + rect.w, 14, { size: 13, align: 'right', bold: true, color: cssVar('--fg') });
    }
    markDrawn(canvas);
    if (readout) {
      readout.textContent = 'Reconstruction error per validation example. A good detector puts the anomalies (red) to the right of the normal ones; ROC AUC 1.0 separates them perfectly, 0.5 is chance.';
    }
  }

  return {
    set(next) {
      anomaly = next;
    },
    draw,
  };
}
