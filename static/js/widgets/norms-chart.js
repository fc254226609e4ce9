// Weight and gradient norms per layer over the run, on a log scale: gradients that shrink
// layer after layer towards the input are vanishing; norms that shoot up are exploding.

import { fitCanvas, markDrawn, emptyMessage } from '../util/canvas.js';
import { cssVar, seriesColor } from '../util/colors.js';
import { label } from '../util/plot.js';
import { h, formatNumber, legendItem } from '../util/dom.js';
import { layerName } from './histograms.js';

export function normsChart({ canvas, legend }) {
  let history = [];

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas);
    const usable = history.filter((s) => Array.isArray(s.layers) && s.layers.length);
    if (usable.length < 1) {
      emptyMessage(ctx, width, height, 'Weight and gradient norms appear once training starts', cssVar('--muted'));
      markDrawn(canvas, false);
      if (legend) legend.replaceChildren();
      return;
    }
    const nLayers = Math.max(...usable.map((s) => s.layers.length));
    const half = (width - 20) / 2;
    panel(ctx, usable, nLayers, 'weight_norm', 'Weight norm ‖W‖', { x: 44, y: 22, w: half - 50, h: height - 46 });
    panel(ctx, usable, nLayers, 'grad_norm', 'Gradient norm ‖∇W‖', { x: half + 64, y: 22, w: half - 50, h: height - 46 });
    markDrawn(canvas);
    if (legend) {
      const last = usable[usable.length - 1];
      legend.replaceChildren(
        ...last.layers.map((l, i) => {
          const item = legendItem(`--c${i % 10}`, `${layerName(l, i)}: ‖W‖ `, { value: formatNumber(l.weight_norm, 3) });
          item.append(', ‖∇W‖ ', h('b', {}, formatNumber(l.grad_norm, 3)));
          return [item, ' '];
        }).flat(),
      );
    }
  }

  function panel(ctx, snaps, nLayers, key, title, rect) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of snaps) {
      for (const l of s.layers) {
        const v = l[key];
        if (v > 0 && Number.isFinite(v)) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
      }
    }
    label(ctx, title, rect.x, 14, { color: cssVar('--fg'), bold: true, size: 13 });
    ctx.strokeStyle = cssVar('--grid');
    ctx.strokeRect(rect.x + 0.5, rect.y + 0.5, rect.w, rect.h);
    if (!Number.isFinite(lo)) {
      label(ctx, 'no parameters', rect.x + rect.w / 2, rect.y + rect.h / 2, { align: 'center' });
      return;
    }
    let l0 = Math.floor(Math.log10(lo));
    let l1 = Math.ceil(Math.log10(hi));
    if (l1 === l0) {
      l0 -= 1;
      l1 += 1;
    }
    const e0 = snaps[0].epoch;
    const e1 = Math.max(snaps[snaps.length - 1].epoch, e0 + 1);
    const X = (e) => rect.x + ((e - e0) / (e1 - e0)) * rect.w;
    const Y = (v) => rect.y + rect.h - ((Math.log10(v) - l0) / (l1 - l0)) * rect.h;
    const stepDecade = Math.max(1, Math.ceil((l1 - l0) / 5));
    for (let d = l0; d <= l1; d += stepDecade) {
      const y = Math.round(Y(10 ** d)) + 0.5;
      ctx.strokeStyle = cssVar('--grid');
      ctx.beginPath();
      ctx.moveTo(rect.x, y);
      ctx.lineTo(rect.x + rect.w, y);
      ctx.stroke();
      label(ctx, `1e${d}`, rect.x - 4, y, { align: 'right', baseline: 'middle', size: 10 });
    }
    label(ctx, `epoch ${formatNumber(e0)}`, rect.x, rect.y + rect.h + 14, { size: 10 });
    label(ctx, formatNumber(e1), rect.x + rect.w, rect.y + rect.h + 14, { size: 10, align: 'right' });
    for (let i = 0; i < nLayers; i += 1) {
      ctx.strokeStyle = seriesColor(i);
      ctx.lineWidth = 2;
      ctx.beginPath();
      let started = false;
      for (const s of snaps) {
        const v = s.layers[i]?.[key];
        if (!(v > 0) || !Number.isFinite(v)) {
          started = false;
          continue;
        }
        const x = X(s.epoch);
        const y = Y(v);
        if (started) ctx.lineTo(x, y);
        else ctx.moveTo(x, y);
        started = true;
      }
      ctx.stroke();
      // A dot per measurement: a layer measured once (a short run) still shows.
      ctx.fillStyle = seriesColor(i);
      for (const s of snaps) {
        const v = s.layers[i]?.[key];
        if (!(v > 0) || !Number.isFinite(v)) continue;
        ctx.beginPath();
        ctx.arc(X(s.epoch), Y(v), 2.5, 0, Math.PI * 2);
        ctx.fill();
      }
    }
  }

  return {
    set(snapshotHistory) {
      history = snapshotHistory || [];
    },
    draw,
  };
}
