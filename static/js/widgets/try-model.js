// "Try the model": ask the run's network about one input of your own and see which parts of it
// made the answer. Draw a digit (image sets), type a point (2D sets) or a table row (tabular
// sets); the answer comes from POST /api/runs/{id}/predict with the run's current weights, live
// while it trains, and with `explain` its Captum attributions: saliency, integrated gradients
// and Grad-CAM maps for an image, one bar per input feature otherwise. Watchers may ask too.

import { api } from '../api.js';
import { addDeeperSection } from './deeper-views.js';
import { h, replace, formatNumber } from '../util/dom.js';
import { fitCanvas, gridImage, drawGrid, markDrawn } from '../util/canvas.js';
import { divergingTable, greyTable, classColor } from '../util/colors.js';
import { imageDrop } from './image-drop.js';
import { tryItKind } from './tryit-kind.js';

const PAD_PX = 224; // the drawing pad on screen, whatever the image size
const MAP_PX = 112;
const MAPS = [
  ['saliency', 'Saliency', 'how much each pixel moves the score'],
  ['integrated_gradients', 'Integrated gradients', 'each pixel’s share of the score, from a black image'],
  ['grad_cam', 'Grad-CAM', 'where the last convolution looked'],
];

/** tryModel({datasetsByName}) -> {update(session)}: the section follows the page's run. */
export function tryModel({ datasetsByName }) {
  const body = h('div', { class: 'try-model', id: 'try-model' });
  addDeeperSection({ id: 'try-section', title: 'Try the model', element: [h('h2', { class: 'panel-title', id: 'try-title' }, 'Try the model'), body] });
  let shown = null; // `${runId}:${kind}` of the form on screen
  let runId = null;
  let asking = null; // the question in flight, and one waiting behind it
  let waiting = null;
  const answer = h('div', { class: 'try-answer', id: 'try-answer', 'aria-live': 'polite' });

  async function ask(input) {
    if (!runId) return;
    if (asking) {
      waiting = input; // latest wins: the one after the answer in flight
      return;
    }
    asking = input;
    const id = runId;
    // An ended run answers from a process that may first have to start: say so.
    const slow = setTimeout(() => {
      if (id === runId && asking === input) replace(answer, h('p', { class: 'hint', id: 'try-pending' }, 'Asking the model…'));
    }, 300);
    try {
      const result = await api.predict(id, { input, explain: true });
      if (id === runId) showAnswer(result);
    } catch (err) {
      if (id === runId) replace(answer, h('p', { class: 'field-error', role: 'alert' }, err.message));
    } finally {
      clearTimeout(slow);
      asking = null;
      if (waiting !== null) {
        const next = waiting;
        waiting = null;
        ask(next);
      }
    }
  }

  function showAnswer(result) {
    const parts = [];
    if (result.task === 'classification') {
      parts.push(h('p', { class: 'try-label', id: 'try-label' }, `The model says: ${result.label}`));
      parts.push(probabilityBars(result));
    } else {
      const values = [result.output].flat(4).slice(0, 8).map((v) => formatNumber(v));
      parts.push(h('p', { class: 'try-label', id: 'try-label' }, `The model predicts ${values.join(', ')}`));
    }
    const a = result.attribution;
    if (a?.unavailable) parts.push(h('p', { class: 'hint' }, a.unavailable));
    else if (a?.saliency) parts.push(attributionMaps(a));
    else if (a?.features) parts.push(featureBars(a.features));
    else if (a?.steps) parts.push(h('p', { class: 'hint' }, `Time steps that mattered most: ${topSteps(a.steps)}`));
    replace(answer, parts);
  }

  function buildForm(session, d, check) {
    const shape = check?.input_shape || [];
    if (tryItKind(d.name)) return h('p', { class: 'hint', id: 'try-elsewhere' }, `Try this model in the Try it section (the Try it button under the network): ${tryItKind(d.name) === 'text' ? 'type a sentence' : 'record a word'}.`);
    if (d.family === 'image' && shape.length === 3) {
      // An uploaded image set: drop an image like its own (a grey one can be drawn too).
      const pad = shape[0] === 1 ? drawingPad(shape, d.name === 'digits' ? 16 : 255, ask) : null;
      return d.name === 'upload' ? h('div', { class: 'try-forms' }, imageDrop(shape, ask), pad) : pad;
    }
    if (d.family === '2d') return numberRow(['x1', 'x2'], 'Ask about the point', ask);
    if (d.family === 'tabular' && shape.length === 1) {
      const names = d.feature_names || Array.from({ length: shape[0] }, (_, i) => `x${i + 1}`);
      return numberRow(names.slice(0, shape[0]), 'Ask about this row', ask);
    }
    return h('p', { class: 'hint' }, 'Trying inputs of your own works for images, 2D points and table rows.');
  }

  return {
    update(session) {
      const exp = session.experiment;
      const d = exp && datasetsByName.get(exp.dataset?.name);
      const live = session.runId && ['running', 'paused', 'finished', 'stopped'].includes(session.status);
      const key = live && d ? `${session.runId}:${d.name}:${d.family}` : null;
      if (key === shown) return;
      shown = key;
      runId = key ? session.runId : null;
      replace(answer);
      if (!key) {
        replace(body, h('p', { class: 'hint' }, 'Train a model, then ask it about an input of your own here.'));
        return;
      }
      replace(body, buildForm(session, d, session.check), answer);
    },
  };
}

function drawingPad(shape, pixelMax, onDone) {
  const [, rows, cols] = shape;
  const pixels = new Float32Array(rows * cols);
  const canvas = h('canvas', { id: 'try-pad', class: 'try-pad', width: PAD_PX, height: PAD_PX, 'aria-label': `Drawing pad: draw an image of ${rows}×${cols} pixels` });
  canvas.style.width = `${PAD_PX}px`;
  canvas.style.height = `${PAD_PX}px`;
  let down = false;
  const paint = (e) => {
    const box = canvas.getBoundingClientRect();
    const c = ((e.clientX - box.left) / box.width) * cols;
    const r = ((e.clientY - box.top) / box.height) * rows;
    // A soft round brush about 1.2 pixels wide, like a pen on the 8x8 grid.
    for (let i = 0; i < rows; i += 1) {
      for (let j = 0; j < cols; j += 1) {
        const dist = Math.hypot(i + 0.5 - r, j + 0.5 - c);
        const ink = Math.max(0, 1 - dist / (rows <= 8 ? 1.2 : 2.2));
        pixels[i * cols + j] = Math.min(1, pixels[i * cols + j] + ink);
      }
    }
    draw();
  };
  function draw() {
    const { ctx } = fitCanvas(canvas, PAD_PX, PAD_PX);
    const bytes = Uint8Array.from(pixels, (v) => Math.round(v * 255));
    drawGrid(ctx, gridImage(bytes, rows, cols, greyTable()), 0, 0, PAD_PX, PAD_PX);
    markDrawn(canvas, pixels.some((v) => v > 0));
  }
  const raw = () => Array.from({ length: rows }, (_, i) => Array.from(pixels.slice(i * cols, (i + 1) * cols), (v) => Math.round(v * pixelMax)));
  canvas.addEventListener('pointerdown', (e) => {
    down = true;
    canvas.setPointerCapture?.(e.pointerId);
    paint(e);
  });
  canvas.addEventListener('pointermove', (e) => down && paint(e));
  const finish = () => {
    if (!down) return;
    down = false;
    onDone(raw());
  };
  canvas.addEventListener('pointerup', finish);
  canvas.addEventListener('pointercancel', finish);
  const clear = h('button', { type: 'button', id: 'try-clear', onclick: () => { pixels.fill(0); draw(); } }, 'Clear');
  const send = h('button', { type: 'button', id: 'try-ask', onclick: () => onDone(raw()) }, 'Ask');
  queueMicrotask(draw);
  return h('div', { class: 'try-form' }, h('p', { class: 'hint' }, 'Draw with the mouse or a finger; the model answers when you lift it.'), canvas, h('div', { class: 'try-buttons' }, clear, send));
}

function numberRow(names, buttonText, onAsk) {
  const inputs = names.map((name, i) => h('input', { type: 'number', step: 'any', value: '0', id: `try-input-${i}`, 'aria-label': name, 'aria-describedby': `try-error-${i}` }));
  const errors = names.map((_, i) => h('span', { class: 'field-error', id: `try-error-${i}` }));
  const form = h(
    'form',
    {
      class: 'try-form try-row',
      novalidate: true,
      onsubmit: (e) => {
        e.preventDefault();
        let ok = true;
        inputs.forEach((el, i) => {
          const bad = el.value.trim() === '' || !Number.isFinite(Number(el.value));
          el.setAttribute('aria-invalid', bad ? 'true' : 'false');
          errors[i].textContent = bad ? 'Type a number.' : '';
          ok = ok && !bad;
        });
        if (ok) onAsk(inputs.map((el) => Number(el.value)));
      },
    },
    names.map((name, i) => h('label', { class: 'try-field' }, h('span', {}, name), inputs[i], errors[i])),
    h('button', { type: 'submit', id: 'try-ask' }, buttonText),
  );
  return form;
}

function probabilityBars(result) {
  const n = result.output.length;
  return h(
    'ul',
    { class: 'try-bars', id: 'try-probabilities', 'aria-label': 'Class probabilities' },
    result.output.map((p, i) => {
      const bar = h('span', { class: 'try-bar' });
      bar.style.width = `${Math.round(p * 100)}%`;
      bar.style.background = classColor(i, n);
      return h('li', { class: i === result.predicted ? 'try-best' : '' }, h('span', { class: 'try-name' }, result.class_names[i]), bar, h('span', { class: 'try-value' }, `${(p * 100).toFixed(1)}%`));
    }),
  );
}

function featureBars(features) {
  const top = Math.max(1e-12, ...features.map((f) => Math.abs(f.value || 0)));
  return h(
    'ul',
    { class: 'try-bars try-features', id: 'try-attribution', 'aria-label': 'What each input feature contributed (integrated gradients)' },
    features.map((f) => {
      const bar = h('span', { class: `try-bar ${f.value < 0 ? 'neg' : 'pos'}` });
      bar.style.width = `${Math.round((Math.abs(f.value || 0) / top) * 100)}%`;
      return h('li', {}, h('span', { class: 'try-name' }, f.label || f.name), bar, h('span', { class: 'try-value' }, formatNumber(f.value)));
    }),
  );
}

function attributionMaps(a) {
  return h(
    'div',
    { class: 'try-maps', id: 'try-maps' },
    MAPS.filter(([key]) => a[key]).map(([key, title, tip]) => {
      const grid = a[key];
      const rows = grid.length;
      const cols = grid[0].length;
      const flat = grid.flat();
      const top = Math.max(1e-12, ...flat.map(Math.abs));
      const bytes = Uint8Array.from(flat, (v) => Math.round(127.5 + (v / top) * 127.5));
      const canvas = h('canvas', { id: `try-map-${key}`, class: 'try-map', 'aria-label': `${title}: ${tip}` });
      canvas.style.width = `${MAP_PX}px`;
      canvas.style.height = `${MAP_PX}px`;
      queueMicrotask(() => {
        const { ctx } = fitCanvas(canvas, MAP_PX, MAP_PX);
        drawGrid(ctx, gridImage(bytes, rows, cols, divergingTable()), 0, 0, MAP_PX, MAP_PX);
        markDrawn(canvas, top > 1e-12);
      });
      return h('figure', { class: 'try-figure', title: tip }, canvas, h('figcaption', {}, title));
    }),
  );
}

function topSteps(steps) {
  return steps
    .map((v, i) => [Math.abs(v), i + 1])
    .sort((x, y) => y[0] - x[0])
    .slice(0, 5)
    .map(([, i]) => i)
    .join(', ');
}
