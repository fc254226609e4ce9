// The classes of a live capture (camera frames or microphone clips): the learner names each
// class, records examples into it (the panel's own record control), sees them as a grid with a
// count, deletes any (its × button), and saves all as an image upload: a zip of
// `<class>/<n>.png` (util/zip.js) sent to POST /api/datasets/uploads like a chosen zip file.
// Examples stay in this page (bounded by MAX_PER_CLASS) until Save sends them to the server.

import { h, replace } from '../util/dom.js';
import { zipStored } from '../util/zip.js';
import { sendUpload } from '../uploads-api.js';

export const MAX_CLASSES = 6;
export const MAX_PER_CLASS = 200; // the page keeps at most this many examples a class

/** A canvas -> PNG bytes. */
export async function pngBytes(canvas) {
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
  return new Uint8Array(await blob.arrayBuffer());
}

/**
 * captureBoard({prefix, names, recordControl(index) -> element})
 *   -> {element, add(index, {canvas, bytes}), count(index), total(), save(options) -> upload}
 * `prefix` names the ids (`${prefix}-class-0`, ...); `recordControl` builds a class's button.
 */
/** The Save button's click: send the board as an upload, say how it went in `status`, then
 * `stop()` the device and hand the upload to `onUse`. `options`: board.save's; `noun`: what
 * the examples are called ("frames", "spectrograms"). */
export function saveOnClick(save, { board, status, stop, onUse, options, noun }) {
  save.addEventListener('click', async () => {
    save.disabled = true;
    status.classList.remove('field-error');
    status.textContent = `Sending ${board.total()} ${noun}…`;
    try {
      const made = await board.save(options());
      status.textContent = `Saved as ${made.name}: ${made.n} ${noun === 'frames' ? 'images' : noun}, ${made.class_names.length} classes. Design a CNN and train it.`;
      stop();
      onUse(made);
    } catch (err) {
      status.textContent = `Not saved: ${err.message}`;
      status.classList.add('field-error');
    } finally {
      save.disabled = board.total() === 0;
    }
  });
}

export function captureBoard({ prefix, names, recordControl }) {
  const classes = []; // [{name input, items: [{canvas, bytes}], grid, countEl, row}]
  const list = h('div', { class: 'capture-classes', id: `${prefix}-classes` });
  const addBtn = h('button', { type: 'button', id: `${prefix}-add-class`, onclick: () => addClass(`class ${classes.length + 1}`) }, 'Add a class');

  function render(c) {
    c.countEl.textContent = `${c.items.length}`;
    c.row.dataset.count = String(c.items.length);
    replace(
      c.grid,
      c.items.map((item, k) =>
        h(
          'span',
          { class: 'capture-thumb' },
          item.canvas,
          h('button', { type: 'button', class: 'capture-delete', 'aria-label': `Delete example ${k + 1} of ${c.name.value}`, title: 'Delete this example', onclick: () => { c.items.splice(k, 1); render(c); } }, '×'),
        ),
      ),
    );
  }

  function addClass(name) {
    if (classes.length >= MAX_CLASSES) return;
    const i = classes.length;
    const c = { items: [] };
    c.name = h('input', { type: 'text', id: `${prefix}-name-${i}`, value: name, maxlength: '40', 'aria-label': `Name of class ${i + 1}` });
    c.countEl = h('span', { class: 'capture-count', id: `${prefix}-count-${i}` }, '0');
    c.grid = h('div', { class: 'capture-grid', id: `${prefix}-grid-${i}` });
    c.row = h('div', { class: 'capture-class', id: `${prefix}-class-${i}`, dataset: { count: 0 } }, h('div', { class: 'capture-class-head' }, c.name, recordControl(i), h('span', { class: 'muted' }, c.countEl, ' recorded')), c.grid);
    classes.push(c);
    list.append(c.row);
    addBtn.disabled = classes.length >= MAX_CLASSES;
  }
  names.forEach(addClass);

  return {
    element: h('div', {}, list, h('div', { class: 'capture-buttons' }, addBtn)),
    count: (i) => classes[i]?.items.length ?? 0,
    total: () => classes.reduce((n, c) => n + c.items.length, 0),
    classCount: () => classes.length,
    /** Keep one example in class `i` (refused past MAX_PER_CLASS): true when kept. */
    add(i, item) {
      const c = classes[i];
      if (!c || c.items.length >= MAX_PER_CLASS) return false;
      c.items.push(item);
      render(c);
      return true;
    },
    /** Send the examples as an image upload: {size, color, filename} -> the upload's JSON. */
    async save({ size, color, filename }) {
      const used = classes.filter((c) => c.items.length);
      const folder = (c) => c.name.value.trim().replace(/[\\/:.]+/g, '_') || 'class';
      const seen = new Set();
      for (const c of used) {
        if (seen.has(folder(c))) throw new Error(`two classes are named "${folder(c)}": give each its own name`);
        seen.add(folder(c));
      }
      const files = used.flatMap((c) => c.items.map((item, k) => ({ name: `${folder(c)}/${k + 1}.png`, bytes: item.bytes })));
      const body = new FormData();
      body.append('file', new Blob([zipStored(files)], { type: 'application/zip' }), filename);
      body.append('kind', 'images');
      body.append('image_size', String(size));
      body.append('color', color);
      return sendUpload(body);
    },
  };
}
