// Canvas helpers: crisp drawing on high-DPI screens, images from lookup tables.

/**
 * Size a canvas backing store to its CSS box times devicePixelRatio and return a 2D context
 * scaled so that drawing uses CSS pixels. `width`/`height` fall back to the element's box.
 */
export function fitCanvas(canvas, width, height) {
  const ratio = Math.min(window.devicePixelRatio || 1, 2);
  const w = Math.max(1, Math.round(width ?? canvas.clientWidth ?? canvas.width));
  const h = Math.max(1, Math.round(height ?? canvas.clientHeight ?? canvas.height));
  if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  return { ctx, width: w, height: h };
}

/**
 * Paint a (rows x cols) grid of bytes through a 256x3 colour table into an offscreen canvas
 * and return it, ready to be drawn scaled with drawImage. `flipY` puts row 0 at the bottom
 * (grids over a plane, y grows upwards).
 */
export function gridImage(bytes, rows, cols, table, { flipY = false, offset = 0 } = {}) {
  const off = document.createElement('canvas');
  off.width = cols;
  off.height = rows;
  const ctx = off.getContext('2d');
  const img = ctx.createImageData(cols, rows);
  for (let r = 0; r < rows; r += 1) {
    const outRow = flipY ? rows - 1 - r : r;
    for (let c = 0; c < cols; c += 1) {
      const b = bytes[offset + r * cols + c];
      const o = (outRow * cols + c) * 4;
      img.data[o] = table[b * 3];
      img.data[o + 1] = table[b * 3 + 1];
      img.data[o + 2] = table[b * 3 + 2];
      img.data[o + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  return off;
}

/** Draw an offscreen grid image into a rectangle, smoothed or pixelated. */
export function drawGrid(ctx, image, x, y, w, h, smooth = false) {
  ctx.imageSmoothingEnabled = smooth;
  ctx.drawImage(image, x, y, w, h);
  ctx.imageSmoothingEnabled = true;
}

/** True when a canvas holds more than one colour (used by the tests through data-drawn). */
export function markDrawn(canvas, drawn = true) {
  canvas.dataset.drawn = drawn ? 'true' : 'false';
}

/** A "no data yet" message in the middle of a canvas. */
export function emptyMessage(ctx, width, height, text, color) {
  ctx.save();
  ctx.fillStyle = color;
  ctx.font = '15px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  // Wrapped to the canvas's width (a phone's views are narrow): never cut at the edges.
  const lines = [];
  let line = '';
  for (const word of String(text).split(' ')) {
    const next = line ? `${line} ${word}` : word;
    if (line && ctx.measureText(next).width > width - 16) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line) lines.push(line);
  const lh = 19;
  lines.forEach((l, i) => ctx.fillText(l, width / 2, height / 2 + (i - (lines.length - 1) / 2) * lh));
  ctx.restore();
}
