// The network editor's edit operations, as pure functions: a layer list in, a new layer list
// (and the block to select) out. They import nothing from the page, so tests run them alone
// (tests/browser/test_modules.py), and the editor's buttons only call them and emit.

/** {layers, select}: a new layer of `type` (its registry defaults) at `index`, selected. */
export function insertLayer(layers, index, type, defaults = {}) {
  const next = [...layers];
  next.splice(index, 0, { type, ...structuredClone(defaults) });
  return { layers: next, select: index };
}

/** {layers, select: null}: layer `index` removed. */
export function removeLayer(layers, index) {
  return { layers: layers.filter((_, j) => j !== index), select: null };
}

/** {layers, select} with layer `index` swapped with its neighbour `delta` away; null at an end. */
export function moveLayer(layers, index, delta) {
  const j = index + delta;
  if (j < 0 || j >= layers.length || index < 0 || index >= layers.length) return null;
  const next = [...layers];
  [next[index], next[j]] = [next[j], next[index]];
  return { layers: next, select: j };
}

/** The layers with layer `index`'s units changed by `delta` (never below 1). */
export function changeUnits(layers, index, delta) {
  const next = [...layers];
  const l = next[index];
  next[index] = { ...l, units: Math.max(1, (Number(l.units) || 1) + delta) };
  return next;
}

/** The index the toolbar's "−" removes: the last dense layer, else the last layer; -1 if none. */
export function lastHiddenIndex(layers) {
  for (let i = layers.length - 1; i >= 0; i -= 1) if (layers[i].type === 'dense') return i;
  return layers.length - 1;
}

/**
 * {layers, select}: the toolbar's "+": a dense layer like the last one (else `denseDefaults`)
 * before the output; after images or sequences (`rank` 2 or 3 at the end) a flatten first.
 */
export function addHiddenLayer(layers, denseDefaults = {}, rank = null) {
  const last = [...layers].reverse().find((l) => l.type === 'dense');
  const layer = last ? { ...last } : { type: 'dense', ...structuredClone(denseDefaults) };
  const add = rank === null || rank === 1 ? [layer] : [{ type: 'flatten' }, layer];
  return { layers: [...layers, ...add], select: layers.length + add.length - 1 };
}

/** The input rank at slot `index` (before layer `index`) from a check: 1 flat, 2 sequence, 3 image. */
export function rankAt(check, index) {
  if (!check) return null;
  const shape = index === 0 ? check.input_shape : check.layers?.find((l) => l.index === index - 1)?.output_shape;
  return Array.isArray(shape) ? shape.length : null;
}

/**
 * The `set_weight` control value for link `from` -> `to` between neuron column `column` - 1
 * and `column` of a snapshot (weights[k] belongs to neuron_layers[k + 1], the head last), or
 * for neuron `to`'s bias (from null): {layer: L | 'head', to, from, weight} / {layer, to, bias}.
 */
export function weightEdit(snapshot, column, to, from, value) {
  const layers = snapshot?.neuron_layers || [];
  const k = column - 1;
  if (k < 0 || !Array.isArray(snapshot?.weights) || k >= snapshot.weights.length) return null;
  const head = k === snapshot.weights.length - 1;
  const layer = head ? 'head' : layers[column];
  if (layer === undefined || layer === null) return null;
  return from === null || from === undefined
    ? { layer, to, bias: value }
    : { layer, to, from, weight: value };
}

/** The snapshot with one weight (or bias, from null) replaced: shown at once, before the next. */
export function withWeight(snapshot, column, to, from, value) {
  const k = column - 1;
  const copy = { ...snapshot };
  if (from === null || from === undefined) {
    copy.biases = (snapshot.biases || []).map((b, i) => (i === k ? b.map((x, j) => (j === to ? value : x)) : b));
  } else {
    copy.weights = snapshot.weights.map((m, i) => (i === k ? m.map((r, j) => (j === to ? r.map((x, f) => (f === from ? value : x)) : r)) : m));
  }
  return copy;
}
