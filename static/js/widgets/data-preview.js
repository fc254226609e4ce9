// The dataset preview: points for 2D sets (and a 2D projection of tables), sample images,
// series plots, token sequences. Draws what POST /api/datasets/preview returned (its `kind`)
// and returns a caption saying what it shows.

import { fitCanvas, markDrawn, emptyMessage } from '../util/canvas.js';
import { cssVar, classColor, themeWords } from '../util/colors.js';
import { drawPoints, extentOf, drawSeries, drawNestedImage, rangeOf, label, labelPx } from '../util/plot.js';

export function drawPreview(canvas, preview, dataset) {
  const { ctx, width, height } = fitCanvas(canvas);
  if (!preview) {
    emptyMessage(ctx, width, height, '…', cssVar('--muted'));
    markDrawn(canvas, false);
    return '';
  }
  const size = preview.n_train !== undefined ? ` ${preview.n_train} training and ${preview.n_val} validation examples.` : '';
  const names = preview.class_names || [];
  let text = '';
  if (preview.kind === 'points' || preview.kind === 'table') text = drawScatter(ctx, width, height, preview, dataset);
  else if (preview.kind === 'images') text = drawImages(ctx, width, height, preview, names);
  else if (preview.kind === 'series') text = drawSeriesPreview(ctx, width, height, preview, names);
  else if (preview.kind === 'tokens' && preview.texts) text = drawSentences(ctx, width, height, preview, names);
  else if (preview.kind === 'tokens') text = drawTokens(ctx, width, height, preview, names);
  else if (preview.kind === 'ratings') text = drawRatings(ctx, width, height, preview);
  if (!text) {
    emptyMessage(ctx, width, height, 'No preview for this dataset', cssVar('--muted'));
    markDrawn(canvas, false);
    return size.trim();
  }
  markDrawn(canvas);
  return `${text}${size}`;
}

function legend(ctx, names, x, y, nClasses) {
  names.slice(0, 10).forEach((n, i) => {
    ctx.fillStyle = classColor(i, nClasses);
    ctx.fillRect(x, y + i * 17, 11, 11);
    label(ctx, String(n).slice(0, 14), x + 15, y + i * 17 + 10, { size: 11 });
  });
}

function drawScatter(ctx, width, height, p, dataset) {
  const train = p.points || [];
  if (!train.length || train[0]?.length !== 2) return '';
  const val = p.val_points || [];
  const points = [...train, ...val];
  const labels = [...(p.labels || []), ...(p.val_labels || [])];
  const test = [...train.map(() => false), ...val.map(() => true)];
  const regression = dataset?.task === 'regression' || (labels.length && !labels.every(Number.isInteger));
  const names = p.class_names || [];
  const nClasses = regression ? 0 : names.length || new Set(labels).size;
  // A narrow column (the stage's data panel) puts the legend under the plot, else beside it.
  const below = names.length > 0 && height > width * 0.8;
  const legendW = names.length && !below ? 110 : 0;
  const legendH = below ? Math.min(10, names.length) * 17 + 6 : 0;
  const side = Math.max(40, Math.min(width - legendW - 4, height - legendH - 4));
  const rect = { x: below ? (width - side) / 2 : 2, y: 2, w: side, h: side };
  ctx.fillStyle = cssVar('--panel-2');
  ctx.fillRect(rect.x, rect.y, rect.w, rect.h);
  drawPoints(ctx, points, labels, p.extent || extentOf(points), rect, { nClasses, regression, test: val.length ? test : null, radius: 2.5 });
  if (names.length) legend(ctx, names, below ? rect.x : side + 12, below ? side + 8 : 6, nClasses);
  if (p.kind === 'table') {
    const cols = (p.feature_names || []).length;
    return `Each row (${cols} columns) projected onto its two main directions; colour = class.`;
  }
  return regression
    ? `Colour = target value (blue high, orange low); ${themeWords().rings}: validation points.`
    : `Colour = class; filled: training points, ${themeWords().rings}: validation points.`;
}

function drawImages(ctx, width, height, p, names) {
  const images = p.images || [];
  if (!images.length) return '';
  const n = images.length;
  let cols = 1;
  let cell = 0;
  for (let c = 1; c <= n; c += 1) {
    const rows = Math.ceil(n / c);
    const s = Math.min(width / c, height / rows);
    if (s > cell) {
      cell = s;
      cols = c;
    }
  }
  images.forEach((img, i) => {
    const x = (i % cols) * cell + 2;
    const y = Math.floor(i / cols) * cell + 2;
    drawNestedImage(ctx, img, x, y, cell - 18);
    const lab = p.labels?.[i];
    const anomaly = p.anomaly?.[i];
    const text = anomaly ? `${names[lab] ?? lab} ⚠` : String(names[lab] ?? lab ?? '');
    label(ctx, text, x, y + cell - 5, { size: 12, color: anomaly ? cssVar('--bad') : cssVar('--muted') });
  });
  return p.anomaly ? 'Sample images; ⚠ marks the anomalies the autoencoder has never seen.' : 'Sample images with their labels.';
}

function drawSeriesPreview(ctx, width, height, p, names) {
  const inputs = (p.inputs || []).map((s) => s.map((v) => (Array.isArray(v) ? v[0] : v)));
  if (!inputs.length) return '';
  const targets = p.targets || null;
  const list = inputs.slice(0, targets ? 3 : 8);
  const horizon = targets ? targets[0].length : 0;
  const total = list[0].length + horizon;
  const [lo, hi] = rangeOf(list, targets ? targets.slice(0, list.length) : []);
  const legendW = !targets && names.length ? 100 : 0;
  const rect = { x: 4, y: 6, w: width - 10 - legendW, h: height - 12 };
  const nClasses = Math.max(3, names.length);
  list.forEach((s, i) => {
    const color = targets ? cssVar(`--c${i}`) : classColor(p.labels?.[i] ?? i, nClasses);
    drawSeries(ctx, s, rect, lo, hi, { color, width: 1.6, total });
    if (targets) {
      const t = targets[i];
      drawSeries(ctx, [s[s.length - 1], ...t], rect, lo, hi, { color, width: 2.5, offset: s.length - 1, total, dash: [4, 3] });
      t.forEach((v, k) => {
        const x = rect.x + ((s.length + k) / Math.max(1, total - 1)) * rect.w;
        const y = rect.y + rect.h - ((v - lo) / (hi - lo || 1)) * rect.h;
        ctx.fillStyle = color;
        ctx.beginPath();
        ctx.arc(x, y, 3.5, 0, Math.PI * 2);
        ctx.fill();
      });
    }
  });
  if (legendW) legend(ctx, names, rect.x + rect.w + 10, 6, nClasses);
  return targets
    ? `Windows of ${p.window ?? list[0].length} steps and the ${horizon} value(s) to forecast (dots).`
    : 'Example series, coloured by their class.';
}

function drawTokens(ctx, width, height, p, names) {
  const seqs = p.sequences || [];
  if (!seqs.length) return '';
  const rows = Math.min(seqs.length, 8);
  const labelW = Math.min(110, width * 0.3);
  const cell = Math.min((width - labelW) / seqs[0].length, (height - 4) / rows);
  // Rows are at least one label high, so the class names never overlap (a narrow panel).
  const rowH = Math.max(cell, 16);
  const vocab = p.vocab_size || 10;
  seqs.slice(0, rows).forEach((s, r) => {
    s.forEach((tok, c) => {
      ctx.fillStyle = cssVar(`--c${tok % 10}`);
      ctx.globalAlpha = 0.35 + 0.65 * (tok / Math.max(1, vocab - 1));
      ctx.fillRect(c * cell, r * rowH, cell - 2, rowH - 2);
      ctx.globalAlpha = 1;
      label(ctx, String(tok), c * cell + cell / 2 - 1, r * rowH + rowH / 2, { align: 'center', baseline: 'middle', size: Math.min(13, cell * 0.55), color: cssVar('--fg') });
    });
    const lab = p.labels?.[r];
    label(ctx, String(names[lab] ?? lab ?? ''), seqs[0].length * cell + 6, r * rowH + rowH / 2 + 4, { size: 12 });
  });
  return `Token sequences (vocabulary of ${vocab}) and their classes.`;
}

// Sentences (sentiment): each wrapped to at most two lines, coloured by class, the class
// name at the right; as many as fit.
function drawSentences(ctx, width, height, p, names) {
  ctx.font = `${labelPx(12)}px system-ui, sans-serif`;
  const labelW = Math.max(...names.map((n) => ctx.measureText(n).width)) + 8;
  const lineH = 15;
  let y = 12;
  for (let r = 0; r < p.texts.length; r++) {
    const lines = wrapText(ctx, p.texts[r], width - labelW - 12, 2);
    if (y + (lines.length - 1) * lineH > height) break;
    const lab = p.labels?.[r];
    const color = classColor(lab ?? 0, names.length || 2);
    ctx.fillStyle = color;
    ctx.fillRect(0, y - 10, 4, lines.length * lineH - 3);
    lines.forEach((line, i) => label(ctx, line, 10, y + i * lineH, { size: 12, color: cssVar('--fg') }));
    label(ctx, String(names[lab] ?? lab ?? ''), width - 2, y, { size: 12, align: 'right', color });
    y += lines.length * lineH + 5;
  }
  return `Sentences and their sentiment; ${p.vocab_size} tokens in the vocabulary.`;
}

function wrapText(ctx, text, maxWidth, maxLines) {
  const lines = [];
  let line = '';
  for (const word of text.split(' ')) {
    const next = line ? `${line} ${word}` : word;
    if (ctx.measureText(next).width <= maxWidth || !line) line = next;
    else {
      lines.push(line);
      line = word;
    }
  }
  lines.push(line);
  if (lines.length <= maxLines) return lines;
  return [...lines.slice(0, maxLines - 1), fitText(ctx, lines.slice(maxLines - 1).join(' '), maxWidth)];
}

// Ratings: (user, item) -> stars, and the mean-rating baseline a recommender must beat.
function drawRatings(ctx, width, height, p) {
  const rows = Math.min(p.pairs.length, Math.max(1, Math.floor((height - 20) / 18)));
  for (let r = 0; r < rows; r++) {
    const y = r * 18 + 13;
    const [user, item] = p.pairs[r];
    const starsW = 66;
    const who = `user ${user} · ${p.items?.[r] ?? `item ${item}`}`;
    label(ctx, fitText(ctx, who, width - starsW - 10), 4, y, { size: 12, color: cssVar('--fg') });
    label(ctx, '★'.repeat(p.ratings[r]) + '☆'.repeat(5 - p.ratings[r]), width - 2, y, { size: 12, align: 'right', color: cssVar('--accent') });
  }
  label(ctx, fitText(ctx, `mean ${p.mean_rating}, baseline RMSE ${p.baseline_rmse}`, width - 8), 4, height - 6, { size: 12, color: cssVar('--muted') });
  return `${p.users} users rate ${p.n_items} items 1-5; the baseline RMSE (always the mean) is ${p.baseline_rmse}.`;
}

function fitText(ctx, text, maxWidth) {
  ctx.font = `${labelPx(12)}px system-ui, sans-serif`; // as label() draws it
  if (ctx.measureText(text).width <= maxWidth) return text;
  let t = text;
  while (t.length > 1 && ctx.measureText(`${t}…`).width > maxWidth) t = t.slice(0, -1);
  return `${t}…`;
}
