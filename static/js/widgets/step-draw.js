// Draws one phase of a step_batch trace on the network graph (widgets/network-editor/):
// each neuron coloured and labelled with its value for the chosen example (forward: x and a;
// error: the output against the target; backward: δ = ∂L/∂z and ∂L/∂x; update: the bias's
// change), each link on a canvas of its own above the editor's (forward: w·x; backward:
// ∂L/∂w; update: Δw; blue positive, orange negative, thicker is larger), animated from input
// to output (forward) or output to input (backward). Blocks without neurons (convolutions,
// pooling, recurrent cells, flatten) get a strip of bars at their granularity (per filter or
// per time step) and a norm; an image model's input block shows the image, then ∂L/∂x as an
// image. Hover texts (`describe`, `linkAt`) come from step-hover.js.

import { h, formatShape } from '../util/dom.js';
import { fitCanvas, gridImage, drawGrid, markDrawn } from '../util/canvas.js';
import { cssVar, divergingTable, greyTable } from '../util/colors.js';
import { fmt, flat, norm, isWhole, layerAt, headOf, ofSample, inputOf, difference, seriesOf, perFilter, layerNorm, lossFormula } from '../step-trace.js';
import { neuronText, linkText } from './step-hover.js';

const PASSTHROUGH = new Set(['dropout', 'batchnorm']); // the editor draws dense links across them
const STRIP_W = 64;
const STRIP_H = 26;

/** stepDraw({graph}) -> {draw(view), clear(), describe(node), linkAt(x, y)} */
export function stepDraw({ graph }) {
  const canvas = h('canvas', {
    id: 'step-links',
    class: 'graph-links step-links',
    role: 'img',
    'aria-label': 'The step’s links: blue positive, orange negative, thicker means larger',
    title: 'Hover a link for its number in this phase',
  });
  let view = null; // {trace, phase, sample, layers, task, progress}
  let segments = [];
  let columns = [];
  let frame = null;

  function columnsOf(layers) {
    const cols = [];
    for (const block of graph.querySelectorAll('.gblock')) {
      const nodes = [...block.querySelectorAll('.neurons > .neuron')];
      if (!nodes.length) continue;
      const b = block.dataset.block;
      const kind = b === 'input' ? 'input' : b === 'head' ? 'output' : 'hidden';
      cols.push({ block, kind, layer: kind === 'input' ? -1 : kind === 'output' ? layers.length : Number(b), nodes });
    }
    return cols;
  }

  function adjacent(from, to, layers) {
    for (let i = from.layer + 1; i < to.layer; i += 1) if (!PASSTHROUGH.has(layers[i]?.type)) return false;
    return true;
  }

  /** The head unit a drawn output node stands for (a 2D run folds two classes into one node). */
  function unitOf(col, j) {
    const units = headUnits();
    if (col.kind !== 'output' || col.nodes.length > 1 || units === 1) return j;
    if (units === 2) return 1; // P(class 1), as the decision surface draws it
    const out = ofSample(view.trace.output, view.sample) || [];
    return out.indexOf(Math.max(...out));
  }

  function headUnits() {
    const w = headOf(view.trace)?.params?.weight?.shape;
    return w ? w[0] : 1;
  }

  /** The value a node shows in this phase (null: none). */
  function nodeValue(col, j) {
    const { trace, phase, sample: s } = view;
    if (col.kind === 'input') {
      if (phase === 'forward') return ofSample(trace.x, s)?.[j] ?? null;
      if (phase === 'backward') return ofSample(trace.input_grad, s)?.[j] ?? null;
      return null;
    }
    const entry = layerAt(trace, col.layer);
    const u = unitOf(col, j);
    if (phase === 'forward' || (phase === 'error' && col.kind === 'output')) return ofSample(entry?.a, s)?.[u] ?? null;
    if (phase === 'backward') return ofSample(entry?.delta, s)?.[u] ?? null;
    if (phase === 'update') {
      const b = entry?.params?.bias;
      return isWhole(b?.after) ? b.after[u] - b.before[u] : null;
    }
    return null;
  }

  function colour(v, max, centre = 0) {
    const table = divergingTable();
    const t = max > 0 ? Math.max(-1, Math.min(1, (v - centre) / max)) : 0;
    const i = Math.round(127.5 + 127.5 * t) * 3;
    return `rgb(${table[i]}, ${table[i + 1]}, ${table[i + 2]})`;
  }

  function shown(colIndex, count) {
    const p = view.progress ?? 1;
    if (view.phase === 'backward') return p >= (count - 1 - colIndex) / count;
    if (view.phase === 'forward') return p >= colIndex / count;
    return true;
  }

  function paintNeurons() {
    const probability = view.task === 'classification';
    columns.forEach((col, c) => {
      const values = col.nodes.map((_, j) => nodeValue(col, j));
      const centre = probability && col.kind === 'output' && ['forward', 'error'].includes(view.phase) ? 0.5 : 0;
      const max = Math.max(1e-12, ...values.map((v) => (v === null ? 0 : Math.abs(v - centre))));
      const on = shown(c, columns.length);
      col.nodes.forEach((node, j) => {
        const v = values[j];
        let label = node.querySelector(':scope > .step-value');
        if (!label) node.append((label = h('span', { class: 'step-value', 'aria-hidden': 'true' })));
        node.dataset.stepPhase = view.phase;
        if (v === null || !on) {
          node.style.background = '';
          label.textContent = '';
          delete node.dataset.stepValue;
          node.classList.add('step-dim');
          return;
        }
        node.classList.remove('step-dim');
        node.style.background = colour(v, max, centre);
        node.dataset.stepValue = String(v);
        label.textContent = fmt(v, 2);
        if (col.kind === 'output' && view.phase === 'error') {
          const target = isWhole(view.trace.target) ? view.trace.target[view.sample] : null;
          node.dataset.stepTarget = typeof target === 'number' ? String(target === unitOf(col, j) ? 1 : 0) : String(flat([target])[j] ?? '');
        } else delete node.dataset.stepTarget;
      });
    });
  }

  /** The links' values for pair (from, to): rows = drawn to-nodes, columns = drawn from-nodes. */
  function linkMatrix(from, to) {
    const { trace, phase, sample: s } = view;
    const w = layerAt(trace, to.layer)?.params?.weight;
    if (!w || !isWhole(w.before) || phase === 'error') return null;
    const source = phase === 'backward' ? w.grad : phase === 'update' ? difference(w.after, w.before) : w.before;
    if (!isWhole(source)) return null;
    const inputs = inputOf(trace, to.layer, s);
    return to.nodes.map((_, o) => from.nodes.map((__, i) => {
      const v = source[unitOf(to, o)]?.[i];
      if (typeof v !== 'number') return null;
      return phase === 'forward' ? v * (inputs?.[i] ?? 0) : v;
    }));
  }

  function paintLinks() {
    const row = graph.querySelector('.graph-row');
    const base = graph.querySelector('#network-graph');
    if (!row || !base) return;
    if (!canvas.isConnected) base.after(canvas);
    const w = row.scrollWidth;
    const hgt = Math.max(row.scrollHeight, graph.clientHeight);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${hgt}px`;
    const { ctx } = fitCanvas(canvas, w, hgt);
    const g = graph.getBoundingClientRect();
    const at = (el, side) => {
      const r = el.getBoundingClientRect();
      return { x: (side === 'right' ? r.right : r.left) - g.left + graph.scrollLeft, y: r.top + r.height / 2 - g.top };
    };
    segments = [];
    const layers = view.layers;
    const pairs = [];
    for (let c = 0; c + 1 < columns.length; c += 1) {
      if (adjacent(columns[c], columns[c + 1], layers)) pairs.push([c, linkMatrix(columns[c], columns[c + 1])]);
    }
    let max = 0;
    for (const [, m] of pairs) for (const r of m || []) for (const v of r) if (v !== null) max = Math.max(max, Math.abs(v));
    const pos = cssVar('--pos');
    const neg = cssVar('--neg');
    let drawn = 0;
    for (const [c, m] of pairs) {
      const from = columns[c];
      const to = columns[c + 1];
      const on = shown(c + (view.phase === 'backward' ? 1 : 0), columns.length);
      to.nodes.forEach((tn, o) => {
        const z = at(tn, 'left');
        from.nodes.forEach((fn, i) => {
          const a = at(fn, 'right');
          const v = m?.[o]?.[i] ?? null;
          if (v === null || !on) {
            ctx.strokeStyle = cssVar('--muted');
            ctx.globalAlpha = 0.2;
            ctx.lineWidth = 0.6;
          } else {
            const t = max ? Math.abs(v) / max : 0;
            ctx.strokeStyle = v >= 0 ? pos : neg;
            ctx.globalAlpha = 0.3 + 0.7 * t;
            ctx.lineWidth = 0.6 + 5 * t;
            drawn += 1;
          }
          ctx.beginPath();
          ctx.moveTo(a.x, a.y);
          ctx.bezierCurveTo((a.x + z.x) / 2, a.y, (a.x + z.x) / 2, z.y, z.x, z.y);
          ctx.stroke();
          segments.push({ x1: a.x, y1: a.y, x2: z.x, y2: z.y, from, to, o, i, value: v });
        });
      });
    }
    ctx.globalAlpha = 1;
    canvas.dataset.phase = view.phase;
    canvas.dataset.links = String(drawn);
    markDrawn(canvas, drawn > 0 && (view.progress ?? 1) >= 1);
  }

  /** Strips and norms on the blocks without neurons, and every layer's norm in this phase. */
  function paintBlocks() {
    const { trace, phase, sample: s } = view;
    for (const block of graph.querySelectorAll('.gblock')) {
      const b = block.dataset.block;
      const index = b === 'input' ? -1 : b === 'head' ? view.layers.length : Number(b);
      let badge = block.querySelector(':scope > .step-badge');
      if (!badge) block.append((badge = h('span', { class: 'step-badge' })));
      const hasNeurons = Boolean(block.querySelector('.neurons > .neuron'));
      if (index === -1) {
        paintInput(block, hasNeurons);
        badge.textContent = phase === 'backward' && trace.input_grad ? `‖∂L/∂x‖ ${fmt(seriesOf(trace.input_grad, s)?.norm ?? norm(flat(ofSample(trace.input_grad, s))), 2)}` : '';
        continue;
      }
      const entry = layerAt(trace, index);
      if (!entry) continue;
      let text = '';
      let series = null;
      if (phase === 'forward') {
        series = seriesOf(entry.a, s);
        if (!hasNeurons && series) text = `‖a‖ ${fmt(series.norm, 3)}`;
      } else if (phase === 'error' && b === 'head') {
        text = `L ${fmt(lossFormula(trace, s).value, 3)}`;
      } else if (phase === 'backward') {
        series = seriesOf(entry.delta, s);
        const g = layerNorm(entry, 'grad');
        text = g !== null ? `‖∇‖ ${fmt(g, 3)}` : series ? `‖δ‖ ${fmt(series.norm, 3)}` : '';
      } else if (phase === 'update') {
        const d = layerNorm(entry, 'update');
        const filters = perFilter(entry.params?.weight, 'update');
        if (filters && filters.length > 1) series = { values: filters, unit: 'filter' };
        else if (entry.params?.weight) series = null;
        text = d !== null ? `‖Δw‖ ${fmt(d, 3)}` : Object.keys(entry.params || {}).length ? '‖Δw‖ summarised' : 'no weights';
      }
      badge.textContent = text;
      badge.dataset.phase = phase;
      if (!hasNeurons) paintStrip(block, series, phase === 'backward' || phase === 'update');
    }
  }

  function paintStrip(block, series, signed) {
    let strip = block.querySelector(':scope > .step-strip');
    if (!strip) {
      strip = h('canvas', { class: 'step-strip', role: 'img', 'aria-label': 'This layer’s values in the phase, one bar per filter or time step', title: 'One bar per filter (images) or time step (sequences)' });
      block.querySelector('.gshape')?.before(strip);
    }
    const values = series?.values || [];
    const { ctx } = fitCanvas(strip, STRIP_W, STRIP_H);
    strip.dataset.values = String(values.length);
    strip.dataset.unit = series?.unit || '';
    strip.title = values.length ? `${values.length} ${series.unit === 'step' ? 'time steps' : series.unit === 'filter' ? 'filters' : 'units'}: ${values.slice(0, 6).map((v) => fmt(v, 2)).join(', ')}${values.length > 6 ? ', …' : ''}` : 'No values at this granularity';
    if (!values.length) return markDrawn(strip, false);
    const max = Math.max(1e-12, ...values.map((v) => Math.abs(v ?? 0)));
    const bw = STRIP_W / values.length;
    values.forEach((v, i) => {
      const t = Math.abs(v ?? 0) / max;
      ctx.fillStyle = signed || v < 0 ? (v < 0 ? cssVar('--neg') : cssVar('--pos')) : cssVar('--pos');
      ctx.fillRect(i * bw, STRIP_H * (1 - t), Math.max(1, bw - 0.5), STRIP_H * t);
    });
    markDrawn(strip);
  }

  /** An image model's input: the example (forward) and ∂L/∂x (backward) as images. */
  function paintInput(block, hasNeurons) {
    if (hasNeurons) return;
    const { trace, phase, sample: s } = view;
    let img = block.querySelector(':scope > #step-input');
    if (!img) {
      img = h('canvas', { id: 'step-input', class: 'step-image', role: 'img', 'aria-label': 'The example’s input, then ∂L/∂x: which input values the step would change', title: 'The example (forward); ∂L/∂x, blue positive, orange negative (backward)' });
      block.querySelector('.gshape')?.before(img);
    }
    const source = phase === 'backward' ? trace.input_grad : trace.x;
    const v = ofSample(source, s);
    const size = 44;
    const { ctx } = fitCanvas(img, size, size);
    img.dataset.phase = phase;
    if (!Array.isArray(v) || !Array.isArray(v[0])) {
      const series = seriesOf(source, s);
      img.dataset.image = 'summary';
      ctx.fillStyle = cssVar('--muted');
      ctx.font = '10px sans-serif';
      ctx.fillText(series ? `‖${fmt(series.norm, 2)}‖` : formatShape(source?.shape), 2, size / 2);
      return markDrawn(img, false);
    }
    // (C, H, W) averaged over channels, or (T, F) drawn as a (T, F) grid.
    const planes = Array.isArray(v[0][0]) ? v : [v];
    const rows = planes[0].length;
    const cols = planes[0][0].length;
    const mean = Array.from({ length: rows * cols }, (_, k) => planes.reduce((t, p) => t + (p[Math.floor(k / cols)][k % cols] ?? 0), 0) / planes.length);
    let bytes;
    let table;
    if (phase === 'backward') {
      const max = Math.max(1e-12, ...mean.map(Math.abs));
      bytes = Uint8Array.from(mean, (x) => Math.round(127.5 + (x / max) * 127.5));
      table = divergingTable();
    } else {
      const lo = Math.min(...mean);
      const hi = Math.max(...mean);
      bytes = Uint8Array.from(mean, (x) => Math.round(((x - lo) / (hi - lo || 1)) * 255));
      table = greyTable();
    }
    drawGrid(ctx, gridImage(bytes, rows, cols, table), 0, 0, size, size);
    img.dataset.image = phase === 'backward' ? 'input_grad' : 'x';
    markDrawn(img, true);
  }

  /** The hovered neuron's formula with the trace's numbers (node: the editor's hover info). */
  function describe(info) {
    if (!view || !info?.node) return null;
    const col = columns.find((c) => c.nodes.includes(info.node));
    return col ? neuronText(context(), col, col.nodes.indexOf(info.node)) : null;
  }

  function linkAt(clientX, clientY) {
    if (!view) return null;
    const r = canvas.getBoundingClientRect();
    const x = clientX - r.left;
    const y = clientY - r.top;
    let best = null;
    let bestD = 5;
    for (const sgm of segments) {
      const dx = sgm.x2 - sgm.x1;
      const dy = sgm.y2 - sgm.y1;
      const t = Math.max(0, Math.min(1, ((x - sgm.x1) * dx + (y - sgm.y1) * dy) / (dx * dx + dy * dy || 1)));
      const d = Math.hypot(x - (sgm.x1 + t * dx), y - (sgm.y1 + t * dy));
      if (d < bestD) [best, bestD] = [sgm, d];
    }
    return best ? linkText(context(), best) : null;
  }

  const context = () => ({ view, unitOf, headUnits });

  function clear() {
    cancelAnimationFrame(frame);
    view = null;
    segments = [];
    graph.classList.remove('stepping');
    canvas.remove();
    for (const el of graph.querySelectorAll('.step-value, .step-badge, .step-strip, #step-input')) el.remove();
    for (const node of graph.querySelectorAll('.neuron')) {
      node.style.background = '';
      node.classList.remove('step-dim');
      delete node.dataset.stepValue;
      delete node.dataset.stepPhase;
      delete node.dataset.stepTarget;
    }
  }

  function paint() {
    columns = columnsOf(view.layers);
    graph.classList.add('stepping');
    graph.dataset.stepPhase = view.phase;
    paintNeurons();
    paintLinks();
    paintBlocks();
  }

  return {
    /** Draw `next` ({trace, phase, sample, layers, task}); animate = run the flow over `ms`. */
    draw(next, { animate = false, ms = 900 } = {}) {
      cancelAnimationFrame(frame);
      view = { ...next, progress: 1 };
      if (!animate || !['forward', 'backward'].includes(view.phase)) return paint();
      const start = performance.now();
      const tick = (now) => {
        view.progress = Math.min(1, (now - start) / ms);
        paint();
        if (view.progress < 1) frame = requestAnimationFrame(tick);
      };
      view.progress = 0;
      tick(start);
    },
    /** Again, after the editor rebuilt or redrew the graph (its blocks may be new). */
    redraw() {
      if (view) paint();
    },
    clear,
    describe,
    linkAt,
  };
}
