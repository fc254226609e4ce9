// LayerLab's page: wires the widgets, the design (a store, mirrored in the URL) and the run,
// one's own or, through a presenter link (#watch=<run id>), someone else's watched read-only.

import { api, ApiError } from './api.js';
import { readHash, writeHash, clone, isExperiment } from './state.js';
import { starterById, DEFAULT_STARTER } from './starters.js';
import { createChecker } from './checker.js';
import { createStore, invalidate, frameCount } from './store.js';
import { headerControls } from './header.js';
import { datasetPicker } from './widgets/dataset-picker.js';
import { layerStack } from './widgets/layer-stack.js';
import { trainingForm } from './widgets/training-form.js';
import { trainingControls } from './widgets/training-controls.js';
import { liveShare } from './widgets/live-share.js';
import { exportLinks } from './widgets/export-links.js';
import { lessonGallery, lessonById } from './widgets/lesson-gallery.js';
import { runCompare } from './widgets/run-compare.js';
import { myDesigns } from './widgets/my-designs.js'; // "My designs" panel (issue 11)
import { watchMode } from './watch-mode.js';
import { RunSession } from './run-session.js';
import { createViews } from './views.js';
import { onThemeChange } from './util/colors.js';
import { setFontScale } from './util/plot.js';

const $ = (id) => document.getElementById(id);

async function boot() {
  let layerTypes;
  let datasets;
  let trainingSchema;
  try {
    [layerTypes, datasets, trainingSchema] = await Promise.all([api.layers(), api.datasets(), api.training()]);
  } catch (err) {
    showPageError(`LayerLab could not load its layer and dataset lists: ${err.message}`);
    return;
  }
  const datasetsByName = new Map(datasets.map((d) => [d.name, d]));
  // The design: the experiment document (the URL holds it) and the dataset's preview.
  const design = createStore({ experiment: null, preview: null });
  const experiment = () => design.get().experiment;

  const views = createViews({ outputRoot: $('output-views'), graphRoot: $('graph-views'), viewsRoot: $('views') });
  const session = new RunSession((kind, s) => onSession(kind, s));
  views.setSession(session);

  const picker = datasetPicker({
    root: $('dataset-panel'),
    datasets,
    fetchPreview: (spec) => api.preview(spec),
    onPreview: (preview) => design.set({ preview }),
    onChange: (spec) => change({ dataset: spec }),
  });
  const stack = layerStack({
    palette: $('palette'),
    stack: $('layer-stack'),
    inputBlock: $('input-block'),
    headBlock: $('head-block'),
    totalEl: $('total-params'),
    layerTypes,
    onChange: (layers) => change({ model: { ...experiment().model, layers } }),
  });
  const training = trainingForm({
    root: $('training-panel'),
    schema: trainingSchema.params,
    onChange: (values) => change({ training: { ...values, learning_rate: experiment().training.learning_rate } }),
  });
  const controls = trainingControls({
    root: $('run-bar'),
    onTrain: () => (session.status === 'paused' ? session.resume() : startRun()),
    onPause: () => session.pause(),
    // Step: one epoch from a pause; while running, pause after the current epoch; with no
    // run, start one and pause it.
    onStep: () => (session.active ? session.step() : startRun({ thenStep: true })),
    onStop: () => session.stop(),
    onReset: () => session.reset(),
    onLearningRate: (lr) => {
      change({ training: { ...experiment().training, learning_rate: lr } });
      if (session.active) session.setLearningRate(lr);
    },
  });
  const share = liveShare({ root: $('run-bar') });
  const downloads = exportLinks({ root: $('run-bar') });
  const lessons = lessonGallery({
    button: $('lessons'),
    dialog: $('lesson-gallery'),
    note: $('lesson-note'),
    onChoose: (starter) => {
      session.reset();
      load(starter.experiment);
    },
    onDismiss: () => {
      if (!watching.runId) writeHash(experiment());
    },
  });
  const header = headerControls({
    getExperiment: experiment,
    onLoad: (exp) => {
      session.reset();
      lessons.clear(); // another design: the lesson note no longer applies
      load(exp);
    },
    onNew: () => {
      session.reset();
      lessons.clear();
      const d = datasetsByName.get(experiment().dataset.name) || datasets[0];
      const { training: t } = starterById(DEFAULT_STARTER).experiment;
      load({ dataset: { name: d.name, ...clone(d.defaults || {}) }, model: { layers: [] }, training: clone(t) });
    },
    onProjector: (on) => {
      setFontScale(on ? 1.35 : 1);
      views.redrawAll();
      picker.redraw();
      compare.redraw();
    },
  });

  const compare = runCompare({
    root: $('compare-panel'),
    currentRunId: () => session.runId,
    onLoad: (exp) => {
      stopWatching(); // a watcher leaves the watched run for an editable copy of this design
      session.reset();
      lessons.clear();
      load(exp);
    },
  });

  // "My designs" (saved on the server): its own widget; opening one loads it like a starter.
  myDesigns({
    root: $('my-designs-panel'),
    getExperiment: experiment,
    onOpen: (exp) => {
      stopWatching();
      session.reset();
      lessons.clear();
      load(exp);
    },
  });

  const watching = watchMode({
    banner: $('watch-banner'),
    locks: [$('dataset-panel'), $('training-panel'), $('model-panel')],
    onChange: (on) => {
      stack.setReadOnly(on);
      controls.setWatching(on);
      header.setWatching(on);
      controls.update(session);
    },
  });

  const checker = createChecker((result) => {
    stack.setCheck(result.check);
    if (result.ok) views.setCheck(result.check, experiment().dataset.name); // the design's network graph
    stack.setErrors(result.errors.layers);
    picker.setErrors(result.errors.dataset);
    training.setErrors(result.errors.training);
    const general = [...result.errors.general, ...(result.message ? [result.message] : [])];
    $('design-error').hidden = general.length === 0;
    $('design-error').textContent = general.join(' ');
    document.body.dataset.check = result.ok ? 'ok' : 'error';
  });

  // Every design change: into the URL, checked, shown in the views and the header.
  design.subscribe((state, patch) => {
    if ('experiment' in patch) {
      // A watcher's URL stays #watch=<id>; a lesson's names the lesson too.
      if (!watching.runId) writeHash(state.experiment, lessons.hashFor(state.experiment));
      checker.request(state.experiment);
      controls.setLearningRate(state.experiment.training.learning_rate);
      header.showDesign(state.experiment);
      noteDesignChange();
    }
    const d = datasetsByName.get(state.experiment?.dataset?.name);
    views.setDesign({ family: d?.family || null, dataset: d, preview: state.preview });
  });

  function change(patch) {
    design.set({ experiment: { ...experiment(), ...patch } });
  }

  /** Show a whole experiment in every widget (a starter, a link, "new"). */
  function load(doc) {
    const exp = clone(doc);
    exp.training = { ...(exp.training || {}) };
    exp.model = { ...exp.model, layers: exp.model.layers || [] };
    picker.setSpec(exp.dataset);
    stack.setLayers(exp.model.layers);
    training.setValues(exp.training);
    design.set({ experiment: exp });
  }

  function noteDesignChange() {
    // The learning rate is live (it follows the run), so it does not count as a change.
    const key = (exp) => JSON.stringify({ ...exp, training: { ...exp.training, learning_rate: null } });
    const started = session.startedWith ? JSON.parse(session.startedWith) : null;
    const differs = Boolean(session.runId && started && key(started) !== key(experiment()));
    $('design-note').hidden = !differs;
    $('design-note').textContent = differs
      ? 'The design changed since this run started: press Reset, then Train, to train the new design.'
      : '';
  }

  window.addEventListener('hashchange', async () => {
    const state = readHash();
    if (state.watch) {
      if (state.watch !== watching.runId && !(await watchRun(state.watch))) {
        stopWatching();
        writeHash(experiment()); // the page stays editable: its URL says so again
      }
      return;
    }
    stopWatching(); // e.g. "Open an editable copy": the same design, now the page's own
    const lesson = lessonById(state.lesson);
    if (lesson) lessons.show(lesson.id);
    else lessons.clear();
    const linked = state.experiment || lesson?.experiment || starterById(state.starter)?.experiment;
    if (linked && JSON.stringify(linked) !== JSON.stringify(experiment())) load(linked);
  });

  // --- Watching someone else's run (the presenter link) ----------------------------------

  /** Show run `id` read-only and follow it live; false (with the reason shown) when it cannot. */
  async function watchRun(id) {
    let run;
    try {
      run = await api.run(id);
      if (!isExperiment(run?.experiment)) throw new Error('the server sent no design for it');
    } catch (err) {
      const why = err instanceof ApiError && err.status === 404
        ? `There is no run “${id}” on this server: it may have been removed, or the server restarted.`
        : `Run “${id}” could not be loaded (${err.message}).`;
      showPageError(`${why} Showing the editable page instead.`);
      return false;
    }
    $('page-error').hidden = true;
    lessons.clear();
    watching.enter(run.id, run.experiment);
    load(run.experiment);
    session.watch(run);
    return true;
  }

  /** Back to the editable page: the watched run goes on for its owner, this page lets go of it. */
  function stopWatching() {
    if (!watching.runId) return;
    watching.leave();
    session.reset();
    writeHash(experiment());
  }

  // --- Running ---------------------------------------------------------------------------

  let starting = false;
  async function startRun({ thenStep = false } = {}) {
    if (starting) return;
    starting = true;
    try {
      session.setStatus('starting', null);
      const result = await checker.settled();
      if (!result.ok) {
        session.setStatus('error', 'Fix the design first: the layer marked in red says what is wrong.');
        return;
      }
      views.reset();
      try {
        await session.start(clone(experiment()), { paused: thenStep });
      } catch {
        return; // the session shows the error in words
      }
      noteDesignChange();
      if (thenStep) await session.step(); // created paused: exactly one epoch
    } finally {
      starting = false;
    }
  }

  function onSession(kind, s) {
    if (kind === 'records') views.onRecords(s);
    else if (kind === 'snapshot') views.onSnapshot(s);
    else if (kind === 'reset') {
      views.reset();
      noteDesignChange();
    }
    invalidate('controls', () => {
      controls.update(s);
      share.update(s);
      downloads.update(s);
    });
  }

  const redraw = () => {
    views.redrawAll();
    picker.redraw();
    compare.redraw();
  };
  onThemeChange(redraw);
  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(redraw, 100);
  });

  // --- Start: the run a presenter link names, else the URL's design or lesson, else the default
  const state = readHash();
  const lesson = lessonById(state.lesson);
  let initial = state.experiment || lesson?.experiment || starterById(state.starter)?.experiment;
  if (state.error) showPageError(`${state.error} Showing a starter design instead.`);
  if (state.lesson && !lesson) showPageError(`There is no lesson “${state.lesson}”: the Lessons button lists them all.`);
  if (!isExperiment(initial)) initial = starterById(DEFAULT_STARTER).experiment;
  if (lesson) lessons.show(lesson.id); // before load(): the URL then names the lesson
  if (!(state.watch && (await watchRun(state.watch)))) load(initial);
  controls.update(session);
  share.update(session);
  downloads.update(session);
  document.body.dataset.ready = 'true';
  // For the console and the browser tests: the live session and the current design.
  window.layerlab = {
    session,
    frames: frameCount,
    get experiment() {
      return experiment();
    },
    get watching() {
      return watching.runId;
    },
  };
}

function showPageError(text) {
  const el = $('page-error');
  el.hidden = false;
  el.textContent = text;
}

boot();
