// Colour scales shared by every view. Colours come from CSS custom properties so that the
// light and dark themes (prefers-color-scheme) change the canvases as well as the page.

const cache = new Map();
let cachedScheme = null;

/** A CSS custom property of :root, e.g. cssVar('--pos'). Cached until the theme changes. */
export function cssVar(name) {
  const scheme = currentScheme();
  if (scheme !== cachedScheme) {
    cache.clear();
    cachedScheme = scheme;
  }
  if (!cache.has(name)) {
    const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    cache.set(name, value || '#888');
  }
  return cache.get(name);
}

function currentScheme() {
  return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches
    ? 'dark'
    : 'light';
}

/** Call `fn` when the system theme changes (views redraw with the new colours). */
export function onThemeChange(fn) {
  if (!window.matchMedia) return;
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    cache.clear();
    fn();
  });
}

/** '#rrggbb' or 'rgb(r, g, b)' to [r, g, b]. */
export function parseColor(text) {
  const t = text.trim();
  if (t.startsWith('#')) {
    const hex = t.length === 4 ? t.slice(1).split('').map((c) => c + c).join('') : t.slice(1, 7);
    return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
  }
  const m = t.match(/(\d+(?:\.\d+)?)[ ,]+(\d+(?:\.\d+)?)[ ,]+(\d+(?:\.\d+)?)/);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [136, 136, 136];
}

function mix(a, b, t) {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/**
 * A 256-entry diverging lookup table: byte 0 = negative colour, 127.5 = middle, 255 = positive.
 * As in TensorFlow Playground: orange is negative, blue is positive.
 */
export function divergingTable() {
  const neg = parseColor(cssVar('--neg'));
  const mid = parseColor(cssVar('--mid'));
  const pos = parseColor(cssVar('--pos'));
  const key = `div:${neg}:${mid}:${pos}`;
  if (cache.has(key)) return cache.get(key);
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i += 1) {
    const t = i / 255;
    const c = t < 0.5 ? mix(neg, mid, t * 2) : mix(mid, pos, (t - 0.5) * 2);
    table.set(c.map(Math.round), i * 3);
  }
  cache.set(key, table);
  return table;
}

/** A sequential table from the background-ish colour to the accent, for counts and images. */
export function sequentialTable(toVar = '--seq-hi', fromVar = '--seq-lo') {
  const lo = parseColor(cssVar(fromVar));
  const hi = parseColor(cssVar(toVar));
  const key = `seq:${lo}:${hi}`;
  if (cache.has(key)) return cache.get(key);
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i += 1) table.set(mix(lo, hi, i / 255).map(Math.round), i * 3);
  cache.set(key, table);
  return table;
}

/** A greyscale table for images (ink is dark on light, light on dark themes). */
export function greyTable() {
  return sequentialTable('--img-hi', '--img-lo');
}

/** Categorical colours for classes; two classes use the diverging ends. */
export function classColor(index, nClasses = 10) {
  if (nClasses <= 2) return index ? cssVar('--pos') : cssVar('--neg');
  return cssVar(`--c${index % 10}`);
}

/** A colour for series i of a multi-line chart (layers in the norm chart). */
export function seriesColor(index) {
  return cssVar(`--c${index % 10}`);
}

/**
 * Words for the colours as the current theme draws them, for help texts and captions: the
 * dark theme's undecided colour is dark grey, not white; its validation rings are light; its
 * feature maps glow bright where the light theme's turn dark blue.
 */
export function themeWords() {
  const dark = currentScheme() === 'dark';
  return {
    neutral: dark ? 'dark grey' : 'white',
    ringed: dark ? 'light-ringed' : 'dark-ringed',
    rings: dark ? 'light rings' : 'dark rings',
    active: dark ? 'bright light blue' : 'dark blue',
    blank: dark ? 'dark' : 'white',
  };
}
