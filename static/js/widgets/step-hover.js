// The hover texts of Step through (widgets/step-draw.js): a neuron's or a link's formula in the
// phase shown, written out with the trace's own numbers (z = Σ wᵢxᵢ + b = … ; δ = f′(z)·Σ wδ;
// ∂L/∂w; before → after with the optimiser's rule). `ctx` is step-draw's {view, unitOf,
// headUnits}: the trace, phase and example shown, and which head unit a drawn node stands for.

import { fmt, sub, flat, isWhole, layerAt, ofSample, inputOf, derivative, weightedSum, lossFormula, updateRule, updateText } from '../step-trace.js';

function names(col) {
  if (col.kind === 'hidden') return col.nodes.map((_, i) => `layer ${col.layer + 1} neuron ${i + 1}`);
  return col.nodes.map((n, i) => n.querySelector('.neuron-name')?.textContent || `x${sub(i + 1)}`);
}

function activationOf(view, index) {
  if (index === view.layers.length) return view.task === 'classification' ? 'softmax' : 'linear';
  return view.layers[index]?.activation || 'linear';
}

/** Neuron j of column `col`: its formula in this phase with the trace's numbers. */
export function neuronText({ view, unitOf, headUnits }, col, j) {
  const { trace, phase, sample: s } = view;
  const ex = `example #${trace.samples?.[s] ?? s}`;
  const colName = names(col)[j];
  if (col.kind === 'input') {
    if (phase === 'backward') return `∂L/∂${colName} = ${fmt(ofSample(trace.input_grad, s)?.[j], 3)} for ${ex}: how the loss would change with this input.`;
    return `${colName} = ${fmt(ofSample(trace.x, s)?.[j], 3)} (${ex}, after preprocessing).`;
  }
  const entry = layerAt(trace, col.layer);
  const u = unitOf(col, j);
  const title = col.kind === 'output' ? `Output ${headUnits() > 1 ? `unit ${u + 1}` : ''}`.trim() : `Layer ${col.layer + 1}, neuron ${j + 1}`;
  const act = activationOf(view, col.layer);
  const z = ofSample(entry?.z, s)?.[u];
  const a = ofSample(entry?.a, s)?.[u];
  const w = entry?.params?.weight;
  if (phase === 'forward') {
    const inputs = inputOf(trace, col.layer, s);
    const row = isWhole(w?.before) ? w.before[u] : null;
    const bias = isWhole(entry?.params?.bias?.before) ? entry.params.bias.before[u] : null;
    const sum = row ? `${weightedSum(row, inputs)} ${bias !== null && bias < 0 ? '−' : '+'} ${fmt(Math.abs(bias ?? 0), 2)}` : 'Σ wᵢxᵢ + b';
    const aText = act === 'softmax' ? `a = softmax(z)${sub(u + 1)} = ${fmt(a, 3)}` : act === 'linear' ? `a = z = ${fmt(a, 3)}` : `a = ${act}(z) = ${act}(${fmt(z, 3)}) = ${fmt(a, 3)}`;
    return `${title}, ${ex}: z = Σ wᵢxᵢ + b = ${sum} = ${fmt(z, 3)}; ${aText}.`;
  }
  if (phase === 'error') {
    if (col.kind !== 'output') return `${title}: the error is measured at the output.`;
    const target = isWhole(trace.target) ? trace.target[s] : null;
    const loss = lossFormula(trace, s);
    return `${title}, ${ex}: prediction ${fmt(a, 3)}, target ${typeof target === 'number' ? `class ${target}` : fmt(flat([target])[u], 3)}; ${loss.text}.`;
  }
  if (phase === 'backward') {
    const d = ofSample(entry?.delta, s)?.[u];
    const B = trace.samples?.length || 1;
    if (col.kind === 'output' && view.task === 'classification') {
      const y = trace.target?.[s] === u ? 1 : 0;
      return `${title}, ${ex}: δ = ∂L/∂z = (p − y)/B = (${fmt(a, 3)} − ${y})/${B} = ${fmt(d, 3)}.`;
    }
    const next = layerAt(trace, col.layer + 1);
    const nw = next?.params?.weight?.before;
    const nd = ofSample(next?.delta, s);
    const f = derivative(act, z, a);
    if (isWhole(nw) && Array.isArray(nd) && nw[0]?.length === flat([ofSample(entry?.a, s)]).length && f !== null) {
      const back = nw.reduce((t, r, k) => t + (r[u] ?? 0) * (nd[k] ?? 0), 0);
      return `${title}, ${ex}: δ = ∂L/∂z = ${act}′(z)·Σₖ wₖ${sub(j + 1)}δₖ = ${fmt(f, 3)} × ${fmt(back, 3)} = ${fmt(d, 3)}.`;
    }
    return `${title}, ${ex}: δ = ∂L/∂${entry?.delta_of || 'z'} = ${fmt(d, 3)}.`;
  }
  const bias = entry?.params?.bias;
  return `${title}: bias ${isWhole(bias?.after) ? updateText(trace, bias, [u]) : 'summarised'}. ${updateRule(trace)}.`;
}

/** A link (segment {from, to, o, i}): its number in this phase, with the formula. */
export function linkText({ view, unitOf }, { from, to, o, i }) {
  const { trace, phase, sample: s } = view;
  const u = unitOf(to, o);
  const w = layerAt(trace, to.layer)?.params?.weight;
  const fromName = names(from)[i];
  const toName = to.kind === 'output' ? `output unit ${u + 1}` : `layer ${to.layer + 1} neuron ${o + 1}`;
  const where = `Weight from ${fromName} to ${toName}`;
  if (!isWhole(w?.before)) return `${where}: summarised in the trace (too many values).`;
  const before = w.before[u]?.[i];
  const x = inputOf(trace, to.layer, s)?.[i];
  if (phase === 'forward' || phase === 'error') return `${where}: w = ${fmt(before, 3)}; w·x = ${fmt(before, 3)} × ${fmt(x, 3)} = ${fmt(before * x, 3)}.`;
  if (phase === 'backward') {
    const d = ofSample(layerAt(trace, to.layer)?.delta, s)?.[u];
    return `${where}: ∂L/∂w = ${fmt(w.grad[u]?.[i], 3)} (Σ over the batch of δ·x; this example's part δ·x = ${fmt(d, 3)} × ${fmt(x, 3)} = ${fmt(d * x, 3)}).`;
  }
  return `${where}: ${updateText(trace, w, [u, i])}.`;
}
