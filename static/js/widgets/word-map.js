// The map of words (text try-it): every vocabulary word's embedding vector projected to 2D by
// PCA on the server ({words, points (V, 2), alone (V, classes)} from predict's `word_map`),
// one labelled dot per word, coloured by what the model answers when it reads that word alone
// (two classes: orange .. blue through grey, so after training negative and positive words
// gather on two sides). The words of the sentence just typed are ringed and written in bold.

import { h } from '../util/dom.js';
import { fitCanvas, markDrawn, emptyMessage } from '../util/canvas.js';
import { classColor, cssVar, divergingTable } from '../util/colors.js';
import { extentOf, label } from '../util/plot.js';

const HEIGHT = 300;

/** wordMap() -> {element, readout, set(map, classNames, typed), draw()} */
export function wordMap() {
  const canvas = h('canvas', { class: 'tryit-word-map', id: 'tryit-word-map', 'aria-label': 'Each word of the vocabulary at its embedding, projected to 2D' });
  const readout = h('p', { class: 'hint', id: 'tryit-word-map-readout' });
  let map = null;
  let names = [];
  let typed = new Set();

  function colourOf(i) {
    const probs = map.alone[i] || [];
    if (probs.length === 2) {
      const table = divergingTable();
      const b = Math.round(Math.max(0, Math.min(1, probs[1])) * 255);
      return `rgb(${table[b * 3]}, ${table[b * 3 + 1]}, ${table[b * 3 + 2]})`;
    }
    let best = 0;
    probs.forEach((p, k) => { if (p > probs[best]) best = k; });
    return classColor(best, probs.length);
  }

  function draw() {
    const width = canvas.clientWidth || 480;
    const { ctx } = fitCanvas(canvas, width, HEIGHT);
    if (!map?.points?.length) {
      emptyMessage(ctx, width, HEIGHT, 'The map of words appears with the first answer', cssVar('--muted'));
      markDrawn(canvas, false);
      return;
    }
    const [x0, x1, y0, y1] = extentOf(map.points);
    const pad = 14;
    const sx = (x) => pad + ((x - x0) / (x1 - x0)) * (width - 2 * pad);
    const sy = (y) => HEIGHT - pad - ((y - y0) / (y1 - y0)) * (HEIGHT - 2 * pad);
    // Dots first, then labels (typed words last, on top).
    const order = map.words.map((_, i) => i).sort((a, b) => typed.has(map.words[a]) - typed.has(map.words[b]));
    for (const i of order) {
      const [x, y] = map.points[i];
      ctx.beginPath();
      ctx.arc(sx(x), sy(y), typed.has(map.words[i]) ? 5 : 3.5, 0, 2 * Math.PI);
      ctx.fillStyle = colourOf(i);
      ctx.fill();
      if (typed.has(map.words[i])) {
        ctx.strokeStyle = cssVar('--fg');
        ctx.lineWidth = 1.5;
        ctx.stroke();
      }
    }
    for (const i of order) {
      const [x, y] = map.points[i];
      const mine = typed.has(map.words[i]);
      const size = mine ? 12 : 10;
      const right = sx(x) + 5 + map.words[i].length * size * 0.6 > width; // would leave the map
      label(ctx, map.words[i], right ? sx(x) - 5 : sx(x) + 5, sy(y) - 4, { size, bold: mine, align: right ? 'right' : 'left', color: mine ? cssVar('--fg') : cssVar('--muted') });
    }
    markDrawn(canvas, true);
    canvas.dataset.words = String(map.words.length);
  }

  return {
    element: canvas,
    readout,
    set(next, classNames, typedWords) {
      map = next;
      names = classNames || [];
      typed = typedWords || new Set();
      const two = names.length === 2;
      readout.textContent = `${map.words.length} words, their ${map.dim}-number embeddings projected to 2D (PCA).${two ? ` Colour: what the model says reading the word alone, orange “${names[0]}” to blue “${names[1]}”.` : ' Colour: the class the model gives the word alone.'} Ringed: the words you typed.`;
      draw();
    },
    draw,
  };
}
