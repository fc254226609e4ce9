// Decoder for the snapshot "byte grid": {shape, lo, hi, b64} with value = lo + (hi-lo)*byte/255.

const decoded = new WeakMap();

/**
 * Decode a byte grid. Returns {shape, lo, hi, bytes (Uint8Array), size, at(i), value(byte)}.
 * Results are cached per grid object, so a view redrawing the same snapshot decodes once.
 */
export function decodeGrid(grid) {
  if (!grid || typeof grid.b64 !== 'string') return null;
  if (decoded.has(grid)) return decoded.get(grid);
  const text = atob(grid.b64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i += 1) bytes[i] = text.charCodeAt(i);
  const lo = Number.isFinite(grid.lo) ? grid.lo : 0;
  const hi = Number.isFinite(grid.hi) ? grid.hi : lo;
  const shape = Array.isArray(grid.shape) ? grid.shape : [bytes.length];
  const scale = (hi - lo) / 255;
  const result = {
    shape,
    lo,
    hi,
    bytes,
    size: bytes.length,
    value: (byte) => lo + scale * byte,
    at: (i) => lo + scale * bytes[i],
  };
  decoded.set(grid, result);
  return result;
}

/** The float values of a decoded grid (Float32Array). */
export function gridValues(grid) {
  const g = grid && grid.bytes ? grid : decodeGrid(grid);
  if (!g) return new Float32Array(0);
  const out = new Float32Array(g.size);
  for (let i = 0; i < g.size; i += 1) out[i] = g.at(i);
  return out;
}

/**
 * Re-map a grid's bytes onto a symmetric domain [-d, d] (d = max |lo|, |hi|) so that byte
 * 127.5 means zero: the diverging colour scale then shows sign as hue. `center` moves zero
 * (0.5 for probabilities). Returns a Uint8Array of the same size.
 */
export function divergingBytes(grid, { center = 0, domain = null } = {}) {
  const g = grid && grid.bytes ? grid : decodeGrid(grid);
  if (!g) return new Uint8Array(0);
  const d = domain ?? (Math.max(Math.abs(g.lo - center), Math.abs(g.hi - center)) || 1);
  const table = new Uint8Array(256);
  for (let b = 0; b < 256; b += 1) {
    const v = (g.value(b) - center) / d;
    table[b] = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
  }
  const out = new Uint8Array(g.size);
  for (let i = 0; i < g.size; i += 1) out[i] = table[g.bytes[i]];
  return out;
}
