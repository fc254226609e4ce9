// Graph views from the snapshot's `graph` section:
// - attentionView: each head's attention weights for one validation example, a token-by-token
//   heatmap (row: the position looking, column: where it looks; darker = more weight), with
//   a choice of example and of attention layer. Reversing a sequence, it becomes the
//   anti-diagonal.
// - joinsView: per add layer, the norm of what the skip carries beside what the block adds.

import { fitCanvas, markDrawn, emptyMessage, gridImage, drawGrid } from '../util/canvas.js';
import { cssVar, sequentialTable, seriesColor } from '../util/colors.js';
import { decodeGrid } from '../bytegrid.js';
import { label } from '../util/plot.js';
import { h, formatNumber, legendItem } from '../util/dom.js';

/** attentionView({canvas, readout, controls, prefix}) -> {set(graph), draw()}; controls: a span
 * for the pickers, whose ids start with `prefix` (two views on one page need two prefixes). */
export function attentionView({ canvas, readout, controls, prefix = 'attention' }) {
  let graph = null;
  const exampleSelect = h('select', { id: `${prefix}-example`, 'aria-label': 'Validation example whose attention is shown' });
  const layerSelect = h('select', { id: `${prefix}-layer`, 'aria-label': 'Attention layer shown' });
  controls.append(exampleSelect, ' ', layerSelect);
  exampleSelect.addEventListener('change', () => draw());
  layerSelect.addEventListener('change', () => draw());

  /** Keep a select's options in step with `labels`, the choice kept where it still exists. */
  function options(select, values, text) {
    const want = values.map(String);
    if (want.join(',') === [...select.options].map((o) => o.value).join(',')) return;
    const keep = select.value;
    select.replaceChildren(...values.map((v, i) => h('option', { value: String(v) }, text(v, i))));
    if (want.includes(keep)) select.value = keep;
  }

  function set(next) {
    graph = next;
    const attention = graph?.attention || [];
    options(exampleSelect, (graph?.examples || []).map((_, i) => i), (v) => `example ${v + 1}`);
    options(layerSelect, attention.map((a) => a.layer), (v) => `layer ${v + 1}`);
    layerSelect.hidden = attention.length < 2;
  }

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas);
    const attention = graph?.attention || [];
    const layer = attention.find((a) => String(a.layer) === layerSelect.value) || attention[0];
    const example = Number(exampleSelect.value) || 0;
    const maps = layer?.maps?.[example] || layer?.maps?.[0];
    if (!maps?.length) {
      emptyMessage(ctx, width, height, 'Attention maps appear once training starts', cssVar('--muted'));
      markDrawn(canvas, false);
      readout.textContent = '';
      return;
    }
    const tokens = graph.examples?.[example] || [];
    const table = sequentialTable();
    const heads = maps.length;
    const gap = 18;
    const top = 22;
    const left = Math.max(22, 8 + 6.5 * Math.max(0, ...tokens.map((t) => String(t).length))); // room for the row words
    const side = Math.max(20, Math.min((width - left - gap * (heads - 1) - 8) / heads, height - top - 26));
    const strongest = [];
    maps.forEach((grid, head) => {
      const g = decodeGrid(grid);
      if (!g) return;
      const [rows, cols] = g.shape;
      const x = left + head * (side + gap);
      // Each map stretched to its own strongest weight: early on weights are near 1/T each,
      // and on a fixed 0..1 scale every map would look blank.
      let peak = 1;
      for (const b of g.bytes) peak = Math.max(peak, b);
      const shown = g.bytes.map((b) => Math.round((b * 255) / peak));
      drawGrid(ctx, gridImage(shown, rows, cols, table), x, top, side, side);
      ctx.strokeStyle = cssVar('--grid');
      ctx.strokeRect(x + 0.5, top + 0.5, side, side);
      label(ctx, `head ${head + 1}`, x, top - 8, { size: 12, bold: true });
      const cell = side / cols;
      if (cell >= 9) {
        tokens.forEach((t, i) => {
          label(ctx, String(t), x + (i + 0.5) * cell, top + side + 13, { align: 'center', size: 10 });
          if (head === 0) label(ctx, String(t), x - 4, top + (i + 0.5) * cell + 4, { align: 'right', size: 10 });
        });
      }
      // Where each position looks most: for the readout (the anti-diagonal when reversing).
      const argmax = [];
      for (let r = 0; r < rows; r += 1) {
        let best = 0;
        for (let c = 1; c < cols; c += 1) if (g.bytes[r * cols + c] > g.bytes[r * cols + best]) best = c;
        argmax.push(best);
      }
      strongest.push(argmax);
    });
    canvas.dataset.heads = String(heads);
    canvas.dataset.strongest = JSON.stringify(strongest);
    markDrawn(canvas, true);
    readout.textContent = `Layer ${layer.layer + 1}, ${heads} head${heads > 1 ? 's' : ''}${layer.causal ? ' (causal)' : ''}: row i shows where position i looks (darkest: its strongest weight). Strongest per position, head 1: ${strongest[0]?.join(' ')}`;
  }

  return { set, draw };
}

/** joinsView({canvas, readout}) -> {set(graph), draw()}: skip against block, per add layer. */
export function joinsView({ canvas, readout }) {
  let joins = [];

  function set(graph) {
    joins = graph?.joins || [];
  }

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas);
    if (!joins.length) {
      emptyMessage(ctx, width, height, 'No add layer in this design', cssVar('--muted'));
      markDrawn(canvas, false);
      readout.replaceChildren();
      return;
    }
    const max = Math.max(1e-9, ...joins.flatMap((j) => j.norms || []));
    const rect = { x: 44, y: 12, w: width - 56, h: height - 40 };
    const slot = rect.w / joins.length;
    const bar = Math.max(3, Math.min(18, slot / 3));
    joins.forEach((j, k) => {
      (j.norms || []).slice(0, 2).forEach((n, side) => {
        const hgt = (rect.h * n) / max;
        ctx.fillStyle = seriesColor(side);
        ctx.fillRect(rect.x + k * slot + slot / 2 - bar + side * bar, rect.y + rect.h - hgt, bar - 1, hgt);
      });
      label(ctx, `${j.layer + 1}`, rect.x + k * slot + slot / 2, height - 14, { align: 'center', size: 11 });
    });
    label(ctx, formatNumber(max, 2), rect.x - 4, rect.y + 8, { align: 'right', size: 11 });
    label(ctx, 'add layer →', rect.x + rect.w, height - 2, { align: 'right', size: 11 });
    markDrawn(canvas, true);
    readout.replaceChildren(
      legendItem('--c0', 'skip: what arrives around the block'),
      legendItem('--c1', 'block: what the block adds'),
    );
  }

  return { set, draw };
}
