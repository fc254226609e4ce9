// Text "Try it" (a run on a set with words, such as `sentiment`): type a sentence; the model's
// answer comes back (through POST /api/runs/{id}/predict with `explain`, asked by the flow) and
// is drawn as
// - the label and its probability, one bar per class;
// - each word coloured by its Captum attribution (layer integrated gradients on the embedding):
//   in the colour of the class it pushes toward (two classes: orange, blue), the stronger the
//   darker; a word the vocabulary lacks is struck through and marked "?" (read as <unk>);
// - for a model with self-attention, what each word attends to (the attention widget);
// - the map of words: every vocabulary word's embedding in 2D (word-map.js).

import { h, replace, formatNumber } from '../util/dom.js';
import { classColor, cssVar, parseColor } from '../util/colors.js';
import { attentionView } from './attention-map.js';
import { wordMap } from './word-map.js';

const TYPE_PAUSE_MS = 400; // ask once typing pauses this long
const EXAMPLE = 'The film was not good, honestly';

/** textTryIt({ask(text)}) -> {element, show(answer), fail(message), clear()} */
export function textTryIt({ ask }) {
  const input = h('input', { type: 'text', id: 'tryit-text', class: 'tryit-text', maxlength: 1000, value: EXAMPLE, 'aria-label': 'A sentence for the model', autocomplete: 'off', spellcheck: 'false' });
  let timer = null;
  const send = () => {
    clearTimeout(timer);
    if (input.value.trim()) ask(input.value);
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(send, TYPE_PAUSE_MS);
  });
  const form = h(
    'form',
    { class: 'tryit-form', onsubmit: (e) => { e.preventDefault(); send(); } },
    input,
    h('button', { type: 'submit', id: 'tryit-ask' }, 'Ask'),
  );
  const label = h('p', { class: 'try-label', id: 'tryit-label', 'aria-live': 'polite' });
  const bars = h('ul', { class: 'try-bars', id: 'tryit-probabilities', 'aria-label': 'Class probabilities' });
  const words = h('p', { class: 'tryit-words', id: 'tryit-words', 'aria-label': 'Each word coloured by its part in the answer' });
  const legend = h('p', { class: 'hint tryit-legend' });
  const attnCanvas = h('canvas', { class: 'tryit-attention', id: 'tryit-attention', 'aria-label': 'What each word attends to' });
  const attnReadout = h('p', { class: 'hint', id: 'tryit-attention-readout' });
  const attnControls = h('span', { class: 'tryit-attention-controls' });
  const attention = attentionView({ canvas: attnCanvas, readout: attnReadout, controls: attnControls, prefix: 'tryit-attention' });
  attnControls.querySelector('#tryit-attention-example').hidden = true; // one sentence: no choice
  const attnBox = h('div', { class: 'tryit-attention-box', hidden: true }, h('h3', { class: 'tryit-sub' }, 'What each word attends to ', attnControls), attnCanvas, attnReadout);
  const map = wordMap();
  const mapBox = h('div', { class: 'tryit-map-box', hidden: true }, h('h3', { class: 'tryit-sub' }, 'The words’ embeddings, in 2D'), map.element, map.readout);

  const element = h(
    'div',
    { class: 'tryit-text-view', id: 'tryit-text-view' },
    h('p', { class: 'hint' }, 'Type a sentence: the model answers as you type. Words it never learned are marked “?”.'),
    form,
    label,
    bars,
    words,
    legend,
    attnBox,
    mapBox,
  );
  queueMicrotask(send); // the example sentence answers at once

  function show(answer) {
    const p = answer.output?.[answer.predicted] ?? 0;
    label.textContent = `The model says: ${answer.label} (${(p * 100).toFixed(1)}%)`;
    replace(bars, answer.output.map((v, i) => {
      const bar = h('span', { class: 'try-bar' });
      bar.style.width = `${Math.round(v * 100)}%`;
      bar.style.background = classColor(i, answer.output.length);
      return h('li', { class: i === answer.predicted ? 'try-best' : '' }, h('span', { class: 'try-name' }, answer.class_names[i]), bar, h('span', { class: 'try-value' }, `${(v * 100).toFixed(1)}%`));
    }));
    drawWords(answer);
    const attn = answer.attention;
    attnBox.hidden = !attn?.attention?.length;
    if (!attnBox.hidden) {
      attention.set(attn);
      attention.draw();
    }
    mapBox.hidden = !answer.word_map;
    if (answer.word_map) map.set(answer.word_map, answer.class_names, new Set((answer.typed || []).filter(Boolean)));
  }

  function drawWords(answer) {
    const scores = answer.attribution?.tokens || [];
    const typed = answer.typed || answer.words;
    const steps = typed.map((w, i) => ({ word: w, score: scores[i] ?? 0, unknown: answer.unknown?.[i] ?? answer.words[i] === '<unk>' })).filter((s) => s.word && s.word !== '<pad>');
    const top = Math.max(1e-9, ...steps.map((s) => Math.abs(s.score)));
    // A word takes the colour of the class it pushes toward: the answer's when its attribution
    // is positive; the other class's (two classes) or grey when it speaks against the answer.
    const n = answer.output.length;
    const toward = parseColor(classColor(answer.predicted, n));
    const away = parseColor(n === 2 ? classColor(1 - answer.predicted, 2) : cssVar('--muted'));
    replace(words, steps.map((s, i) => {
      const share = s.score / top; // -1..1: against .. for the answer
      const [r, g, b] = share >= 0 ? toward : away;
      const span = h('span', {
        class: `tryit-word${s.unknown ? ' oov' : ''}`,
        dataset: { attribution: String(s.score), word: s.word, index: String(i) },
        title: s.unknown ? `“${s.word}” is not in the vocabulary: the model read it as <unk>` : `${s.word}: ${formatNumber(s.score)} toward “${answer.label}”`,
      }, s.word, s.unknown ? h('sup', { class: 'oov-mark', 'aria-label': 'not in the vocabulary' }, '?') : null);
      span.style.background = `rgba(${r}, ${g}, ${b}, ${(0.12 + 0.78 * Math.abs(share)).toFixed(3)})`;
      return span;
    }), steps.length ? null : h('span', { class: 'hint' }, 'No words read.'));
    const unknown = steps.filter((s) => s.unknown).map((s) => s.word);
    const sides = n === 2 ? `${answer.class_names.map((c, i) => `${i === 0 ? 'orange' : 'blue'} toward “${c}”`).join(', ')}` : `coloured toward “${answer.label}”, grey against it`;
    replace(legend, `Each word in the colour of the answer it pushes toward (${sides}); the darker, the more it counts (Captum’s integrated gradients per word).`, unknown.length ? ` Not in the vocabulary: ${unknown.join(', ')}.` : '');
  }

  return {
    element,
    show,
    fail(message) {
      replace(label, h('span', { class: 'field-error', role: 'alert' }, message));
    },
    redraw() {
      if (!attnBox.hidden) attention.draw();
      map.draw();
    },
  };
}
