// The header: starter designs per family, "New", "Copy link" and projector mode (the
// "Lessons" button belongs to widgets/lesson-gallery.js).

import { h, replace } from './util/dom.js';
import { shareLink } from './state.js';
import { copyText, linkField } from './util/clipboard.js';
import { STARTERS, FAMILY_TITLES, starterById } from './starters.js';

const $ = (id) => document.getElementById(id);

/** headerControls({getExperiment, onLoad(experiment), onNew(), onProjector(on)}) -> {setWatching(on), showDesign(exp)} */
export function headerControls({ getExperiment, onLoad, onNew, onProjector }) {
  const select = $('starter');
  const families = [...new Set(STARTERS.map((s) => s.family))];
  replace(
    select,
    h('option', { value: '' }, 'Your design'),
    families.map((f) =>
      h('optgroup', { label: FAMILY_TITLES[f] || f }, STARTERS.filter((s) => s.family === f).map((s) => h('option', { value: s.id }, s.title))),
    ),
  );
  select.addEventListener('change', () => {
    const starter = starterById(select.value);
    if (starter) onLoad(starter.experiment);
  });

  $('new').addEventListener('click', () => onNew());

  $('share').addEventListener('click', async () => {
    const link = shareLink(getExperiment());
    const note = $('share-note');
    $('share').dataset.link = link;
    const field = linkField({ id: 'share-link', link, label: 'Link to this design' });
    replace(note, field);
    // The clipboard may be refused or never answer (no permission): the field stays either way.
    const copied = await copyText(link);
    replace(note, copied ? 'Link copied: it restores this design. ' : 'Copy this link: ', field);
  });

  $('projector').addEventListener('click', (e) => {
    const on = document.documentElement.classList.toggle('projector');
    e.currentTarget.setAttribute('aria-pressed', String(on));
    onProjector(on);
  });

  return {
    /** Watching a run read-only: no lessons, starters or "New" (the banner offers an editable copy). */
    setWatching(on) {
      select.disabled = on;
      $('new').disabled = on;
      $('lessons').disabled = on;
    },
    /** Name the starter the design is, or "Your design" once it was edited. */
    showDesign(experiment) {
      const key = JSON.stringify(experiment);
      const match = STARTERS.find((s) => JSON.stringify(s.experiment) === key);
      select.value = match ? match.id : '';
    },
  };
}
