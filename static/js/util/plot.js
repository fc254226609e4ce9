// Drawing primitives shared by the charts: points over a plane, lines, images.

import { classColor, cssVar, divergingTable, greyTable } from './colors.js';
import { gridImage, drawGrid } from './canvas.js';

/** Extent [x0, x1, y0, y1] of a list of [x, y] points, padded a little. */
export function extentOf(points) {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const p of points) {
    if (!p) continue;
    x0 = Math.min(x0, p[0]);
    x1 = Math.max(x1, p[0]);
    y0 = Math.min(y0, p[1]);
    y1 = Math.max(y1, p[1]);
  }
  if (!Number.isFinite(x0)) return [-1, 1, -1, 1];
  const px = (x1 - x0) * 0.05 || 1;
  const py = (y1 - y0) * 0.05 || 1;
  return [x0 - px, x1 + px, y0 - py, y1 + py];
}

/**
 * Draw labelled points inside `rect` ({x, y, w, h}) for a plane spanning `extent`.
 * labels: class indices (classification) or numbers (regression, coloured on the diverging
 * scale). `test` (bool per point) draws a dark ring for test points, a light one for training.
 */
export function drawPoints(ctx, points, labels, extent, rect, { nClasses = 2, regression = false, test = null, radius = 3 } = {}) {
  const [x0, x1, y0, y1] = extent;
  const sx = rect.w / (x1 - x0 || 1);
  const sy = rect.h / (y1 - y0 || 1);
  let lo = Infinity;
  let hi = -Infinity;
  if (regression) {
    for (const v of labels) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const table = regression ? divergingTable() : null;
  const ringTrain = cssVar('--ring-train');
  const ringTest = cssVar('--ring-test');
  ctx.lineWidth = 1;
  points.forEach((p, i) => {
    if (!p) return;
    const x = rect.x + (p[0] - x0) * sx;
    const y = rect.y + rect.h - (p[1] - y0) * sy;
    let color;
    if (regression) {
      const d = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
      const b = Math.max(0, Math.min(255, Math.round((labels[i] / d + 1) * 127.5)));
      color = `rgb(${table[b * 3]},${table[b * 3 + 1]},${table[b * 3 + 2]})`;
    } else {
      color = classColor(labels[i] ?? 0, nClasses);
    }
    ctx.beginPath();
    ctx.arc(x, y, radius, 0, Math.PI * 2);
    ctx.fillStyle = color;
    ctx.fill();
    ctx.strokeStyle = test && test[i] ? ringTest : ringTrain;
    ctx.stroke();
  });
}

/** A polyline of `values` over [0, n) inside rect, for value range [lo, hi]. */
export function drawSeries(ctx, values, rect, lo, hi, { color, width = 2, offset = 0, total = null, dash = null } = {}) {
  const n = total ?? values.length;
  if (!values.length) return;
  const span = hi - lo || 1;
  ctx.save();
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  if (dash) ctx.setLineDash(dash);
  ctx.beginPath();
  let started = false;
  values.forEach((v, i) => {
    if (v === null || v === undefined || !Number.isFinite(v)) {
      started = false;
      return;
    }
    const x = rect.x + ((offset + i) / Math.max(1, n - 1)) * rect.w;
    const y = rect.y + rect.h - ((v - lo) / span) * rect.h;
    if (started) ctx.lineTo(x, y);
    else ctx.moveTo(x, y);
    started = true;
  });
  ctx.stroke();
  ctx.restore();
}

/** Draw an image given as nested lists (h x w, or c x h x w with c=1 or 3) of values 0..1. */
export function drawNestedImage(ctx, image, x, y, size) {
  let rows = image;
  if (Array.isArray(image[0]?.[0])) {
    rows = image.length === 3 ? image : image[0];
    if (image.length === 3) return drawRgb(ctx, image, x, y, size);
  }
  const hgt = rows.length;
  const wdt = rows[0]?.length || 0;
  if (!hgt || !wdt) return;
  const bytes = new Uint8Array(hgt * wdt);
  rows.forEach((row, r) => row.forEach((v, c) => {
    bytes[r * wdt + c] = Math.max(0, Math.min(255, Math.round((v ?? 0) * 255)));
  }));
  drawGrid(ctx, gridImage(bytes, hgt, wdt, greyTable()), x, y, size, size * (hgt / wdt));
}

function drawRgb(ctx, image, x, y, size) {
  const hgt = image[0].length;
  const wdt = image[0][0].length;
  const off = document.createElement('canvas');
  off.width = wdt;
  off.height = hgt;
  const octx = off.getContext('2d');
  const img = octx.createImageData(wdt, hgt);
  for (let r = 0; r < hgt; r += 1) {
    for (let c = 0; c < wdt; c += 1) {
      const o = (r * wdt + c) * 4;
      for (let k = 0; k < 3; k += 1) img.data[o + k] = Math.round((image[k][r][c] ?? 0) * 255);
      img.data[o + 3] = 255;
    }
  }
  octx.putImageData(img, 0, 0);
  drawGrid(ctx, off, x, y, size, size * (hgt / wdt));
}

/** Min and max of numbers in nested arrays, ignoring null. */
export function rangeOf(...arrays) {
  let lo = Infinity;
  let hi = -Infinity;
  const visit = (a) => {
    for (const v of a) {
      if (Array.isArray(v)) visit(v);
      else if (v !== null && Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  };
  arrays.forEach((a) => a && visit(a));
  if (!Number.isFinite(lo)) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  return [lo, hi];
}

let fontScale = 1;

/** Scale every chart label (projector mode makes them larger). */
export function setFontScale(scale) {
  fontScale = scale;
}

/** The pixel size a label of `size` is drawn at (projector mode scales it). */
export function labelPx(size) {
  return Math.round(size * fontScale);
}

/** Small text label helper. */
export function label(ctx, text, x, y, { color = cssVar('--muted'), align = 'left', baseline = 'alphabetic', size = 12, bold = false } = {}) {
  ctx.save();
  ctx.fillStyle = color;
  ctx.font = `${bold ? '600 ' : ''}${Math.round(size * fontScale)}px system-ui, sans-serif`;
  ctx.textAlign = align;
  ctx.textBaseline = baseline;
  ctx.fillText(text, x, y);
  ctx.restore();
}
