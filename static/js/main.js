// LayerLab's page: wires the widgets, the design (a store, mirrored in the URL) and the run,
// one's own or, through a presenter link (#watch=<run id>), someone else's watched read-only.

import { api, ApiError } from './api.js';
import { readHash, writeHash, clone, isExperiment } from './state.js';
import { starterById, DEFAULT_STARTER } from './starters.js';
import { createChecker } from './checker.js';
import { createStore, invalidate, frameCount } from './store.js';
import { partialCheck, designKey, firstError } from './design.js';
import { headerControls } from './header.js';
import { datasetPicker } from './widgets/dataset-picker.js';
import { layerStack } from './widgets/layer-stack.js';
import { networkEditor } from './widgets/network-editor.js';
import { layerInspector } from './widgets/layer-inspector.js';
import { deeperViews } from './widgets/deeper-views.js';
import { trainingForm } from './widgets/training-form.js';
import { trainingControls } from './widgets/training-controls.js';
import { liveShare } from './widgets/live-share.js';
import { exportLinks } from './widgets/export-links.js';
import { lessonGallery, lessonById } from './widgets/lesson-gallery.js';
import { runCompare, rememberMyRun } from './widgets/run-compare.js';
import { myDesigns } from './widgets/my-designs.js'; // "My designs" panel (issue 11)
import { tryModel } from './widgets/try-model.js';
import { uploadPanel, layersFor } from './widgets/upload-panel.js'; // your own data (issue 12)
import { sweepPanel } from './widgets/sweep-panel.js'; // "Sweep" panel (issue 14)
import { addDeeperSection } from './widgets/deeper-views.js';
import { stepThrough } from './widgets/step-through.js'; // Step through one update (issue 9)
import { watchMode } from './watch-mode.js';
import { classBar } from './widgets/class-bar.js'; // a class: spotlight, push, lock (issue 13)
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
  // The registry entry of a dataset; an upload's family, task and inputs are its own (from
  // its preview), not the registry's.
  const datasetOf = (name) => {
    const d = datasetsByName.get(name);
    const p = design.get().preview;
    const id = experiment()?.dataset?.id;
    if (name !== 'upload' || !d || p?.upload?.id !== id) return d;
    return { ...d, family: p.family, task: p.task, feature_names: p.feature_names, class_names: p.class_names };
  };

  const views = createViews({ outputRoot: $('output-views'), viewsRoot: $('views') });
  deeperViews({ nav: $('deeper-nav'), root: $('deeper') });
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
  // The network on the stage is the editor too: both edit the same layers.
  let graphState = { boundary: null, featureLabels: null, outputScale: {} };
  let checkState = { check: null, errors: new Map() };
  const setLayers = (layers) => {
    stack.setLayers(layers);
    change({ model: { ...experiment().model, layers } });
  };
  const editor = networkEditor({
    root: $('network-editor'),
    layerTypes,
    onLayers: setLayers,
    onSelect: () => redrawEditor(),
    onHover: (node) => {
      views.hoverNeuron(node);
      steps.hover(node);
    },
  });
  // Step through: one optimiser step drawn on the graph, phase by phase (widgets/step-through.js).
  const steps = stepThrough({
    root: $('model-column'),
    graph: $('graph'),
    session,
    design: () => {
      const d = datasetsByName.get(experiment()?.dataset?.name);
      return { experiment: experiment(), preview: design.get().preview, family: d?.family, task: d?.task };
    },
    ensurePaused: () => ensurePaused(),
    onRelease: () => views.onSnapshot(session),
  });
  const inspector = layerInspector({
    root: $('inspector'),
    layerTypes,
    onLayers: (layers, select) => {
      setLayers(layers);
      editor.select(select);
    },
    onClose: () => editor.select(null),
  });
  views.onGraph((g) => {
    graphState = g;
    redrawEditor();
  });
  function redrawEditor() {
    const exp = experiment();
    if (!exp) return;
    const d = datasetOf(exp.dataset?.name);
    editor.set({ layers: exp.model.layers, check: checkState.check, errors: checkState.errors, family: d?.family, readOnly: document.body.dataset.mode === 'watch', ...graphState });
    const i = editor.selected;
    inspector.show({
      index: i !== null && i < exp.model.layers.length ? i : null,
      layers: exp.model.layers,
      info: checkState.check?.layers?.find((l) => l.index === i) || null,
      errors: checkState.errors.get(i) || [],
      readOnly: document.body.dataset.mode === 'watch',
    });
    invalidate('editor', () => {
      editor.draw();
      steps.redraw(); // the step's phase on the (possibly rebuilt) blocks
    });
  }
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
  const share = liveShare({ root: $('run-extras') });
  const downloads = exportLinks({ root: $('run-extras') });
  const tryIt = tryModel({ datasetsByName: { get: datasetOf } });
  // "Your own data": upload or draw a set; using it keeps the network when the family stays.
  const uploads = uploadPanel({
    root: $('upload-panel'),
    getSpec: () => experiment()?.dataset,
    onUse: (spec, made) => {
      const exp = experiment();
      const before = datasetOf(exp.dataset?.name)?.family;
      // Drawn points keep the feature crosses of the 2D set they were drawn over.
      const next = { ...spec, ...(made.kind === 'points' && exp.dataset?.crosses ? { crosses: exp.dataset.crosses } : {}) };
      const layers = before === made.family ? exp.model.layers : layersFor(made.family);
      picker.setSpec(next);
      stack.setLayers(layers);
      change({ dataset: next, model: { ...exp.model, layers } });
    },
  });
  const lessons = lessonGallery({
    button: $('lessons'),
    dialog: $('lesson-gallery'),
    note: $('lesson-note'),
    onChoose: (starter) => {
      session.reset();
      load(starter.experiment);
      if (starter.sweep) sweeps.prefill(starter.sweep); // a sweep lesson: its settings, ready
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
    onOpen: (exp, saved) => {
      stopWatching();
      session.reset();
      lessons.clear();
      load(exp);
      openedDesign = saved; // runs started now come from it ("runs of this design" in Compare)
      compare.setDesign(saved);
    },
  });

  // "Sweep" (below the views): the current design in several variants at once.
  const sweeps = sweepPanel({
    root: addDeeperSection({ id: 'sweep-panel', title: 'Sweep', element: null }),
    getExperiment: experiment,
  });

  const watching = watchMode({
    banner: $('watch-banner'),
    locks: [$('dataset-panel'), $('upload-panel'), $('training-panel'), $('model-panel'), $('layers-panel')],
    onChange: (on) => {
      stack.setReadOnly(on);
      editor.select(null);
      redrawEditor();
      controls.setWatching(on);
      header.setWatching(on);
      controls.update(session);
    },
  });

  // The last design that checked: the layers before an error keep its shapes and counts.
  let lastGood = null;
  const checker = createChecker((result) => {
    const exp = experiment();
    if (result.ok) lastGood = { experiment: exp, check: result.check };
    const partial = result.ok ? null : partialCheck(lastGood, exp, result.errors);
    stack.setCheck(result.check, partial);
    if (result.ok) views.setCheck(result.check, exp.dataset.name);
    checkState = { check: result.check || partial, errors: result.errors.layers };
    redrawEditor();
    stack.setErrors(result.errors.layers);
    picker.setErrors(result.errors.dataset);
    training.setErrors(result.errors.training);
    const general = [...result.errors.general, ...(result.message ? [result.message] : [])];
    $('design-error').hidden = general.length === 0;
    $('design-error').textContent = general.join(' ');
    document.body.dataset.check = result.ok ? 'ok' : 'error';
    // Train is disabled with the reason while the design cannot run; "could not start" goes.
    designBlocked = result.ok ? null : `Train is off until the design is fixed: ${firstError(result) || 'the design cannot run.'}`;
    if (result.ok && session.status === 'error') session.setStatus('idle', null);
    updateBlocked();
  });
  let designBlocked = null;
  /** The reason Train cannot start: the check's, else a field typed invalid (its own words). */
  function updateBlocked() {
    let why = designBlocked;
    if (!why) {
      const bad = [...document.querySelectorAll('#main [aria-invalid="true"], #deeper [aria-invalid="true"]')].find((el) => el.id !== 'live-lr');
      const msg = bad && document.getElementById(bad.getAttribute('aria-describedby') || '')?.textContent;
      if (bad) why = `Train is off until this field is fixed: ${msg || 'a value is not allowed.'}`;
    }
    controls.setBlocked(why);
  }
  document.addEventListener('input', () => setTimeout(updateBlocked, 0));

  // Every design change: into the URL, checked, shown in the views and the header.
  design.subscribe((state, patch) => {
    if ('experiment' in patch) {
      stopIfRedesigned(state.experiment);
      // A watcher's URL stays #watch=<id>; a lesson's names the lesson too.
      if (!watching.runId) writeHash(state.experiment, lessons.hashFor(state.experiment));
      checker.request(state.experiment);
      controls.setLearningRate(state.experiment.training.learning_rate);
      header.showDesign(state.experiment);
      noteDesignChange();
    }
    const d = datasetOf(state.experiment?.dataset?.name);
    views.setDesign({ family: d?.family || null, dataset: d, preview: state.preview, layers: state.experiment?.model?.layers });
    uploads.setDesign(d?.family || null, state.experiment?.dataset, state.preview);
    redrawEditor();
  });

  /**
   * Editing the dataset or the model while this page's run is active stops that run (it stays
   * in Compare runs) and shows the new design at once: the screen never mixes two designs.
   */
  function stopIfRedesigned(exp) {
    if (!session.token || !session.active || !session.startedWith) return;
    const started = JSON.parse(session.startedWith);
    if (designKey(started) === designKey(exp)) return;
    session.reset(); // stops it, forgets its stream; the views go back to the design
    $('design-note').hidden = false;
    $('design-note').textContent = 'The run was stopped because the design changed (it stays in Compare runs). Press Train to train the new design.';
    clearTimeout(noteTimer);
    noteTimer = setTimeout(() => {
      if (!session.runId) $('design-note').hidden = true;
    }, 8000);
  }
  let noteTimer = null;

  function change(patch) {
    design.set({ experiment: { ...experiment(), ...patch } });
  }

  /** Show a whole experiment in every widget (a starter, a link, "new"). */
  // The saved design the editor holds (opened from My designs), until another one is loaded.
  let openedDesign = null;
  function load(doc) {
    openedDesign = null;
    compare.setDesign(null);
    const exp = clone(doc);
    exp.training = { ...(exp.training || {}) };
    exp.model = { ...exp.model, layers: exp.model.layers || [] };
    picker.setSpec(exp.dataset);
    stack.setLayers(exp.model.layers);
    training.setValues(exp.training);
    design.set({ experiment: exp });
  }

  function noteDesignChange() {
    // The learning rate is live (it follows the run), so it does not count as a change; the
    // dataset and the model stop the run (stopIfRedesigned); other training settings wait.
    const key = (exp) => JSON.stringify({ ...exp, training: { ...exp.training, learning_rate: null } });
    const started = session.startedWith ? JSON.parse(session.startedWith) : null;
    const differs = Boolean(session.runId && started && key(started) !== key(experiment()));
    if (!differs && !session.runId) return; // a "stopped because" note stays a few seconds
    $('design-note').hidden = !differs;
    $('design-note').textContent = differs
      ? 'The training settings changed since this run started: they apply from the next run (Reset, then Train). The learning rate applies at once.'
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

  /** Step through needs a paused run of this page's own: pause it, or create one paused. */
  async function ensurePaused() {
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
    starting = true;
    try {
      session.setStatus('starting', null);
      const result = await checker.settled();
      if (!result.ok) {
        session.setStatus('error', `The design cannot run: ${firstError(result) || 'see the marked field.'}`);
        return;
      }
      views.reset();
      try {
        await session.start(clone(experiment()), { paused, design: openedDesign?.id });
      } catch {
        return; // the session shows the error in words
      }
      rememberMyRun(session.runId); // Compare runs lists this browser's runs first, as "mine"
      noteDesignChange();
      if (thenStep) await session.step(); // created paused: exactly one epoch
    } finally {
      starting = false;
    }
  }

  function onSession(kind, s) {
    if (kind === 'records') views.onRecords(s);
    else if (kind === 'snapshot' && !steps.holdSnapshot()) views.onSnapshot(s);
    else if (kind === 'trace') steps.onTrace(s.trace);
    else if (kind === 'reset') {
      views.reset();
      steps.reset();
      noteDesignChange();
    }
    invalidate('controls', () => {
      controls.update(s);
      share.update(s);
      downloads.update(s);
      tryIt.update(s);
      steps.update();
    });
  }

  const redraw = () => {
    views.redrawAll();
    picker.redraw();
    uploads.redraw();
    compare.redraw();
    sweeps.redraw();
  };
  onThemeChange(redraw);
  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(redraw, 100);
  });

  // --- The class (#class=<code>): the spotlight, designs the teacher pushes, the lock -------
  let ownDesign = null; // the student's design while the spotlight shows someone else's run
  let classLocked = false;
  const classLocks = [$('dataset-panel'), $('training-panel'), $('model-panel'), $('layers-panel')];
  function applyClassLock() {
    if (watching.runId) return; // watch mode locks everything itself
    for (const el of classLocks) el.disabled = classLocked;
    stack.setReadOnly(classLocked);
    header.setWatching(classLocked);
  }
  function classNote(text) {
    $('design-note').hidden = false;
    $('design-note').textContent = text;
  }
  const classroom = classBar({
    root: $('class-bar'),
    onSpotlight: async (runId) => {
      if (runId) {
        if (!watching.runId) ownDesign = clone(experiment());
        session.detach(); // the student's own run goes on (watching it must not stop it)
        await watchRun(runId);
        return;
      }
      if (!watching.runId) return;
      stopWatching();
      if (ownDesign) load(ownDesign);
      ownDesign = null;
      applyClassLock();
    },
    onPush: (pushed) => {
      if (watching.runId) ownDesign = clone(pushed); // shown once the spotlight ends
      else load(pushed);
      classNote('Your teacher sent this design: it is loaded. Press Train to train it.');
    },
    onLock: (locked) => {
      classLocked = locked;
      applyClassLock();
    },
  });

  // --- Start: the run a presenter link names, else the URL's design or lesson, else the default
  const state = readHash();
  const lesson = lessonById(state.lesson);
  let initial = state.experiment || lesson?.experiment || starterById(state.starter)?.experiment;
  if (state.error) showPageError(`${state.error} Showing a starter design instead.`);
  if (state.lesson && !lesson) showPageError(`There is no lesson “${state.lesson}”: the Lessons button lists them all.`);
  if (!isExperiment(initial)) initial = starterById(DEFAULT_STARTER).experiment;
  if (lesson) lessons.show(lesson.id); // before load(): the URL then names the lesson
  if (lesson?.sweep) sweeps.prefill(lesson.sweep);
  if (!(state.watch && (await watchRun(state.watch)))) load(initial);
  controls.update(session);
  share.update(session);
  downloads.update(session);
  tryIt.update(session);
  document.body.dataset.ready = 'true';
  // For the console and the browser tests: the live session and the current design.
  window.layerlab = {
    session,
    sweeps,
    frames: frameCount,
    get experiment() {
      return experiment();
    },
    get watching() {
      return watching.runId;
    },
    classroom,
  };
}

function showPageError(text) {
  const el = $('page-error');
  el.hidden = false;
  el.textContent = text;
}

boot();
