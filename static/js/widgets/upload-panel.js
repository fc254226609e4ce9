// "Your own data" (the data column): upload a CSV (choose its target column, the task, what
// to do with empty cells) or a zip of images (one folder per class; size, colour), list this
// browser's uploads, use or delete one. POST /api/datasets/uploads as multipart, with the
// owner token; the server parses and checks the file and names the row, column or file
// that is wrong. "Use" makes the experiment's dataset {"name": "upload", "id"}.

import { h, replace, formatShape } from '../util/dom.js';
import { sendUpload, ownedUploads } from '../uploads-api.js';
import { drawPanel } from './draw-points.js';
import { cameraPanel } from './camera-capture.js';
import { microphonePanel } from './mic-capture.js';

const HEADER_BYTES = 64 * 1024; // the header line is read from the file's start only

/** A first network for each family: used when "Use" switches to another family. */
export function layersFor(family) {
  if (family === 'image') {
    return [
      { type: 'conv2d', filters: 8, kernel_size: 3, activation: 'relu' },
      { type: 'maxpool2d', pool_size: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 32, activation: 'relu' },
    ];
  }
  if (family === 'sequence') return [{ type: 'lstm', units: 16 }];
  if (family === '2d') return [{ type: 'dense', units: 8, activation: 'tanh' }, { type: 'dense', units: 8, activation: 'tanh' }];
  return [{ type: 'dense', units: 16, activation: 'relu' }];
}

/** The header cells of a CSV's first line (quotes understood), for the target column choice. */
export function headerOf(text) {
  const cells = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cell.trim());
      cell = '';
    } else if (c === '\n' || c === '\r') break;
    else cell += c;
  }
  cells.push(cell.trim());
  return cells.map((c) => c.replace(/^\uFEFF/, ''));
}

function describe(u) {
  if (u.kind === 'series') return `${u.n} windows of ${u.input_shape[0]} values, forecasting`;
  const what = u.kind === 'images' ? `${u.n} images ${formatShape(u.input_shape)}` : `${u.n} rows, ${u.input_shape[0]} inputs`;
  const task = u.task === 'classification' ? `${u.class_names.length} classes` : 'regression';
  return `${what}, ${task}`;
}

/**
 * uploadPanel({root, getSpec, onUse(spec, upload)}) -> {setDesign(family, spec, preview)}
 * `onUse` puts an upload's dataset into the design (main.js also picks a first network).
 */
export function uploadPanel({ root, getSpec, onUse }) {
  const file = h('input', { type: 'file', id: 'upload-file', accept: '.csv,.zip,text/csv,application/zip', 'aria-describedby': 'upload-status' });
  const target = h('select', { id: 'upload-target' });
  const task = h('select', { id: 'upload-task' }, h('option', { value: '' }, 'guess from the column'), h('option', { value: 'classification' }, 'classification'), h('option', { value: 'regression' }, 'regression'), h('option', { value: 'forecasting' }, 'forecasting (a series)'));
  const missing = h('select', { id: 'upload-missing' }, h('option', { value: 'refuse' }, 'refuse them'), h('option', { value: 'fill' }, 'fill them'));
  const size = h('input', { type: 'number', id: 'upload-size', min: '4', max: '64', step: '1', value: '16' });
  const color = h('select', { id: 'upload-color' }, h('option', { value: 'grayscale' }, 'grayscale'), h('option', { value: 'rgb' }, 'colour'));
  // Forecasting: the target column is the series, cut into windows; a time column orders it.
  const window_ = h('input', { type: 'number', id: 'upload-window', min: '1', max: '512', step: '1', value: '16' });
  const horizon = h('input', { type: 'number', id: 'upload-horizon', min: '1', max: '64', step: '1', value: '1' });
  const time = h('select', { id: 'upload-time' });
  const series = h('div', { class: 'upload-options', id: 'upload-series-options', hidden: true }, h('label', {}, 'Window ', window_), h('label', {}, 'Horizon ', horizon), h('label', {}, 'Time column ', time));
  task.addEventListener('change', () => {
    series.hidden = task.value !== 'forecasting';
  });
  const csvOptions = h(
    'div',
    { class: 'upload-options', id: 'upload-csv-options' },
    h('label', {}, 'Target column ', target),
    h('label', {}, 'Task ', task),
    series,
    h('label', {}, 'Empty cells ', missing),
  );
  const imageOptions = h('div', { class: 'upload-options', id: 'upload-image-options', hidden: true }, h('label', {}, 'Image size ', size), h('label', {}, 'Colour ', color));
  const send = h('button', { type: 'submit', id: 'upload-send', disabled: true }, 'Upload');
  const status = h('p', { class: 'hint upload-status', id: 'upload-status', role: 'status' });
  const list = h('ul', { class: 'upload-list', id: 'upload-list', 'aria-label': 'Your uploads' });
  let kind = 'csv';
  let uploads = [];

  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    send.disabled = !f;
    status.textContent = '';
    if (!f) return;
    kind = /\.zip$/i.test(f.name) ? 'images' : 'csv';
    csvOptions.hidden = kind !== 'csv';
    imageOptions.hidden = kind !== 'images';
    if (kind === 'csv') {
      const names = headerOf(await f.slice(0, HEADER_BYTES).text());
      replace(target, names.map((n) => h('option', { value: n }, n)));
      replace(time, h('option', { value: '' }, '(rows in file order)'), names.map((n) => h('option', { value: n }, n)));
      target.value = names[names.length - 1] || '';
    }
  });

  const form = h(
    'form',
    {
      class: 'upload-form',
      id: 'upload-form',
      onsubmit: async (e) => {
        e.preventDefault();
        const f = file.files?.[0];
        if (!f) return;
        const body = new FormData();
        body.append('file', f, f.name);
        body.append('kind', kind);
        if (kind === 'csv') {
          body.append('target', target.value);
          body.append('task', task.value);
          body.append('missing', missing.value);
          if (task.value === 'forecasting') {
            body.append('window', window_.value);
            body.append('horizon', horizon.value);
            body.append('time', time.value);
          }
        } else {
          body.append('image_size', size.value);
          body.append('color', color.value);
        }
        send.disabled = true;
        status.textContent = `Uploading ${f.name}…`;
        status.classList.remove('field-error');
        try {
          const made = await sendUpload(body);
          status.textContent = `Uploaded ${made.name}: ${describe(made)}.`;
          await refresh();
          onUse(made.dataset, made);
        } catch (err) {
          status.textContent = `${f.name} was refused: ${err.message}`;
          status.classList.add('field-error');
        } finally {
          send.disabled = false;
        }
      },
    },
    h('label', { class: 'upload-file' }, 'A CSV table or a zip of image folders ', file),
    csvOptions,
    imageOptions,
    send,
    status,
  );

  async function refresh() {
    try {
      uploads = await ownedUploads('GET');
    } catch {
      uploads = [];
    }
    const current = getSpec();
    replace(
      list,
      uploads.map((u) =>
        h(
          'li',
          { class: current?.name === 'upload' && current.id === u.id ? 'upload-current' : '' },
          h('span', { class: 'upload-name', title: describe(u) }, u.name),
          h('span', { class: 'muted' }, ` ${describe(u)} `),
          h('button', { type: 'button', class: 'upload-use', onclick: () => onUse(u.dataset, u) }, 'Use'),
          h(
            'button',
            {
              type: 'button',
              class: 'upload-delete',
              'aria-label': `Delete ${u.name}`,
              onclick: async () => {
                await ownedUploads('DELETE', u.id).catch(() => null);
                refresh();
              },
            },
            'Delete',
          ),
        ),
      ),
    );
  }

  const details = h('details', { class: 'upload-details', id: 'upload-details' }, h('summary', {}, 'Your own data'), form, list);
  details.addEventListener('toggle', () => details.open && refresh());
  const draw = drawPanel({
    onUse: (made) => {
      refresh();
      onUse(made.dataset, made);
    },
  });
  // Live capture: camera frames or microphone clips, saved as an image upload, then used.
  const useMade = (made) => {
    refresh();
    onUse(made.dataset, made);
  };
  const camera = cameraPanel({ onUse: useMade });
  const microphone = microphonePanel({ onUse: useMade });
  replace(root, details, draw.element, camera.element, microphone.element);

  return {
    /** The design's dataset family, spec and preview: drawing is offered for 2D data. */
    setDesign(family, spec, preview) {
      draw.setDesign(family, spec, preview);
    },
    redraw: () => draw.redraw(),
    /** Open "Capture with the camera" and bring it into view (the gestures lesson). */
    openCamera() {
      camera.element.open = true;
      camera.element.scrollIntoView({ block: 'nearest' });
    },
  };
}
