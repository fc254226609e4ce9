// Which "Try it" view (flows/tryit-flow.js) a dataset gets: 'text' for sets with words (a
// typed sentence is a valid input), 'speech' for spoken ones, else null (the deeper
// "Try the model" section covers images, points and rows).

const TEXT_SETS = new Set(['sentiment']);
const SPEECH_SETS = new Set(['spoken_digits']);

/** The try-it kind of a dataset name: 'text', 'speech' or null. */
export function tryItKind(name) {
  if (TEXT_SETS.has(name)) return 'text';
  if (SPEECH_SETS.has(name)) return 'speech';
  return null;
}
