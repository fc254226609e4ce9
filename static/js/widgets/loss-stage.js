// The loss on the stage, for the back of the room: training and validation loss and the task's
// metric (accuracy, R², ...) as large numbers, the chart's x axis (all epochs, log scale, or
// the recent window), the best validation epoch marked, and a fixed line under the chart that
// says when the validation loss has been rising for a while (overfitting) and what to try.
// Everything has its place from the start: nothing moves when a run starts or ends.

import { h, formatNumber } from '../util/dom.js';
import { bestEpoch, overfitting } from '../fit.js';
import { metricNames } from '../metrics.js';

const AXES = [
  { id: 'all', label: 'All', tip: 'Every epoch on a linear axis' },
  { id: 'log', label: 'Log', tip: 'Epochs on a log scale: the first epochs, where most of the learning happens, get as much room as the rest' },
  { id: 'recent', label: 'Recent', tip: 'The last 200 epochs only' },
];

const TRY = 'Try more data, more noise, L2, dropout, or early stopping.';

/** "97.2%" for an accuracy, 3 digits for the others. */
function metricText(name, value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  if (name === 'accuracy') return `${formatNumber(value * 100, 3)}%`;
  return formatNumber(value, 3);
}

/** lossStage({panel}) -> {attach(chart, redraw), update(records, session)} */
export function lossStage({ panel }) {
  const number = (id, text, cls = '') =>
    h('span', { class: `loss-number ${cls}` }, h('span', { class: 'loss-label', id: `${id}-label` }, text), h('output', { id, 'aria-labelledby': `${id}-label` }, '–'));
  const numbers = h('div', { class: 'loss-numbers', id: 'loss-numbers', 'aria-live': 'off' },
    number('train-loss', 'training'),
    number('val-loss', 'validation', 'val'));
  // The task's metric beside the loss, in the title row: what every lesson talks about.
  const metric = number('stage-metric', 'val. accuracy', 'metric');
  const axisButtons = AXES.map((a) => h('button', { type: 'button', class: 'axis-button', id: `loss-axis-${a.id}`, 'aria-pressed': String(a.id === 'all'), title: a.tip, onclick: () => setAxis(a.id) }, a.label));
  const axisGroup = h('span', { class: 'loss-axis', role: 'group', 'aria-label': 'Loss chart x axis' }, axisButtons);
  const note = h('p', { class: 'fit-note', id: 'fit-note', 'aria-live': 'polite', dataset: { state: 'none' } });
  panel.el.querySelector('.view-title').append(metric);
  numbers.append(axisGroup);
  panel.el.querySelector('.help').after(numbers);
  panel.canvas.after(note);

  // Hovered or focused, the chart's values under the cursor take the fit note's line.
  const reading = (on) => panel.el.classList.toggle('reading', on);
  panel.canvas.addEventListener('mouseenter', () => reading(true));
  panel.canvas.addEventListener('mouseleave', () => reading(false));
  panel.canvas.addEventListener('focus', () => reading(true));
  panel.canvas.addEventListener('blur', () => reading(false));

  let chart = null;
  let redraw = () => {};
  function setAxis(id) {
    for (const [i, b] of axisButtons.entries()) b.setAttribute('aria-pressed', String(AXES[i].id === id));
    chart?.setAxis(id);
    redraw();
  }

  let lastKey = '';
  return {
    attach(c, fn) {
      chart = c;
      redraw = fn;
    },
    update(records, session) {
      const last = records[records.length - 1];
      numbers.querySelector('#train-loss').textContent = last ? formatNumber(last.loss, 3) : '–';
      numbers.querySelector('#val-loss').textContent = last ? formatNumber(last.val_loss, 3) : '–';
      const name = metricNames(records)[0] || 'accuracy';
      const label = metric.querySelector('#stage-metric-label');
      const words = name === 'r2' ? 'R²' : name.replace(/_/g, ' ');
      if (label.textContent !== `val. ${words}`) label.textContent = `val. ${words}`;
      metric.querySelector('#stage-metric').textContent = last ? metricText(name, last.metrics?.[`val_${name}`]) : '–';

      const best = bestEpoch(records);
      const over = overfitting(records);
      // The run's own best epoch (early stopping restored it) wins over the page's estimate.
      const restored = session?.bestEpoch;
      const marked = restored ?? best?.epoch ?? null;
      chart?.setMarks(marked !== null && records.length > 2 ? [{ epoch: marked, text: `best ${formatNumber(marked)}`, color: '--ok' }] : []);
      chart?.setShade(over ? over.since : null);
      let state = 'none';
      let text = '';
      if (restored !== null && restored !== undefined && session && ['finished', 'stopped'].includes(session.status)) {
        state = 'stopped-early';
        text = `Stopped early: the weights are those of epoch ${formatNumber(restored)}, the best validation loss.`;
      } else if (over) {
        state = 'overfitting';
        text = `Overfitting since epoch ${formatNumber(over.since)}: validation loss rose from ${formatNumber(over.best, 3)} to ${formatNumber(over.now, 3)} while training loss fell. ${TRY}`;
      } else if (best && records.length > 2) {
        state = 'best';
        text = `Best validation loss ${formatNumber(best.val_loss, 3)} at epoch ${formatNumber(best.epoch)}.`;
      }
      const key = `${state}|${text}`;
      if (key !== lastKey) {
        lastKey = key;
        note.dataset.state = state;
        note.textContent = text;
        note.title = text;
      }
    },
  };
}
