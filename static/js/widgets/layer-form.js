// A form generated from a JSON schema: used for each layer's parameters, the dataset's
// parameters and the training settings. Every control has a <label>; descriptions become
// tooltips and accessible descriptions; errors appear beside the field that caused them.

import { h, uniqueId } from '../util/dom.js';
import { rangeHint, checkNumber, allowedSentence } from '../schema.js';

/**
 * schemaForm({fields, values, onChange(name, value), idPrefix, exclude, labels})
 * -> {element, setValues(values), setErrors({name: message}), focus(name)}
 * `value` is undefined when a field was cleared (the server default applies).
 */
export function schemaForm({ fields, values = {}, onChange, idPrefix = uniqueId('f'), exclude = [] }) {
  const element = h('div', { class: 'schema-form' });
  const controls = new Map();

  for (const field of fields) {
    if (exclude.includes(field.name)) continue;
    const id = `${idPrefix}-${field.name}`;
    const control = makeControl(field, id, (value) => onChange(field.name, value), (msg) => showLocal(field.name, msg));
    const errorEl = h('div', { class: 'field-error', id: `${id}-error`, role: 'alert', hidden: true });
    const hint = [field.description, rangeHint(field)].filter(Boolean).join(' — ');
    const row = h(
      'div',
      { class: `field field-${field.kind}`, dataset: { field: field.name }, title: hint || null },
      control.label,
      control.input,
      errorEl,
    );
    control.errorEl = errorEl;
    control.row = row;
    controls.set(field.name, control);
    element.append(row);
  }

  // Errors: a local one (the field's own rule, as you type) wins over the server's check.
  let serverErrors = {};
  const local = {};
  function show(name) {
    const control = controls.get(name);
    const msg = local[name] || serverErrors[name];
    control.errorEl.hidden = !msg;
    control.errorEl.textContent = msg || '';
    control.focusTarget.setAttribute('aria-invalid', msg ? 'true' : 'false');
    if (msg) control.focusTarget.setAttribute('aria-describedby', control.errorEl.id);
    else control.focusTarget.removeAttribute('aria-describedby');
  }
  function showLocal(name, msg) {
    local[name] = msg || '';
    if (controls.has(name)) show(name);
  }

  const defaults = defaultsOf(fields);
  const api = {
    element,
    /** Show values; a field the document leaves out shows its default (the server's too). */
    setValues(next) {
      for (const [name, control] of controls) control.set(next[name] !== undefined ? next[name] : defaults[name]);
    },
    setErrors(errors = {}) {
      serverErrors = errors;
      for (const name of controls.keys()) show(name);
    },
    focus(name) {
      controls.get(name)?.focusTarget.focus();
    },
  };
  api.setValues(values);
  return api;
}

function defaultsOf(fields) {
  const out = {};
  for (const f of fields) if (f.default !== undefined) out[f.name] = f.default;
  return out;
}

function makeControl(field, id, emit, invalid) {
  switch (field.kind) {
    case 'boolean':
      return checkbox(field, id, emit);
    case 'enum':
      return select(field, id, emit);
    case 'multienum':
      return checkGroup(field, id, emit);
    case 'integer':
    case 'number':
      return numberInput(field, id, emit, invalid);
    case 'list':
      return listInput(field, id, emit);
    default:
      return textInput(field, id, emit);
  }
}

function label(field, id) {
  return h('label', { for: id }, field.title);
}

function checkbox(field, id, emit) {
  const input = h('input', { type: 'checkbox', id, onchange: () => emit(input.checked) });
  return {
    label: label(field, id),
    input,
    focusTarget: input,
    set: (v) => {
      input.checked = Boolean(v);
    },
  };
}

function select(field, id, emit) {
  const input = h(
    'select',
    { id, onchange: () => emit(input.value === '' ? null : parseOption(field, input.value)) },
    field.nullable ? h('option', { value: '' }, 'automatic') : null,
    field.enum.map((v) => h('option', { value: String(v) }, String(v))),
  );
  return {
    label: label(field, id),
    input,
    focusTarget: input,
    set: (v) => {
      input.value = v === null || v === undefined ? '' : String(v);
    },
  };
}

function parseOption(field, text) {
  const match = field.enum.find((v) => String(v) === text);
  return match === undefined ? text : match;
}

function checkGroup(field, id, emit) {
  const boxes = field.enum.map((v, i) => {
    const boxId = `${id}-${i}`;
    const box = h('input', { type: 'checkbox', id: boxId, value: String(v), onchange: () => emitAll() });
    return { v, box, el: h('span', { class: 'check' }, box, h('label', { for: boxId }, String(v))) };
  });
  const emitAll = () => emit(boxes.filter((b) => b.box.checked).map((b) => b.v));
  const group = h('fieldset', { class: 'check-group', id }, h('legend', {}, field.title), boxes.map((b) => b.el));
  return {
    label: null,
    input: group,
    focusTarget: boxes[0]?.box || group,
    set: (v) => {
      const chosen = new Set((v || []).map(String));
      for (const b of boxes) b.box.checked = chosen.has(String(b.v));
    },
  };
}

function numberInput(field, id, emit, invalid) {
  const step = field.kind === 'integer' ? 1 : 'any';
  const input = h('input', {
    type: 'number',
    id,
    inputmode: field.kind === 'integer' ? 'numeric' : 'decimal',
    step,
    min: field.min ?? null,
    max: field.max ?? null,
  });
  const read = () => {
    const text = input.value.trim();
    if (input.validity?.badInput) {
      invalid(`That is not a number. ${allowedSentence(field)}`);
      return;
    }
    if (text === '') {
      if (field.nullable) {
        invalid('');
        emit(null);
      } else invalid(`${field.title} needs a value. ${allowedSentence(field)}`);
      return;
    }
    const value = Number(text);
    if (!Number.isFinite(value)) {
      invalid(`That is not a number. ${allowedSentence(field)}`);
      return;
    }
    // Said at once at the field; out-of-range numbers still go to the server, whose check
    // keeps Train disabled and names the problem at the layer too.
    invalid(checkNumber(field, value));
    emit(value);
  };
  input.addEventListener('input', read);
  input.addEventListener('change', read);
  return {
    label: label(field, id),
    input,
    focusTarget: input,
    set: (v) => {
      if (document.activeElement === input && (Number(input.value) === v || input.value.trim() === '')) return;
      input.value = v === null || v === undefined ? '' : String(v);
      invalid('');
    },
  };
}

function listInput(field, id, emit) {
  const input = h('input', { type: 'text', id, placeholder: 'e.g. 1, 8, 8', spellcheck: false });
  const read = () => {
    const parts = input.value.split(/[\s,×x]+/).filter(Boolean);
    const values = parts.map((p) => (field.itemKind === 'text' ? p : Number(p)));
    if (field.itemKind !== 'text' && values.some((v) => !Number.isFinite(v))) return;
    emit(values);
  };
  input.addEventListener('input', read);
  return {
    label: label(field, id),
    input,
    focusTarget: input,
    set: (v) => {
      if (document.activeElement === input) return;
      input.value = Array.isArray(v) ? v.join(', ') : '';
    },
  };
}

function textInput(field, id, emit) {
  const input = h('input', { type: 'text', id, spellcheck: false });
  input.addEventListener('input', () => emit(input.value === '' && field.nullable ? null : input.value));
  return {
    label: label(field, id),
    input,
    focusTarget: input,
    set: (v) => {
      if (document.activeElement === input) return;
      input.value = v === null || v === undefined ? '' : String(v);
    },
  };
}
