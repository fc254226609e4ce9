// Watch mode: the page follows someone else's run (the presenter link, `#watch=<run id>`),
// read-only. This module switches the page's look and locks: a banner naming the run with the
// way out (an editable copy of the same design, its `#e=` link), the design panels and the
// header's design choices disabled. main.js fetches the run and connects the session.

import { h, replace } from './util/dom.js';
import { shareLink } from './state.js';

/**
 * watchMode({banner, locks, onChange(on)}) -> {runId, enter(id, experiment), leave()}
 * `locks`: elements with a `disabled` property (fieldsets lock everything inside them).
 */
export function watchMode({ banner, locks, onChange }) {
  let runId = null;

  function lock(on) {
    for (const el of locks) el.disabled = on;
    document.body.dataset.mode = on ? 'watch' : 'edit';
    onChange(on);
  }

  return {
    get runId() {
      return runId;
    },
    enter(id, experiment) {
      runId = id;
      replace(
        banner,
        'Watching run ',
        h('strong', { class: 'watch-id' }, id),
        ' live — read-only. ',
        h('a', { id: 'watch-copy', href: shareLink(experiment), title: 'Open this run’s design in an editable page of your own (the run goes on here for everyone else)' }, 'Open an editable copy'),
      );
      banner.hidden = false;
      lock(true);
    },
    leave() {
      if (!runId) return;
      runId = null;
      banner.hidden = true;
      replace(banner);
      lock(false);
    },
  };
}
