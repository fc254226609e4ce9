// The live views: builds each view's panel (title, explanation, canvas, readout), decides which
// apply to the current family and snapshot, and redraws them at most once per animation frame.

import { h, formatNumber } from './util/dom.js';
import { themeWords } from './util/colors.js';
import { invalidate } from './store.js';
import { invalidateSeen, watchOnScreen } from './util/offscreen.js';
import { lineChart } from './widgets/loss-chart.js';
import { surfaceView } from './widgets/heatmap.js';
import { histogramsView } from './widgets/histograms.js';
import { normsChart } from './widgets/norms-chart.js';
import { imageGridView, pairGridView } from './widgets/image-grid.js';
import { confusionMatrix } from './widgets/confusion-matrix.js';
import { forecastPlot, hiddenStateView, probabilitiesView } from './widgets/sequence-plot.js';
import { latentScatter, anomalyChart } from './widgets/latent-scatter.js';
import { metricSeries, lossSeries, metricNames } from './metrics.js';
import { lossStage } from './widgets/loss-stage.js';
import { attentionView, joinsView } from './widgets/attention-map.js';

/** A view panel: <section> with a title, a "what is this?" note, a canvas and a readout. */
const themed = []; // [element, attribute|null, fn(words)]: help texts redone when the theme changes

/** Put `help` (a string, or a function of the theme's colour words) into el's text or attribute. */
function themedText(el, attr, help, prefix = '') {
  const apply = () => {
    const text = prefix + (typeof help === 'function' ? help(themeWords()) : help);
    if (attr) el.setAttribute(attr, text);
    else el.textContent = text;
  };
  apply();
  if (typeof help === 'function') themed.push(apply);
}

function panel(id, title, help, { families = null, wide = false, tall = false, needs = null, when = null } = {}) {
  const readout = h('p', { class: 'readout', id: `${id}-readout`, 'aria-live': 'polite' });
  const canvas = h('canvas', { id, class: `view-canvas${tall ? ' tall' : ''}`, role: 'img' });
  themedText(canvas, 'aria-label', help, `${title}. `);
  themedText(canvas, 'title', help);
  const helpText = h('p', {});
  themedText(helpText, null, help);
  const el = h(
    'section',
    { class: `view${wide ? ' wide' : ''}`, id: `view-${id}`, dataset: { view: id } },
    h('h3', { class: 'view-title' }, title),
    h('details', { class: 'help' }, h('summary', { title: 'What is this?' }, h('span', { class: 'help-long' }, 'What is this?'), h('span', { class: 'help-short', 'aria-hidden': 'true' }, '?')), helpText),
    canvas,
    readout,
  );
  return { id, el, canvas, readout, families, needs, when };
}

// The family's main view, shown on the stage beside the loss (the others go below).
function mainViewOf(family, task, name) {
  if (family === '2d') return 'boundary';
  if (family === 'image') return 'predictions';
  if (family === 'autoencoder') return 'reconstructions';
  if (PER_POSITION.has(name)) return 'attention';
  if (family === 'sequence') return task === 'classification' ? 'probabilities' : 'forecast';
  return 'metric-chart'; // tables: the accuracy
}

const CONV_TYPES = new Set(['conv2d', 'conv_transpose2d']);
// Token tasks classified per position: their main view is what attention looks at.
const PER_POSITION = new Set(['reverse', 'sort', 'copy']);

let surfaceFrames = 0;
/** How many times the decision surface was redrawn with a snapshot (a benchmark reads it). */
export function surfaceFrameCount() {
  return surfaceFrames;
}

export function createViews({ outputRoot, viewsRoot }) {
  const panels = {};
  const add = (p, root) => {
    panels[p.id] = p;
    root.append(p.el);
    return p;
  };

  // Output column: loss and metric charts for every model, the decision surface for 2D.
  const lossP = add(panel('loss-chart', 'Loss', 'The loss measures how wrong the network is on average: it should go down. Solid: training data; dashed: validation data the network never trains on. When validation rises while training falls, the network is overfitting.'), outputRoot);
  const metricSelect = h('select', { id: 'metric-select', 'aria-label': 'Metric shown in the chart' });
  const metricP = add(panel('metric-chart', 'Metric', 'How good the predictions are, in the task’s own terms: accuracy for classes (higher is better), mean absolute error (lower is better) or R² (1 is perfect) for numbers.'), viewsRoot);
  metricP.el.querySelector('.view-title').append(' ', metricSelect);
  const surfaceP = add(panel('boundary', 'Decision surface', (w) => `The network’s output over the whole input plane, with the data on top. For classes, blue and orange are the two predictions and ${w.neutral} is undecided; filled dots are training points, ${w.ringed} dots are validation points (held out: the network never trains on them). Hover a neuron in the network to see its own surface here.`, { families: ['2d'], needs: 'boundary' }), outputRoot);
  // The surface's toggles (TensorFlow Playground's): validation points shown, output discretized.
  const toggle = (id, text, checked, tip) => {
    const input = h('input', { type: 'checkbox', id, checked });
    input.addEventListener('change', () => {
      updateSurface();
      invalidate('surface', drawSurface);
    });
    return { input, el: h('label', { class: 'surface-toggle', for: id, title: tip }, input, text) };
  };
  const showTest = toggle('surface-show-test', 'validation data', true, 'Show the validation points (held out: the network never trains on them)');
  const discretize = toggle('surface-discretize', 'discretize', false, 'Colour each side of the boundary in one colour: where the prediction changes, not how sure it is');
  surfaceP.el.querySelector('.view-title').append(h('span', { class: 'surface-toggles' }, showTest.el, discretize.el));

  // Loss as numbers above its chart, the task's metric beside them, the x axis toggle, and
  // a fixed line under the chart for the best epoch and overfitting (widgets/loss-stage.js).
  const stage = lossStage({ panel: lossP });

  // Family views.
  const filtersP = add(panel('filters', 'First convolution’s filters', 'The weights of each filter of the first convolution: blue positive, orange negative. Trained filters often look like edge or stroke detectors.', { families: ['image'], needs: 'filters', when: 'conv' }), viewsRoot);
  const mapsP = add(panel('feature-maps', 'Feature maps of a probe image', (w) => `What each channel of a convolution or pooling layer responds to in one validation image (shown first, as the probe): ${w.active} means strongly active. A channel that stays ${w.blank} is dead: its ReLU outputs 0 for this image (often for every image).`, { families: ['image'], needs: 'images', wide: true, when: 'conv' }), viewsRoot);
  const mapsSelect = h('select', { id: 'feature-layer', 'aria-label': 'Layer whose feature maps are shown', hidden: true });
  mapsP.el.querySelector('.view-title').append(' ', mapsSelect);
  mapsSelect.addEventListener('change', () => drawSnapshot());
  const predsP = add(panel('predictions', 'Predictions', 'Validation images with the predicted class: green ✓ right, red ✗ wrong. Hover an image for its true class.', { families: ['image'], needs: 'images' }), viewsRoot);
  const confP = add(panel('confusion', 'Confusion matrix', 'Rows are the true classes, columns the predictions. A perfect model only fills the diagonal; bright cells off it show which classes get mixed up.', { families: ['image'], needs: 'confusion' }), viewsRoot);
  const reconP = add(panel('reconstructions', 'Originals and reconstructions', 'Each validation example (top) beside what the autoencoder rebuilds from its small code (below). Sharper copies mean the code kept more of the input.', { families: ['autoencoder'], needs: 'autoencoder', wide: true }), viewsRoot);
  const latentP = add(panel('latent', 'Latent space', 'Where each example lands in the code the encoder makes, coloured by its class (the autoencoder never saw the classes).', { families: ['autoencoder'], needs: 'latent' }), viewsRoot);
  const anomalyP = add(panel('anomaly', 'Anomaly scores', 'How badly each validation example is reconstructed. Unusual inputs are rebuilt badly, so a high score flags an anomaly.', { families: ['autoencoder'], needs: 'anomaly' }), viewsRoot);
  const forecastP = add(panel('forecast', 'Forecast against truth', 'The recent values the network sees (grey), what really came next (solid) and what the network predicted (dashed).', { families: ['sequence'], needs: 'forecast', wide: true }), viewsRoot);
  const hiddenP = add(panel('hidden-state', 'Hidden state over time', 'The recurrent layer’s memory while it reads one sequence: one row per unit, time left to right, blue positive, orange negative.', { families: ['sequence'], needs: 'hidden' }), viewsRoot);
  const probsP = add(panel('probabilities', 'Predicted class probabilities', 'For a few validation series, how likely the network thinks each class is.', { families: ['sequence'], needs: 'probabilities' }), viewsRoot);
  const attentionP = add(panel('attention', 'Attention', 'Where each position of one validation sequence looks, per head: row i is position i, the dark cells are the positions whose values it mixes in. While a network learns to reverse a sequence, the map becomes the anti-diagonal.', { needs: 'attention', wide: true }), viewsRoot);
  const attentionControls = h('span', { class: 'attention-controls' });
  attentionP.el.querySelector('.view-title').append(' ', attentionControls);
  const joinsP = add(panel('joins', 'Skips against blocks', 'For each add layer, the size (norm) of what arrives around the block through the skip, beside what the block adds to it. Through skips the signal, and the gradient, reach deep layers intact.', { needs: 'joins' }), viewsRoot);
  const histP = add(panel('histograms', 'Activation histograms', 'The distribution of each layer’s outputs on a batch: now (bars) and over the run (right, darker = more values). Values piled at the edges mean saturated units; a spike at zero after ReLU means dead units.', { wide: true }), viewsRoot);
  const normsP = add(panel('norms-chart', 'Weight and gradient norms', 'The size of each layer’s weights and of their gradients, on a log scale. Gradients that shrink towards the first layers are vanishing; norms that shoot up are exploding.', { wide: true }), viewsRoot);

  const loss = lineChart({ canvas: lossP.canvas, readout: lossP.readout, series: lossSeries(), labelSize: 16, smooth: true });
  stage.attach(loss, () => drawLoss());
  const metric = lineChart({ canvas: metricP.canvas, readout: metricP.readout, series: [], includeZero: false });
  const surface = surfaceView({ canvas: surfaceP.canvas, readout: surfaceP.readout });
  let hoveredNode = null;
  let onGraph = null; // the network editor's redraw, when a snapshot or the design changes
  const filters = imageGridView({ canvas: filtersP.canvas, readout: filtersP.readout });
  const maps = imageGridView({ canvas: mapsP.canvas, readout: mapsP.readout });
  const preds = imageGridView({ canvas: predsP.canvas, readout: predsP.readout });
  const conf = confusionMatrix({ canvas: confP.canvas, readout: confP.readout });
  const recon = pairGridView({ canvas: reconP.canvas, readout: reconP.readout });
  const latent = latentScatter({ canvas: latentP.canvas, readout: latentP.readout });
  const anomaly = anomalyChart({ canvas: anomalyP.canvas, readout: anomalyP.readout });
  const forecast = forecastPlot({ canvas: forecastP.canvas, readout: forecastP.readout });
  const hidden = hiddenStateView({ canvas: hiddenP.canvas, readout: hiddenP.readout });
  const probs = probabilitiesView({ canvas: probsP.canvas, readout: probsP.readout });
  const attention = attentionView({ canvas: attentionP.canvas, readout: attentionP.readout, controls: attentionControls });
  const joins = joinsView({ canvas: joinsP.canvas, readout: joinsP.readout });
  const hists = histogramsView({ canvas: histP.canvas });
  const norms = normsChart({ canvas: normsP.canvas, legend: normsP.readout });
  for (const p of [metricP, histP, normsP]) watchOnScreen(p.el); // off screen: drawn less often

  // check: the latest successful POST /api/check, for checkDataset (the design's graph).
  const ctx = { family: null, dataset: null, preview: null, snapshot: null, session: null, metric: null, check: null, checkDataset: null };

  metricSelect.addEventListener('change', () => {
    ctx.metric = metricSelect.value;
    metric.setSeries(metricSeries(ctx.metric));
    invalidateSeen('metric', metricP.el, metric.draw);
  });

  function available(snapshot) {
    const s = snapshot || {};
    const seq = s.sequence || {};
    return {
      boundary: Boolean(s.boundary),
      images: Boolean(s.images),
      filters: Boolean(s.images?.filters),
      confusion: Boolean(s.images?.confusion || s.confusion),
      autoencoder: Boolean(s.autoencoder?.originals),
      latent: Boolean(s.autoencoder?.latent),
      anomaly: Boolean(s.autoencoder?.anomaly),
      forecast: Array.isArray(seq.prediction) && seq.prediction.length > 0 && !seq.probabilities?.length,
      hidden: Boolean(seq.hidden),
      probabilities: Array.isArray(seq.probabilities) && seq.probabilities.length > 0,
      attention: Boolean(s.graph?.attention?.length),
      joins: Boolean(s.graph?.joins?.length),
    };
  }

  function updateVisibility() {
    const have = ctx.snapshot ? available(ctx.snapshot) : null;
    placeMain();
    const hasConv = (ctx.layers || []).some((l) => CONV_TYPES.has(l.type));
    for (const p of Object.values(panels)) {
      let show = !p.families || p.families.includes(ctx.family) || p.id === ctx.main;
      // A view that cannot apply is not shown: filters and feature maps need a convolution.
      if (p.when === 'conv' && !hasConv) show = false;
      if (show && have && p.needs) show = have[p.needs];
      // Graph views wait for a design that has what they show: attention, an add layer.
      if (!have && p.needs === 'attention') show = show && (ctx.layers || []).some((l) => l.type === 'attention');
      if (!have && p.needs === 'joins') show = show && (ctx.layers || []).some((l) => l.type === 'add');
      if (!have && p.needs === 'anomaly') show = show && /anomal/i.test(ctx.dataset?.name || '');
      if (!have && p.id === 'forecast') show = show && ctx.dataset?.task !== 'classification';
      if (!have && p.id === 'probabilities') show = show && ctx.dataset?.task === 'classification';
      p.el.hidden = !show;
    }
  }

  /** Put the family's main view on the stage (beside the loss), the one it replaces back below. */
  function placeMain() {
    const main = mainViewOf(ctx.family, ctx.dataset?.task, ctx.dataset?.name);
    if (main === ctx.main) return;
    const old = panels[ctx.main];
    if (old) {
      old.el.classList.remove('main-view');
      viewsRoot.prepend(old.el);
    }
    ctx.main = main;
    const p = panels[main];
    if (p) {
      p.el.classList.add('main-view');
      outputRoot.append(p.el);
    }
    document.body.dataset.mainView = main;
  }

  function outputScale() {
    const b = ctx.snapshot?.boundary;
    if (!b) return {};
    if (b.kind === 'probability') return { center: 0.5, domain: 0.5 };
    if (b.kind === 'class') return { kind: 'class', classes: b.classes };
    const g = b.output;
    if (!b.kind && ctx.dataset?.task === 'classification' && g && g.lo >= 0 && g.hi <= 1) return { center: 0.5, domain: 0.5 };
    return {};
  }

  function outputName() {
    const kind = ctx.snapshot?.boundary?.kind;
    if (kind === 'probability') return `P(${ctx.preview?.class_names?.[1] ?? 'class 1'})`;
    if (kind === 'class') return 'predicted class';
    return 'prediction';
  }

  function pointsFor() {
    const p = ctx.preview;
    if (!Array.isArray(p?.points) || p.points[0]?.length !== 2 || p.kind === 'table') return {};
    const train = p.points;
    const val = Array.isArray(p.val_points) ? p.val_points : [];
    const points = [...train, ...val];
    const labels = [...(p.labels || []), ...(p.val_labels || [])];
    const test = [...train.map(() => false), ...val.map(() => true)];
    const regression = ctx.dataset?.task === 'regression';
    const nClasses = regression ? 0 : p.class_names?.length || new Set(labels).size;
    return { points, labels, extent: p.extent, pointOptions: { regression, test, nClasses, radius: 3 } };
  }

  function updateSurface() {
    const b = ctx.snapshot?.boundary;
    const pts = { ...pointsFor(), showTest: showTest.input.checked };
    if (!b) {
      surface.set(pts.points ? { ...pts, extent: pts.extent || [-1, 1, -1, 1], caption: `The data: filled dots train the network, ${themeWords().ringed} dots are held out for validation.` } : null);
      return;
    }
    const node = hoveredNode;
    if (node && node.kind !== 'output' && node.grid) {
      const title = node.kind === 'input' ? `Feature ${node.name}` : `Layer ${node.layer + 1}, neuron ${node.index + 1}`;
      surface.set({ ...pts, grid: node.grid, extent: b.extent, scale: {}, showPoints: false, title, valueName: node.kind === 'input' ? 'value' : 'activation', caption: `${title}: what it computes over the plane.` });
    } else {
      surface.set({ ...pts, grid: b.output, confidence: b.kind === 'class' ? b.confidence : null, extent: b.extent, scale: { ...outputScale(), discretize: discretize.input.checked }, valueName: outputName(), caption: 'Hover the surface to read the prediction at a point.' });
    }
  }

  function drawSurface() {
    surface.draw();
    if (ctx.snapshot?.boundary) surfaceFrames += 1;
  }

  function classNames() {
    return ctx.snapshot?.images?.class_names || ctx.snapshot?.sequence?.class_names || ctx.preview?.class_names || null;
  }

  /** The network editor follows the snapshot's neurons and weights (2D runs). */
  function updateGraph() {
    onGraph?.({ boundary: ctx.snapshot?.boundary || null, featureLabels: ctx.preview?.feature_labels, outputScale: outputScale() });
  }

  function drawSnapshot() {
    const s = ctx.snapshot;
    updateVisibility();
    updateGraph();
    updateSurface();
    invalidate('surface', drawSurface);
    if (s?.images) {
      const im = s.images;
      filters.set({ grid: im.filters, colour: 'diverging', itemName: 'Filter', caption: 'Blue positive weights, orange negative.' });
      const layersProbed = im.feature_maps || [];
      const options = layersProbed.map((f, i) => `${f.layer ?? i}`);
      if (options.join(',') !== [...mapsSelect.options].map((o) => o.value).join(',')) {
        mapsSelect.replaceChildren(...layersProbed.map((f, i) => h('option', { value: String(f.layer ?? i) }, `layer ${(f.layer ?? i) + 1} · ${f.type ?? ''}`)));
      }
      mapsSelect.hidden = layersProbed.length < 2;
      const fm = layersProbed.find((f, i) => String(f.layer ?? i) === mapsSelect.value) || layersProbed[0];
      maps.set({ grid: fm?.maps, colour: 'heat', itemName: 'Channel', probe: im.samples, gaps: true, caption: fm ? `Each channel of layer ${(fm.layer ?? 0) + 1} (${fm.type ?? 'conv'}) for the validation image on the left; a ${themeWords().blank} channel is dead (its ReLU gives 0 here).` : '' });
      preds.set({ grid: im.samples, labels: im.labels, predictions: im.predictions, classNames: classNames() });
      conf.set({ matrix: im.confusion, classNames: classNames() });
      for (const v of [filters, maps, preds, conf]) invalidate(v, v.draw);
    }
    const ae = s?.autoencoder;
    if (ae) {
      recon.set({ originals: ae.originals, reconstructions: ae.reconstructions, extent: ae.extent });
      latent.set(ae.latent ? { ...ae.latent, classNames: ae.latent.label_names || classNames() } : null);
      anomaly.set(ae.anomaly || null);
      for (const v of [recon, latent, anomaly]) invalidate(v, v.draw);
    }
    const seq = s?.sequence;
    if (seq) {
      forecast.set(seq);
      hidden.set(seq.hidden);
      probs.set({ probabilities: seq.probabilities, labels: seq.labels, classNames: seq.class_names || classNames() });
      for (const v of [forecast, hidden, probs]) invalidate(v, v.draw);
    }
    if (s?.graph) {
      attention.set(s.graph);
      joins.set(s.graph);
      for (const v of [attention, joins]) invalidate(v, v.draw);
    }
    hists.set(s, ctx.session?.snapshotHistory);
    norms.set(ctx.session?.snapshotHistory);
    invalidateSeen('hists', histP.el, hists.draw);
    invalidateSeen('norms', normsP.el, norms.draw);
  }

  // The loss chart redraws at most LOSS_FPS times a second while records stream in (the
  // numbers above it every frame): a curve of thousands of epochs needs no more.
  const LOSS_FPS = 12;
  let lossDrawnAt = 0;
  let lossTimer = null;
  function drawLoss() {
    clearTimeout(lossTimer);
    lossTimer = null;
    const wait = lossDrawnAt + 1000 / LOSS_FPS - performance.now();
    if (wait > 0) {
      lossTimer = setTimeout(() => invalidate('loss', drawLoss), wait);
      return;
    }
    lossDrawnAt = performance.now();
    loss.draw();
  }

  function drawRecords() {
    const records = ctx.session?.records || [];
    stage.update(records, ctx.session);
    loss.setRecords(records);
    metric.setRecords(records);
    const names = metricNames(records);
    const current = [...metricSelect.options].map((o) => o.value).join(',');
    if (names.join(',') !== current) {
      metricSelect.replaceChildren(...names.map((n) => h('option', { value: n }, n.replace(/_/g, ' '))));
      if (!names.includes(ctx.metric)) ctx.metric = names[0] || null;
      metricSelect.value = ctx.metric || '';
    }
    // Every series in the legend is drawn: R² has no training twin, so it is not listed.
    const present = metricSeries(ctx.metric).filter((sr) => records.some((r) => typeof sr.get(r) === 'number'));
    if (present.map((sr) => sr.label).join() !== metric.seriesKey) {
      metric.setSeries(present);
      metric.seriesKey = present.map((sr) => sr.label).join();
    }
    // Hidden but kept in the row: showing it must not make the title taller (the stage moves).
    metricSelect.style.visibility = names.length < 2 ? 'hidden' : 'visible';
    invalidate('loss', drawLoss);
    invalidateSeen('metric', metricP.el, metric.draw);
  }

  function redrawAll() {
    for (const apply of themed) apply(); // the theme may have changed: its colour words too
    drawRecords();
    drawSnapshot();
  }

  return {
    /** The design side: family, dataset entry, preview, input feature names. */
    setDesign({ family, dataset, preview, layers }) {
      ctx.family = family;
      ctx.dataset = dataset;
      if (layers) ctx.layers = layers;
      if (preview !== undefined) ctx.preview = preview;
      redrawAll();
    },
    /** The latest successful check of the design on dataset `datasetName` (drawn before training). */
    setCheck(check, datasetName) {
      ctx.check = check;
      ctx.checkDataset = datasetName;
      updateGraph();
    },
    /** The network editor: fn({boundary, featureLabels, outputScale}) on every snapshot. */
    onGraph(fn) {
      onGraph = fn;
    },
    /** A neuron hovered in the network (null: none): its surface is drawn large on the output. */
    hoverNeuron(node) {
      hoveredNode = node;
      updateSurface();
      invalidate('surface', surface.draw);
    },
    setSession(session) {
      ctx.session = session;
    },
    // Messages may arrive hundreds of times a second: each only marks the views, and the
    // frame scheduler runs drawRecords / drawSnapshot once per animation frame.
    onRecords: () => invalidate('records', drawRecords),
    onSnapshot(session) {
      ctx.snapshot = session.snapshot;
      invalidate('snapshot', drawSnapshot);
    },
    reset() {
      ctx.snapshot = null;
      hoveredNode = null;
      for (const v of [filters, maps, preds, conf, recon, latent, anomaly, forecast, hidden, probs]) v.set(null);
      hists.set(null, []);
      norms.set([]);
      redrawAll();
      for (const v of [filters, maps, preds, conf, recon, latent, anomaly, forecast, hidden, probs]) invalidate(v, v.draw);
    },
    redrawAll() {
      redrawAll();
      for (const v of [filters, maps, preds, conf, recon, latent, anomaly, forecast, hidden, probs]) invalidate(v, v.draw);
    },
  };
}
