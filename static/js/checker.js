// Checks the design with POST /api/check after every change (debounced, latest answer wins)
// and sorts the errors by where they belong: a layer, a dataset field, a training field.

import { api, ApiError } from './api.js';
import { sentence } from './schema.js';

/** The server counts layers from 0; the page from 1: "layer 2 (conv2d)" becomes "layer 3 (conv2d)". */
export function renumber(text) {
  return String(text).replace(/\b([Ll])ayer (\d+) \(/g, (_, l, n) => `${l}ayer ${Number(n) + 1} (`);
}

/** A message as a sentence for the page: numbered from 1, the field's validator words turned into words. */
export function readable(field, msg) {
  const bare = String(msg || '').replace(/^layer \d+ \([\w]+\): [\w]+: /, '');
  return renumber(sentence(field, bare));
}

/**
 * Turn a 422's detail list into {layers: Map(index -> [{field, msg}]), dataset: {field: msg},
 * training: {field: msg}, general: [msg]}.
 */
export function sortErrors(detail, layerCount) {
  const out = { layers: new Map(), dataset: {}, training: {}, general: [] };
  const list = Array.isArray(detail) ? detail : [{ loc: [], msg: String(detail) }];
  for (const e of list) {
    let loc = Array.isArray(e.loc) ? [...e.loc] : [];
    if (loc[0] === 'body') loc = loc.slice(1);
    const msg = e.msg || 'invalid';
    if (loc[0] === 'model' && loc[1] === 'layers' && loc.length > 2) {
      const index = Number(loc[2]);
      if (Number.isInteger(index) && index >= 0 && index < layerCount) {
        if (!out.layers.has(index)) out.layers.set(index, []);
        const field = loc[3] !== undefined ? String(loc[3]) : null;
        out.layers.get(index).push({ field, msg, text: field && field !== 'type' ? readable(field, msg) : readable(null, msg) });
        continue;
      }
    }
    if (loc[0] === 'dataset') {
      const field = loc[1] === undefined || loc[1] === 'name' ? '' : String(loc[1]);
      const text = readable(field || null, msg);
      out.dataset[field] = out.dataset[field] ? `${out.dataset[field]} ${text}` : text;
      continue;
    }
    if (loc[0] === 'training' && loc[1] !== undefined) {
      out.training[String(loc[1])] = readable(String(loc[1]), msg);
      continue;
    }
    const where = loc.length ? `${loc.join(' › ')}: ` : '';
    out.general.push(`${where}${readable(null, msg)}`);
  }
  return out;
}

/**
 * createChecker(onResult({ok, check, errors, message})) -> {request(experiment), settled()}
 * `settled()` resolves with the result for the latest requested design, so an action such as
 * Train pressed right after an edit waits for its check instead of using a stale one.
 */
export function createChecker(onResult, delay = 120) {
  let seq = 0;
  let timer = null;
  let waiting = false; // a request is debounced or in flight
  let lastKey = null;
  let lastResult = null;
  let waiters = [];

  async function run(experiment, key) {
    const mine = ++seq;
    let result;
    try {
      const check = await api.check(experiment);
      result = { ok: true, check, errors: sortErrors([], 0) };
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        result = { ok: false, check: null, errors: sortErrors(err.detail, experiment.model.layers.length) };
      } else {
        result = { ok: false, check: null, errors: sortErrors([], 0), message: err.message };
      }
    }
    if (mine !== seq) return; // a newer design is being checked
    waiting = false;
    lastKey = key;
    lastResult = result;
    onResult(result);
    const pending = waiters;
    waiters = [];
    pending.forEach((resolve) => resolve(result));
  }

  return {
    request(experiment) {
      const key = JSON.stringify(experiment);
      if (key === lastKey && !waiting) return;
      waiting = true;
      clearTimeout(timer);
      timer = setTimeout(() => run(experiment, key), delay);
    },
    settled() {
      if (!waiting && lastResult) return Promise.resolve(lastResult);
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}
