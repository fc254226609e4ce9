// "Try the model" for an image upload: drop an image (or choose a file) and it is resized to
// the model's input, grey or colour like the upload, and sent as raw pixels 0..255 (C, H, W).
// Grey uses the ITU-R 601 luma weights, as Pillow's convert("L") does on the server.

import { h } from '../util/dom.js';

/** imageDrop([C, H, W], onImage(pixels)) -> element */
export function imageDrop(shape, onImage) {
  const [channels, rows, cols] = shape;
  const preview = h('canvas', { id: 'try-drop-preview', class: 'try-pad', width: cols, height: rows, 'aria-label': 'The image as the model sees it', title: 'Your image, resized (and grey) as the model sees it' });
  preview.style.width = '112px';
  preview.style.height = '112px';
  preview.style.imageRendering = 'pixelated';
  const input = h('input', { type: 'file', id: 'try-image', accept: 'image/png,image/jpeg' });
  const zone = h('div', { class: 'try-drop', id: 'try-drop', tabindex: '0' }, 'Drop an image here, or choose one: ', input);

  async function use(file) {
    if (!file) return;
    const bitmap = await createImageBitmap(file);
    const ctx = preview.getContext('2d');
    ctx.drawImage(bitmap, 0, 0, cols, rows); // stretched to the square, like the upload's resize
    const { data } = ctx.getImageData(0, 0, cols, rows);
    const plane = (f) => Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => f(4 * (i * cols + j))));
    const pixels =
      channels === 1
        ? [plane((k) => Math.round(0.299 * data[k] + 0.587 * data[k + 1] + 0.114 * data[k + 2]))]
        : [0, 1, 2].map((c) => plane((k) => data[k + c]));
    if (channels === 1) {
      // Show it grey, as the model sees it.
      const img = ctx.getImageData(0, 0, cols, rows);
      pixels[0].flat().forEach((v, i) => img.data.set([v, v, v, 255], 4 * i));
      ctx.putImageData(img, 0, 0);
    }
    preview.dataset.drawn = 'true';
    onImage(pixels);
  }
  input.addEventListener('change', () => use(input.files?.[0]));
  zone.addEventListener('dragover', (e) => e.preventDefault());
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    use(e.dataTransfer?.files?.[0]);
  });
  return h('div', { class: 'try-form' }, zone, preview);
}
