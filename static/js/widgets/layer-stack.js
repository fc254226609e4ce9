// The layer stack: a palette generated from GET /api/layers, and the ordered list of layers
// with add / remove / reorder (buttons, Alt+arrow keys, drag and drop) and a parameter form
// per layer. Shapes, parameter counts and errors come from POST /api/check via setCheck().
// Read-only (a watcher's page): no palette, no moves; the forms are disabled by the page.

import { h, replace, formatNumber, formatShape } from '../util/dom.js';
import { fieldsOf, humanize } from '../schema.js';
import { schemaForm } from './layer-form.js';

/** 1.2 MFLOPs, 640 FLOPs: the compute the check counted (forward + backward). */
function flopsText(flops) {
  if (flops == null) return '';
  for (const [unit, scale] of [['T', 1e12], ['G', 1e9], ['M', 1e6], ['k', 1e3]]) {
    if (flops >= scale) return `${Number((flops / scale).toPrecision(3))} ${unit}FLOPs`;
  }
  return `${flops} FLOPs`;
}

const CATEGORY_ORDER = ['core', 'convolution', 'pooling', 'recurrent', 'shape', 'regularisation'];

export function layerStack({ palette, stack, inputBlock, headBlock, totalEl, layerTypes, onChange, onBlock = null }) {
  const types = new Map(layerTypes.map((t) => [t.type, t]));
  let layers = [];
  let cards = [];
  let dragFrom = null;
  let skipFrom = null; // a skip being dragged from this layer's output
  let blocks = [];
  const blockNote = h('p', { class: 'layer-error block-note', role: 'alert', hidden: true });
  let readOnly = false;

  buildPalette();

  function buildPalette() {
    const byCategory = new Map();
    for (const t of layerTypes) {
      const cat = t.category || 'other';
      if (!byCategory.has(cat)) byCategory.set(cat, []);
      byCategory.get(cat).push(t);
    }
    const cats = [...byCategory.keys()].sort(
      (a, b) => rank(a) - rank(b) || a.localeCompare(b),
    );
    replace(
      palette,
      blockGroup(),
      cats.map((cat) =>
        h(
          'div',
          { class: 'palette-group', role: 'group', 'aria-label': `${humanize(cat)} layers` },
          h('span', { class: 'palette-cat' }, humanize(cat)),
          byCategory.get(cat).map((t) =>
            h(
              'button',
              {
                type: 'button',
                class: 'palette-item',
                dataset: { addLayer: t.type },
                title: t.description || t.title,
                'aria-label': `Add ${t.title || t.type} layer`,
                onclick: () => add(t.type),
              },
              `+ ${t.title || t.type}`,
            ),
          ),
        ),
      ),
    );
  }

  /** The palette's ready blocks (GET /api/blocks): one click appends all their parts. */
  function blockGroup() {
    if (!blocks.length || !onBlock) return null;
    return h(
      'div',
      { class: 'palette-group', role: 'group', 'aria-label': 'Ready blocks' },
      h('span', { class: 'palette-cat' }, 'Blocks'),
      blocks.map((b) =>
        h('button', { type: 'button', class: 'palette-item', dataset: { addBlock: b.type }, title: `${b.title}: ${b.description}`, 'aria-label': `Add a ${b.title}`, onclick: () => onBlock(b.type) }, `+ ${b.title}`),
      ),
      blockNote,
    );
  }

  /** A skip from layer `from`'s output around to after layer `to`: an add joins them. */
  function addSkip(from, to) {
    if (readOnly || from >= to) return;
    const taken = new Set(layers.map((l) => l.id).filter(Boolean));
    const idOf = (i) => {
      if (layers[i].id) return layers[i].id;
      let k = i;
      while (taken.has(`l${k}`)) k += 1;
      layers[i] = { ...layers[i], id: `l${k}` };
      taken.add(`l${k}`);
      return `l${k}`;
    };
    const fromId = idOf(from);
    const toId = idOf(to);
    layers = [...layers.slice(0, to + 1), { type: 'add', inputs: [fromId, toId] }, ...layers.slice(to + 1)];
    render();
    emit();
    cards[to + 1]?.el.focus();
  }

  function rank(cat) {
    const i = CATEGORY_ORDER.indexOf(cat);
    return i < 0 ? CATEGORY_ORDER.length : i;
  }

  function add(type) {
    if (readOnly) return;
    const t = types.get(type);
    layers = [...layers, { type, ...structuredClone(t?.defaults || {}) }];
    render();
    emit();
    const card = cards[cards.length - 1];
    card?.el.scrollIntoView({ block: 'nearest' });
    card?.el.focus();
  }

  function remove(i) {
    if (readOnly) return;
    layers = layers.filter((_, j) => j !== i);
    render();
    emit();
    (cards[Math.min(i, cards.length - 1)]?.el || palette.querySelector('button'))?.focus();
  }

  function move(i, delta) {
    const j = i + delta;
    if (readOnly || j < 0 || j >= layers.length) return;
    const next = [...layers];
    [next[i], next[j]] = [next[j], next[i]];
    layers = next;
    render();
    emit();
    cards[j]?.el.focus();
  }

  function emit() {
    onChange(layers.map((l) => ({ ...l })));
  }

  function render() {
    cards = layers.map((layer, i) => card(layer, i));
    replace(stack, cards.map((c) => c.el));
    stack.dataset.count = String(layers.length);
  }

  function card(layer, i) {
    const t = types.get(layer.type);
    const title = t ? t.title || t.type : layer.type;
    const shapeEl = h('span', { class: 'layer-shape', title: 'Output shape of this layer (without the batch)' }, '…');
    const paramsEl = h('span', { class: 'layer-params', title: 'Trainable parameters in this layer' }, '');
    const errorEl = h('div', { class: 'layer-error', role: 'alert', hidden: true });
    let form = null;
    if (t) {
      form = schemaForm({
        fields: fieldsOf(t.params),
        values: layer,
        idPrefix: `layer-${i}`,
        exclude: ['type'],
        onChange: (name, value) => {
          const next = { ...layers[i] };
          if (value === undefined) delete next[name];
          else next[name] = value;
          layers[i] = next;
          emit();
        },
      });
    }
    const btn = (text, labelText, onclick, disabled) =>
      h('button', { type: 'button', class: 'icon-button', 'aria-label': labelText, title: labelText, onclick, disabled }, text);
    const titleId = `layer-${i}-title`;
    const el = h(
      'li',
      {
        class: 'layer-card',
        tabindex: '-1',
        dataset: { layerIndex: i, layerType: layer.type },
        'aria-labelledby': titleId,
        onkeydown: (e) => {
          if (e.altKey && e.key === 'ArrowUp') {
            e.preventDefault();
            move(i, -1);
          } else if (e.altKey && e.key === 'ArrowDown') {
            e.preventDefault();
            move(i, 1);
          }
        },
        ondragover: (e) => {
          if (dragFrom !== null || (skipFrom !== null && skipFrom < i)) {
            e.preventDefault();
            el.classList.add('drop-target');
          }
        },
        ondragleave: () => el.classList.remove('drop-target'),
        ondrop: (e) => {
          e.preventDefault();
          el.classList.remove('drop-target');
          if (skipFrom !== null) {
            const from = skipFrom;
            skipFrom = null;
            addSkip(from, i);
            return;
          }
          if (readOnly || dragFrom === null || dragFrom === i) return;
          const next = [...layers];
          const [moved] = next.splice(dragFrom, 1);
          next.splice(i, 0, moved);
          layers = next;
          dragFrom = null;
          render();
          emit();
        },
      },
      h(
        'div',
        {
          class: 'layer-head',
          draggable: readOnly ? 'false' : 'true',
          ondragstart: (e) => {
            dragFrom = i;
            e.dataTransfer.effectAllowed = 'move';
            e.dataTransfer.setData('text/plain', String(i));
          },
          ondragend: () => {
            dragFrom = null;
          },
        },
        h('span', { class: 'layer-num', title: `Layer ${i + 1}: errors and charts use this number` }, String(i + 1)),
        h('h3', { class: 'layer-title', id: titleId, title: t?.description || 'Unknown layer type' }, h('span', { class: 'visually-hidden' }, `Layer ${i + 1}: `), title),
        layer.inputs ? h('span', { class: 'layer-inputs', title: 'The outputs this layer reads' }, `← ${[].concat(layer.inputs).join(', ')}`) : null,
        shapeEl,
        paramsEl,
        readOnly
          ? null
          : h(
              'span',
              {
                class: 'skip-handle',
                draggable: 'true',
                dataset: { skipFrom: String(i) },
                title: `Drag layer ${i + 1}'s output onto a later layer to add a skip around the layers between`,
                ondragstart: (e) => {
                  e.stopPropagation();
                  skipFrom = i;
                  e.dataTransfer.effectAllowed = 'link';
                  e.dataTransfer.setData('text/plain', `skip:${i}`);
                },
                ondragend: () => {
                  skipFrom = null;
                },
              },
              '⤵ skip',
            ),
        h(
          'span',
          { class: 'layer-buttons' },
          btn('↑', `Move layer ${i + 1} (${title}) up`, () => move(i, -1), i === 0),
          btn('↓', `Move layer ${i + 1} (${title}) down`, () => move(i, 1), i === layers.length - 1),
          btn('✕', `Remove layer ${i + 1} (${title})`, () => remove(i), false),
        ),
      ),
      form ? form.element : h('p', { class: 'muted' }, `LayerLab has no layer type “${layer.type}”.`),
      errorEl,
    );
    return { el, form, shapeEl, paramsEl, errorEl };
  }

  return {
    /** Why a block could not be added (null: clear). */
    blockMessage(text) {
      blockNote.hidden = !text;
      blockNote.textContent = text || '';
    },
    setBlocks(list) {
      blocks = list || [];
      buildPalette();
    },
    setLayers(next) {
      layers = next.map((l) => ({ ...l }));
      render();
    },
    /** Read-only: the palette is hidden and layers cannot be added, removed or moved. */
    setReadOnly(on) {
      readOnly = on;
      palette.hidden = on;
      stack.classList.toggle('read-only', on);
      for (const head of stack.querySelectorAll('.layer-head')) head.draggable = !on;
    },
    /** check: a CheckResult or null (unknown / stale); `partial`: the layers before an error. */
    setCheck(check, partial = null) {
      stack.classList.toggle('stale', !check && !partial);
      const byIndex = new Map((check?.layers || partial?.layers || []).map((l) => [l.index, l]));
      cards.forEach((c, i) => {
        const info = byIndex.get(i);
        const joined = info?.input_shapes?.length > 1 ? `${info.input_shapes.map(formatShape).join(' + ')} → ` : '';
        c.shapeEl.textContent = info ? joined + formatShape(info.output_shape) : '–';
        if (joined) c.shapeEl.title = 'The shapes it joins, then its output shape';
        c.paramsEl.textContent = info ? `${formatNumber(info.params)} params · ${flopsText(info.flops)}` : '';
        c.paramsEl.title = 'Parameters, and floating-point operations per example for one forward and backward pass';
      });
      if (!check && partial) {
        replace(inputBlock, h('span', { class: 'block-title' }, 'Input'), h('span', { class: 'layer-shape' }, formatShape(partial.input_shape)));
        replace(headBlock, h('span', { class: 'block-title' }, 'Output head'), h('span', { class: 'head-desc' }, 'follows once the design is fixed'));
        totalEl.textContent = '';
      } else if (check) {
        replace(
          inputBlock,
          h('span', { class: 'block-title' }, 'Input'),
          h('span', { class: 'layer-shape', title: 'Shape of one example' }, formatShape(check.input_shape)),
        );
        const head = check.head || {};
        replace(
          headBlock,
          h('span', { class: 'block-title', title: 'Added for the dataset’s task; not editable' }, 'Output head'),
          h('span', { class: 'head-desc' }, head.description || ''),
          h('span', { class: 'layer-shape' }, formatShape(head.output_shape)),
          h('span', { class: 'layer-params' }, `${formatNumber(head.params ?? 0)} params`),
          check.loss ? h('span', { class: 'head-loss', title: 'Loss minimised for this task' }, `loss: ${check.loss}`) : null,
        );
        totalEl.textContent = `${formatNumber(check.total_params)} parameters in all` +
          (check.step_flops != null ? ` · ${flopsText(check.step_flops)} per training step` : '');
      } else {
        // Never stale numbers: the head waits for a design that checks.
        replace(headBlock, h('span', { class: 'block-title' }, 'Output head'), h('span', { class: 'head-desc' }, 'follows once the design is fixed'));
        totalEl.textContent = '';
      }
    },
    /** errors: Map(index -> [{field, msg}]). */
    setErrors(errors) {
      cards.forEach((c, i) => {
        const list = errors.get(i) || [];
        c.el.classList.toggle('has-error', list.length > 0);
        c.errorEl.hidden = list.length === 0;
        c.errorEl.textContent = list.map((e) => e.text || e.msg).join(' ');
        const fieldErrors = {};
        for (const e of list) if (e.field) fieldErrors[e.field] = e.text || e.msg;
        c.form?.setErrors(fieldErrors);
      });
    },
    get layers() {
      return layers;
    },
  };
}
