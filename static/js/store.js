// A small observable store and the frame scheduler that keeps the page smooth.
//
// Data may arrive hundreds of times a second (epoch records, snapshots); views never draw on
// arrival. They call `invalidate(key, draw)` and the scheduler runs each pending draw at most
// once per animation frame, so whatever arrived in between is coalesced into one paint.

/** createStore(initial): get(), set(patch), subscribe(fn(state, patch)) -> unsubscribe. */
export function createStore(initial) {
  let state = { ...initial };
  const listeners = new Set();
  return {
    get: () => state,
    set(patch) {
      state = { ...state, ...patch };
      for (const fn of [...listeners]) fn(state, patch);
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

const pending = new Map();
let frameRequested = false;
let inFlush = false;
let framesDrawn = 0;
// Milliseconds spent in each draw job, by its key, since the page loaded (bounded: one entry per
// key, and keys are the views' own names): where a frame's time goes (bench/stage_frames.py).
const drawMs = new Map();

function flush() {
  frameRequested = false;
  inFlush = true;
  framesDrawn += 1;
  try {
    // A job may invalidate others (a snapshot updates several views): those run in this same
    // frame, each at most once.
    for (let round = 0; round < 4 && pending.size; round += 1) {
      const jobs = [...pending.entries()];
      pending.clear();
      for (const [key, job] of jobs) {
        const start = performance.now();
        try {
          job();
        } catch (err) {
          console.error('draw failed', err);
        }
        drawMs.set(key, (drawMs.get(key) || 0) + performance.now() - start);
      }
    }
  } finally {
    inFlush = false;
  }
  if (pending.size) requestFrame();
}

function requestFrame() {
  if (frameRequested) return;
  frameRequested = true;
  // Hidden tabs get no animation frames; a timer keeps state flowing without painting often.
  if (document.hidden) setTimeout(flush, 250);
  else requestAnimationFrame(flush);
}

/** Ask for `draw` to run in the next animation frame; a second request with `key` replaces it. */
export function invalidate(key, draw) {
  pending.set(key, draw);
  if (!inFlush) requestFrame();
}

/** {key: milliseconds} spent in each draw job so far (a benchmark reads it). */
export function drawCosts() {
  return Object.fromEntries(drawMs);
}

/** How many frames have been drawn (exposed for diagnostics and tests). */
export function frameCount() {
  return framesDrawn;
}
