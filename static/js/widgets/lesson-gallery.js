// The lesson gallery: every starter design with a `lesson` (starters.js) is a lesson for the
// projector. A modal dialog lists them by family, one card button each (Escape closes it);
// choosing one loads its design and shows its lesson note above the views: what the design
// shows, what to watch while it trains, what to try next. The URL names the lesson
// (`#lesson=<id>`, or `#e=...&lesson=<id>` once the design was changed) so a link opens it.

import { h, replace } from '../util/dom.js';
import { encodeLesson } from '../state.js';
import { STARTERS, FAMILY_TITLES, starterById } from '../starters.js';

const LESSONS = STARTERS.filter((s) => s.lesson);

/** The starter with this id when it has a lesson, else undefined. */
export function lessonById(id) {
  const starter = starterById(id);
  return starter?.lesson ? starter : undefined;
}

/**
 * lessonGallery({button, dialog, note, onChoose(starter), onDismiss()})
 *   -> {open(), show(id), clear(), hashFor(experiment), active}
 */
export function lessonGallery({ button, dialog, note, onChoose, onDismiss }) {
  let active = null;
  const families = [...new Set(LESSONS.map((s) => s.family))];
  const cards = LESSONS.map((s) =>
    h(
      'button',
      { type: 'button', class: 'lesson-card', dataset: { lesson: s.id }, onclick: () => choose(s.id) },
      h('span', { class: 'lesson-card-title' }, s.title),
      h('span', { class: 'lesson-card-line' }, s.lesson.summary),
    ),
  );
  const cardsOf = (family) => cards.filter((c) => lessonById(c.dataset.lesson).family === family);

  // The backdrop is the <dialog> itself (its content sits in one inner box): a click on it closes.
  replace(
    dialog,
    h(
      'div',
      { class: 'lesson-gallery-box' },
      h(
        'div',
        { class: 'lesson-gallery-head' },
        h('h2', { id: 'lesson-gallery-title' }, 'Lessons'),
        h('button', { type: 'button', id: 'lesson-gallery-close', onclick: () => dialog.close() }, 'Close'),
      ),
      h(
        'p',
        { class: 'muted lesson-gallery-intro' },
        'Each lesson loads a ready design with a note: what it shows, what to watch while it trains and what to try next.',
      ),
      families.map((f) =>
        h(
          'section',
          { class: 'lesson-family', 'aria-labelledby': `lesson-family-${f}` },
          h('h3', { id: `lesson-family-${f}` }, FAMILY_TITLES[f] || f),
          h('ul', { class: 'lesson-cards' }, cardsOf(f).map((card) => h('li', {}, card))),
        ),
      ),
    ),
  );
  dialog.setAttribute('aria-labelledby', 'lesson-gallery-title');
  dialog.addEventListener('click', (e) => {
    if (e.target === dialog) dialog.close();
  });
  dialog.addEventListener('close', () => {
    // Escape or Close: back to the button that opened it (a chosen lesson focuses its note).
    if (!note.contains(document.activeElement)) button.focus();
  });
  button.addEventListener('click', () => open());
  note.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') dismiss();
  });

  function open() {
    if (dialog.open) return;
    for (const card of cards) {
      if (card.dataset.lesson === active) card.setAttribute('aria-current', 'true');
      else card.removeAttribute('aria-current');
    }
    dialog.showModal();
    (cards.find((c) => c.dataset.lesson === active) || cards[0]).focus();
  }

  function choose(id) {
    show(id);
    dialog.close();
    note.focus();
    onChoose(lessonById(id));
  }

  /** Show lesson `id`'s note (the caller loads its design); unknown ids are ignored. */
  function show(id) {
    const starter = lessonById(id);
    if (!starter) return;
    active = id;
    const { summary, watch, next } = starter.lesson;
    replace(
      note,
      h(
        'div',
        { class: 'lesson-note-head' },
        h('h2', { id: 'lesson-note-title', class: 'lesson-note-title' }, h('span', { class: 'lesson-kicker' }, 'Lesson'), ' ', starter.title),
        h('button', { type: 'button', id: 'lesson-more', onclick: () => open() }, 'All lessons'),
        h('button', { type: 'button', id: 'lesson-dismiss', title: 'Hide this note (Escape)', onclick: () => dismiss() }, 'Dismiss'),
      ),
      h('p', { class: 'lesson-summary' }, summary),
      h('p', { class: 'lesson-watch' }, watch),
      h('p', { class: 'lesson-next-title' }, h('strong', {}, 'Try next:')),
      h('ul', { class: 'lesson-next' }, next.map((t) => h('li', {}, t))),
    );
    note.dataset.lesson = id;
    note.hidden = false;
  }

  function clear() {
    active = null;
    note.hidden = true;
    delete note.dataset.lesson;
    replace(note);
  }

  function dismiss() {
    const focused = note.contains(document.activeElement);
    clear();
    onDismiss();
    if (focused) button.focus();
  }

  return {
    open,
    show,
    clear,
    /** The URL hash while a lesson is shown (undefined when none is): see the top of this file. */
    hashFor(experiment) {
      if (!active) return undefined;
      const same = JSON.stringify(lessonById(active).experiment) === JSON.stringify(experiment);
      return encodeLesson(active, same ? null : experiment);
    },
    get active() {
      return active;
    },
  };
}
