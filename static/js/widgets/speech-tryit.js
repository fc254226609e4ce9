// Speech "Try it" (a run on `spoken_digits`): say a digit and see what the network hears.
// - "Record 1 s" asks for the microphone only when pressed and lets it go after the clip; the
//   clip is turned into the dataset's log-mel spectrogram in this page (audio/spectrogram.js,
//   the same function as the microphone capture), drawn, and sent to the run's predict (with
//   `explain`): nothing is stored, not the audio, not the picture.
// - "Try a validation clip": one of the run's validation spectrograms (clips it never trained
//   on), for a computer without a microphone.
// The answer: the top predictions and Grad-CAM (Captum's LayerGradCam on the last convolution,
// ReLU, upsampled to the spectrogram) drawn over the spectrogram: where the network listened.

import { h, replace } from '../util/dom.js';
import { fitCanvas, gridImage, drawGrid, markDrawn, emptyMessage } from '../util/canvas.js';
import { cssVar, greyTable, parseColor } from '../util/colors.js';
import { label } from '../util/plot.js';
import { FRAMES, MELS, logMel, resample } from '../audio/spectrogram.js';

const CLIP_MS = 1000;
const SIDE = 224; // the spectrogram on screen (CSS pixels)
const TOP = 3; // predictions listed

/** speechTryIt({ask(raw), clips() -> Promise<{images, labels, class_names}>}) -> {element, show(answer), fail(message), redraw()} */
export function speechTryIt({ ask, clips }) {
  let spec = null; // Float32Array (MELS * FRAMES) in 0..1, row 0 on top (low frequencies)
  let cam = null; // (MELS, FRAMES) Grad-CAM of the latest answer, >= 0
  let audio = null;
  let busy = false;

  const status = h('p', { class: 'hint', id: 'speech-status', role: 'status' });
  const record = h('button', { type: 'button', id: 'speech-record', class: 'capture-record', title: 'Record one second and say a digit' }, 'Record 1 s');
  const clipSelect = h('select', { id: 'speech-clip', 'aria-label': 'A clip of the dataset' }, h('option', { value: '' }, 'Try a validation clip…'));
  const overlay = h('input', { type: 'checkbox', id: 'speech-overlay', checked: true });
  const canvas = h('canvas', { id: 'speech-spectrogram', class: 'speech-spectrogram', 'aria-label': 'The spectrogram of the clip, with Grad-CAM over it' });
  canvas.style.width = `${SIDE}px`;
  canvas.style.height = `${SIDE + 18}px`;
  const labelEl = h('p', { class: 'try-label', id: 'speech-label', 'aria-live': 'polite' });
  const top = h('ol', { class: 'try-bars speech-top', id: 'speech-top', 'aria-label': 'The most likely words' });
  const camNote = h('p', { class: 'hint', id: 'speech-cam-note' });

  record.addEventListener('click', recordClip);
  overlay.addEventListener('change', draw);
  clipSelect.addEventListener('focus', fillClips, { once: true });
  clipSelect.addEventListener('pointerdown', fillClips, { once: true });
  clipSelect.addEventListener('change', () => {
    const chosen = clipOptions[Number(clipSelect.value)];
    if (chosen) use(Float32Array.from(chosen.image.flat()), `A validation clip of “${chosen.word}” (the network never trained on it).`);
  });

  let clipOptions = [];
  let filling = null;
  function fillClips() {
    filling ??= clips().then((picture) => {
      clipOptions = picture.images.map((image, i) => ({ image, word: picture.class_names?.[picture.labels[i]] ?? String(picture.labels[i]) }));
      clipSelect.append(...clipOptions.map((c, i) => h('option', { value: String(i) }, `clip ${i + 1}: “${c.word}”`)));
      clipSelect.dataset.clips = String(clipOptions.length);
    }).catch((err) => {
      status.textContent = `The validation clips did not load: ${err.message}`;
    });
    return filling;
  }

  async function recordClip() {
    if (busy) return;
    if (!navigator.mediaDevices?.getUserMedia) {
      status.textContent = 'This browser offers the microphone only to pages on https or on localhost: open LayerLab that way, or try a validation clip.';
      return;
    }
    busy = true;
    record.classList.add('recording');
    status.textContent = 'Asking for the microphone…';
    let stream = null;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      audio ??= new AudioContext();
      status.textContent = 'Recording… say a digit.';
      const recorder = new MediaRecorder(stream);
      const chunks = [];
      recorder.addEventListener('dataavailable', (e) => chunks.push(e.data));
      const done = new Promise((resolve) => recorder.addEventListener('stop', resolve));
      recorder.start();
      setTimeout(() => recorder.state !== 'inactive' && recorder.stop(), CLIP_MS);
      await done;
      const decoded = await audio.decodeAudioData(await new Blob(chunks).arrayBuffer());
      use(logMel(resample(decoded.getChannelData(0), decoded.sampleRate)), 'Your clip, as its spectrogram. The audio is gone; nothing was saved.');
    } catch (err) {
      status.textContent = `The clip was not recorded: ${err.message || err.name}`;
    } finally {
      stream?.getTracks().forEach((t) => t.stop()); // the microphone is off again
      record.classList.remove('recording');
      busy = false;
    }
  }

  function use(next, note) {
    spec = next;
    cam = null;
    camNote.textContent = '';
    status.textContent = note;
    replace(labelEl, 'Asking the model…');
    replace(top);
    draw();
    // The raw input: (MELS, FRAMES) values 0..1, as the dataset's own spectrograms.
    ask(Array.from({ length: MELS }, (_, r) => Array.from(spec.subarray(r * FRAMES, (r + 1) * FRAMES), (v) => Math.round(v * 1e4) / 1e4)));
  }

  function draw() {
    const { ctx, width, height } = fitCanvas(canvas, SIDE, SIDE + 18);
    if (!spec) {
      emptyMessage(ctx, width, height, 'Record or pick a clip', cssVar('--muted'));
      markDrawn(canvas, false);
      return;
    }
    const bytes = Uint8Array.from(spec, (v) => Math.round(v * 255));
    drawGrid(ctx, gridImage(bytes, MELS, FRAMES, greyTable()), 0, 0, SIDE, SIDE);
    const showCam = cam && overlay.checked;
    if (showCam) drawGrid(ctx, camImage(cam), 0, 0, SIDE, SIDE, true);
    label(ctx, 'time →', SIDE, SIDE + 14, { align: 'right', size: 11 });
    label(ctx, 'low pitch at the top', 0, SIDE + 14, { size: 11 });
    markDrawn(canvas, true);
    canvas.dataset.overlay = showCam ? 'true' : 'false';
  }

  return {
    element: h(
      'div',
      { class: 'tryit-speech-view', id: 'tryit-speech-view' },
      h('p', { class: 'hint speech-note' }, 'Press Record and say a digit (zero to nine). The microphone starts only when you press, for one second; the clip becomes a spectrogram in this page and is sent to this LayerLab server to be answered. Nothing is stored.'),
      h('div', { class: 'capture-buttons' }, record, clipSelect),
      status,
      h('div', { class: 'speech-answer' },
        h('figure', { class: 'try-figure' }, canvas, h('figcaption', {}, h('label', {}, overlay, ' Grad-CAM: where the last convolution listened'))),
        h('div', { class: 'try-answer' }, labelEl, top, camNote)),
    ),
    show(answer) {
      const order = answer.output.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, TOP);
      labelEl.textContent = `The model hears: ${answer.label}`;
      replace(top, order.map(([p, i]) => {
        const bar = h('span', { class: 'try-bar pos' });
        bar.style.width = `${Math.round(p * 100)}%`;
        return h('li', { class: i === answer.predicted ? 'try-best' : '' }, h('span', { class: 'try-name' }, answer.class_names[i]), bar, h('span', { class: 'try-value' }, `${(p * 100).toFixed(1)}%`));
      }));
      cam = answer.attribution?.grad_cam || null;
      const peak = cam ? Math.max(0, ...cam.flat().map((v) => v ?? 0)) : 0;
      canvas.dataset.camPeak = String(peak);
      if (!cam) camNote.textContent = 'This network has no convolution: no Grad-CAM to draw.';
      else if (!peak) camNote.textContent = `Grad-CAM is zero everywhere: nothing the last convolution found speaks for “${answer.label}” yet (train longer).`;
      else camNote.textContent = `Orange: where the last convolution found “${answer.label}”.`;
      draw();
    },
    fail(message) {
      replace(labelEl, h('span', { class: 'field-error', role: 'alert' }, message));
    },
    redraw: draw,
  };
}

/** Grad-CAM (MELS, FRAMES) >= 0 -> an offscreen RGBA image: the warm colour, its opacity the
 * map's share of its own peak (so the strongest region is the most opaque). */
function camImage(cam) {
  const rows = cam.length;
  const cols = cam[0]?.length || 0;
  const off = document.createElement('canvas');
  off.width = cols;
  off.height = rows;
  const ctx = off.getContext('2d');
  const img = ctx.createImageData(cols, rows);
  const peak = Math.max(1e-12, ...cam.flat().map((v) => v ?? 0));
  const [r, g, b] = parseColor(cssVar('--val'));
  cam.forEach((row, i) => row.forEach((v, j) => {
    const o = (i * cols + j) * 4;
    img.data.set([r, g, b, Math.round((0.7 * 255 * Math.max(0, v ?? 0)) / peak)], o);
  }));
  ctx.putImageData(img, 0, 0);
  return off;
}
