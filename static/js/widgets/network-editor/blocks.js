// The network editor's blocks: a column of neurons for a dense layer (and the input and the
// output), maps for a convolution, a cell for a recurrent layer, a narrow block otherwise;
// each with its shape, parameters, FLOPs, +/- neurons and errors.

import { h, formatNumber, formatShape } from '../../util/dom.js';
import { sub, lastDim, compact, formatFlops, blockKind, shortTitle } from './format.js';

// A shape that may wrap after each "×" (a <wbr>), never cut in a narrow block.
const shapeText = (shape) => formatShape(shape).split('×').flatMap((part, i) => (i ? ['×', h('wbr'), part] : [part]));

const SHOWN = 8; // neurons drawn per column; the rest are summarised as "+N"
const MAX_NEURONS = 64; // per column, as the probes send (server/engine/probes.py MAX_NEURONS)

/**
 * blockMaker({types, state(), selected(), onSelect(index|null), onUnits(index, delta)})
 * -> {inputBlock(check, b), headBlock(check, b), layerBlock(layer, i, info, errs, b)}, each
 * {el, column: {el, kind, layer, nodes, count} | null}; `b` the snapshot's boundary or null.
 */
export function blockMaker({ types, state, selected, onSelect, onUnits }) {
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
    const tokens = state().layers[0]?.type === 'embedding';
    const flat = Array.isArray(shape) && shape.length === 1 && !tokens;
    let body = null;
    let column = null;
    if (flat) {
      const n = lastDim(shape);
      const labels = state().featureLabels?.length === n ? state().featureLabels : b?.features?.length === n ? b.features : [];
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
      h('span', { class: 'gshape', title: 'Shape of one example' }, shape ? [shapeText(shape), tokens ? ' tokens' : ''] : '…'),
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
      h('span', { class: 'gshape' }, head ? shapeText(head.output_shape) : '–'),
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
        'aria-pressed': String(selected() === i),
        'aria-label': `Layer ${i + 1}: ${title}${info ? `, output ${formatShape(info.output_shape)}, ${formatNumber(info.params)} parameters` : ''}${errorText ? `. Error: ${errorText}` : ''}. Select to edit.`,
        title: t?.description || title,
        onclick: () => onSelect(selected() === i ? null : i),
      },
      h('span', { class: 'gnum' }, String(i + 1)),
      h('span', { class: 'gtype' }, shortTitle(layer.type, title)),
    );
    const units = kind === 'dense' && !state().readOnly
      ? h(
          'span',
          { class: 'gunits' },
          h('button', { type: 'button', class: 'mini', 'aria-label': `One neuron fewer in layer ${i + 1}`, title: 'One neuron fewer', disabled: (Number(layer.units) || 1) <= 1, onclick: () => onUnits(i, -1) }, '−'),
          h('button', { type: 'button', class: 'mini', 'aria-label': `One neuron more in layer ${i + 1}`, title: 'One neuron more', onclick: () => onUnits(i, 1) }, '+'),
        )
      : null;
    const el = h(
      'div',
      {
        class: `gblock gblock-${kind}${selected() === i ? ' selected' : ''}${errs.length ? ' has-error' : ''}`,
        role: 'listitem',
        dataset: { block: i, layerType: layer.type },
      },
      head,
      body,
      h('span', { class: 'gshape', title: 'Output shape (without the batch)' }, info ? shapeText(info.output_shape) : '–'),
      h('span', { class: 'gparams', title: info ? `${formatNumber(info.params)} trainable parameters` : 'Trainable parameters' }, info ? [compact(info.params), h('span', { class: 'gparams-word' }, ' params')] : ''),
      info && typeof info.flops === 'number' ? h('span', { class: 'gflops', title: 'Forward and backward FLOPs per example' }, formatFlops(info.flops)) : null,
      units,
      // A join (add, concat) shows every shape it receives.
      info?.input_shapes?.length > 1 ? h('span', { class: 'gjoin', title: 'The shapes this join receives' }, info.input_shapes.map(formatShape).join(' + ')) : null,
      errs.length ? h('span', { class: 'gerror', role: 'alert' }, errorText) : null,
    );
    if (column) column.el = el;
    return { el, column };
  }

  return { inputBlock, headBlock, layerBlock };
}
