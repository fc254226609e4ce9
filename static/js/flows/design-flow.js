// The design flow: the experiment document (a store, mirrored in the URL), the widgets that
// edit it (dataset picker, layer list, network editor, inspector, training form), the checker
// that marks what cannot run, and load() / change() for the other flows.

import { writeHash, clone } from '../state.js';
import { createChecker } from '../checker.js';
import { createStore, invalidate } from '../store.js';
import { partialCheck, designKey, firstError } from '../design.js';
import { api } from '../api.js';
import { DESIGN_ERROR } from '../run-session.js';
import { datasetPicker } from '../widgets/dataset-picker.js';
import { layerStack } from '../widgets/layer-stack.js';
import { networkEditor } from '../widgets/network-editor/index.js';
import { layerInspector } from '../widgets/layer-inspector.js';
import { trainingForm } from '../widgets/training-form.js';

const $ = (id) => document.getElementById(id);

/**
 * designFlow(page): fills page.design, page.experiment(), page.datasetOf(name), page.load(doc),
 * page.change(patch), page.picker, page.stack, page.editor, page.checker, page.redrawEditor(),
 * page.noteDesignChange(), page.updateBlocked(). `page` holds the registries and the other
 * flows' parts (read when called, so the flows may be built in any order).
 */
export function designFlow(page) {
  const { layerTypes, datasets, trainingSchema, datasetsByName } = page;
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
  const change = (patch) => design.set({ experiment: { ...experiment(), ...patch } });

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
    // A ready block (transformer, residual): the server appends its parts after the last layer.
    onBlock: async (name) => {
      try {
        const { layers } = await api.expandBlock(name, experiment());
        stack.blockMessage(null);
        setLayers(layers);
      } catch (err) {
        stack.blockMessage(err.message);
      }
    },
  });
  api.blocks().then((list) => stack.setBlocks(list), () => stack.setBlocks([]));
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
      page.views.hoverNeuron(node);
      page.steps.hover(node);
    },
    onEditWeight: (edit) => page.editWeight?.(edit),
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
  page.views.onGraph((g) => {
    graphState = g;
    redrawEditor();
  });
  const watchingMode = () => document.body.dataset.mode === 'watch';
  function redrawEditor() {
    const exp = experiment();
    if (!exp) return;
    const d = datasetOf(exp.dataset?.name);
    const session = page.session;
    const editable = !watchingMode() && Boolean(session?.token) && session?.status === 'paused';
    editor.set({ layers: exp.model.layers, check: checkState.check, errors: checkState.errors, family: d?.family, readOnly: watchingMode(), weightsEditable: editable, ...graphState });
    const i = editor.selected;
    inspector.show({
      index: i !== null && i < exp.model.layers.length ? i : null,
      layers: exp.model.layers,
      info: checkState.check?.layers?.find((l) => l.index === i) || null,
      errors: checkState.errors.get(i) || [],
      readOnly: watchingMode(),
    });
    invalidate('editor', () => {
      editor.draw();
      page.steps.redraw(); // the step's phase on the (possibly rebuilt) blocks
    });
  }
  const training = trainingForm({
    root: $('training-panel'),
    schema: trainingSchema.params,
    onChange: (values) => change({ training: { ...values, learning_rate: experiment().training.learning_rate, pace: experiment().training.pace ?? null } }),
  });

  // The last design that checked: the layers before an error keep its shapes and counts.
  let lastGood = null;
  let designBlocked = null;
  const checker = createChecker((result) => {
    const exp = experiment();
    if (result.ok) lastGood = { experiment: exp, check: result.check };
    const partial = result.ok ? null : partialCheck(lastGood, exp, result.errors);
    stack.setCheck(result.check, partial);
    if (result.ok) page.views.setCheck(result.check, exp.dataset.name);
    checkState = { check: result.check || partial, errors: result.errors.layers };
    redrawEditor();
    stack.setErrors(result.errors.layers);
    picker.setErrors(result.errors.dataset);
    training.setErrors(result.errors.training);
    const general = [...result.errors.general, ...(result.message ? [result.message] : [])];
    $('design-error').hidden = general.length === 0;
    $('design-error').textContent = general.join(' ');
    document.body.dataset.check = result.ok ? 'ok' : 'error';
    // Train is disabled with the reason while the design cannot run; a design error goes.
    designBlocked = result.ok ? null : `Train is off until the design is fixed: ${firstError(result) || 'the design cannot run.'}`;
    const session = page.session;
    if (result.ok && session.status === 'error' && session.message?.startsWith(DESIGN_ERROR)) session.setStatus('idle', null);
    updateBlocked();
  });
  /** The reason Train cannot start: the check's, else a field typed invalid (its own words). */
  function updateBlocked() {
    let why = designBlocked;
    if (!why) {
      const bad = [...document.querySelectorAll('#main [aria-invalid="true"], #deeper [aria-invalid="true"]')].find((el) => el.id !== 'live-lr');
      const msg = bad && document.getElementById(bad.getAttribute('aria-describedby') || '')?.textContent;
      if (bad) why = `Train is off until this field is fixed: ${msg || 'a value is not allowed.'}`;
    }
    page.controls.setBlocked(why);
  }
  document.addEventListener('input', () => setTimeout(updateBlocked, 0));

  // Every design change: into the URL, checked, shown in the views and the header.
  design.subscribe((state, patch) => {
    if ('experiment' in patch) {
      stopIfRedesigned(state.experiment);
      // A watcher's URL stays #watch=<id>; a lesson's names the lesson too.
      if (!page.watching.runId) writeHash(state.experiment, page.lessons.hashFor(state.experiment));
      checker.request(state.experiment);
      page.controls.setLearningRate(state.experiment.training.learning_rate);
      if (!page.session.active) page.controls.setPace(state.experiment.training.pace ?? null);
      page.header.showDesign(state.experiment);
      noteDesignChange();
    }
    const d = datasetOf(state.experiment?.dataset?.name);
    page.views.setDesign({ family: d?.family || null, dataset: d, preview: state.preview, layers: state.experiment?.model?.layers });
    page.uploads.setDesign(d?.family || null, state.experiment?.dataset, state.preview);
    redrawEditor();
  });

  /**
   * Editing the dataset or the model while this page's run is active stops that run (it stays
   * in Compare runs) and shows the new design at once: the screen never mixes two designs.
   */
  let noteTimer = null;
  function stopIfRedesigned(exp) {
    const session = page.session;
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

  /** Show a whole experiment in every widget (a starter, a link, "new"). */
  function load(doc) {
    page.openedDesign = null; // the saved design the editor holds (My designs), until another loads
    page.compare.setDesign(null);
    const exp = clone(doc);
    exp.training = { ...(exp.training || {}) };
    exp.model = { ...exp.model, layers: exp.model.layers || [] };
    picker.setSpec(exp.dataset);
    stack.setLayers(exp.model.layers);
    training.setValues(exp.training);
    design.set({ experiment: exp });
  }

  function noteDesignChange() {
    // The learning rate and the pace are live (they follow the run), so they do not count as a
    // change; the dataset and the model stop the run (stopIfRedesigned); other settings wait.
    const session = page.session;
    const key = (exp) => JSON.stringify({ ...exp, training: { ...exp.training, learning_rate: null, pace: null } });
    const started = session.startedWith ? JSON.parse(session.startedWith) : null;
    const differs = Boolean(session.runId && started && key(started) !== key(experiment()));
    if (!differs && !session.runId) return; // a "stopped because" note stays a few seconds
    $('design-note').hidden = !differs;
    $('design-note').textContent = differs
      ? 'The training settings changed since this run started: they apply from the next run (Reset, then Train). The learning rate and the pace apply at once.'
      : '';
  }

  Object.assign(page, { design, experiment, datasetOf, change, load, picker, stack, editor, checker, redrawEditor, noteDesignChange, updateBlocked, setLayers });
}
