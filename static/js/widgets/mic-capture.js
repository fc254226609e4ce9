// "Record with the microphone" (the data column): the microphone is asked for only when the
// learner presses "Start the microphone"; a class's button records one clip of CLIP_MS,
// decoded, resampled to 8 kHz and turned into the log-mel spectrogram of spoken_digits
// (audio/spectrogram.js), a 32×32 grey picture. Pictures stay in this page until "Save as
// upload" sends them to this LayerLab server as an image upload; the audio is not kept.

import { h } from '../util/dom.js';
import { captureBoard, pngBytes, saveOnClick } from './capture-board.js';
import { FRAMES, MELS, logMel, resample, toBytes } from '../audio/spectrogram.js';

const CLIP_MS = 1000; // one word; the recipe keeps the first 0.99 s

/** A spectrogram (MELS, FRAMES) -> a grey canvas, row 0 on top. */
function spectrogramCanvas(spec) {
  const canvas = h('canvas', { width: FRAMES, height: MELS, class: 'capture-frame' });
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(FRAMES, MELS);
  toBytes(spec).forEach((v, i) => img.data.set([v, v, v, 255], 4 * i));
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/** microphonePanel({onUse(upload)}) -> {element, stop()} */
export function microphonePanel({ onUse }) {
  const status = h('p', { class: 'hint', id: 'mic-status', role: 'status' });
  let stream = null;
  let busy = false;
  let audio = null; // AudioContext, made on the learner's press (decodes the clips)

  async function record(index) {
    if (!stream || busy) return;
    busy = true;
    const button = document.getElementById(`mic-record-${index}`);
    button?.classList.add('recording');
    status.textContent = 'Recording…';
    try {
      const recorder = new MediaRecorder(stream);
      const chunks = [];
      recorder.addEventListener('dataavailable', (e) => chunks.push(e.data));
      const done = new Promise((resolve) => recorder.addEventListener('stop', resolve));
      recorder.start();
      setTimeout(() => recorder.state !== 'inactive' && recorder.stop(), CLIP_MS);
      await done;
      const decoded = await audio.decodeAudioData(await new Blob(chunks).arrayBuffer());
      const spec = logMel(resample(decoded.getChannelData(0), decoded.sampleRate));
      const canvas = spectrogramCanvas(spec);
      const bytes = await pngBytes(canvas);
      status.textContent = board.add(index, { canvas, bytes }) ? 'Clip kept as its spectrogram.' : 'This class is full: delete some clips or save.';
      save.disabled = board.total() === 0;
    } catch (err) {
      status.textContent = `The clip was not recorded: ${err.message || err.name}`;
      status.classList.add('field-error');
    } finally {
      button?.classList.remove('recording');
      busy = false;
    }
  }
  const board = captureBoard({
    prefix: 'mic',
    names: ['class 1', 'class 2'],
    recordControl: (i) => h('button', { type: 'button', id: `mic-record-${i}`, class: 'capture-record', title: 'Record one second for this class', onclick: () => record(i) }, 'Record 1 s'),
  });

  const startBtn = h('button', { type: 'button', id: 'mic-start' }, 'Start the microphone');
  const stopBtn = h('button', { type: 'button', id: 'mic-stop', hidden: true }, 'Stop the microphone');
  startBtn.addEventListener('click', async () => {
    status.textContent = 'Asking for the microphone…';
    status.classList.remove('field-error');
    if (!navigator.mediaDevices?.getUserMedia) {
      // Browsers offer the microphone to secure pages only: https, or this computer's own server.
      status.textContent = `This browser offers the microphone only to pages on https or on localhost: open LayerLab that way to record.`;
      status.classList.add('field-error');
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    } catch (err) {
      status.textContent = `No microphone: ${err.message || err.name}`;
      status.classList.add('field-error');
      return;
    }
    audio ??= new AudioContext();
    startBtn.hidden = true;
    stopBtn.hidden = false;
    root.dataset.mic = 'on';
    status.textContent = 'Microphone on. Press a class’s button and say its word.';
  });
  function stop() {
    stream?.getTracks().forEach((t) => t.stop());
    stream = null;
    startBtn.hidden = false;
    stopBtn.hidden = true;
    root.dataset.mic = 'off';
  }
  stopBtn.addEventListener('click', () => {
    stop();
    status.textContent = 'Microphone off.';
  });

  const save = h('button', { type: 'button', id: 'mic-save', disabled: true }, 'Save as upload');
  saveOnClick(save, {
    board, status, stop, onUse, noun: 'spectrograms',
    // 32×32 grey, as the spectrograms are: the upload keeps them pixel for pixel.
    options: () => ({ size: MELS, color: 'grayscale', filename: 'microphone.zip' }),
  });

  const root = h(
    'details',
    { class: 'capture-details', id: 'mic-details', dataset: { mic: 'off' } },
    h('summary', {}, 'Record with the microphone'),
    h('p', { class: 'hint capture-note' }, 'The microphone starts only when you press the button. Each clip becomes a spectrogram, a 32×32 picture of its sound, in this page; the audio itself is not kept. Pictures go to this LayerLab server as an image upload when you press Save, and nowhere else.'),
    h('div', { class: 'capture-buttons' }, startBtn, stopBtn),
    board.element,
    h('div', { class: 'capture-buttons' }, save),
    status,
  );
  // Folding the panel away turns the microphone off.
  root.addEventListener('toggle', () => {
    if (!root.open && stream) {
      stop();
      status.textContent = 'Microphone off.';
    }
  });
  return { element: root, stop };
}
