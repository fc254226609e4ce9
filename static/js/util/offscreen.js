// Views off screen draw less often: a deeper view below the stage (the metric chart, the
// histograms, the norms) redraws every frame while it is on screen and at most OFFSCREEN_FPS
// times a second while it is not, so a streaming run's frames go to what the class sees
// (bench/stage_frames.py measured these three taking as much of each frame as the surface).
import { invalidate } from '../store.js';

const OFFSCREEN_FPS = 4;

const onScreen = new Set(); // the observed elements that intersect the viewport now
const observer =
  typeof IntersectionObserver === 'function'
    ? new IntersectionObserver((entries) => {
        for (const e of entries) {
          if (e.isIntersecting) onScreen.add(e.target);
          else onScreen.delete(e.target);
        }
      })
    : null;
const drawnAt = new Map(); // key -> performance.now() of its last draw
const timers = new Map(); // key -> the timeout of a draw put off

/** Follow whether `el` is on screen (once per element; a view's section). */
export function watchOnScreen(el) {
  observer?.observe(el);
}

/**
 * Like invalidate(key, draw), for the view in `el`: drawn in the next frame while `el` is on
 * screen (or nothing can tell), else no sooner than 1/OFFSCREEN_FPS s after its last draw.
 */
export function invalidateSeen(key, el, draw) {
  const run = () => {
    clearTimeout(timers.get(key));
    timers.delete(key);
    const wait = !observer || onScreen.has(el) ? 0 : (drawnAt.get(key) || 0) + 1000 / OFFSCREEN_FPS - performance.now();
    if (wait > 0) {
      timers.set(key, setTimeout(() => invalidate(key, run), wait));
      return;
    }
    drawnAt.set(key, performance.now());
    draw();
  };
  invalidate(key, run);
}
