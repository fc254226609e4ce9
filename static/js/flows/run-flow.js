// The run flow: the run bar (train, pause, step, stop, reset, the live learning rate and pace),
// starting this page's run, the session's events into the views, and the run's own links
// (share live, export), which keep their place on the page from the start.

import { clone } from '../state.js';
import { invalidate } from '../store.js';
import { firstError } from '../design.js';
import { DESIGN_ERROR } from '../run-session.js';
import { trainingControls } from '../widgets/training-controls.js';
import { liveShare } from '../widgets/live-share.js';
import { exportLinks } from '../widgets/export-links.js';
import { rememberMyRun } from '../widgets/run-compare.js';
import { tryModel } from '../widgets/try-model.js';

const $ = (id) => document.getElementById(id);

/** runFlow(page): fills page.controls, page.startRun(), page.ensurePaused(), page.onSession(). */
export function runFlow(page) {
  const controls = trainingControls({
    root: $('run-bar'),
    onTrain: () => (page.session.status === 'paused' ? page.session.resume() : startRun()),
    onPause: () => page.session.pause(),
    // Step: one epoch from a pause; while running, pause after the current epoch; with no
    // run, start one and pause it.
    onStep: () => (page.session.active ? page.session.step() : startRun({ thenStep: true })),
    onStop: () => page.session.stop(),
    onReset: () => page.session.reset(),
    onLearningRate: (lr) => {
      page.change({ training: { ...page.experiment().training, learning_rate: lr } });
      if (page.session.active) page.session.setLearningRate(lr);
    },
    // The pace (epochs per second, null: full speed) is the design's and, live, the run's.
    onPace: (pace) => {
      page.change({ training: { ...page.experiment().training, pace } });
      if (page.session.active) page.session.setPace(pace);
    },
  });
  const share = liveShare({ root: $('run-extras') });
  const downloads = exportLinks({ root: $('run-extras') });
  const tryIt = tryModel({ datasetsByName: { get: (name) => page.datasetOf(name) } });

  /** Step through needs a paused run of this page's own: pause it, or create one paused. */
  async function ensurePaused() {
    const session = page.session;
    if (session.watching) return false;
    if (!session.active) await startRun({ paused: true });
    else if (session.status !== 'paused') await session.pause();
    const end = Date.now() + 30_000;
    while (session.active && session.status !== 'paused' && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    return session.status === 'paused';
  }

  let starting = false;
  async function startRun({ thenStep = false, paused = thenStep } = {}) {
    if (starting) return;
    const session = page.session;
    if (page.classroom?.mustJoin?.()) {
      session.setStatus('error', 'Join the class first: type your name in the class bar above, then Train.');
      document.getElementById('class-name')?.focus();
      return;
    }
    starting = true;
    try {
      session.setStatus('starting', null);
      const result = await page.checker.settled();
      if (!result.ok) {
        session.setStatus('error', `${DESIGN_ERROR}${firstError(result) || 'see the marked field.'}`);
        return;
      }
      page.views.reset();
      let created;
      try {
        created = await session.start(clone(page.experiment()), { paused, design: page.openedDesign?.id });
      } catch {
        return; // the session shows the error in words
      }
      rememberMyRun(created.id); // Compare runs lists this browser's runs first, as "mine"
      if (!created.followed) return; // the page moved on meanwhile (a spotlight, a lesson)
      page.noteDesignChange();
      if (thenStep) await session.step(); // created paused: exactly one epoch
    } finally {
      starting = false;
    }
  }

  /** Every session event: records and snapshots into the views; the bar and links follow. */
  function onSession(kind, s) {
    if (kind === 'records') page.views.onRecords(s);
    else if (kind === 'snapshot' && !page.steps.holdSnapshot()) page.views.onSnapshot(s);
    else if (kind === 'trace') page.steps.onTrace(s.trace);
    else if (kind === 'refused') page.showError(s.refused);
    else if (kind === 'reset') {
      page.views.reset();
      page.steps.reset();
      page.noteDesignChange();
    }
    if (kind === 'status' || kind === 'reset') page.redrawEditor(); // weights editable while paused
    if (kind === 'status') page.views.onRecords(s); // the loss panel's note follows the status (stopped early)
    invalidate('controls', () => updateAll(s));
  }

  function updateAll(s) {
    controls.update(s);
    share.update(s);
    downloads.update(s);
    tryIt.update(s);
    page.tryIt?.update(s); // the stage's Try it panel (flows/tryit-flow.js)
    page.insight?.update(s); // the projector and recommendations (flows/insight-flow.js)
    page.steps.update();
  }

  Object.assign(page, { controls, startRun, ensurePaused, onSession, updateRunParts: updateAll });
}
