// Draw a 2D set on the data panel: click to add a point of the chosen class (or with the
// chosen target value, for regression), drag to erase, clear, or start from the current set.
// "Train on these points" saves them as an upload (kind `points`: a CSV x1,x2,label), so the
// design's link works like any other, and switches the design to it.

import { h } from '../util/dom.js';
import { fitCanvas, markDrawn } from '../util/canvas.js';
import { cssVar, classColor } from '../util/colors.js';
import { drawPoints, label } from '../util/plot.js';
import { sendUpload } from '../uploads-api.js';

const EXTENT = [-6, 6, -6, 6]; // the built-in 2D sets' square
const ERASE_RADIUS = 0.6; // in data units
const DRAG_PX = 5; // a pointer moved further than this while down erases instead of adding
const MAX_CLASSES = 4;

/** drawPanel({onUse(upload)}) -> {element, setDesign(family, spec, preview), redraw()} */
export function drawPanel({ onUse }) {
  let points = []; // [[x1, x2], ...]
  let labels = []; // class index or target value, one per point
  let current = { family: null, preview: null, spec: null };
  const canvas = h('canvas', { id: 'draw-canvas', class: 'view-canvas draw-canvas', role: 'img', 'aria-label': 'Drawing area: click to add a point, drag to erase', title: 'Click to add a point of the chosen class; drag across points to erase them' });
  const taskSel = h('select', { id: 'draw-task' }, h('option', { value: 'classification' }, 'classes'), h('option', { value: 'regression' }, 'values'));
  const classSel = h(
    'select',
    { id: 'draw-class', 'aria-label': 'Class of the next point' },
    Array.from({ length: MAX_CLASSES }, (_, i) => h('option', { value: String(i) }, `class ${i + 1}`)),
  );
  const valueIn = h('input', { type: 'number', id: 'draw-value', step: 'any', value: '1', hidden: true, 'aria-label': 'Target value of the next point' });
  const status = h('p', { class: 'hint', id: 'draw-status', role: 'status' });
  const use = h('button', { type: 'button', id: 'draw-use' }, 'Train on these points');
  const clear = h('button', { type: 'button', id: 'draw-clear', onclick: () => setPoints([], []) }, 'Clear');
  const copy = h('button', { type: 'button', id: 'draw-copy', title: 'Start from the points of the current 2D set' }, 'Start from this set');

  const regression = () => taskSel.value === 'regression';
  taskSel.addEventListener('change', () => {
    classSel.hidden = regression();
    valueIn.hidden = !regression();
    setPoints([], []);
  });

  function setPoints(p, l) {
    points = p;
    labels = l;
    draw();
  }

  function toData(e) {
    const box = canvas.getBoundingClientRect();
    const side = Math.min(box.width, box.height);
    const fx = (e.clientX - box.left - (box.width - side) / 2) / side;
    const fy = (e.clientY - box.top - (box.height - side) / 2) / side;
    return [EXTENT[0] + fx * (EXTENT[1] - EXTENT[0]), EXTENT[3] - fy * (EXTENT[3] - EXTENT[2])];
  }

  let down = null; // {x, y, erasing}
  canvas.addEventListener('pointerdown', (e) => {
    down = { x: e.clientX, y: e.clientY, erasing: false };
    canvas.setPointerCapture?.(e.pointerId);
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!down) return;
    if (!down.erasing && Math.hypot(e.clientX - down.x, e.clientY - down.y) > DRAG_PX) down.erasing = true;
    if (down.erasing) erase(toData(e));
  });
  const finish = (e) => {
    if (!down) return;
    const wasErasing = down.erasing;
    down = null;
    if (wasErasing) return;
    const [x, y] = toData(e);
    if (x < EXTENT[0] || x > EXTENT[1] || y < EXTENT[2] || y > EXTENT[3]) return;
    const value = regression() ? Number(valueIn.value) : Number(classSel.value);
    if (!Number.isFinite(value)) return;
    setPoints([...points, [round(x), round(y)]], [...labels, value]);
  };
  canvas.addEventListener('pointerup', finish);
  canvas.addEventListener('pointercancel', () => {
    down = null;
  });

  function erase([x, y]) {
    const keep = points.map((p) => Math.hypot(p[0] - x, p[1] - y) > ERASE_RADIUS);
    if (keep.every(Boolean)) return;
    setPoints(points.filter((_, i) => keep[i]), labels.filter((_, i) => keep[i]));
  }

  copy.addEventListener('click', () => {
    const p = current.preview;
    if (!p || p.kind !== 'points') return;
    const pts = [...(p.points || []), ...(p.val_points || [])];
    const labs = [...(p.labels || []), ...(p.val_labels || [])];
    const reg = p.task === 'regression';
    taskSel.value = reg ? 'regression' : 'classification';
    classSel.hidden = reg;
    valueIn.hidden = !reg;
    setPoints(pts.map((q) => [round(q[0]), round(q[1])]), labs);
  });

  use.addEventListener('click', async () => {
    // Classes travel by name ("class 1"...), which sort in the page's order.
    const rows = points.map((p, i) => `${p[0]},${p[1]},${regression() ? labels[i] : `class ${labels[i] + 1}`}`);
    const body = new FormData();
    body.append('file', new Blob([`x1,x2,label\n${rows.join('\n')}\n`], { type: 'text/csv' }), 'drawn-points.csv');
    body.append('kind', 'points');
    body.append('target', 'label');
    body.append('task', taskSel.value);
    use.disabled = true;
    status.classList.remove('field-error');
    status.textContent = 'Saving the points…';
    try {
      const made = await sendUpload(body);
      status.textContent = `Saved ${made.n} points as an upload; the design now trains on them.`;
      onUse(made);
    } catch (err) {
      status.textContent = `The points were refused: ${err.message}`;
      status.classList.add('field-error');
    } finally {
      use.disabled = false;
    }
  });

  function draw() {
    if (details.hidden) return;
    const { ctx, width, height } = fitCanvas(canvas);
    const side = Math.min(width, height);
    const rect = { x: (width - side) / 2, y: (height - side) / 2, w: side, h: side };
    ctx.fillStyle = cssVar('--panel-2');
    ctx.fillRect(rect.x, rect.y, rect.w, rect.h);
    const nClasses = Math.max(2, ...labels.map((l) => l + 1));
    if (points.length) drawPoints(ctx, points, labels, EXTENT, rect, { nClasses: regression() ? 0 : nClasses, regression: regression(), radius: 4 });
    else label(ctx, 'Click to add points', rect.x + rect.w / 2, rect.y + rect.h / 2, { align: 'center', baseline: 'middle' });
    markDrawn(canvas, points.length > 0);
    canvas.dataset.points = String(points.length);
    const counts = regression() ? '' : ` (${[...new Set(labels)].sort().map((c) => `class ${c + 1}: ${labels.filter((l) => l === c).length}`).join(', ')})`;
    countEl.textContent = `${points.length} points${points.length ? counts : ''}`;
    // One palette with the points: the colour a point of this class will have once drawn
    // (two classes are blue and orange, three or more the class colours).
    const chosen = Number(classSel.value);
    swatch.style.background = regression() ? 'transparent' : classColor(chosen, Math.max(nClasses, chosen + 1));
  }
  classSel.addEventListener('change', () => draw());
  const swatch = h('span', { class: 'draw-swatch', 'aria-hidden': 'true' });
  const countEl = h('span', { class: 'muted', id: 'draw-count' });

  const details = h(
    'details',
    { class: 'draw-details', id: 'draw-details', hidden: true },
    h('summary', {}, 'Draw your own points'),
    h('div', { class: 'draw-tools' }, h('label', {}, 'Points have ', taskSel), swatch, classSel, valueIn),
    canvas,
    h('p', { class: 'hint' }, 'Click to add a point, drag across points to erase them. ', countEl),
    h('div', { class: 'draw-buttons' }, clear, copy, use),
    status,
  );
  details.addEventListener('toggle', () => details.open && draw());

  return {
    element: details,
    setDesign(family, spec, preview) {
      current = { family, spec, preview };
      details.hidden = family !== '2d';
      copy.disabled = !preview || preview.kind !== 'points';
      if (details.open) draw();
    },
    redraw: draw,
  };
}

function round(v) {
  return Math.round(v * 1000) / 1000;
}
