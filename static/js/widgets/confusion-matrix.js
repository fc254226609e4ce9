// The confusion matrix: rows are the true classes, columns the predicted ones; the diagonal
// holds the right answers. Cells are shaded by the share of their row.

import { fitCanvas, markDrawn, emptyMessage } from '../util/canvas.js';
import { cssVar, sequentialTable } from '../util/colors.js';
import { label } from '../util/plot.js';

export function confusionMatrix({ canvas, readout }) {
  let state = null;
  let layout = null;

  canvas.addEventListener('mousemove', (e) => {
    if (!layout || !readout) return;
    const r = canvas.getBoundingClientRect();
    const col = Math.floor((e.clientX - r.left - layout.x) / layout.cell);
    const row = Math.floor((e.clientY - r.top - layout.y) / layout.cell);
    const m = state.matrix;
    if (row < 0 || col < 0 || row >= m.length || col >= m.length) {
      readout.textContent = state.caption || '';
      return;
    }
    const total = m[row].reduce((a, b) => a + b, 0) || 1;
    readout.textContent = `${m[row][col]} examples of ${name(row)} predicted as ${name(col)} (${Math.round((100 * m[row][col]) / total)}% of ${name(row)}).`;
  });

  function name(i) {
    return String(state?.classNames?.[i] ?? i);
  }

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas);
    const m = state?.matrix;
    if (!Array.isArray(m) || !m.length) {
      emptyMessage(ctx, width, height, 'Appears once training starts', cssVar('--muted'));
      markDrawn(canvas, false);
      layout = null;
      return;
    }
    const n = m.length;
    const margin = 34;
    const cell = Math.max(8, Math.floor(Math.min(width - margin - 4, height - margin - 4) / n));
    const x0 = margin;
    const y0 = margin - 8;
    layout = { x: x0, y: y0, cell };
    const table = sequentialTable();
    const fontSize = Math.max(9, Math.min(14, cell * 0.38));
    label(ctx, 'predicted →', x0, 12, { size: 11 });
    for (let r = 0; r < n; r += 1) {
      const total = m[r].reduce((a, b) => a + b, 0) || 1;
      label(ctx, name(r), x0 - 4, y0 + r * cell + cell / 2, { align: 'right', baseline: 'middle', size: 11 });
      for (let c = 0; c < n; c += 1) {
        const t = m[r][c] / total;
        const b = Math.round(Math.sqrt(t) * 255);
        ctx.fillStyle = `rgb(${table[b * 3]},${table[b * 3 + 1]},${table[b * 3 + 2]})`;
        ctx.fillRect(x0 + c * cell, y0 + r * cell, cell - 1, cell - 1);
        if (cell >= 20 && m[r][c]) {
          label(ctx, String(m[r][c]), x0 + c * cell + cell / 2, y0 + r * cell + cell / 2, {
            align: 'center',
            baseline: 'middle',
            size: fontSize,
            color: b > 150 ? cssVar('--on-accent') : cssVar('--fg'),
          });
        }
      }
    }
    for (let c = 0; c < n; c += 1) {
      label(ctx, name(c), x0 + c * cell + cell / 2, y0 + n * cell + 12, { align: 'center', size: 11 });
    }
    markDrawn(canvas);
    if (readout) readout.textContent = state.caption || '';
  }

  return {
    set(next) {
      state = next;
    },
    draw,
  };
}
