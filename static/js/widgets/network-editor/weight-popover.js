// Click a link (or a neuron) of a paused run to type its weight (or bias), as in TensorFlow
// Playground: a small form placed where the click was; Enter sends, Escape closes.

import { h, formatNumber } from '../../util/dom.js';

/** weightPopover({graph, onSubmit({column, to, from, value})}) -> {open(target, x, y), close()} */
export function weightPopover({ graph, onSubmit }) {
  const input = h('input', { id: 'weight-value', type: 'number', step: 'any', required: true, autocomplete: 'off' });
  const label = h('label', { for: 'weight-value', id: 'weight-label' }, 'Weight');
  const error = h('span', { class: 'field-error', id: 'weight-error', role: 'alert', hidden: true });
  const form = h(
    'form',
    { class: 'weight-edit', id: 'weight-edit', hidden: true, 'aria-label': 'Edit a weight' },
    label,
    input,
    h('button', { type: 'submit', id: 'weight-set' }, 'Set'),
    h('button', { type: 'button', class: 'mini', 'aria-label': 'Close', onclick: () => close() }, '×'),
    error,
  );
  graph.append(form);
  let target = null;

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = Number(input.value);
    if (input.value.trim() === '' || !Number.isFinite(value) || Math.abs(value) > 1e6) {
      error.hidden = false;
      error.textContent = 'Type a number (at most a million either way).';
      return;
    }
    const t = target;
    close();
    if (t) onSubmit({ column: t.column, to: t.to, from: t.from, value });
  });
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') close();
  });
  form.addEventListener('mousemove', (e) => e.stopPropagation());

  function open(next, x, y) {
    target = next;
    label.textContent = next.from === null ? `Bias of ${next.name}` : `Weight ${next.name}`;
    input.value = formatNumber(next.value, 4).replace(/[^0-9eE+\-.]/g, '');
    error.hidden = true;
    form.hidden = false;
    const box = graph.getBoundingClientRect();
    form.style.left = `${Math.max(0, Math.min(x - box.left + graph.scrollLeft, graph.scrollWidth - 260))}px`;
    form.style.top = `${Math.max(0, y - box.top)}px`;
    input.focus();
    input.select();
  }

  function close() {
    target = null;
    form.hidden = true;
  }

  return { open, close, get isOpen() { return !form.hidden; } };
}
