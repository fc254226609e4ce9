// "Share live run": the presenter link of the current run (`#watch=<run id>`), shown in a
// read-only field and copied, so a whole class can open it and watch the run live, read-only.

import { h, replace } from '../util/dom.js';
import { watchLink } from '../state.js';
import { copyText, linkField } from '../util/clipboard.js';

/** liveShare({root}) -> {update(session)}: offered while a run exists (running, paused or ended). */
export function liveShare({ root }) {
  let runId = null;
  const button = h(
    'button',
    {
      type: 'button',
      id: 'share-live',
      class: 'run-button',
      title: 'Copy a link that lets anyone watch this run live, read-only (a class, a projector)',
      onclick: () => share(),
    },
    'Share live run',
  );
  const note = h('output', { id: 'share-live-note', class: 'muted', 'aria-live': 'polite' });
  root.append(h('div', { class: 'run-share' }, button, note));

  async function share() {
    const id = runId;
    if (!id) return;
    const link = watchLink(id);
    button.dataset.link = link;
    const field = linkField({ id: 'share-live-link', link, label: `Link to watch run ${id} live` });
    replace(note, field);
    const copied = await copyText(link);
    if (runId !== id) return; // another run meanwhile: update() cleared the note
    replace(note, copied ? 'Live link copied: it shows this run, read-only. ' : 'Copy this live link: ', field);
  }

  return {
    update(session) {
      if (session.runId !== runId) {
        runId = session.runId;
        delete button.dataset.link;
        replace(note);
      }
      // Its place is kept from the start (the header never reflows): invisible, not removed.
      button.classList.toggle('off', !runId);
      button.disabled = !runId;
    },
  };
}
