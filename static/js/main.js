// LayerLab's page: loads the registries, then builds one flow per concern on a shared `page`
// object: the design (flows/design-flow.js), the run (flows/run-flow.js), watching someone
// else's run (flows/watch-flow.js) and the class (flows/class-flow.js). The widgets that
// belong to no one flow (views, lessons, header, compare, my designs, sweeps, uploads, step
// through) are wired here.

import { api } from './api.js';
import { readHash, writeHash, clone, isExperiment } from './state.js';
import { starterById, DEFAULT_STARTER } from './starters.js';
import { drawCosts, frameCount } from './store.js';
import { headerControls } from './header.js';
import { deeperViews, addDeeperSection } from './widgets/deeper-views.js';
import { lessonGallery, lessonById } from './widgets/lesson-gallery.js';
import { runCompare } from './widgets/run-compare.js';
import { myDesigns } from './widgets/my-designs.js'; // "My designs" panel (issue 11)
import { uploadPanel, layersFor } from './widgets/upload-panel.js'; // your own data (issue 12)
import { sweepPanel } from './widgets/sweep-panel.js'; // "Sweep" panel (issue 14)
import { stepThrough } from './widgets/step-through.js'; // Step through one update (issue 9)
import { RunSession } from './run-session.js';
import { createViews, surfaceFrameCount } from './views.js';
import { onThemeChange } from './util/colors.js';
import { setFontScale } from './util/plot.js';
import { designFlow } from './flows/design-flow.js';
import { runFlow } from './flows/run-flow.js';
import { watchFlow } from './flows/watch-flow.js';
import { classFlow } from './flows/class-flow.js';
import { weightFlow } from './flows/weight-flow.js';
import { tryItFlow } from './flows/tryit-flow.js'; // Try it: text and speech (issue 23)
import { insightFlow } from './flows/insight-flow.js'; // projector, recommendations (issue 23)

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
  // Every flow reads the others' parts from here when it is called.
  const page = { layerTypes, datasets, trainingSchema, datasetsByName: new Map(datasets.map((d) => [d.name, d])), showError: showPageError, openedDesign: null };
  // The design (flows/design-flow.js fills page.design): widgets built before it may ask.
  page.experiment = () => page.design?.get().experiment ?? null;

  page.views = createViews({ outputRoot: $('output-views'), viewsRoot: $('views') });
  deeperViews({ nav: $('deeper-nav'), root: $('deeper') });
  page.session = new RunSession((kind, s) => page.onSession(kind, s));
  page.views.setSession(page.session);
  // "Your own data": upload or draw a set; using it keeps the network when the family stays.
  page.uploads = uploadPanel({
    root: $('upload-panel'),
    getSpec: () => page.experiment()?.dataset,
    onUse: (spec, made) => {
      const exp = page.experiment();
      const before = page.datasetOf(exp.dataset?.name)?.family;
      // Drawn points keep the feature crosses of the 2D set they were drawn over.
      const next = { ...spec, ...(made.kind === 'points' && exp.dataset?.crosses ? { crosses: exp.dataset.crosses } : {}) };
      const layers = before === made.family ? exp.model.layers : layersFor(made.family);
      page.picker.setSpec(next);
      page.stack.setLayers(layers);
      page.change({ dataset: next, model: { ...exp.model, layers } });
    },
  });
  page.lessons = lessonGallery({
    button: $('lessons'),
    dialog: $('lesson-gallery'),
    note: $('lesson-note'),
    onChoose: (starter) => {
      page.session.reset();
      page.load(starter.experiment);
      if (starter.sweep) page.sweeps.prefill(starter.sweep); // a sweep lesson: its settings, ready
      if (starter.capture === 'camera') page.uploads.openCamera(); // a capture lesson: its panel, open
    },
    onDismiss: () => {
      if (!page.watching.runId) writeHash(page.experiment());
    },
  });
  const fresh = (exp) => {
    page.session.reset();
    page.lessons.clear(); // another design: the lesson note no longer applies
    page.load(exp);
  };
  page.header = headerControls({
    getExperiment: () => page.experiment(),
    onLoad: fresh,
    onNew: () => {
      const d = page.datasetsByName.get(page.experiment().dataset.name) || datasets[0];
      const { training: t } = starterById(DEFAULT_STARTER).experiment;
      fresh({ dataset: { name: d.name, ...clone(d.defaults || {}) }, model: { layers: [] }, training: clone(t) });
    },
    onProjector: (on) => {
      setFontScale(on ? 1.35 : 1);
      page.views.redrawAll();
      page.picker.redraw();
      page.compare.redraw();
      page.redrawEditor();
    },
  });
  page.compare = runCompare({
    root: $('compare-panel'),
    currentRunId: () => page.session.runId,
    onLoad: (exp) => {
      page.stopWatching(); // a watcher leaves the watched run for an editable copy of this design
      fresh(exp);
    },
  });
  // "My designs" (saved on the server): opening one loads it like a starter.
  myDesigns({
    root: $('my-designs-panel'),
    getExperiment: () => page.experiment(),
    onOpen: (exp, saved) => {
      page.stopWatching();
      fresh(exp);
      page.openedDesign = saved; // runs started now come from it ("runs of this design" in Compare)
      page.compare.setDesign(saved);
    },
  });
  // "Sweep" (below the views): the current design in several variants at once.
  page.sweeps = sweepPanel({
    root: addDeeperSection({ id: 'sweep-panel', title: 'Sweep', element: null }),
    getExperiment: () => page.experiment(),
  });

  runFlow(page);
  designFlow(page);
  // Step through: one optimiser step drawn on the graph (the editor's), phase by phase.
  page.steps = stepThrough({
    root: $('model-column'),
    graph: $('graph'),
    session: page.session,
    design: () => {
      const exp = page.experiment();
      const d = page.datasetsByName.get(exp?.dataset?.name);
      return { experiment: exp, preview: page.design.get().preview, family: d?.family, task: d?.task };
    },
    ensurePaused: () => page.ensurePaused(),
    onRelease: () => page.views.onSnapshot(page.session),
  });

  insightFlow(page); // after stepThrough: its strip shares the Step through row
  tryItFlow(page); // after insightFlow: its button joins that strip
  watchFlow(page);
  weightFlow(page);
  classFlow(page);

  const redraw = () => {
    page.views.redrawAll();
    page.picker.redraw();
    page.uploads.redraw();
    page.compare.redraw();
    page.sweeps.redraw();
    page.tryIt.redraw();
    page.insight.redraw();
    page.redrawEditor();
  };
  onThemeChange(redraw);
  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(redraw, 100);
  });

  // Start: the run a presenter link names, else the URL's design or lesson, else the default.
  const state = readHash();
  const lesson = lessonById(state.lesson);
  let initial = state.experiment || lesson?.experiment || starterById(state.starter)?.experiment;
  if (state.error) showPageError(`${state.error} Showing a starter design instead.`);
  if (state.lesson && !lesson) showPageError(`There is no lesson “${state.lesson}”: the Lessons button lists them all.`);
  if (!isExperiment(initial)) initial = starterById(DEFAULT_STARTER).experiment;
  if (lesson) page.lessons.show(lesson.id); // before load(): the URL then names the lesson
  if (lesson?.sweep) page.sweeps.prefill(lesson.sweep);
  if (lesson?.capture === 'camera') page.uploads.openCamera();
  const shown = state.watch ? await page.watchRun(state.watch) : false; // null: superseded
  if (shown === false) page.load(initial);
  page.updateRunParts(page.session);
  document.body.dataset.ready = 'true';
  // For the console and the browser tests: the live session and the current design.
  window.layerlab = {
    session: page.session,
    sweeps: page.sweeps,
    frames: frameCount,
    drawCosts,
    surfaceFrames: surfaceFrameCount,
    get experiment() {
      return page.experiment();
    },
    get watching() {
      return page.watching.runId;
    },
    classroom: page.classroom,
    checked: () => page.checker.settled(), // the check of the current design, once it lands
  };
}

function showPageError(text) {
  const el = $('page-error');
  el.hidden = false;
  el.textContent = text;
}

boot();
