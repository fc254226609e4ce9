// Small DOM helpers: build elements declaratively, without any framework.

/**
 * h('div', {class: 'x', onclick: fn, dataset: {a: 1}}, child, 'text', [more])
 * Attributes starting with "on" become listeners; `dataset` and `style` objects are merged;
 * `false`/`null`/`undefined` attributes and children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'dataset') {
      for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    } else if (key === 'style' && typeof value === 'object') {
      Object.assign(el.style, value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key in el && typeof value !== 'string' && key !== 'list') {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
/** A unique id for label/aria wiring. */
export function uniqueId(prefix = 'id') {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** Numbers for people: 12,345 / 0.0123 / 1.2e-5. */
export function formatNumber(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  const abs = Math.abs(value);
  if (Number.isInteger(value) && abs < 1e9) return value.toLocaleString('en-US');
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(digits - 1);
  return Number(value.toPrecision(digits)).toString();
}

/** A shape such as [1, 28, 28] as "1×28×28". */
export function formatShape(shape) {
  if (!Array.isArray(shape)) return '?';
  return shape.length ? shape.join('×') : 'scalar';
}

/** Debounce a function: call it once, `ms` after the last request. */
export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.flush = (...args) => {
    clearTimeout(timer);
    fn(...args);
  };
  return wrapped;
}

/**
 * A legend entry: a colour swatch (a CSS variable such as '--val', set through the element's
 * style object, never a style attribute: the page runs under a Content-Security-Policy) and
 * its text, with an optional bold value.
 */
export function legendItem(colorVar, text, { dashed = false, value = null } = {}) {
  const swatch = h('span', { class: `swatch${dashed ? ' dashed' : ''}` });
  swatch.style.setProperty('--swatch', `var(${colorVar})`);
  return h('span', { class: 'legend-item' }, swatch, text, value !== null ? [' ', h('b', {}, value)] : null);
}
