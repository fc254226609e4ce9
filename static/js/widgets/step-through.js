// "Step through": one optimiser step of the page's run, shown on the network graph in four
// phases (forward, error, backward, update), each a button and a key (1-4, or F E B U), with
// "next step" (N: one step_batch on the next mini-batch, shown from forward), auto-play (P)
// at a chosen speed, and the choice of example: a point clicked on the decision surface (2D),
// an image of the batch (image sets), a training example by number, or the next mini-batch.
// It needs a paused run: turning it on pauses the page's run, or creates one paused. Every
// viewer of the run receives the trace (`trace` message), so a watcher's page draws it too.
// Drawing is widgets/step-draw.js; the trace's numbers and formulas are step-trace.js.

import { api, ApiError } from '../api.js';
import { h, replace } from '../util/dom.js';
import { fitCanvas, gridImage, drawGrid, markDrawn } from '../util/canvas.js';
import { greyTable } from '../util/colors.js';
import { surfaceLayout } from './heatmap.js';
import { stepDraw } from './step-draw.js';
import { keyArea, ownsKeys } from '../util/key-owner.js';
import { PHASES, PHASE_TITLES, fmt, sub, ofSample, headOf, lossFormula, updateRule, layerNorm, isWhole, flat, norm } from '../step-trace.js';

const KEYS = { 1: 'forward', 2: 'error', 3: 'backward', 4: 'update', f: 'forward', e: 'error', b: 'backward', u: 'update' };
const SPEEDS = [['2400', 'Slow'], ['1200', 'Normal'], ['500', 'Fast']];
const THUMBS = 16; // batch images shown to choose from

/** Training-set index of preview point j (previews keep at most 600 points, evenly spread). */
export function trainIndex(j, nTrain, kept = 600) {
  const k = Math.min(nTrain, kept);
  if (k <= 1 || nTrain <= kept) return j;
  return j === k - 1 ? nTrain - 1 : Math.trunc(j * ((nTrain - 1) / (k - 1))); // numpy linspace
}

/**
 * stepThrough({root (the network's column), graph, session, design(), ensurePaused(), onRelease()})
 *   -> {onTrace(trace), hover(node), redraw(), reset(), update(), holdSnapshot()}
 * design() -> {experiment, preview, family, task}; ensurePaused() -> Promise<bool> (a paused
 * run of this page's own, created if need be); onRelease(): draw the snapshot held back until
 * the update phase (the decision surface moves when the weights do).
 */
export function stepThrough({ root, graph, session, design, ensurePaused, onRelease }) {
  const drawer = stepDraw({ graph });
  let on = false;
  let phase = 'forward';
  let trace = null;
  let sample = 0; // which example of the trace's batch is shown
  let playing = false;
  let timer = null;
  let busy = false;
  let held = false; // a snapshot arrived after the trace and waits for the update phase

  const toggle = h('button', { type: 'button', id: 'step-mode', 'aria-pressed': 'false', title: 'Show one optimiser step on the graph: forward, error, backward, update (pauses the run)', onclick: () => setOn(!on) }, 'Step through');
  const phaseButtons = PHASES.map((p, i) => h('button', { type: 'button', id: `step-${p}`, class: 'step-phase', 'aria-pressed': 'false', 'aria-keyshortcuts': `${i + 1} ${p[0].toUpperCase()}`, title: `${PHASE_TITLES[p]} (key ${i + 1} or ${p[0].toUpperCase()})`, onclick: () => show(p, true) }, `${i + 1} ${PHASE_TITLES[p]}`));
  const next = h('button', { type: 'button', id: 'step-next', 'aria-keyshortcuts': 'N', title: 'One optimiser step on the next mini-batch, shown from the forward pass (key N)', onclick: () => stepNext(null) }, 'Next step ▸');
  const play = h('button', { type: 'button', id: 'step-play', 'aria-pressed': 'false', 'aria-keyshortcuts': 'P', title: 'Play the phases, then the next step, at the chosen speed (key P)', onclick: () => setPlaying(!playing) }, '▶ Auto');
  const speed = h('select', { id: 'step-speed', 'aria-label': 'Auto-play speed: time per phase' }, SPEEDS.map(([v, t]) => h('option', { value: v, selected: v === '1200' }, t)));
  const example = h('select', { id: 'step-example', 'aria-label': 'The example of the batch shown', title: 'Which example of the batch the graph shows', onchange: () => choose(Number(example.value)) });
  const alone = h('button', { type: 'button', id: 'step-alone', title: 'One step on the shown example alone (a batch of one)', 'aria-label': 'Step on the shown example alone', onclick: () => stepNext(trace?.samples?.[sample] ?? null) }, 'Alone');
  const number = h('input', { id: 'step-sample', type: 'number', min: '0', step: '1', 'aria-label': 'Training example number', 'aria-describedby': 'step-status', title: 'A training example by its number: Enter steps on it alone', size: 5 });
  number.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    const i = Number(number.value);
    if (number.value.trim() === '' || !Number.isInteger(i) || i < 0) return say('Type the number of a training example: a whole number from 0.');
    stepNext(i);
  });
  const thumbs = h('div', { class: 'step-thumbs', id: 'step-thumbs', role: 'group', 'aria-label': 'The batch’s images: choose one' });
  const explain = h('p', { class: 'step-explain', id: 'step-explain', 'aria-live': 'polite' });
  const readout = h('p', { class: 'step-readout', id: 'step-readout', 'aria-live': 'polite' });
  const status = h('p', { class: 'step-status field-error', id: 'step-status', role: 'alert' });
  const panel = h(
    'div',
    { class: 'step-panel', id: 'step-panel', hidden: true },
    thumbs,
    h('div', { class: 'step-bar', role: 'toolbar', 'aria-label': 'Step through: phases, steps and the example' }, phaseButtons, next, play, speed, example, alone, h('label', { class: 'step-number', title: 'A training example by its number' }, '#', number)),
    explain,
    status,
  );
  // The formula of the neuron (or link) shown, in a fixed panel beside the graph: the first
  // output's until another is hovered, so the class always reads one.
  const formula = h('aside', { class: 'step-formula', id: 'step-formula', 'aria-labelledby': 'step-formula-title', hidden: true }, h('h3', { class: 'step-formula-title', id: 'step-formula-title' }, 'Formula'), readout);
  graph.parentElement.after(formula);
  // Outside the network's fieldset, which a watcher's page disables: watchers use the phases too.
  const element = h('div', { class: 'step-through', id: 'step-through' }, toggle, panel);
  root.append(element);
  keyArea(root, 'step', false); // a press here gives it the number keys (util/key-owner.js)

  graph.addEventListener('mousemove', (e) => {
    if (!on || !trace || e.target.closest?.('.neuron')) return;
    const text = drawer.linkAt(e.clientX, e.clientY);
    if (text) readout.textContent = text;
  });
  document.addEventListener('keydown', (e) => {
    if (!on || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    if (e.target.closest?.('input, select, textarea, dialog, [contenteditable]')) return;
    const key = e.key.toLowerCase();
    if (/^[1-9]$/.test(key) && !ownsKeys('step')) return; // the camera's, where it has them
    if (KEYS[e.key] || KEYS[key]) show(KEYS[e.key] || KEYS[key], true);
    else if (key === 'n') stepNext(null);
    else if (key === 'p') setPlaying(!playing);
    else return;
    e.preventDefault();
  });
  // A point clicked on the data or the decision surface: one step on that training example.
  document.getElementById('boundary')?.addEventListener('click', (e) => {
    if (!on) return;
    const index = pointAt(e);
    if (index !== null) stepNext(index);
  });

  function say(text) {
    status.textContent = text || '';
  }

  function pointAt(e) {
    const { preview } = design();
    const points = preview?.points;
    if (!Array.isArray(points) || !points.length || preview.kind !== 'points') return null;
    const canvas = e.currentTarget;
    const box = canvas.getBoundingClientRect();
    const rect = surfaceLayout(canvas.clientWidth, canvas.clientHeight);
    const extent = session.snapshot?.boundary?.extent || preview.extent;
    const fx = (e.clientX - box.left - rect.x) / rect.w;
    const fy = (e.clientY - box.top - rect.y) / rect.h;
    if (fx < 0 || fx > 1 || fy < 0 || fy > 1) return null;
    const x = extent[0] + fx * (extent[1] - extent[0]);
    const y = extent[3] - fy * (extent[3] - extent[2]);
    let best = 0;
    let bestD = Infinity;
    points.forEach(([px, py], j) => {
      const d = (px - x) ** 2 + (py - y) ** 2;
      if (d < bestD) [best, bestD] = [j, d];
    });
    return trainIndex(best, preview.n_train ?? points.length);
  }

  async function setOn(value) {
    on = value;
    toggle.setAttribute('aria-pressed', String(on));
    panel.hidden = !on;
    formula.hidden = !on;
    root.classList.toggle('stepping', on);
    keyArea(root, 'step', on);
    if (!on) {
      setPlaying(false);
      drawer.clear();
      placeMarker();
      release();
      return;
    }
    update();
    if (trace) return draw(false);
    explain.textContent = session.watching ? 'Waiting for the presenter’s next step…' : 'Pausing the run for one step…';
    if (!session.watching) await stepNext(null);
  }

  /** One step_batch (sample: a training example alone, or null for the next mini-batch). */
  async function stepNext(index) {
    if (!on || busy || session.watching) return;
    busy = true;
    update();
    say('');
    try {
      if (!(await ensurePaused())) return say(session.message || 'Step through needs a paused run of your own.');
      await api.control(session.runId, session.token, 'step_batch', index === null ? {} : { sample: index });
    } catch (err) {
      say(err instanceof ApiError ? err.message : String(err));
      setPlaying(false);
    } finally {
      busy = false;
      update();
    }
  }

  function choose(s) {
    sample = Math.max(0, Math.min((trace?.samples?.length || 1) - 1, s));
    example.value = String(sample);
    for (const t of thumbs.children) t.setAttribute('aria-pressed', String(Number(t.dataset.sample) === sample));
    draw(false);
  }

  function show(p, fromUser = false) {
    if (!trace) return;
    if (fromUser && playing) setPlaying(false);
    phase = p;
    if (p === 'update') release();
    draw(true);
  }

  function release() {
    if (held) {
      held = false;
      onRelease();
    }
  }

  function setPlaying(value) {
    playing = value;
    play.setAttribute('aria-pressed', String(playing));
    play.textContent = playing ? '❚❚ Auto' : '▶ Auto';
    clearTimeout(timer);
    if (playing) tick();
  }

  function tick() {
    clearTimeout(timer);
    if (!playing) return;
    timer = setTimeout(() => {
      const i = PHASES.indexOf(phase);
      if (i < PHASES.length - 1) show(PHASES[i + 1]);
      else if (!session.watching) stepNext(null); // the next trace starts again at forward
      else show('forward');
      tick();
    }, Number(speed.value));
  }

  /** A ring on the decision surface around the example shown (2D sets). */
  const marker = h('span', { class: 'step-marker', id: 'step-marker', 'aria-hidden': 'true', hidden: true });
  function placeMarker() {
    const canvas = document.getElementById('boundary');
    const { preview } = design();
    const points = preview?.kind === 'points' ? preview.points : null;
    const idx = trace?.samples?.[sample];
    let j = -1;
    if (on && points && typeof idx === 'number') {
      const n = preview.n_train ?? points.length;
      j = n <= points.length ? idx : points.findIndex((_, k) => trainIndex(k, n) === idx);
    }
    if (!canvas || j < 0 || !points[j] || canvas.offsetParent === null) {
      marker.hidden = true;
      return;
    }
    if (marker.parentElement !== canvas.parentElement) canvas.after(marker);
    const rect = surfaceLayout(canvas.clientWidth, canvas.clientHeight);
    const e = session.snapshot?.boundary?.extent || preview.extent;
    const [px, py] = points[j];
    marker.style.left = `${canvas.offsetLeft + rect.x + ((px - e[0]) / (e[1] - e[0])) * rect.w}px`;
    marker.style.top = `${canvas.offsetTop + rect.y + ((e[3] - py) / (e[3] - e[2])) * rect.h}px`;
    marker.dataset.sample = String(idx);
    marker.hidden = false;
  }

  function draw(animate) {
    placeMarker();
    const { experiment, task } = design();
    for (const b of phaseButtons) b.setAttribute('aria-pressed', String(b.id === `step-${phase}`));
    drawer.draw({ trace, phase, sample, layers: experiment?.model?.layers || [], task }, { animate, ms: Math.min(900, Number(speed.value) * 0.7) });
    explain.textContent = story();
    explain.dataset.phase = phase;
    const out = graph.querySelector(".gblock-head .neuron[data-kind='output']");
    readout.textContent = (out && drawer.describe({ node: out })) || 'Hover a neuron or a link for its numbers.';
  }

  /** The phase in words, with the trace's numbers. */
  function story() {
    const t = trace;
    const { task, preview } = design();
    const n = t.samples.length;
    const idx = t.samples[sample];
    const x = ofSample(t.x, sample);
    const xs = Array.isArray(x) && typeof x[0] === 'number' && x.length <= 4 ? ` (${x.map((v, i) => `x${sub(i + 1)} = ${fmt(v, 2)}`).join(', ')})` : '';
    const batch = t.single ? `training example #${idx} alone` : `mini-batch ${t.batch ?? ''} of epoch ${t.epoch + 1} (${n} examples; example ${sample + 1}, #${idx}, shown)`;
    const target = isWhole(t.target) ? t.target[sample] : null;
    const names = preview?.class_names;
    const targetText = typeof target === 'number' && task === 'classification' ? `class ${names?.[target] ?? target}` : fmt(Array.isArray(target) ? target.flat(3)[0] : target, 3);
    if (phase === 'forward') return `Forward, ${batch}${xs}: each neuron computes z = Σ wᵢxᵢ + b from the layer before, then a = f(z); colour and number are its activation for this example.`;
    if (phase === 'error') {
      const out = ofSample(t.output, sample);
      const pred = task === 'classification' && Array.isArray(out) ? `[${out.map((p) => fmt(p, 2)).join(', ')}]` : fmt(Array.isArray(out) ? out.flat(3)[0] : out, 3);
      const loss = lossFormula(t, sample);
      return `Error: the network says ${pred}, the target is ${targetText}. ${loss.formula}: ${loss.text}. The batch’s loss (the mean${n > 1 ? ` over ${n} examples` : ''}) is ${fmt(t.loss, 4)}.`;
    }
    if (phase === 'backward') {
      const norms = t.layers.map((l) => layerNorm(l, 'grad')).filter((v) => v !== null);
      return `Backward: the error flows from the output to the input. Each neuron shows δ = ∂L/∂z, each link ∂L/∂w (blue positive, orange negative, thicker larger), each layer its gradient norm (${norms.map((v) => fmt(v, 2)).join(' → ')}).${joinsText(t)}`;
    }
    const head = headOf(t);
    return `Update: ${updateRule(t)}. Links show each weight’s change Δw = after − before (the head’s ‖Δw‖ = ${fmt(layerNorm(head, 'update'), 2)}); the decision surface now shows the new weights.`;
  }

  /** Graph designs: at each join, the gradient flowing back into every branch it joins. */
  function joinsText(t) {
    const joins = t.layers.filter((l) => Array.isArray(l.branch_grads) && l.branch_grads.length > 1);
    if (!joins.length) return '';
    const where = (j) => (j < 0 ? 'the input' : `layer ${j + 1}`);
    const parts = joins.map((l) => {
      const sizes = l.branch_grads.map((g) => fmt(norm(flat(ofSample(g, sample))), 2));
      const into = l.inputs.map((j, k) => `${where(j)} (‖δ‖ ${sizes[k]})`).join(' and ');
      return `at layer ${l.index + 1} (${l.type}) it flows back into ${into}${l.type === 'add' ? ', the same δ into each branch' : ', each its own slice'}`;
    });
    return ` Through the joins: ${parts.join('; ')}.`;
  }

  function fillExamples() {
    const n = trace.samples.length;
    replace(example, trace.samples.map((idx, s) => h('option', { value: String(s) }, `Ex. ${s + 1}/${n} (#${idx})`)));
    example.value = String(sample);
    example.hidden = n < 2;
    // Image sets: the batch's images to choose from, when the trace holds them whole.
    const imgs = [];
    for (let s = 0; s < Math.min(n, THUMBS); s += 1) {
      const v = ofSample(trace.x, s);
      if (!Array.isArray(v?.[0]?.[0])) break;
      const c = h('canvas', { class: 'step-thumb', dataset: { sample: s }, role: 'button', tabindex: '0', 'aria-pressed': String(s === sample), 'aria-label': `Example ${s + 1} (#${trace.samples[s]})`, title: `Show example ${s + 1} (#${trace.samples[s]})` });
      c.addEventListener('click', () => choose(s));
      c.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          choose(s);
        }
      });
      imgs.push([c, v[0]]);
    }
    replace(thumbs, imgs.map(([c]) => c));
    thumbs.hidden = !imgs.length;
    for (const [c, plane] of imgs) {
      const rows = plane.length;
      const cols = plane[0].length;
      const values = plane.flat();
      const lo = Math.min(...values);
      const hi = Math.max(...values);
      const { ctx } = fitCanvas(c, 22, 22);
      drawGrid(ctx, gridImage(Uint8Array.from(values, (v) => Math.round(((v - lo) / (hi - lo || 1)) * 255)), rows, cols, greyTable()), 0, 0, 22, 22);
      markDrawn(c);
    }
  }

  function update() {
    if (session.status !== 'paused') release();
    const owner = Boolean(session.token) && session.active;
    next.disabled = busy || !owner;
    alone.disabled = busy || !owner || !trace;
    number.disabled = !owner;
    next.title = owner ? 'One optimiser step on the next mini-batch, shown from the forward pass (key N)' : 'Only the run’s owner can step it; you see each step they take.';
    for (const b of phaseButtons) b.disabled = !trace;
  }

  return {
    /** A trace arrived (this page's step, or the presenter's for a watcher): draw it. */
    onTrace(next) {
      trace = next;
      sample = 0;
      phase = 'forward';
      held = false;
      fillExamples();
      if (!on) setOn(true);
      else {
        update();
        draw(true);
      }
      if (playing) tick();
    },
    /** The editor's hovered neuron (mouse or keyboard), or null. */
    hover(node) {
      if (!on || !trace || !node) return;
      const text = drawer.describe(node);
      if (text) readout.textContent = text;
    },
    /** After the editor drew: put the phase back on its (possibly new) blocks. */
    redraw() {
      if (on && trace) {
        drawer.redraw();
        placeMarker();
      }
    },
    /** Hold a snapshot back until the update phase (true: the caller must not draw it yet). */
    holdSnapshot() {
      // Only while paused on a step: a resumed run's views follow it live.
      if (!on || !trace || phase === 'update' || session.status !== 'paused') return false;
      held = true;
      return true;
    },
    /** The run was reset or replaced: nothing to show. */
    reset() {
      trace = null;
      held = false;
      if (on) setOn(false);
      update();
    },
    update,
  };
}
