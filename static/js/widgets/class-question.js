// A student's answer to the class question (predict, then reveal): pick a choice, type a
// number, or sketch the boundary you expect on the data's plane (drag to draw strokes). After
// the reveal it shows everyone's answers, anonymously, beside the real result.

import { h, replace } from '../util/dom.js';
import { request, describeMessages } from '../http.js';
import { revealView, sketchCanvas } from './class-reveal.js';

const SIZE = 240;

/** A canvas to draw strokes on; -> {canvas, strokes(), clear()} in the plane's coordinates. */
function sketchPad(extent, points) {
  const [x0, x1, y0, y1] = extent;
  let strokes = [];
  let current = null;
  const holder = h('div', { class: 'sketch-pad' });
  const redraw = () => {
    const fresh = sketchCanvas(extent, [strokes], SIZE, points);
    fresh.id = 'sketch-canvas';
    fresh.addEventListener('pointerdown', down);
    fresh.addEventListener('pointermove', move);
    fresh.addEventListener('pointerup', up);
    fresh.addEventListener('pointerleave', up);
    fresh.style.touchAction = 'none';
    replace(holder, fresh);
  };
  const at = (event) => {
    const box = event.currentTarget.getBoundingClientRect();
    const fx = (event.clientX - box.left) / box.width;
    const fy = (event.clientY - box.top) / box.height;
    return [x0 + fx * (x1 - x0), y1 - fy * (y1 - y0)].map((v) => Math.round(v * 1000) / 1000);
  };
  function down(event) {
    if (strokes.length >= 8) return;
    current = [at(event)];
  }
  function move(event) {
    if (!current || current.length >= 200) return;
    current.push(at(event));
    if (current.length === 2) strokes.push(current);
    redraw();
  }
  function up() {
    current = null;
  }
  redraw();
  return {
    el: holder,
    strokes: () => strokes,
    clear: () => {
      strokes = [];
      redraw();
    },
  };
}

/** classQuestion({root, base}) -> {show(question, mine)}; `base`: /api/classes/<code>. */
export function classQuestion({ root, base }) {
  let shownSeq = null;
  function show(q, mine) {
    if (!q) {
      root.hidden = true;
      return;
    }
    root.hidden = false;
    if (q.revealed) {
      shownSeq = null;
      replace(root, h('h3', { class: 'panel-title' }, 'The class predicted'), revealView(q));
      return;
    }
    if (shownSeq === q.seq) return; // the form stays as the student left it
    shownSeq = q.seq;
    const note = h('output', { id: 'answer-note', class: 'muted', 'aria-live': 'polite' }, mine === null || mine === undefined ? '' : 'You answered: change it until the reveal.');
    const send = async (answer) => {
      try {
        await request('POST', `${base}/answer`, { body: { answer }, describe: describeMessages });
        note.textContent = 'Answer sent. Wait for the reveal.';
        root.dataset.answered = 'true';
      } catch (err) {
        note.textContent = `Not sent: ${err.message}`;
      }
    };
    let input;
    if (q.kind === 'choice') {
      input = h(
        'div',
        { class: 'answer-choices', role: 'group', 'aria-label': 'Choices' },
        q.choices.map((choice, i) => h('button', { type: 'button', class: 'answer-choice', dataset: { index: i }, 'aria-pressed': String(mine === i), onclick: () => send(i) }, choice)),
      );
    } else if (q.kind === 'number') {
      const number = h('input', { id: 'answer-number', type: 'number', step: 'any', value: mine ?? '' });
      input = h(
        'form',
        { class: 'answer-number', onsubmit: (event) => (event.preventDefault(), send(Number(number.value))) },
        h('label', { for: 'answer-number' }, 'Your guess'),
        number,
        h('button', { type: 'submit', id: 'answer-send' }, 'Send'),
      );
    } else {
      const pad = sketchPad(q.extent, q.points || []);
      input = h(
        'div',
        { class: 'answer-sketch' },
        h('p', { class: 'muted' }, 'Drag to draw where you expect the boundary between the classes.'),
        pad.el,
        h('button', { type: 'button', id: 'sketch-clear', onclick: pad.clear }, 'Clear'),
        h('button', { type: 'button', id: 'answer-send', onclick: () => send(pad.strokes()) }, 'Send sketch'),
      );
    }
    replace(root, h('h3', { class: 'panel-title' }, 'Predict'), h('p', { class: 'question-prompt', id: 'question-prompt' }, q.prompt), input, note);
  }
  return { show, size: SIZE };
}
