// The watch flow: following someone else's run read-only through a presenter link
// (#watch=<run id>), leaving it for an editable copy, and the URL's hash as it changes.

import { api, ApiError } from '../api.js';
import { readHash, writeHash, isExperiment } from '../state.js';
import { starterById } from '../starters.js';
import { lessonById } from '../widgets/lesson-gallery.js';
import { watchMode } from '../watch-mode.js';

const $ = (id) => document.getElementById(id);

/** watchFlow(page): fills page.watching, page.watchRun(id), page.stopWatching(). */
export function watchFlow(page) {
  const watching = watchMode({
    banner: $('watch-banner'),
    locks: [$('dataset-panel'), $('upload-panel'), $('training-panel'), $('model-panel'), $('layers-panel')],
    onChange: (on) => {
      page.stack.setReadOnly(on);
      page.editor.select(null);
      page.redrawEditor();
      page.controls.setWatching(on);
      page.header.setWatching(on);
      page.controls.update(page.session);
    },
  });

  // Each watchRun takes a ticket; stopWatching or a later watchRun voids the earlier ones, so a
  // run whose GET answers after the spotlight moved on is never entered (its stream would be
  // refused: the spotlight is what let this page watch it).
  let ticket = 0;

  /**
   * Show run `id` read-only and follow it live; false (with the reason shown) when it cannot,
   * null when a later watchRun or stopWatching superseded this one while it loaded.
   * `data-watch-loads` on the body counts the loads that have returned (for tests).
   */
  async function watchRun(id) {
    try {
      return await enterRun(id, ++ticket);
    } finally {
      document.body.dataset.watchLoads = String(Number(document.body.dataset.watchLoads || 0) + 1);
    }
  }

  async function enterRun(id, mine) {
    let run;
    try {
      run = await api.run(id);
      if (mine !== ticket) return null;
      if (!isExperiment(run?.experiment)) throw new Error('the server sent no design for it');
    } catch (err) {
      if (mine !== ticket) return null;
      const why = err instanceof ApiError && err.status === 404
        ? `There is no run “${id}” on this server: it may have been removed, or the server restarted.`
        : `Run “${id}” could not be loaded (${err.message}).`;
      page.showError(`${why} Showing the editable page instead.`);
      return false;
    }
    $('page-error').hidden = true;
    page.lessons.clear();
    watching.enter(run.id, run.experiment);
    page.load(run.experiment);
    page.session.watch(run);
    return true;
  }

  /** Back to the editable page: the watched run goes on for its owner, this page lets go of it. */
  function stopWatching() {
    ticket += 1; // a watchRun still loading enters nothing
    if (!watching.runId) return;
    watching.leave();
    page.session.reset();
    writeHash(page.experiment());
  }

  window.addEventListener('hashchange', async () => {
    const state = readHash();
    if (state.watch) {
      if (state.watch !== watching.runId && (await watchRun(state.watch)) === false) {
        stopWatching();
        writeHash(page.experiment()); // the page stays editable: its URL says so again
      }
      return;
    }
    stopWatching(); // e.g. "Open an editable copy": the same design, now the page's own
    const lesson = lessonById(state.lesson);
    if (lesson) page.lessons.show(lesson.id);
    else page.lessons.clear();
    const linked = state.experiment || lesson?.experiment || starterById(state.starter)?.experiment;
    if (linked && JSON.stringify(linked) !== JSON.stringify(page.experiment())) page.load(linked);
  });

  Object.assign(page, { watching, watchRun, stopWatching });
}
