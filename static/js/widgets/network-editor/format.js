// Pure helpers of the network editor: short numbers for narrow blocks, subscripts, the kind of
// block a layer draws as, the weights folded onto a 2D run's single output node, a neuron's
// formula in words. No imports from the page.

const SUB = '₀₁₂₃₄₅₆₇₈₉';
export const sub = (n) => String(n).split('').map((d) => SUB[Number(d)] ?? d).join('');
export const lastDim = (shape) => (Array.isArray(shape) && shape.length ? Number(shape[shape.length - 1]) || 0 : 0);

/** 16,448 as "16k", 1,218 as "1.2k": short enough for a narrow block (the title has it all). */
export function compact(n) {
  if (typeof n !== 'number') return '–';
  if (n < 1000) return String(n);
  if (n < 1e6) return `${Number((n / 1e3).toPrecision(n < 1e4 ? 2 : 3))}k`;
  return `${Number((n / 1e6).toPrecision(2))}M`;
}

/** "1.2 MFLOPs" for a FLOP count (forward + backward per example, from POST /api/check). */
export function formatFlops(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
  const units = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [scale, prefix] of units) if (n >= scale) return `${Number((n / scale).toPrecision(2))} ${prefix}FLOPs`;
  return `${Math.round(n)} FLOPs`;
}

/** The weights into each node of the next column; the head is folded to one node (2D runs). */
export function linkWeights(matrix, foldOutput) {
  if (!Array.isArray(matrix)) return null;
  if (!foldOutput || matrix.length === 1) return matrix;
  if (matrix.length === 2) return [matrix[1].map((w, i) => (w ?? 0) - (matrix[0][i] ?? 0))];
  const row = [];
  for (let i = 0; i < matrix[0].length; i += 1) {
    let best = 0;
    for (const r of matrix) if (Math.abs(r[i] ?? 0) > Math.abs(best)) best = r[i];
    row.push(best);
  }
  return [row];
}

/** How a layer draws: 'dense' (neurons), 'cell' (recurrent), 'maps' (conv), 'narrow'. */
export function blockKind(type, category) {
  if (type === 'dense') return 'dense';
  if (category === 'recurrent' && type !== 'embedding') return 'cell';
  if (type === 'conv2d' || type === 'conv_transpose2d' || type === 'embedding') return 'maps';
  return 'narrow';
}

// Words that fit a narrow block at 1280 px (about 7 characters at 0.74rem); the block's
// tooltip and label keep the whole title.
const SHORT = {
  conv_transpose2d: 'Deconv',
  batchnorm: 'BN',
  maxpool2d: 'Pool',
  avgpool2d: 'Avg pool',
  global_pool: 'Pool',
  layernorm: 'Norm',
  attention: 'Attend',
  positional: 'Position',
  concat: 'Concat',
  upsample: 'Up',
  recommender: 'Rec',
};

/** A block's short title: a word that fits a narrow block, else the registry title. */
export function shortTitle(type, title) {
  return SHORT[type] ?? (title.length > 9 ? type : title);
}

/** Distance from (x, y) to segment s = {x1, y1, x2, y2}: hit-testing the links. */
export function segmentDistance(x, y, s) {
  const dx = s.x2 - s.x1;
  const dy = s.y2 - s.y1;
  const len = dx * dx + dy * dy || 1;
  const t = Math.max(0, Math.min(1, ((x - s.x1) * dx + (y - s.y1) * dy) / len));
  return Math.hypot(x - (s.x1 + t * dx), y - (s.y1 + t * dy));
}

/** "z = 0.5·x₁ − 1.2·x₂ + 0.1" for weights into a neuron (the first four, then "…"). */
export function formulaText(weights, bias, inputs, format) {
  const terms = weights.slice(0, 4).map((v, i) => `${i === 0 ? (v < 0 ? '−' : '') : v < 0 ? ' − ' : ' + '}${format(Math.abs(v), 2)}·${inputs[i] ?? `a${sub(i + 1)}`}`);
  const rest = weights.length > 4 ? ` + … (${weights.length} inputs)` : '';
  if (bias === null || bias === undefined) return `z = ${terms.join('')}${rest} + b`;
  return `z = ${terms.join('')}${rest} ${bias < 0 ? '−' : '+'} ${format(Math.abs(bias), 2)}`;
}
