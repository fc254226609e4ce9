// The run bar: reset, train/resume, pause, step, stop; the live learning rate and pace; the
// epoch counter, epochs per second, and the run's status and errors in words. A watcher
// (someone following another person's run, read-only) gets no buttons and sees the run's own
// rate and pace.

import { h, replace, formatNumber } from '../util/dom.js';

const STATUS_WORDS = {
  idle: 'Ready',
  starting: 'Starting…',
  queued: 'Queued: waiting for a free worker',
  running: 'Training',
  paused: 'Paused',
  finished: 'Finished',
  stopped: 'Stopped',
  failed: 'Failed',
  diverged: 'Diverged: the loss is no longer a finite number',
  interrupted: 'Interrupted: the server stopped during this run (its history is kept)',
  error: 'Could not start',
};

const LR_MIN = 0; // exclusive, as TrainingSpec.learning_rate (gt=0, le=10)
const LR_MAX = 10;

/** The learning rate typed in the run bar: {value} or {error: a sentence saying what is allowed}. */
export function readLearningRate(text) {
  const t = String(text).trim().replace(',', '.');
  const allowed = `more than ${LR_MIN} and at most ${LR_MAX}, such as 0.01`;
  if (t === '') return { error: `Type a learning rate: a number ${allowed}.` };
  const value = Number(t);
  if (!Number.isFinite(value)) return { error: `“${t}” is not a number: the learning rate is a number ${allowed}.` };
  if (!(value > LR_MIN && value <= LR_MAX)) return { error: `The learning rate must be ${allowed}, not ${t}.` };
  return { value };
}

// The pace: epochs per second (the trainer's, so a slowed run costs the server less); null is
// full speed. Normal lets a class watch a 2D boundary form over tens of seconds.
export const PACES = [
  { id: 'slow', label: 'Slow', value: 5, tip: '5 epochs a second: every step of the boundary can be followed' },
  { id: 'normal', label: 'Normal', value: 20, tip: '20 epochs a second: a class watches the boundary form over tens of seconds' },
  { id: 'fast', label: 'Fast', value: 100, tip: '100 epochs a second' },
  { id: 'full', label: ['Full', h('span', { class: 'pace-long' }, ' speed')], value: null, tip: 'As fast as the server trains (for a small network, a thousand epochs a second or more)' },
];

/** The pace button for `value`: the exact one, else the nearest (a lesson may set 30). */
export function paceOf(value) {
  if (value === null || value === undefined) return PACES[3];
  let best = PACES[0];
  for (const p of PACES.slice(0, 3)) if (Math.abs(Math.log(p.value / value)) < Math.abs(Math.log(best.value / value))) best = p;
  return best;
}

export function trainingControls({ root, onTrain, onPause, onStep, onStop, onReset, onLearningRate, onPace }) {
  const button = (id, text, labelText, tip, onclick, cls = '') =>
    h('button', { type: 'button', id, class: `run-button ${cls}`, 'aria-label': labelText, title: tip, onclick }, text);

  const reset = button('reset', '↺', 'Reset', 'Reset: forget this run and start again from fresh weights', onReset);
  const train = button('train', '▶ Train', 'Train', 'Train the network (or resume a paused run)', onTrain, 'primary');
  const pause = button('pause', '❚❚ Pause', 'Pause', 'Pause training after the current batch', onPause);
  const step = button('step', 'Step +1', 'Step one epoch', 'Train exactly one more epoch, then pause', onStep);
  const stop = button('stop', '■ Stop', 'Stop', 'Stop the run for good (its charts stay)', onStop);

  // Text, not type=number: "abc" or "-1" must be seen (and said) rather than dropped.
  const lr = h('input', {
    id: 'live-lr',
    type: 'text',
    inputmode: 'decimal',
    autocomplete: 'off',
    spellcheck: false,
    size: 6,
    title: 'How big a step each update takes (more than 0, at most 10). You can change it while the run trains.',
  });
  const lrError = h('span', { id: 'live-lr-error', class: 'field-error run-lr-error', role: 'alert', hidden: true });
  let lrTimer = null;
  let lrInvalid = null;
  lr.addEventListener('input', () => {
    const { value, error } = readLearningRate(lr.value);
    lrInvalid = error || null;
    lr.setAttribute('aria-invalid', String(Boolean(error)));
    if (error) lr.setAttribute('aria-describedby', 'live-lr-error');
    else lr.removeAttribute('aria-describedby');
    lrError.hidden = !error;
    lrError.textContent = error || '';
    clearTimeout(lrTimer);
    onInvalid?.();
    if (error) return;
    lrTimer = setTimeout(() => onLearningRate(value), 250);
  });
  let onInvalid = null;

  let designPace = null;
  const paceButtons = PACES.map((p) =>
    h('button', { type: 'button', id: `pace-${p.id}`, class: 'pace-button', 'aria-pressed': 'false', title: p.tip, dataset: { pace: p.value ?? 'full' }, onclick: () => onPace?.(p.value) }, p.label),
  );
  const pace = h('div', { id: 'pace', class: 'pace', role: 'group', 'aria-labelledby': 'pace-label' }, h('span', { id: 'pace-label', class: 'counter-label' }, 'Pace'), paceButtons);
  function showPace(value) {
    const on = paceOf(value);
    for (const [i, b] of paceButtons.entries()) b.setAttribute('aria-pressed', String(PACES[i] === on));
    pace.dataset.value = value === null || value === undefined ? 'full' : String(value);
    pace.title = value === null || value === undefined ? 'Full speed' : `${formatNumber(value, 3)} epochs a second`;
  }
  showPace(null);

  const epoch = h('output', { id: 'epoch', class: 'counter', 'aria-live': 'off', title: 'Epochs trained: passes over the training data' }, '0');
  const eps = h('output', { id: 'eps', class: 'muted', title: 'Training speed' }, '');
  const blockedEl = h('span', { id: 'train-blocked', class: 'train-blocked', role: 'status', hidden: true });
  let blocked = null;
  const status = h('output', { id: 'status', class: 'status', role: 'status', dataset: { status: 'idle' } }, STATUS_WORDS.idle);
  const message = h('div', { id: 'run-message', class: 'run-message', role: 'alert', hidden: true });
  const connection = h('span', { id: 'connection', class: 'connection muted', 'aria-live': 'polite' }, '');
  const buttons = h('div', { class: 'run-buttons', role: 'group', 'aria-label': 'Run controls' }, reset, train, pause, step, stop);
  let watching = false;

  replace(
    root,
    buttons,
    blockedEl,
    h('div', { class: 'run-field' }, h('label', { for: 'live-lr' }, 'Learning rate'), lr, lrError),
    pace,
    h(
      'div',
      { class: 'run-counter' },
      h('span', { class: 'counter-line' }, h('span', { class: 'counter-label', id: 'epoch-label' }, 'Epoch'), epoch),
      eps,
    ),
    h('div', { class: 'run-status' }, status, connection, message),
  );

  let last = null;
  const api = {
    setLearningRate(value) {
      if (document.activeElement !== lr) {
        lr.value = String(value ?? '');
        if (lrInvalid) lr.dispatchEvent(new Event('input'));
      }
    },
    /** The design's pace, shown while no run is there (a run's own pace follows update()). */
    setPace(value) {
      designPace = value ?? null;
      if (!last?.runId) showPace(designPace);
    },
    /** The reason the design cannot be trained now (shown beside Train), or null. */
    get lrError() {
      return lrInvalid;
    },
    setBlocked(reason) {
      blocked = reason || null;
      if (last) api.update(last);
    },
    onInvalid(fn) {
      onInvalid = fn;
    },
    /** Watching someone else's run: no controls (the server would refuse them anyway). */
    setWatching(on) {
      watching = on;
      buttons.hidden = on;
      lr.disabled = on;
      lr.title = on
        ? 'The learning rate of the run you are watching (its owner may change it while it trains).'
        : 'How big a step each update takes. You can change it while the run trains.';
    },
    /** Update from the session: status, epoch, speed, message, connection. */
    update(session) {
      last = session;
      const s = session.status;
      status.dataset.status = s;
      status.textContent = STATUS_WORDS[s] || s;
      status.title = STATUS_WORDS[s] || s; // the whole words where the pill cuts them
      epoch.textContent = formatNumber(session.epoch);
      const rate = session.epochsPerSecond;
      eps.textContent = rate && s === 'running' ? `${formatNumber(rate, 3)} epochs/s` : '';
      eps.classList.toggle('off', s !== 'running'); // its place is kept: the bar never moves
      message.hidden = !session.message;
      message.textContent = session.message || '';
      message.dataset.kind = ['failed', 'diverged', 'error'].includes(s) ? 'error' : 'info';
      connection.textContent = session.connection === 'reconnecting' ? 'Connection lost, reconnecting…' : '';

      const running = s === 'running' || s === 'queued' || s === 'starting';
      const live = session.active;
      // A design that cannot run cannot be trained (or resumed): the reason is beside Train.
      const why = watching ? null : blocked || (lrInvalid ? `Train waits for a valid learning rate: ${lrInvalid}` : null);
      train.disabled = running || Boolean(why && s !== 'paused');
      blockedEl.hidden = !why || running;
      blockedEl.textContent = why || '';
      train.title = why || 'Train the network (or resume a paused run)';
      train.textContent = s === 'paused' ? '▶ Resume' : '▶ Train';
      train.setAttribute('aria-label', s === 'paused' ? 'Resume' : 'Train');
      pause.disabled = !(s === 'running' || s === 'queued');
      // Step works from a pause, from nothing (starts a run paused after one epoch) and while
      // running (the server pauses after the current epoch).
      step.disabled = s === 'starting' || Boolean(why && !session.active);
      stop.disabled = !live;
      reset.disabled = !session.runId && s !== 'error';
      if (watching) {
        for (const b of [reset, train, pause, step, stop]) b.disabled = true;
        const last = session.records[session.records.length - 1];
        if (typeof last?.lr === 'number') lr.value = String(last.lr);
      }
      showPace(session.runId ? session.pace : designPace);
      for (const b of paceButtons) b.disabled = watching;
      root.dataset.status = s;
      root.dataset.watching = String(watching);
    },
  };
  return api;
}
