// The teacher's predict-then-reveal: ask the class a question (multiple choice, a number, or a
// sketch of the boundary on the data's plane), watch the count of answers, then reveal them,
// anonymously, beside the real result: the spotlighted run's (if any) and the right answer.

import { h, replace } from '../util/dom.js';
import { revealView } from './class-reveal.js';

/**
 * questionPanel({root, base, call(method, path, body, done), spotlight() -> runId,
 *   dataset() -> the dataset a sketch is drawn on}) -> {message(msg)}
 */
export function questionPanel({ root, base, call, spotlight, dataset }) {
  const kind = h('select', { id: 'question-kind' }, h('option', { value: 'choice' }, 'Multiple choice'), h('option', { value: 'number' }, 'A number'), h('option', { value: 'sketch' }, 'Sketch the boundary'));
  const prompt = h('input', { id: 'question-text', type: 'text', maxlength: 300, required: true, placeholder: 'e.g. Which learning rate will do best?' });
  const choices = h('input', { id: 'question-choices', type: 'text', placeholder: 'choices, comma separated' });
  const extent = h('input', { id: 'question-extent', type: 'text', placeholder: 'plane: the data\'s', title: 'the plane: xmin, xmax, ymin, ymax (empty: the data\'s own)' });
  const right = h('input', { id: 'reveal-answer', type: 'text', size: 8, placeholder: 'right answer' });
  const count = h('output', { id: 'question-count', class: 'muted', 'aria-live': 'polite' });
  const shown = h('div', { id: 'question-shown' });
  const showFields = () => {
    choices.hidden = kind.value !== 'choice';
    extent.hidden = kind.value !== 'sketch';
  };
  kind.addEventListener('change', showFields);
  showFields();
  let question = null;

  async function ask(event) {
    event.preventDefault();
    const body = { kind: kind.value, prompt: prompt.value };
    if (kind.value === 'choice') body.choices = choices.value.split(',').map((c) => c.trim()).filter(Boolean);
    if (kind.value === 'sketch') {
      body.dataset = dataset();
      if (extent.value.trim()) body.extent = extent.value.split(',').map(Number);
    }
    const asked = await call('POST', `${base}/question`, body, 'The question is on every student\'s page.');
    if (asked) message({ type: 'question', question: asked });
  }
  async function reveal() {
    const body = { run_id: spotlight() || null };
    if (right.value.trim()) {
      const value = question?.kind === 'choice' ? question.choices.indexOf(right.value.trim()) : Number(right.value);
      body.answer = question?.kind === 'choice' && value < 0 ? Number(right.value) - 1 : value;
    }
    const revealed = await call('POST', `${base}/reveal`, body, 'The answers are revealed.');
    if (revealed) message({ type: 'question', question: revealed });
  }

  replace(
    root,
    h('h3', { class: 'panel-title' }, 'Predict, then reveal'),
    h('form', { class: 'question-form', onsubmit: ask }, kind, prompt, choices, extent, h('button', { type: 'submit', id: 'question-ask' }, 'Ask')),
    h('div', { class: 'question-reveal' }, count, right, h('button', { type: 'button', id: 'question-reveal', onclick: reveal }, 'Reveal')),
    shown,
  );

  function message(msg) {
    if (msg.type !== 'question') return;
    question = msg.question;
    root.dataset.answered = String(question.answered);
    count.textContent = `${question.answered} answered: “${question.prompt}”`;
    if (question.revealed) replace(shown, revealView(question));
    else replace(shown);
  }
  call('GET', `${base}/question`).then((got) => got?.question && message({ type: 'question', question: got.question }));
  return { message };
}
