// The network drawn from input to output, and the editor of the design: one block per layer
// (dense layers as columns of neurons, convolutions as stacks of maps with their shape,
// recurrent layers as a cell, pooling / flatten / reshape / dropout / batch norm as narrow
// blocks showing the shape change), the input and the output head at the ends. Select a block
// to edit it in the inspector (widgets/layer-inspector.js); "+" between two blocks inserts a
// layer from a palette filtered to what fits there; dense blocks have +/− neurons, the
// toolbar +/− layers (as in TensorFlow Playground). Links are drawn on a canvas behind the
// blocks: thin and neutral from the design, coloured by sign and thickened by magnitude once
// a 2D run sends its weights. Hover a link for its weight, a neuron for its formula with the
// numbers (and its heatmap large on the output, through onHover).

import { h, replace, formatNumber, formatShape } from '../util/dom.js';
import { fitCanvas, markDrawn, drawGrid } from '../util/canvas.js';
import { cssVar } from '../util/colors.js';
import { surfaceImage } from './heatmap.js';
import { insertPalette } from './insert-palette.js';

const SHOWN = 8; // neurons drawn per column; the rest are summarised as "+N"
const MAX_NEURONS = 64; // per column, as the probes send (server/engine/probes.py MAX_NEURONS)
const PASSTHROUGH = new Set(['dropout', 'batchnorm']); // dense links are drawn across these
const SUB = '₀₁₂₃₄₅₆₇₈₉';
const sub = (n) => String(n).split('').map((d) => SUB[Number(d)] ?? d).join('');
const lastDim = (shape) => (Array.isArray(shape) && shape.length ? Number(shape[shape.length - 1]) || 0 : 0);

/** 16,448 as "16k", 1,218 as "1.2k": short enough for a narrow block (the title has it all). */
function compact(n) {
  if (typeof n !== 'number') return '–';
  if (n < 1000) return String(n);
  if (n < 1e6) return `${Number((n / 1e3).toPrecision(n < 1e4 ? 2 : 3))}k`;
  return `${Number((n / 1e6).toPrecision(2))}M`;
}

/** "1.2 MFLOPs" for a FLOP count (forward + backward per example, from POST /api/check). */
export function formatFlops(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
  const units = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [scale, prefix] of units) if (n >= scale) return `${Number((n / scale).toPrecision(2))} ${prefix}FLOPs`;
  return `${Math.round(n)} FLOPs`;
}

/** The weights into each node of the next column; the head is folded to one node (2D runs). */
function linkWeights(matrix, foldOutput) {
  if (!Array.isArray(matrix)) return null;
  if (!foldOutput || matrix.length === 1) return matrix;
  if (matrix.length === 2) return [matrix[1].map((w, i) => (w ?? 0) - (matrix[0][i] ?? 0))];
  const row = [];
  for (let i = 0; i < matrix[0].length; i += 1) {
    let best = 0;
    for (const r of matrix) if (Math.abs(r[i] ?? 0) > Math.abs(best)) best = r[i];
    row.push(best);
  }
  return [row];
}

function blockKind(type, category) {
  if (type === 'dense') return 'dense';
  if (category === 'recurrent' && type !== 'embedding') return 'cell';
  if (type === 'conv2d' || type === 'conv_transpose2d' || type === 'embedding') return 'maps';
  return 'narrow';
}

/**
 * networkEditor({root, layerTypes, onLayers(layers), onSelect(index|null), onHover(node|null)})
 * -> {set(state), draw(), select(index), get selected}
 * state: {layers, check, errors: Map(index -> [{field, msg}]), boundary (a snapshot's, or null),
 *         featureLabels, outputScale, family, readOnly}
 */
export function networkEditor({ root, layerTypes, onLayers, onSelect, onHover }) {
  const types = new Map(layerTypes.map((t) => [t.type, t]));
  let state = { layers: [], check: null, errors: new Map(), boundary: null };
  let selected = null;
  let columns = []; // neuron columns as drawn: {el, kind, layer, nodes: [el], count}
  let hovered = null;
  let focusPos = null; // [column, index] for the keyboard

  const minusLayer = h('button', { type: 'button', id: 'graph-remove-layer', class: 'icon-button', 'aria-label': 'Remove the last hidden layer', title: 'Remove the last hidden layer' }, '−');
  const plusLayer = h('button', { type: 'button', id: 'graph-add-layer', class: 'icon-button', 'aria-label': 'Add a hidden layer', title: 'Add a hidden layer before the output (a dense layer like the last one)' }, '+');
  const layerCount = h('span', { id: 'graph-layer-count', class: 'graph-count' });
  const totalEl = h('span', { id: 'graph-total', class: 'muted graph-total', 'aria-live': 'polite' });
  const toolbar = h('div', { class: 'graph-toolbar' }, minusLayer, plusLayer, layerCount, totalEl);
  const canvas = h('canvas', {
    id: 'network-graph',
    class: 'graph-links',
    role: 'img',
    'aria-label': 'Links between the layers: blue positive weights, orange negative, thicker means larger',
    title: 'Links between the layers. Hover a link to read its weight.',
  });
  const row = h('div', { class: 'graph-row', role: 'list', 'aria-label': 'The network from input to output' });
  const graph = h('div', { class: 'graph', id: 'graph', tabindex: '0', 'aria-describedby': 'network-graph-readout' }, canvas, row);
  const readout = h('p', { class: 'readout graph-readout', id: 'network-graph-readout', 'aria-live': 'polite' });
  const palette = insertPalette({ layerTypes, onPick: (index, type) => insert(index, type) });
  replace(root, toolbar, graph, readout, palette.element);

  minusLayer.addEventListener('click', () => {
    const layers = state.layers;
    let i = layers.length - 1;
    while (i >= 0 && layers[i].type !== 'dense') i -= 1;
    if (i < 0) i = layers.length - 1;
    if (i >= 0) remove(i);
  });
  plusLayer.addEventListener('click', () => {
    const layers = state.layers;
    const last = [...layers].reverse().find((l) => l.type === 'dense');
    const layer = last ? { ...last } : { type: 'dense', ...structuredClone(types.get('dense')?.defaults || {}) };
    // A dense layer needs flat input: after images or sequences, a flatten first.
    const rank = rankAt(layers.length);
    const add = rank === null || rank === 1 ? [layer] : [{ type: 'flatten' }, layer];
    emit([...layers, ...add], layers.length + add.length - 1);
  });

  // Hover: neurons (their formula), links (their weight).
  graph.addEventListener('mousemove', (e) => {
    const node = e.target.closest?.('.neuron');
    if (node) return setHovered(nodeInfo(node));
    setHovered(linkAt(e.clientX, e.clientY));
  });
  graph.addEventListener('mouseleave', () => setHovered(null));
  graph.addEventListener('keydown', (e) => {
    if (!columns.length || !['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Escape'].includes(e.key)) return;
    if (e.key === 'Escape') {
      focusPos = null;
      setHovered(null);
      return;
    }
    e.preventDefault();
    let [c, i] = focusPos || [0, -1];
    if (e.key === 'ArrowDown') i = Math.min(columns[c].nodes.length - 1, i + 1);
    else if (e.key === 'ArrowUp') i = Math.max(0, i - 1);
    else if (e.key === 'ArrowRight') [c, i] = [Math.min(columns.length - 1, c + 1), 0];
    else if (e.key === 'ArrowLeft') [c, i] = [Math.max(0, c - 1), 0];
    i = Math.max(0, i);
    focusPos = [c, i];
    const node = columns[c]?.nodes[i];
    if (node) setHovered(nodeInfo(node));
  });

  function emit(layers, select = selected) {
    selected = select !== null && select >= 0 && select < layers.length ? select : null;
    onLayers(layers.map((l) => ({ ...l })));
    onSelect?.(selected);
  }

  function insert(index, type) {
    const t = types.get(type);
    const layers = [...state.layers];
    layers.splice(index, 0, { type, ...structuredClone(t?.defaults || {}) });
    emit(layers, index);
  }

  function remove(index) {
    emit(state.layers.filter((_, j) => j !== index), null);
  }

  function move(index, delta) {
    const j = index + delta;
    if (j < 0 || j >= state.layers.length) return;
    const layers = [...state.layers];
    [layers[index], layers[j]] = [layers[j], layers[index]];
    emit(layers, j);
  }

  function setUnits(index, delta) {
    const layers = [...state.layers];
    const l = layers[index];
    const units = Math.max(1, (Number(l.units) || 1) + delta);
    layers[index] = { ...l, units };
    emit(layers, selected);
  }

  /** The input rank at slot `index` (before layer `index`): 1 flat, 2 sequence, 3 image. */
  function rankAt(index) {
    const c = state.check;
    if (!c) return null;
    const shape = index === 0 ? c.input_shape : c.layers?.find((l) => l.index === index - 1)?.output_shape;
    return Array.isArray(shape) ? shape.length : null;
  }

  // ---------------------------------------------------------------- blocks

  function render() {
    const { layers, check, errors, readOnly } = state;
    const info = new Map((check?.layers || []).map((l) => [l.index, l]));
    const b = Array.isArray(state.boundary?.neurons) ? state.boundary : null;
    const blocks = [inputBlock(check, b)];
    columns = [];
    if (blocks[0].column) columns.push(blocks[0].column);
    layers.forEach((layer, i) => {
      blocks.push(insertButton(i));
      const block = layerBlock(layer, i, info.get(i), errors?.get(i) || [], b);
      blocks.push(block);
      if (block.column) columns.push(block.column);
    });
    blocks.push(insertButton(layers.length));
    const head = headBlock(check, b);
    blocks.push(head);
    if (head.column) columns.push(head.column);
    replace(row, blocks.map((x) => x.el));
    // Many layers: numbers without words on each block (the titles keep the words), so no
    // label is cut or runs into the next block.
    row.classList.toggle('compact', layers.length >= 6);
    const hidden = layers.filter((l) => l.type === 'dense').length;
    layerCount.textContent = `${layers.length} layer${layers.length === 1 ? '' : 's'}${hidden !== layers.length ? ` (${hidden} dense)` : ''}`;
    totalEl.textContent = check && !check.partial ? `${formatNumber(check.total_params)} parameters${check.step_flops ? ` · ${formatFlops(check.step_flops)} per example` : ''}` : '';
    minusLayer.disabled = readOnly || layers.length === 0;
    plusLayer.disabled = readOnly;
    root.classList.toggle('read-only', Boolean(readOnly));
    canvas.dataset.columns = columns.map((c) => c.count).join(',');
    canvas.dataset.mode = b ? 'snapshot' : 'design';
    row.dataset.blocks = String(layers.length + 2);
  }

  function neuronColumn(count, kind, layer, items, b) {
    const shown = Math.min(SHOWN, count);
    const nodes = [];
    for (let j = 0; j < shown; j += 1) {
      const item = items?.[j] || {};
      const node = h('span', {
        class: `neuron${item.grid ? ' has-grid' : ''}`,
        dataset: { kind, index: j, layer: layer ?? -1 },
        title: item.name || null,
      });
      if (b) {
        const what = kind === 'input' ? `feature ${item.name ?? j + 1}` : kind === 'output' ? 'the output' : `layer ${layer + 1}, neuron ${j + 1}`;
        const c = h('canvas', { class: 'neuron-canvas', width: 20, height: 20, role: 'img', 'aria-label': `What ${what} computes over the plane`, title: `${what}: hover for its formula` });
        node.append(c);
        node._canvas = c;
      }
      if (item.name) node.append(h('span', { class: 'neuron-name' }, item.name));
      node._name = item.name;
      nodes.push(node);
    }
    const more = count > shown ? h('span', { class: 'neuron-more', title: `${count} in all; the first ${shown} are drawn` }, `+${count - shown}`) : null;
    const el = h('div', { class: 'neurons' }, nodes, more);
    return { el, column: { el, kind, layer, nodes, count: Math.min(count, MAX_NEURONS) } };
  }

  function inputBlock(check, b) {
    const shape = check?.input_shape;
    // Token ids (the first layer an embedding) are a sequence, not features.
    const tokens = state.layers[0]?.type === 'embedding';
    const flat = Array.isArray(shape) && shape.length === 1 && !tokens;
    let body = null;
    let column = null;
    if (flat) {
      const n = lastDim(shape);
      const labels = state.featureLabels?.length === n ? state.featureLabels : b?.features?.length === n ? b.features : [];
      const grids = b?.neurons?.[0] || [];
      const items = Array.from({ length: n }, (_, j) => ({ name: labels[j] ?? `x${sub(j + 1)}`, grid: grids[j] }));
      const col = neuronColumn(n, 'input', -1, items, b);
      body = col.el;
      column = col.column;
    } else if (Array.isArray(shape)) {
      body = shapeBody(shape.length === 3 ? 'maps' : tokens ? 'narrow' : 'cell', shape);
    }
    const el = h(
      'div',
      { class: 'gblock gblock-fixed gblock-input', role: 'listitem', dataset: { block: 'input' } },
      h('span', { class: 'gblock-title' }, 'Input'),
      body,
      h('span', { class: 'gshape', title: 'Shape of one example' }, shape ? `${formatShape(shape)}${tokens ? ' tokens' : ''}` : '…'),
    );
    if (column) column.el = el;
    return { el, column };
  }

  function headBlock(check, b) {
    const head = check?.head;
    const shape = head?.output_shape;
    const n = Math.max(1, lastDim(shape));
    let col;
    if (b) col = neuronColumn(1, 'output', null, [{ grid: b.output, confidence: b.confidence }], b);
    else if (Array.isArray(shape) && shape.length > 1) col = { el: shapeBody(shape.length === 3 ? 'maps' : 'cell', shape), column: null };
    else col = neuronColumn(n, 'output', null, [], null);
    const el = h(
      'div',
      { class: 'gblock gblock-fixed gblock-head', role: 'listitem', dataset: { block: 'head' }, title: head?.description ? `Added for the dataset’s task: ${head.description}` : 'Added for the dataset’s task' },
      h('span', { class: 'gblock-title' }, 'Output'),
      col.el,
      h('span', { class: 'gshape' }, head ? formatShape(head.output_shape) : '–'),
      h('span', { class: 'gparams', title: head ? `${formatNumber(head.params ?? 0)} trainable parameters` : null }, head ? [compact(head.params ?? 0), h('span', { class: 'gparams-word' }, ' params')] : ''),
    );
    if (col.column) col.column.el = el;
    return { el, column: col.column };
  }

  function shapeBody(kind, shape) {
    if (kind === 'maps') {
      const n = Array.isArray(shape) && shape.length === 3 ? Math.min(4, Math.max(1, shape[0])) : 3;
      return h('div', { class: 'maps', 'aria-hidden': 'true' }, Array.from({ length: n }, () => h('span', { class: 'map' })));
    }
    if (kind === 'cell') return h('div', { class: 'cell', 'aria-hidden': 'true' }, '↻');
    return h('div', { class: 'narrow-body', 'aria-hidden': 'true' });
  }

  function layerBlock(layer, i, info, errs, b) {
    const t = types.get(layer.type);
    const title = t ? t.title || t.type : layer.type;
    const kind = blockKind(layer.type, t?.category);
    let body;
    let column = null;
    if (kind === 'dense') {
      const units = info ? lastDim(info.output_shape) : Number(layer.units) || 0;
      const col = b?.neuron_layers?.indexOf(i);
      const grids = col !== undefined && col >= 0 ? b.neurons[col] : [];
      const c = neuronColumn(units, 'hidden', i, grids.map((grid) => ({ grid })), b);
      body = c.el;
      column = c.column;
    } else {
      body = shapeBody(kind, info?.output_shape);
    }
    const errorText = errs.map((e) => e.text || e.msg).join(' ');
    const head = h(
      'button',
      {
        type: 'button',
        class: 'gblock-head',
        'aria-pressed': String(selected === i),
        'aria-label': `Layer ${i + 1}: ${title}${info ? `, output ${formatShape(info.output_shape)}, ${formatNumber(info.params)} parameters` : ''}${errorText ? `. Error: ${errorText}` : ''}. Select to edit.`,
        title: t?.description || title,
        onclick: () => select(selected === i ? null : i),
      },
      h('span', { class: 'gnum' }, String(i + 1)),
      h('span', { class: 'gtype' }, shortTitle(layer.type, title)),
    );
    const units = kind === 'dense' && !state.readOnly
      ? h(
          'span',
          { class: 'gunits' },
          h('button', { type: 'button', class: 'mini', 'aria-label': `One neuron fewer in layer ${i + 1}`, title: 'One neuron fewer', disabled: (Number(layer.units) || 1) <= 1, onclick: () => setUnits(i, -1) }, '−'),
          h('button', { type: 'button', class: 'mini', 'aria-label': `One neuron more in layer ${i + 1}`, title: 'One neuron more', onclick: () => setUnits(i, 1) }, '+'),
        )
      : null;
    const el = h(
      'div',
      {
        class: `gblock gblock-${kind}${selected === i ? ' selected' : ''}${errs.length ? ' has-error' : ''}`,
        role: 'listitem',
        dataset: { block: i, layerType: layer.type },
      },
      head,
      body,
      h('span', { class: 'gshape', title: 'Output shape (without the batch)' }, info ? formatShape(info.output_shape) : '–'),
      h('span', { class: 'gparams', title: info ? `${formatNumber(info.params)} trainable parameters` : 'Trainable parameters' }, info ? [compact(info.params), h('span', { class: 'gparams-word' }, ' params')] : ''),
      info && typeof info.flops === 'number' ? h('span', { class: 'gflops', title: 'Forward and backward FLOPs per example' }, formatFlops(info.flops)) : null,
      units,
      errs.length ? h('span', { class: 'gerror', role: 'alert' }, errorText) : null,
    );
    if (column) column.el = el;
    return { el, column };
  }

  function shortTitle(type, title) {
    if (type === 'conv_transpose2d') return 'Deconv';
    if (type === 'batchnorm') return 'BatchNorm';
    return title.length > 9 ? type : title;
  }

  function insertButton(index) {
    const el = h(
      'button',
      {
        type: 'button',
        class: 'ginsert',
        dataset: { insert: index },
        'aria-label': index === 0 ? 'Insert a layer after the input' : `Insert a layer after layer ${index}`,
        title: 'Insert a layer here',
        hidden: state.readOnly,
        onclick: () => palette.open(index, rankAt(index), state.family, el),
      },
      '+',
    );
    return { el };
  }

  function select(index) {
    selected = index;
    for (const el of row.querySelectorAll('.gblock[data-block]')) {
      const on = String(index) === el.dataset.block;
      el.classList.toggle('selected', on);
      el.querySelector('.gblock-head')?.setAttribute('aria-pressed', String(on));
    }
    onSelect?.(selected);
  }

  // ---------------------------------------------------------------- links and neurons

  function nodeInfo(node) {
    const kind = node.dataset.kind;
    const index = Number(node.dataset.index);
    const layer = Number(node.dataset.layer);
    const col = columns.findIndex((c) => c.nodes.includes(node));
    return { kind, index, layer: kind === 'hidden' ? layer : null, column: col, name: node._name, grid: node._grid, node, design: !state.boundary };
  }

  function describeNeuron(n) {
    const b = state.boundary;
    if (n.kind === 'input') return `Input feature ${n.name}${b ? ': its value over the plane (blue high, orange low).' : '. Press Train to see every neuron draw what it computes over the plane.'}`;
    if (n.kind === 'output') {
      if (b) return 'Output: the network’s prediction over the plane.';
      const d = state.check?.head?.description;
      return `Output ${n.index + 1}${d ? ` (${d})` : ''}. Press Train to see the prediction.`;
    }
    const name = `Layer ${n.layer + 1}, neuron ${n.index + 1}`;
    const activation = state.layers[n.layer]?.activation || 'relu';
    const w = b ? weightsInto(n.column, n.index) : null;
    if (!w) return `${name}: z = Σ wᵢxᵢ + b, a = ${activation}(z). ${b ? '' : 'Press Train to see its weights and what it computes over the plane.'}`.trim();
    const inputs = inputNames(n.column - 1);
    const terms = w.weights.slice(0, 4).map((v, i) => `${i === 0 ? (v < 0 ? '−' : '') : v < 0 ? ' − ' : ' + '}${formatNumber(Math.abs(v), 2)}·${inputs[i] ?? `a${sub(i + 1)}`}`);
    const rest = w.weights.length > 4 ? ` + … (${w.weights.length} inputs)` : '';
    const bias = w.bias === null || w.bias === undefined ? 'b' : `${w.bias < 0 ? '−' : ''}${formatNumber(Math.abs(w.bias), 2)}`;
    const sign = w.bias !== null && w.bias < 0 ? ' ' : ' + ';
    return `${name}: z = ${terms.join('')}${rest}${sign}${bias.replace(/^−/, w.bias < 0 ? '− ' : '')}, a = ${activation}(z); its activation over the plane is drawn large on the output.`;
  }

  function inputNames(c) {
    const col = columns[c];
    if (!col) return [];
    if (col.kind === 'input') return col.nodes.map((n) => n._name);
    return Array.from({ length: col.count }, (_, i) => `a${sub(i + 1)}`);
  }

  /** The weights into neuron `index` of column `c` (from column c-1), with its bias. */
  function weightsInto(c, index) {
    const b = state.boundary;
    if (!b || c < 1) return null;
    const m = b.weights?.[c - 1];
    const row = m?.[index];
    if (!Array.isArray(row)) return null;
    return { weights: row, bias: b.biases?.[c - 1]?.[index] ?? null };
  }

  function setHovered(info) {
    const same = info && hovered && info.kind === hovered.kind && info.index === hovered.index && info.column === hovered.column && info.link === hovered.link;
    if (same || (!info && !hovered)) return;
    for (const el of row.querySelectorAll('.neuron.hover')) el.classList.remove('hover');
    hovered = info;
    if (info?.node) info.node.classList.add('hover');
    if (!info) readout.textContent = state.boundary ? 'Hover a neuron for its formula and its picture, or a link for its weight.' : 'Select a block to edit it; “+” inserts a layer. Hover a neuron or a link.';
    else if (info.link) readout.textContent = info.text;
    else readout.textContent = describeNeuron(info);
    onHover?.(info && !info.link ? info : null);
  }

  let segments = []; // links drawn: {x1, y1, x2, y2, text}

  function linkAt(clientX, clientY) {
    const r = canvas.getBoundingClientRect();
    const x = clientX - r.left;
    const y = clientY - r.top;
    let best = null;
    let bestD = 5;
    for (const s of segments) {
      if (!s.text) continue;
      const d = distance(x, y, s);
      if (d < bestD) [best, bestD] = [s, d];
    }
    return best ? { link: best.id, text: best.text } : null;
  }

  function distance(x, y, s) {
    const dx = s.x2 - s.x1;
    const dy = s.y2 - s.y1;
    const len = dx * dx + dy * dy || 1;
    const t = Math.max(0, Math.min(1, ((x - s.x1) * dx + (y - s.y1) * dy) / len));
    return Math.hypot(x - (s.x1 + t * dx), y - (s.y1 + t * dy));
  }

  function drawLinks() {
    const g = graph.getBoundingClientRect();
    const w = row.scrollWidth;
    const hgt = Math.max(row.scrollHeight, graph.clientHeight);
    // Its CSS size is the graph's (fitCanvas sizes the pixels, for HiDPI screens too).
    if (canvas.style.width !== `${w}px`) canvas.style.width = `${w}px`;
    if (canvas.style.height !== `${hgt}px`) canvas.style.height = `${hgt}px`;
    const { ctx } = fitCanvas(canvas, w, hgt);
    segments = [];
    const b = state.boundary;
    // Each element's box is read once per draw (a snapshot redraws 20 times a second).
    const rects = new Map();
    const at = (el, side) => {
      let r = rects.get(el);
      if (!r) rects.set(el, (r = el.getBoundingClientRect()));
      return { x: (side === 'right' ? r.right : side === 'left' ? r.left : r.left + r.width / 2) - g.left + graph.scrollLeft, y: r.top + r.height / 2 - g.top };
    };
    // Connectors between consecutive blocks (behind everything).
    const blocks = [...row.querySelectorAll('.gblock')];
    ctx.strokeStyle = cssVar('--border');
    ctx.lineWidth = 2;
    for (let i = 0; i + 1 < blocks.length; i += 1) {
      const a = at(blocks[i], 'right');
      const z = at(blocks[i + 1], 'left');
      ctx.beginPath();
      ctx.moveTo(a.x, a.y);
      ctx.lineTo(z.x, z.y);
      ctx.stroke();
    }
    // Neuron links between consecutive neuron columns (across dropout / batch norm only).
    const weights = (b?.weights || []).map((m, ci) => linkWeights(m, ci === b.weights.length - 1));
    let wMax = 0;
    for (const m of weights) for (const r of m || []) for (const w of r || []) if (w !== null) wMax = Math.max(wMax, Math.abs(w));
    const pos = cssVar('--pos');
    const neg = cssVar('--neg');
    const muted = cssVar('--muted');
    for (let c = 0; c + 1 < columns.length; c += 1) {
      const from = columns[c];
      const to = columns[c + 1];
      if (!adjacent(from, to)) continue;
      const m = b ? weights[c] : null;
      to.nodes.forEach((tn, o) => {
        const z = at(tn, 'left');
        from.nodes.forEach((fn, i) => {
          const a = at(fn, 'right');
          const w = m?.[o]?.[i];
          if (m && (w === null || w === undefined)) return;
          if (m) {
            const t = wMax ? Math.abs(w) / wMax : 0;
            ctx.strokeStyle = w >= 0 ? pos : neg;
            ctx.globalAlpha = 0.25 + 0.75 * t;
            ctx.lineWidth = 0.6 + 4 * t;
          } else {
            ctx.strokeStyle = muted;
            ctx.globalAlpha = 0.45;
            ctx.lineWidth = 0.8;
          }
          ctx.beginPath();
          ctx.moveTo(a.x, a.y);
          ctx.bezierCurveTo((a.x + z.x) / 2, a.y, (a.x + z.x) / 2, z.y, z.x, z.y);
          ctx.stroke();
          const fromName = from.kind === 'input' ? fn._name : `layer ${from.layer + 1} neuron ${i + 1}`;
          const toName = to.kind === 'output' ? 'the output' : `layer ${to.layer + 1} neuron ${o + 1}`;
          segments.push({
            id: `${c}:${o}:${i}`,
            x1: a.x, y1: a.y, x2: z.x, y2: z.y,
            text: m ? `Weight from ${fromName} to ${toName}: ${formatNumber(w, 3)}` : `Link from ${fromName} to ${toName} (its weight appears once training starts).`,
          });
        });
      });
    }
    ctx.globalAlpha = 1;
    canvas.dataset.links = String(segments.length);
    markDrawn(canvas);
  }

  /** True when only dropout / batch norm lie between two neuron columns. */
  function adjacent(from, to) {
    const start = from.kind === 'input' ? 0 : from.layer + 1;
    const end = to.kind === 'output' ? state.layers.length : to.layer;
    for (let i = start; i < end; i += 1) if (!PASSTHROUGH.has(state.layers[i]?.type)) return false;
    return true;
  }

  function drawNeurons() {
    for (const col of columns) {
      for (const node of col.nodes) {
        if (!node._canvas || !node._grid) continue;
        const scale = col.kind === 'output' ? state.outputScale || {} : {};
        const image = surfaceImage(node._grid, scale, node._confidence)?.image;
        const c = node._canvas;
        const ctx = c.getContext('2d');
        if (image) drawGrid(ctx, image, 0, 0, c.width, c.height, true);
      }
    }
  }

  /** A new snapshot on the same design: only the neurons' pictures change. */
  function applyBoundary() {
    const b = state.boundary;
    for (const col of columns) {
      let grids = [];
      if (b && col.kind === 'input') grids = b.neurons?.[0] || [];
      else if (b && col.kind === 'hidden') grids = b.neurons?.[b.neuron_layers?.indexOf(col.layer)] || [];
      else if (b && col.kind === 'output') grids = [b.output];
      col.nodes.forEach((node, j) => {
        node._grid = grids[j] || null;
        node._confidence = col.kind === 'output' ? b?.confidence : null;
      });
    }
    if (hovered && !hovered.link) {
      const node = columns[hovered.column]?.nodes[hovered.index];
      if (node) {
        hovered = { ...hovered, node, grid: node._grid };
        node.classList.add('hover');
        onHover?.(hovered);
      }
    }
  }

  let renderedKey = null;

  return {
    set(next) {
      state = { ...state, ...next };
    },
    /** Rebuild the blocks when the design or the snapshot changed, then draw links and neurons. */
    draw() {
      const b = Array.isArray(state.boundary?.neurons) ? state.boundary : null;
      const key = JSON.stringify([state.layers, state.check, [...(state.errors || new Map())], state.readOnly, state.featureLabels, selected, state.family, Boolean(b)]);
      if (key !== renderedKey) {
        render();
        renderedKey = key;
      }
      applyBoundary();
      drawNeurons();
      drawLinks();
      if (hovered && !hovered.link) readout.textContent = describeNeuron(hovered);
      else if (!hovered) setHovered(null);
    },
    select,
    get selected() {
      return selected;
    },
    closePalette: () => palette.close(),
  };
}
