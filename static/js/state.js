// The whole experiment lives in the page URL, as TensorFlow Playground's state.ts does.
//
// Format: `#e=<base64url of the experiment JSON>` (robust when pasted into chats and mail),
// `#starter=<id>` for a named starter design, `#lesson=<id>` for a starter with its lesson note
// (`#e=...&lesson=<id>` once the lesson's design was changed), or `#watch=<run id>` for the
// presenter link (the page follows that run live, read-only). Reading is forgiving: anything
// unreadable gives null and the page falls back to a starter design and says so.

const PREFIX = 'e=';

function toBase64Url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** The hash for an experiment document. */
export function encodeExperiment(experiment) {
  return `#${PREFIX}${toBase64Url(JSON.stringify(experiment))}`;
}

/** True when a value looks like an experiment document. */
export function isExperiment(value) {
  return Boolean(
    value &&
      typeof value === 'object' &&
      value.dataset &&
      typeof value.dataset.name === 'string' &&
      value.model &&
      Array.isArray(value.model.layers) &&
      value.model.layers.every((l) => l && typeof l.type === 'string'),
  );
}

/**
 * Read the URL hash: {experiment} | {starter} | {lesson} | {experiment, lesson} | {watch} |
 * {error} | {} (nothing there). Plain JSON after `#json=` is accepted too, for hand-written
 * links and tests.
 */
export function readHash(hash = window.location.hash) {
  const text = (hash || '').replace(/^#/, '');
  if (!text) return {};
  const params = new URLSearchParams(text);
  const lesson = params.get('lesson')?.trim();
  const state = readDesign(params);
  return lesson && !state.watch && !state.error ? { ...state, lesson } : state;
}

function readDesign(params) {
  try {
    if (params.has('e')) {
      const experiment = JSON.parse(fromBase64Url(params.get('e')));
      return isExperiment(experiment)
        ? { experiment }
        : { error: 'The link does not hold a complete design.' };
    }
    if (params.has('json')) {
      const experiment = JSON.parse(params.get('json'));
      return isExperiment(experiment)
        ? { experiment }
        : { error: 'The link does not hold a complete design.' };
    }
    if (params.has('starter')) return { starter: params.get('starter') };
    if (params.has('watch')) {
      const watch = params.get('watch').trim();
      return watch ? { watch } : { error: 'The watch link does not name a run.' };
    }
  } catch {
    // atob / JSON errors are the browser's words, not the user's: say what happened instead.
    return { error: 'This link is broken: the design in it cannot be read (it may have been cut short when it was copied).' };
  }
  return {};
}

/** The hash of a lesson: `#lesson=<id>`, or `#e=...&lesson=<id>` for a changed design. */
export function encodeLesson(id, experiment = null) {
  const lesson = `lesson=${encodeURIComponent(id)}`;
  return experiment ? `${encodeExperiment(experiment)}&${lesson}` : `#${lesson}`;
}

/**
 * Put the experiment in the URL without adding a history entry per keystroke; `hash` (e.g. a
 * lesson's) replaces the experiment's own.
 */
export function writeHash(experiment, hash = encodeExperiment(experiment)) {
  if (window.location.hash !== hash) {
    window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}${hash}`);
  }
  return hash;
}

/** The full shareable link for an experiment. */
export function shareLink(experiment) {
  const { origin, pathname, search } = window.location;
  return `${origin}${pathname}${search}${encodeExperiment(experiment)}`;
}

/** The presenter link of a run: whoever opens it watches the run live, read-only. */
export function watchLink(runId) {
  const { origin, pathname, search } = window.location;
  return `${origin}${pathname}${search}#watch=${encodeURIComponent(runId)}`;
}

/** A deep copy (experiments are plain JSON). */
export function clone(value) {
  return JSON.parse(JSON.stringify(value));
}
