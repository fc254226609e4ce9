// The sweep's "metric against the setting" plot: one point per variant at its value of the
// first setting (x) and its metric (y), one colour per value of the second setting, points of
// one colour joined in x order. Numbers sit on a linear axis, or a log one for the learning
// rate and for values spanning 20x or more; names (activations, optimisers) are categories.
// A point is hollow while its run is still going (its latest value) and filled once it ended.

import { fitCanvas, markDrawn, emptyMessage } from '../util/canvas.js';
import { cssVar } from '../util/colors.js';
import { formatNumber } from '../util/dom.js';
import { label } from '../util/plot.js';

const PAD = { left: 56, right: 20, top: 14, bottom: 40 };

/** How the x axis places values: {kind: 'log'|'linear'|'category', pos(value) -> 0..1}. */
export function xScale(setting, values) {
  const numeric = values.every((v) => typeof v === 'number');
  if (!numeric) {
    const n = values.length;
    return { kind: 'category', pos: (v) => (n === 1 ? 0.5 : values.indexOf(v) / (n - 1)) };
  }
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const log = lo > 0 && (setting === 'learning_rate' || hi / lo >= 20);
  const f = log ? Math.log : (v) => v;
  const a = f(lo);
  const b = f(hi);
  return { kind: log ? 'log' : 'linear', pos: (v) => (b === a ? 0.5 : (f(v) - a) / (b - a)) };
}

/**
 * sweepPlot({canvas}) -> {set({axes, points, metric, higherIsBetter}), draw()}
 * points: [{x, group, value, done}] (group: index of the second setting's value, or 0).
 */
export function sweepPlot({ canvas }) {
  let state = null;

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas);
    const points = (state?.points || []).filter((p) => p.value !== null && Number.isFinite(p.value));
    canvas.dataset.points = String(points.length);
    if (!state || !points.length) {
      emptyMessage(ctx, width, height, state ? 'Waiting for the first epochs…' : 'Start a sweep to plot its metric against the setting', cssVar('--muted'));
      markDrawn(canvas, false);
      return;
    }
    const [first, second] = state.axes;
    const scale = xScale(first.setting, first.values);
    const plot = { x: PAD.left, y: PAD.top, w: width - PAD.left - PAD.right, h: height - PAD.top - PAD.bottom };
    let lo = Math.min(...points.map((p) => p.value));
    let hi = Math.max(...points.map((p) => p.value));
    if (state.metric.includes('accuracy')) {
      lo = Math.min(lo, 0.5);
      hi = Math.max(hi, 1);
    }
    if (hi === lo) hi = lo + 1;
    const span = hi - lo;
    lo -= span * 0.05;
    hi += span * 0.05;
    const X = (v) => plot.x + 10 + scale.pos(v) * (plot.w - 20);
    const Y = (v) => plot.y + plot.h - ((v - lo) / (hi - lo)) * plot.h;

    // Grid and axes.
    ctx.strokeStyle = cssVar('--grid');
    ctx.lineWidth = 1;
    for (let k = 0; k <= 4; k += 1) {
      const v = lo + ((hi - lo) * k) / 4;
      const y = Y(v);
      ctx.beginPath();
      ctx.moveTo(plot.x, y);
      ctx.lineTo(plot.x + plot.w, y);
      ctx.stroke();
      label(ctx, formatNumber(v, 3), plot.x - 6, y, { align: 'right', baseline: 'middle', size: 11 });
    }
    first.values.forEach((v) => {
      const x = X(v);
      ctx.beginPath();
      ctx.moveTo(x, plot.y + plot.h);
      ctx.lineTo(x, plot.y + plot.h + 4);
      ctx.stroke();
      label(ctx, typeof v === 'number' ? formatNumber(v, 3) : String(v), x, plot.y + plot.h + 16, { align: 'center', size: 11 });
    });
    label(ctx, `${first.title}${scale.kind === 'log' ? ' (log scale)' : ''}`, plot.x + plot.w / 2, height - 4, { align: 'center', size: 12 });
    label(ctx, `${state.metric.replace(/_/g, ' ')} (${state.higherIsBetter ? 'higher' : 'lower'} is better)`, plot.x, plot.y - 2, { size: 11, baseline: 'bottom' });

    // One line and one colour per value of the second setting.
    const groups = second ? second.values.length : 1;
    for (let g = 0; g < groups; g += 1) {
      const color = cssVar(`--c${g % 10}`);
      const mine = points.filter((p) => p.group === g).sort((a, b) => scale.pos(a.x) - scale.pos(b.x));
      ctx.strokeStyle = color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      mine.forEach((p, k) => (k ? ctx.lineTo(X(p.x), Y(p.value)) : ctx.moveTo(X(p.x), Y(p.value))));
      ctx.stroke();
      for (const p of mine) {
        ctx.beginPath();
        ctx.arc(X(p.x), Y(p.value), 5, 0, Math.PI * 2);
        ctx.fillStyle = p.done ? color : cssVar('--bg');
        ctx.fill();
        ctx.lineWidth = 2;
        ctx.stroke();
      }
    }
    markDrawn(canvas);
  }

  return {
    draw,
    set(next) {
      state = next;
    },
  };
}
