// "Capture with the camera" (the data column): the camera is asked for only when the learner
// presses "Start the camera"; holding a class's button (or its number key, 1..6) records a
// frame every FRAME_MS, cut to the centre square and scaled to FRAME_SIDE pixels. The frames
// stay in this page until "Save as upload" sends them to this LayerLab server as an image
// upload (capture-board.js); then the design switches to it, and any CNN trains on it.

import { h } from '../util/dom.js';
import { captureBoard, pngBytes, saveOnClick } from './capture-board.js';
import { keyArea, ownsKeys } from '../util/key-owner.js';

const FRAME_SIDE = 64; // pixels of a kept frame (the upload resizes to the chosen size)
const FRAME_MS = 200; // five frames a second while a class's button is held

/** cameraPanel({onUse(upload)}) -> {element, stop()} */
export function cameraPanel({ onUse }) {
  const video = h('video', { id: 'camera-video', class: 'camera-video', muted: true, playsinline: true, autoplay: true, 'aria-label': 'The camera' });
  const status = h('p', { class: 'hint', id: 'camera-status', role: 'status' });
  let stream = null;
  let recording = null; // {index, timer}

  async function grab(index) {
    if (!stream || video.videoWidth === 0) return;
    const side = Math.min(video.videoWidth, video.videoHeight);
    const canvas = h('canvas', { width: FRAME_SIDE, height: FRAME_SIDE, class: 'capture-frame' });
    canvas.getContext('2d').drawImage(video, (video.videoWidth - side) / 2, (video.videoHeight - side) / 2, side, side, 0, 0, FRAME_SIDE, FRAME_SIDE);
    const bytes = await pngBytes(canvas);
    if (!board.add(index, { canvas, bytes })) status.textContent = 'This class is full: delete some frames or save.';
    save.disabled = board.total() === 0;
  }
  function startRecording(index) {
    if (!stream || recording) return;
    grab(index);
    recording = { index, timer: setInterval(() => grab(index), FRAME_MS) };
    document.getElementById(`camera-record-${index}`)?.classList.add('recording');
  }
  function stopRecording() {
    if (!recording) return;
    clearInterval(recording.timer);
    document.getElementById(`camera-record-${recording.index}`)?.classList.remove('recording');
    recording = null;
  }
  const board = captureBoard({
    prefix: 'camera',
    names: ['class 1', 'class 2'],
    recordControl: (i) =>
      h(
        'button',
        {
          type: 'button',
          id: `camera-record-${i}`,
          class: 'capture-record',
          title: `Hold to record frames of this class (or hold the key ${i + 1})`,
          onpointerdown: (e) => {
            e.preventDefault();
            startRecording(i);
          },
          onpointerup: stopRecording,
          onpointerleave: stopRecording,
          onpointercancel: stopRecording,
          onkeydown: (e) => (e.key === ' ' || e.key === 'Enter') && !e.repeat && startRecording(i),
          onkeyup: stopRecording,
        },
        `Hold to record (${i + 1})`,
      ),
  });
  // Holding a number key records into that class, unless the learner is typing a name.
  document.addEventListener('keydown', (e) => {
    const i = Number(e.key) - 1;
    if (!stream || e.repeat || e.ctrlKey || e.metaKey || e.altKey || !(i >= 0 && i < board.classCount())) return;
    if (e.target?.closest?.('input, textarea, select, dialog, [contenteditable]')) return;
    if (!ownsKeys('camera')) return; // step-through's, where it has them (util/key-owner.js)
    e.preventDefault();
    startRecording(i);
  });
  document.addEventListener('keyup', (e) => Number(e.key) - 1 === recording?.index && stopRecording());

  const startBtn = h('button', { type: 'button', id: 'camera-start' }, 'Start the camera');
  const stopBtn = h('button', { type: 'button', id: 'camera-stop', hidden: true }, 'Stop the camera');
  async function start() {
    status.textContent = 'Asking for the camera…';
    status.classList.remove('field-error');
    if (!navigator.mediaDevices?.getUserMedia) {
      // Browsers offer the camera to secure pages only: https, or this computer's own server.
      status.textContent = `This browser offers the camera only to pages on https or on localhost: open LayerLab that way to record.`;
      status.classList.add('field-error');
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: false });
    } catch (err) {
      status.textContent = `No camera: ${err.message || err.name}`;
      status.classList.add('field-error');
      return;
    }
    video.srcObject = stream;
    await video.play().catch(() => null);
    startBtn.hidden = true;
    stopBtn.hidden = false;
    video.hidden = false;
    status.textContent = 'Camera on. Hold a class’s button (or its number key) to record frames.';
    root.dataset.camera = 'on';
    keyArea(root, 'camera', true);
  }
  function stop() {
    stopRecording();
    stream?.getTracks().forEach((t) => t.stop());
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    startBtn.hidden = false;
    stopBtn.hidden = true;
    root.dataset.camera = 'off';
    keyArea(root, 'camera', false);
  }
  startBtn.addEventListener('click', start);
  stopBtn.addEventListener('click', () => {
    stop();
    status.textContent = 'Camera off.';
  });

  const size = h('input', { type: 'number', id: 'camera-size', min: '4', max: '64', step: '1', value: '32' });
  const color = h('select', { id: 'camera-color' }, h('option', { value: 'grayscale' }, 'grayscale'), h('option', { value: 'rgb' }, 'colour'));
  const save = h('button', { type: 'button', id: 'camera-save', disabled: true }, 'Save as upload');
  saveOnClick(save, {
    board, status, stop, onUse, noun: 'frames',
    options: () => ({ size: Number(size.value), color: color.value, filename: 'camera.zip' }),
  });

  const root = h(
    'details',
    { class: 'capture-details', id: 'camera-details', dataset: { camera: 'off' } },
    h('summary', {}, 'Capture with the camera'),
    h('p', { class: 'hint capture-note' }, 'The camera starts only when you press the button. Frames stay in this page until you press Save: then they go to this LayerLab server as an image upload, and nowhere else.'),
    h('div', { class: 'capture-buttons' }, startBtn, stopBtn),
    video,
    board.element,
    h('div', { class: 'capture-buttons' }, h('label', {}, 'Image size ', size), h('label', {}, 'Colour ', color), save),
    status,
  );
  video.hidden = true;
  keyArea(root, 'camera', false); // a press here gives it the number keys (util/key-owner.js)
  // Folding the panel away turns the camera off (its light too).
  root.addEventListener('toggle', () => {
    if (!root.open && stream) {
      stop();
      status.textContent = 'Camera off.';
    }
  });
  return { element: root, stop };
}
