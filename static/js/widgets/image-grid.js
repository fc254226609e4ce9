// Grids of small images from byte grids: the first conv's filters, feature maps of the probe
// image, sample predictions marked right or wrong, and autoencoder originals beside their
// reconstructions.

import { fitCanvas, markDrawn, emptyMessage, gridImage, drawGrid } from '../util/canvas.js';
import { cssVar, divergingTable, greyTable, sequentialTable } from '../util/colors.js';
import { decodeGrid, divergingBytes } from '../bytegrid.js';
import { label } from '../util/plot.js';

/** Split a decoded grid (n, h, w) or (n, c, h, w) into per-image offscreen canvases. */
export function gridImages(grid, colour = 'grey') {
  const g = decodeGrid(grid);
  if (!g || g.shape.length < 2) return [];
  let shape = g.shape;
  if (shape.length === 2) shape = [1, ...shape];
  const [n] = shape;
  const h = shape[shape.length - 2];
  const w = shape[shape.length - 1];
  const per = g.size / n;
  const bytes = colour === 'diverging' ? divergingBytes(g) : g.bytes;
  const table = colour === 'diverging' ? divergingTable() : colour === 'heat' ? sequentialTable() : greyTable();
  const out = [];
  for (let i = 0; i < n; i += 1) {
    // Multi-channel images show their first channel (per-channel views are feature maps).
    out.push(gridImage(bytes, h, w, table, { offset: i * per }));
  }
  return out.map((image, i) => ({ image, h, w, flat: isFlat(g.bytes, i * per, per) }));
}

/** True when an image's bytes are all equal (a blank map: e.g. a dead ReLU channel). */
function isFlat(bytes, offset, n) {
  const first = bytes[offset];
  for (let i = 1; i < n; i += 1) if (bytes[offset + i] !== first) return false;
  return true;
}

function layoutCells(n, width, height, aspect, minCell = 28, gapY = 0) {
  let best = { cols: 1, cell: 0 };
  for (let cols = 1; cols <= n; cols += 1) {
    const rows = Math.ceil(n / cols);
    const cell = Math.min(width / cols, (height - rows * gapY) / rows / aspect);
    if (cell > best.cell) best = { cols, cell };
  }
  best.cell = Math.max(minCell, Math.floor(best.cell));
  return best;
}

/**
 * imageGridView({canvas, readout, emptyText})
 * set({grid, colour, labels, predictions, classNames, caption, maxItems})
 */
export function imageGridView({ canvas, readout, emptyText = 'Appears once training starts' }) {
  let state = null;
  let cells = [];

  canvas.addEventListener('mousemove', (e) => {
    if (!readout || !state) return;
    const r = canvas.getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    const hit = cells.find((c) => x >= c.x && x <= c.x + c.w && y >= c.y && y <= c.y + c.h);
    readout.textContent = hit ? hit.text : state.caption || '';
  });

  function name(i) {
    return state.classNames?.[i] ?? String(i);
  }

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas);
    cells = [];
    const images = state?.grid ? gridImages(state.grid, state.colour).slice(0, state.maxItems || 64) : [];
    if (!images.length) {
      emptyMessage(ctx, width, height, emptyText, cssVar('--muted'));
      markDrawn(canvas, false);
      if (readout) readout.textContent = '';
      return;
    }
    const hasLabels = Array.isArray(state.labels);
    // Feature maps: a label under each channel, wider gaps, the probe image first on the left.
    const channelLabels = Boolean(state.gaps);
    const textH = hasLabels || channelLabels ? 16 : 0;
    const aspect = images[0].h / images[0].w;
    const probe = state.probe ? gridImages(state.probe, 'grey')[0] : null;
    const left = probe ? Math.min(width * 0.22, height * 0.8) + 12 : 0;
    const { cols, cell } = layoutCells(images.length, width - left, height, aspect, 20, textH);
    const pad = Math.max(channelLabels ? 6 : 2, Math.round(cell * (channelLabels ? 0.14 : 0.08)));
    if (probe) {
      const side = left - 12;
      drawGrid(ctx, probe.image, 0, 0, side, side * (probe.h / probe.w), false);
      label(ctx, 'probe image', 0, side * (probe.h / probe.w) + 13, { size: 12, color: cssVar('--fg'), bold: true });
    }
    let dead = 0;
    images.forEach(({ image, flat }, i) => {
      const x = left + (i % cols) * cell + pad / 2;
      const y = Math.floor(i / cols) * (cell * aspect + textH) + pad / 2;
      const w = cell - pad;
      const h = w * aspect;
      drawGrid(ctx, image, x, y, w, h, false);
      let text = state.itemName ? `${state.itemName} ${i + 1}` : `#${i + 1}`;
      if (channelLabels) {
        label(ctx, flat ? `ch ${i + 1} · blank` : `ch ${i + 1}`, x, y + h + 12, { size: 11, color: flat ? cssVar('--bad') : cssVar('--muted') });
        if (flat) {
          dead += 1;
          text = `${text}: blank for this image (a dead ReLU: it outputs 0 here)`;
        }
      }
      if (hasLabels) {
        const truth = state.labels[i];
        const pred = state.predictions?.[i];
        const right = pred === undefined || pred === truth;
        if (pred !== undefined) {
          ctx.strokeStyle = right ? cssVar('--ok') : cssVar('--bad');
          ctx.lineWidth = 3;
          ctx.strokeRect(x - 1, y - 1, w + 2, h + 2);
          label(ctx, `${right ? '✓' : '✗'} ${name(pred)}`, x, y + h + 13, {
            size: 12,
            bold: !right,
            color: right ? cssVar('--ok') : cssVar('--bad'),
          });
          text = `Sample ${i + 1}: true ${name(truth)}, predicted ${name(pred)} (${right ? 'right' : 'wrong'})`;
        } else {
          label(ctx, name(truth), x, y + h + 13, { size: 12 });
          text = `Sample ${i + 1}: ${name(truth)}`;
        }
      }
      cells.push({ x, y, w, h, text });
    });
    markDrawn(canvas);
    canvas.dataset.blank = String(dead);
    const deadText = dead ? ` ${dead} channel${dead === 1 ? ' is' : 's are'} blank: a ReLU that outputs 0 for this image is dead here (a lower learning rate or leaky_relu often revives it).` : '';
    if (readout) readout.textContent = `${state.caption || ''}${deadText}`;
  }

  return {
    set(next) {
      state = next;
    },
    draw,
  };
}

/**
 * Originals beside reconstructions: images (byte grids) as two rows; 2D points as a scatter with
 * a line from each original to its reconstruction; other vectors as two heat strips per example.
 */
export function pairGridView({ canvas, readout, emptyText = 'Appears once training starts' }) {
  let state = null;

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas);
    const o = state?.originals;
    const r = state?.reconstructions;
    if (Array.isArray(o) && Array.isArray(r) && o.length) {
      if (o[0]?.length === 2) drawPointPairs(ctx, width, height, o, r, state.extent);
      else drawVectorPairs(ctx, width, height, o, r);
      markDrawn(canvas);
      if (readout) readout.textContent = state.caption || '';
      return;
    }
    const a = o ? gridImages(o) : [];
    const b = r ? gridImages(r) : [];
    const n = Math.min(a.length, b.length, 12);
    if (!n) {
      emptyMessage(ctx, width, height, emptyText, cssVar('--muted'));
      markDrawn(canvas, false);
      return;
    }
    // As many columns as make the cells largest, the pairs of rows wrapped to fill the
    // canvas's height and centred in it (one thin strip left an empty area below).
    const labelW = 120;
    const aspect = a[0].h / a[0].w;
    let best = { cell: 0, cols: n, bands: 1 };
    for (let cols = 1; cols <= n; cols += 1) {
      const bands = Math.ceil(n / cols);
      const cell = Math.min((width - labelW) / cols, (height - 8) / (2 * bands * aspect + (bands - 1) * 0.3));
      if (cell > best.cell) best = { cell, cols, bands };
    }
    const cell = Math.max(16, best.cell);
    const w = cell - 4;
    const h = w * aspect;
    const bandH = 2 * cell * aspect + cell * 0.3;
    const top = Math.max(2, (height - (best.bands * bandH - cell * 0.3)) / 2);
    for (let band = 0; band < best.bands; band += 1) {
      const y = top + band * bandH;
      label(ctx, 'original', 0, y + h / 2 + 6, { color: cssVar('--fg'), bold: true, size: 14 });
      label(ctx, 'reconstruction', 0, y + cell * aspect + h / 2 + 6, { color: cssVar('--fg'), bold: true, size: 14 });
      for (let j = 0; j < best.cols; j += 1) {
        const i = band * best.cols + j;
        if (i >= n) break;
        const x = labelW + j * cell;
        drawGrid(ctx, a[i].image, x, y, w, h, false);
        drawGrid(ctx, b[i].image, x, y + cell * aspect, w, h, false);
      }
    }
    markDrawn(canvas);
    if (readout) readout.textContent = state.caption || 'Top: validation examples. Below: what the autoencoder rebuilds from its code.';
  }

  function drawPointPairs(ctx, width, height, o, r, extent) {
    const all = [...o, ...r];
    const [x0, x1, y0, y1] = extent || [
      Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0])),
      Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1])),
    ];
    const size = Math.min(width, height) - 8;
    const left = (width - size) / 2;
    const X = (v) => left + ((v - x0) / (x1 - x0 || 1)) * size;
    const Y = (v) => 4 + size - ((v - y0) / (y1 - y0 || 1)) * size;
    ctx.strokeStyle = cssVar('--grid');
    ctx.strokeRect(left + 0.5, 4.5, size, size);
    ctx.lineWidth = 1;
    ctx.strokeStyle = cssVar('--muted');
    o.forEach((p, i) => {
      const q = r[i];
      if (!q) return;
      ctx.beginPath();
      ctx.moveTo(X(p[0]), Y(p[1]));
      ctx.lineTo(X(q[0]), Y(q[1]));
      ctx.stroke();
    });
    for (const [pts, color, rad] of [[o, cssVar('--pos'), 3], [r, cssVar('--neg'), 2.5]]) {
      ctx.fillStyle = color;
      for (const p of pts) {
        ctx.beginPath();
        ctx.arc(X(p[0]), Y(p[1]), rad, 0, Math.PI * 2);
        ctx.fill();
      }
    }
    state.caption = 'Blue: original points; orange: their reconstructions; lines join each pair.';
  }

  function drawVectorPairs(ctx, width, height, o, r) {
    const n = Math.min(o.length, 8);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of [...o.slice(0, n), ...r.slice(0, n)]) for (const x of v) if (Number.isFinite(x)) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
    const rowH = Math.min(28, (height - 4) / (n * 2));
    const d = o[0].length;
    const cw = (width - 120) / d;
    const table = sequentialTable();
    const colour = (v) => {
      const b = Math.round(((v - lo) / (hi - lo || 1)) * 255);
      return `rgb(${table[b * 3]},${table[b * 3 + 1]},${table[b * 3 + 2]})`;
    };
    for (let i = 0; i < n; i += 1) {
      const y = i * rowH * 2;
      label(ctx, `#${i + 1} original`, 0, y + rowH * 0.7, { size: 11 });
      label(ctx, 'rebuilt', 0, y + rowH * 1.7, { size: 11 });
      o[i].forEach((v, j) => { ctx.fillStyle = colour(v); ctx.fillRect(120 + j * cw, y, Math.max(1, cw - 1), rowH - 1); });
      r[i].forEach((v, j) => { ctx.fillStyle = colour(v); ctx.fillRect(120 + j * cw, y + rowH, Math.max(1, cw - 1), rowH - 2); });
    }
    state.caption = 'Each example’s values (top) and its reconstruction (below).';
  }

  return {
    set(next) {
      state = next;
    },
    draw,
  };
}
