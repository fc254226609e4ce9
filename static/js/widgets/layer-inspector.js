// The inspector beside the network: the parameters of the selected block (a form generated
// from the layer type's schema, like the layer list's), and buttons to move it earlier or
// later or to remove it. Field ids start with "inspect-" (the layer list keeps "layer-<i>-").

import { h, replace, formatShape, formatNumber } from '../util/dom.js';
import { fieldsOf } from '../schema.js';
import { schemaForm } from './layer-form.js';

/** layerInspector({root, layerTypes, onLayers(layers), onClose()}) -> {show(state)} */
export function layerInspector({ root, layerTypes, onLayers, onClose }) {
  const types = new Map(layerTypes.map((t) => [t.type, t]));
  let shownKey = null; // index and type of the form on screen (rebuilt only when they change)
  let form = null;
  let state = { index: null, layers: [], info: null, errors: [], readOnly: false };

  function change(name, value) {
    const i = state.index;
    const layers = state.layers.map((l) => ({ ...l }));
    if (value === undefined) delete layers[i][name];
    else layers[i][name] = value;
    state.layers = layers;
    onLayers(layers, i);
  }

  function move(delta) {
    const i = state.index;
    const j = i + delta;
    if (j < 0 || j >= state.layers.length) return;
    const layers = [...state.layers];
    [layers[i], layers[j]] = [layers[j], layers[i]];
    onLayers(layers, j);
  }

  function remove() {
    onLayers(state.layers.filter((_, j) => j !== state.index), null);
  }

  return {
    /** state: {index|null, layers, info (its check entry), errors [{field, msg, text}], readOnly} */
    show(next) {
      state = next;
      const { index, layers, info, errors, readOnly } = state;
      const layer = index === null ? null : layers[index];
      root.classList.toggle('empty', !layer);
      if (!layer) {
        shownKey = null;
        form = null;
        replace(root, h('p', { class: 'muted inspector-hint' }, readOnly ? 'Watching: the design is read-only.' : 'Select a block to edit its layer here; “+” between two blocks inserts one.'));
        return;
      }
      const t = types.get(layer.type);
      const key = `${index}:${layer.type}:${layers.length}:${readOnly}`;
      if (key !== shownKey) {
        shownKey = key;
        form = t ? schemaForm({ fields: fieldsOf(t.params), values: layer, idPrefix: 'inspect', exclude: ['type'], onChange: change }) : null;
        const btn = (id, text, label, onclick, disabled) => h('button', { type: 'button', id, class: 'icon-button', 'aria-label': label, title: label, onclick, disabled: disabled || readOnly }, text);
        replace(
          root,
          h(
            'div',
            { class: 'inspector-head' },
            h('h3', { class: 'inspector-title', id: 'inspector-title' }, `Layer ${index + 1}: ${t?.title || layer.type}`),
            h('span', { class: 'inspector-shape', id: 'inspector-shape' }),
            h(
              'span',
              { class: 'inspector-buttons' },
              btn('inspect-earlier', '←', `Move layer ${index + 1} earlier`, () => move(-1), index === 0),
              btn('inspect-later', '→', `Move layer ${index + 1} later`, () => move(1), index === layers.length - 1),
              btn('inspect-remove', 'Remove', `Remove layer ${index + 1}`, remove, false),
              h('button', { type: 'button', class: 'icon-button', id: 'inspect-close', 'aria-label': 'Close the inspector', title: 'Close', onclick: () => onClose() }, '✕'),
            ),
          ),
          form ? form.element : h('p', { class: 'muted' }, `LayerLab has no layer type “${layer.type}”.`),
          h('div', { class: 'layer-error', id: 'inspector-error', role: 'alert', hidden: true }),
        );
      } else {
        form?.setValues(layer);
      }
      const shape = root.querySelector('#inspector-shape');
      if (shape) shape.textContent = info ? `→ ${formatShape(info.output_shape)} · ${formatNumber(info.params)} params` : '';
      const fieldErrors = {};
      for (const e of errors) if (e.field) fieldErrors[e.field] = e.text || e.msg;
      form?.setErrors(fieldErrors);
      const general = errors.filter((e) => !e.field || !form).map((e) => e.text || e.msg);
      const errorEl = root.querySelector('#inspector-error');
      if (errorEl) {
        errorEl.hidden = general.length === 0;
        errorEl.textContent = general.join(' ');
      }
      for (const el of root.querySelectorAll('input, select')) el.disabled = readOnly;
    },
  };
}
