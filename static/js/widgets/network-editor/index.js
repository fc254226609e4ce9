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

import { h, replace, formatNumber } from '../../util/dom.js';
import { insertPalette } from '../insert-palette.js';
import { insertLayer, removeLayer, changeUnits, lastHiddenIndex, addHiddenLayer, rankAt as rankIn } from './edits.js';
import { sub, formatFlops, segmentDistance, formulaText } from './format.js';
import { weightPopover } from './weight-popover.js';
import { blockMaker } from './blocks.js';
import { drawLinks as paintLinks, drawNeurons as paintNeurons } from './links.js';

export { formatFlops };


/**
 * networkEditor({root, layerTypes, onLayers(layers), onSelect(index|null), onHover(node|null)})
 * onEditWeight({column, to, from (null: the bias), value}): a link or neuron clicked while
 * state.weightsEditable (a paused run of one's own) and a value typed.
 * -> {set(state), draw(), select(index), get selected}
 * state: {layers, check, errors: Map(index -> [{field, msg}]), boundary (a snapshot's, or null),
 *         featureLabels, outputScale, family, readOnly}
 */
export function networkEditor({ root, layerTypes, onLayers, onSelect, onHover, onEditWeight }) {
  const types = new Map(layerTypes.map((t) => [t.type, t]));
  let state = { layers: [], check: null, errors: new Map(), boundary: null };
  let selected = null;
  let columns = []; // neuron columns as drawn: {el, kind, layer, nodes: [el], count}
  let hovered = null;
  let focusPos = null; // [column, index] for the keyboard
  const { inputBlock, headBlock, layerBlock } = blockMaker({
    types,
    state: () => state,
    selected: () => selected,
    onSelect: (i) => select(i),
    onUnits: (i, delta) => setUnits(i, delta),
  });

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
    const i = lastHiddenIndex(state.layers);
    if (i >= 0) remove(i);
  });
  plusLayer.addEventListener('click', () => {
    const next = addHiddenLayer(state.layers, types.get('dense')?.defaults || {}, rankAt(state.layers.length));
    emit(next.layers, next.select);
  });

  // Hover: neurons (their formula), links (their weight).
  graph.addEventListener('mousemove', (e) => {
    const node = e.target.closest?.('.neuron');
    if (node) return setHovered(nodeInfo(node));
    setHovered(linkAt(e.clientX, e.clientY));
  });
  graph.addEventListener('mouseleave', () => setHovered(null));
  // A paused run of one's own: click a link to type its weight, a neuron its bias.
  const popover = weightPopover({ graph, onSubmit: (edit) => onEditWeight?.(edit) });
  graph.addEventListener('click', (e) => {
    if (!state.weightsEditable || !state.boundary || e.target.closest?.('.weight-edit, button')) return;
    const node = e.target.closest?.('.neuron');
    if (node) {
      const n = nodeInfo(node);
      const w = weightsInto(n.column, n.index);
      if (n.kind !== 'hidden' || !w || w.bias === null) return;
      popover.open({ column: n.column, to: n.index, from: null, value: w.bias, name: `layer ${n.layer + 1}, neuron ${n.index + 1}` }, e.clientX, e.clientY);
      return;
    }
    const link = linkAt(e.clientX, e.clientY);
    if (!link?.edit) return;
    popover.open({ ...link.edit, name: link.name }, e.clientX, e.clientY);
  });
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
    const next = insertLayer(state.layers, index, type, types.get(type)?.defaults || {});
    emit(next.layers, next.select);
  }

  function remove(index) {
    emit(removeLayer(state.layers, index).layers, null);
  }

  function setUnits(index, delta) {
    emit(changeUnits(state.layers, index, delta), selected);
  }

  const rankAt = (index) => rankIn(state.check, index);

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
    return `${name}: ${formulaText(w.weights, w.bias, inputs, formatNumber)}, a = ${activation}(z); its activation over the plane is drawn large on the output.`;
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
      const d = segmentDistance(x, y, s);
      if (d < bestD) [best, bestD] = [s, d];
    }
    return best ? { link: best.id, text: best.text, edit: best.edit, name: best.name } : null;
  }

  function drawLinks() {
    segments = paintLinks({ canvas, graph, row, columns, boundary: state.boundary, layers: state.layers });
  }

  function drawNeurons() {
    paintNeurons(columns, state.outputScale);
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
      root.classList.toggle('weights-editable', Boolean(state.weightsEditable && b));
      if (!state.weightsEditable) popover.close();
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
