// The run bar: reset, train/resume, pause, step, stop; the live learning rate; the epoch
// counter, epochs per second, and the run's status and errors in words. A watcher (someone
// following another person's run, read-only) gets no buttons and sees the run's own rate.

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

export function trainingControls({ root, onTrain, onPause, onStep, onStop, onReset, onLearningRate }) {
  const button = (id, text, labelText, tip, onclick, cls = '') =>
    h('button', { type: 'button', id, class: `run-button ${cls}`, 'aria-label': labelText, title: tip, onclick }, text);

  const reset = button('reset', '↺', 'Reset', 'Reset: forget this run and start again from fresh weights', onReset);
  const train = button('train', '▶ Train', 'Train', 'Train the network (or resume a paused run)', onTrain, 'primary');
  const pause = button('pause', '❚❚ Pause', 'Pause', 'Pause training after the current batch', onPause);
  const step = button('step', 'Step +1', 'Step one epoch', 'Train exactly one more epoch, then pause', onStep);
  const stop = button('stop', '■ Stop', 'Stop', 'Stop the run for good (its charts stay)', onStop);

  const lr = h('input', {
    id: 'live-lr',
    type: 'number',
    step: 'any',
    min: '0',
    inputmode: 'decimal',
    title: 'How big a step each update takes. You can change it while the run trains.',
  });
  let lrTimer = null;
  lr.addEventListener('input', () => {
    const value = Number(lr.value);
    if (!(value > 0) || !Number.isFinite(value)) return;
    clearTimeout(lrTimer);
    lrTimer = setTimeout(() => onLearningRate(value), 250);
  });

  const epoch = h('output', { id: 'epoch', class: 'counter', 'aria-live': 'off', title: 'Epochs trained: passes over the training data' }, '0');
  const eps = h('output', { id: 'eps', class: 'muted', title: 'Training speed' }, '');
  const status = h('output', { id: 'status', class: 'status', role: 'status', dataset: { status: 'idle' } }, STATUS_WORDS.idle);
  const message = h('div', { id: 'run-message', class: 'run-message', role: 'alert', hidden: true });
  const connection = h('span', { id: 'connection', class: 'connection muted', 'aria-live': 'polite' }, '');
  const buttons = h('div', { class: 'run-buttons', role: 'group', 'aria-label': 'Run controls' }, reset, train, pause, step, stop);
  let watching = false;

  replace(
    root,
    buttons,
    h('div', { class: 'run-field' }, h('label', { for: 'live-lr' }, 'Learning rate'), lr),
    h(
      'div',
      { class: 'run-counter' },
      h('span', { class: 'counter-label', id: 'epoch-label' }, 'Epoch'),
      epoch,
      eps,
    ),
    h('div', { class: 'run-status' }, status, connection, message),
  );

  return {
    setLearningRate(value) {
      if (document.activeElement !== lr) lr.value = String(value ?? '');
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
      const s = session.status;
      status.dataset.status = s;
      status.textContent = STATUS_WORDS[s] || s;
      epoch.textContent = formatNumber(session.epoch);
      const rate = session.epochsPerSecond;
      eps.textContent = rate && (s === 'running' || s === 'paused') ? `${formatNumber(rate, 3)} epochs/s` : '';
      message.hidden = !session.message;
      message.textContent = session.message || '';
      message.dataset.kind = ['failed', 'diverged', 'error'].includes(s) ? 'error' : 'info';
      connection.textContent = session.connection === 'reconnecting' ? 'Connection lost, reconnecting…' : '';

      const running = s === 'running' || s === 'queued' || s === 'starting';
      const live = session.active;
      train.disabled = running;
      train.textContent = s === 'paused' ? '▶ Resume' : '▶ Train';
      train.setAttribute('aria-label', s === 'paused' ? 'Resume' : 'Train');
      pause.disabled = !(s === 'running' || s === 'queued');
      // Step works from a pause, from nothing (starts a run paused after one epoch) and while
      // running (the server pauses after the current epoch).
      step.disabled = s === 'starting';
      stop.disabled = !live;
      reset.disabled = !session.runId && s !== 'error';
      if (watching) {
        for (const b of [reset, train, pause, step, stop]) b.disabled = true;
        const last = session.records[session.records.length - 1];
        if (typeof last?.lr === 'number') lr.value = String(last.lr);
      }
      root.dataset.status = s;
      root.dataset.watching = String(watching);
    },
  };
}
