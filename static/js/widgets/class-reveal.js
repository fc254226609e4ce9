// Predict, then reveal: the revealed answers of a class question beside the real result, with
// no names (the server sends them shuffled, without who gave them). Used by the teacher's page,
// each student's page and the projector alike.
//
// question: {kind: 'choice' | 'number' | 'sketch', prompt, choices, extent, answers, result}
// result: {answer (the right choice or number, or null), metrics, val_loss, epoch, status}

import { h } from '../util/dom.js';

const metricWords = (result) => {
  const m = result?.metrics || {};
  if (m.val_accuracy !== undefined && m.val_accuracy !== null) return `validation accuracy ${(m.val_accuracy * 100).toFixed(1)}%`;
  if (m.val_r2 !== undefined && m.val_r2 !== null) return `validation R² ${Number(m.val_r2).toFixed(3)}`;
  if (result?.val_loss !== undefined && result?.val_loss !== null) return `validation loss ${Number(result.val_loss).toFixed(3)}`;
  return null;
};

/** The real result in one line ("The run reached validation accuracy 93.0% at epoch 40."). */
function resultLine(q) {
  const r = q.result || {};
  const parts = [];
  if (q.kind === 'choice' && Number.isInteger(r.answer) && q.choices[r.answer] !== undefined) parts.push(`The answer: ${q.choices[r.answer]}.`);
  if (q.kind === 'number' && r.answer !== null && r.answer !== undefined) parts.push(`The real value: ${r.answer}.`);
  const metric = metricWords(r);
  if (r.run_id && metric) parts.push(`The run reached ${metric} at epoch ${r.epoch} (${r.status}).`);
  return parts.join(' ') || 'The teacher revealed the answers.';
}

function choiceBars(q) {
  const counts = q.choices.map(() => 0);
  for (const a of q.answers) if (Number.isInteger(a) && a < counts.length) counts[a] += 1;
  const most = Math.max(1, ...counts);
  const right = q.result?.answer;
  return h(
    'ol',
    { class: 'reveal-bars' },
    q.choices.map((choice, i) =>
      h(
        'li',
        { class: `reveal-bar${i === right ? ' right' : ''}`, dataset: { count: counts[i] } },
        h('span', { class: 'reveal-choice' }, choice),
        h('span', { class: 'reveal-fill', style: { width: `${(counts[i] / most) * 100}%` } }),
        h('span', { class: 'reveal-count' }, String(counts[i])),
      ),
    ),
  );
}

function numberStrip(q) {
  const values = q.answers.filter((a) => Number.isFinite(a));
  const right = Number.isFinite(q.result?.answer) ? q.result.answer : null;
  const all = right === null ? values : [...values, right];
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const span = hi - lo || 1;
  const x = (v) => 10 + ((v - lo) / span) * 280;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 300 40');
  svg.setAttribute('class', 'reveal-strip');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${values.length} guesses from ${lo} to ${hi}`);
  for (const v of values) {
    const dot = document.createElementNS(svg.namespaceURI, 'circle');
    Object.entries({ cx: x(v), cy: 20, r: 5, class: 'reveal-dot' }).forEach(([k, val]) => dot.setAttribute(k, val));
    svg.append(dot);
  }
  if (right !== null) {
    const line = document.createElementNS(svg.namespaceURI, 'line');
    Object.entries({ x1: x(right), x2: x(right), y1: 2, y2: 38, class: 'reveal-truth' }).forEach(([k, val]) => line.setAttribute(k, val));
    svg.append(line);
  }
  return h('div', {}, svg, h('p', { class: 'muted' }, `Guesses: ${values.map((v) => String(v)).join(', ') || 'none'}`));
}

/** Every sketch drawn over the plane of the data (extent) and its points ([x, y, class]),
 * one colour per student, no names. */
export function sketchCanvas(extent, sketches, size = 240, points = []) {
  const canvas = h('canvas', { class: 'reveal-sketch', width: size, height: size, role: 'img', 'aria-label': `${sketches.length} sketches` });
  const ctx = canvas.getContext('2d');
  const [x0, x1, y0, y1] = extent || [-1, 1, -1, 1];
  const px = ([x, y]) => [((x - x0) / (x1 - x0)) * size, (1 - (y - y0) / (y1 - y0)) * size];
  ctx.strokeStyle = '#8888';
  ctx.strokeRect(0.5, 0.5, size - 1, size - 1);
  ctx.beginPath();
  ctx.moveTo(...px([0, y0]));
  ctx.lineTo(...px([0, y1]));
  ctx.moveTo(...px([x0, 0]));
  ctx.lineTo(...px([x1, 0]));
  ctx.stroke();
  for (const [x, y, c] of points) {
    ctx.fillStyle = c ? '#0b72c099' : '#e8850c99';
    ctx.beginPath();
    ctx.arc(...px([x, y]), 2.5, 0, 2 * Math.PI);
    ctx.fill();
  }
  sketches.forEach((strokes, i) => {
    ctx.strokeStyle = `hsl(${(120 + i * 137) % 360} 70% 35%)`;
    ctx.lineWidth = 2;
    for (const stroke of strokes) {
      ctx.beginPath();
      stroke.forEach((p, j) => (j ? ctx.lineTo(...px(p)) : ctx.moveTo(...px(p))));
      ctx.stroke();
    }
  });
  return canvas;
}

/** The reveal of a question: the answers (anonymous) beside the real result. */
export function revealView(q) {
  const answers = q.answers || [];
  let body;
  if (q.kind === 'choice') body = choiceBars(q);
  else if (q.kind === 'number') body = numberStrip(q);
  else body = sketchCanvas(q.extent, answers, 240, q.points || []);
  return h(
    'div',
    { class: 'reveal', id: 'reveal', dataset: { answers: answers.length } },
    h('p', { class: 'reveal-prompt' }, q.prompt),
    body,
    h('p', { class: 'reveal-result', id: 'reveal-result' }, resultLine(q)),
    h('p', { class: 'muted' }, `${answers.length} answer${answers.length === 1 ? '' : 's'}, shown without names.`),
  );
}
