// Reading one step_batch trace (server/engine/trace.py; README "Step through one update"):
// values per example, norms per layer, filter and time step, and the formulas of each phase
// written out with the trace's own numbers. No DOM here: step-draw.js and step-through.js use it.
//
// Shapes (B = examples in the batch): x (B, ...features), target (B) class indices or (B, ...)
// values, output (B, classes | ...), layers[i].z / a / delta (B, units) for dense layers,
// (B, C, H, W) for images, (B, T, H) for sequences; any of them may be a summary
// {summarised: true, norm, channel_norms (B, C), step_norms (B, T), sample_norms (B)}.
// params[name].before / grad / after in PyTorch's layout (weight (out, in)).

import { formatNumber } from './util/dom.js';

export const PHASES = ['forward', 'error', 'backward', 'update'];
export const PHASE_TITLES = { forward: 'Forward', error: 'Error', backward: 'Backward', update: 'Update' };

const SUB = '₀₁₂₃₄₅₆₇₈₉';
export const sub = (n) => String(n).split('').map((d) => SUB[Number(d)] ?? d).join('');
export const fmt = (v, digits = 3) => (typeof v === 'number' && Number.isFinite(v) ? formatNumber(v, digits).replace(/^-/, '−') : '–');

/** True for a whole tensor (nested lists), false for a summary or nothing. */
export const isWhole = (v) => Array.isArray(v);

export function flat(v) {
  return Array.isArray(v) ? v.flat(Infinity) : [];
}

export function norm(values) {
  let s = 0;
  for (const v of values) if (typeof v === 'number') s += v * v;
  return Math.sqrt(s);
}

/** The trace entry of layer `index` (the head is index = number of layers). */
export function layerAt(trace, index) {
  return trace?.layers?.find((l) => l.index === index) || null;
}

export function headOf(trace) {
  return trace?.layers?.[trace.layers.length - 1] || null;
}

/** One example's values of a per-sample tensor (whole only), or null. */
export function ofSample(tensor, s) {
  return isWhole(tensor) ? tensor[s] ?? null : null;
}

/** What layer `index` received for example s: the model's input x, or the previous layer's a. */
export function inputOf(trace, index, s) {
  if (index === 0) return ofSample(trace.x, s);
  return ofSample(layerAt(trace, index - 1)?.a, s);
}

/** Δ = after − before, element-wise over nested lists (null when either is a summary). */
export function difference(after, before) {
  if (Array.isArray(after) && Array.isArray(before)) return after.map((v, i) => difference(v, before[i]));
  return typeof after === 'number' && typeof before === 'number' ? after - before : null;
}

/**
 * One example's series at a layer's granularity: per unit (flat layers), per filter/channel
 * (images: the L2 norm of each map), per time step (sequences: the norm over features).
 * -> {values, unit: 'unit' | 'filter' | 'step', norm} or null.
 */
export function seriesOf(tensor, s) {
  if (!tensor) return null;
  if (isWhole(tensor)) {
    const v = tensor[s];
    if (!Array.isArray(v)) return null;
    if (Array.isArray(v[0]) && Array.isArray(v[0][0])) {
      const values = v.map((ch) => norm(flat(ch)));
      return { values, unit: 'filter', norm: norm(values) };
    }
    if (Array.isArray(v[0])) {
      const values = v.map((step) => norm(step));
      return { values, unit: 'step', norm: norm(values) };
    }
    return { values: v, unit: 'unit', norm: norm(v) };
  }
  if (tensor.channel_norms) return { values: tensor.channel_norms[s] || [], unit: 'filter', norm: norm(tensor.channel_norms[s] || []) };
  if (tensor.step_norms) return { values: tensor.step_norms[s] || [], unit: 'step', norm: norm(tensor.step_norms[s] || []) };
  if (tensor.sample_norms) return { values: [], unit: 'unit', norm: tensor.sample_norms[s] ?? null };
  return null;
}

/** Per output filter / unit norm of a parameter's gradient (`grad`) or change (`delta`). */
export function perFilter(param, what) {
  if (!param) return null;
  const t = what === 'grad' ? param.grad : difference(param.after, param.before);
  if (!Array.isArray(t) || !Array.isArray(t[0])) return null;
  return t.map((row) => norm(flat(row)));
}

/** A layer's whole-gradient or whole-update norm over all its parameter tensors (or null). */
export function layerNorm(entry, what) {
  const params = Object.values(entry?.params || {});
  if (!params.length) return null;
  let sq = 0;
  for (const p of params) {
    const t = what === 'grad' ? p.grad : difference(p.after, p.before);
    if (Array.isArray(t)) sq += norm(flat(t)) ** 2;
    else if (what === 'grad' && typeof t?.norm === 'number') sq += t.norm ** 2;
    else return null;
  }
  return Math.sqrt(sq);
}

/** f(z) for an activation name, f′ from z and a (to write δ = f′(z)·Σ wδ). */
export function derivative(activation, z, a) {
  switch (activation) {
    case 'tanh':
      return 1 - a * a;
    case 'sigmoid':
      return a * (1 - a);
    case 'relu':
      return z > 0 ? 1 : 0;
    case 'leaky_relu':
      return z > 0 ? 1 : 0.01;
    case 'linear':
    case undefined:
    case null:
      return 1;
    default:
      return null; // elu, gelu: the trace's δ is shown without the factor
  }
}

/** The terms of Σ wᵢxᵢ, the first four written out: "0.52·0.31 + (−1.3)·0.8 + …". */
export function weightedSum(weights, inputs, names = null, shown = 4) {
  const terms = [];
  for (let i = 0; i < Math.min(shown, weights.length); i += 1) {
    const w = weights[i];
    const x = inputs?.[i];
    const wText = w < 0 ? `(${fmt(w, 2)})` : fmt(w, 2);
    terms.push(`${wText}·${x === undefined ? names?.[i] ?? `a${sub(i + 1)}` : x < 0 ? `(${fmt(x, 2)})` : fmt(x, 2)}`);
  }
  const rest = weights.length > shown ? ` + … (${weights.length} inputs)` : '';
  return terms.join(' + ') + rest;
}

/** The example's per-example loss, written out, for the error phase. */
export function lossFormula(trace, s) {
  const name = trace.loss_name;
  const out = ofSample(trace.output, s);
  const target = isWhole(trace.target) ? trace.target[s] : null;
  if (name === 'cross_entropy' && Array.isArray(out) && typeof target === 'number') {
    const p = out[target];
    return { text: `L = −log p(target) = −log ${fmt(p, 3)} = ${fmt(-Math.log(p), 3)}`, value: -Math.log(p), formula: 'cross-entropy: L = −log p(target class)' };
  }
  const y = flat([target]);
  const o = flat([out]);
  if (!o.length || o.length !== y.length) return { text: `${name} loss`, value: null, formula: name };
  const d = o.map((v, i) => v - y[i]);
  let value;
  let formula;
  if (name === 'mse') [value, formula] = [d.reduce((t, v) => t + v * v, 0) / d.length, 'mean squared error: L = mean((ŷ − y)²)'];
  else if (name === 'mae') [value, formula] = [d.reduce((t, v) => t + Math.abs(v), 0) / d.length, 'mean absolute error: L = mean(|ŷ − y|)'];
  else if (name === 'huber') [value, formula] = [d.reduce((t, v) => t + (Math.abs(v) < 1 ? 0.5 * v * v : Math.abs(v) - 0.5), 0) / d.length, 'Huber: ½(ŷ − y)² when |ŷ − y| < 1, else |ŷ − y| − ½'];
  else if (name === 'bce') [value, formula] = [o.reduce((t, v, i) => t - (y[i] * Math.log(Math.max(v, 1e-12)) + (1 - y[i]) * Math.log(Math.max(1 - v, 1e-12))), 0) / o.length, 'binary cross-entropy: L = −[y·log ŷ + (1 − y)·log(1 − ŷ)]'];
  else return { text: `${name} loss`, value: null, formula: name };
  const pair = o.length === 1 ? `ŷ = ${fmt(o[0])}, y = ${fmt(y[0])}: ` : '';
  return { text: `${pair}L = ${fmt(value, 4)}`, value, formula };
}

/** The optimiser's rule in words, and one weight's update with its numbers. */
export function updateRule(trace) {
  const eta = fmt(trace.lr, 3);
  switch (trace.optimizer) {
    case 'sgd':
      return trace.momentum
        ? `SGD with momentum μ = ${fmt(trace.momentum, 2)}: v ← μ·v + ∂L/∂w, w ← w − η·v (η = ${eta})`
        : `SGD: w ← w − η·∂L/∂w (η = ${eta})`;
    case 'adam':
    case 'adamw':
      return `${trace.optimizer === 'adam' ? 'Adam' : 'AdamW'}: m ← β₁m + (1 − β₁)·g, v ← β₂v + (1 − β₂)·g², w ← w − η·m̂/(√v̂ + ε) with m̂, v̂ corrected for the step count (η = ${eta}): each weight moves about η in the direction of its running mean gradient, less where its gradient is noisy`;
    case 'rmsprop':
      return `RMSprop: v ← α·v + (1 − α)·g², w ← w − η·g/(√v + ε) (η = ${eta})`;
    default:
      return `${trace.optimizer} (η = ${eta})`;
  }
}

/** One parameter value's update with the numbers: "0.52 → 0.5167 (g = 0.11; m = …, v = …)". */
export function updateText(trace, param, at) {
  const pick = (t) => at.reduce((v, i) => (Array.isArray(v) ? v[i] : undefined), t);
  const before = pick(param.before);
  const after = pick(param.after);
  const g = pick(param.grad);
  const parts = [`${fmt(before, 4)} → ${fmt(after, 4)} (Δ = ${fmt(after - before, 3)})`, `∂L/∂w = ${fmt(g, 4)}`];
  const st = param.state || {};
  if (trace.optimizer === 'sgd' && !trace.momentum && typeof g === 'number') {
    parts.push(`${fmt(before, 4)} − ${fmt(trace.lr, 3)} × ${fmt(g, 4)} = ${fmt(before - trace.lr * g, 4)}`);
  }
  if (st.momentum_buffer) parts.push(`v = ${fmt(pick(st.momentum_buffer), 4)}`);
  if (st.exp_avg) parts.push(`m = ${fmt(pick(st.exp_avg), 4)}, v = ${fmt(pick(st.exp_avg_sq), 6)}, step t = ${st.step}`);
  if (st.square_avg) parts.push(`v = ${fmt(pick(st.square_avg), 6)}`);
  return parts.join('; ');
}
