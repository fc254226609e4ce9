// The class flow (#class=<code>): the teacher's spotlight (the page watches that run until it
// ends, the student's own run goes on), designs the teacher pushes, and the lock.
//
// A push never stops the student's run: while their own run is active the design waits behind
// a "Load it" button; once loaded, "Back to my design" restores what they had (one click).

import { clone } from '../state.js';
import { h, replace } from '../util/dom.js';
import { classBar } from '../widgets/class-bar.js';
import { classLabFlow } from './class-lab-flow.js';

const $ = (id) => document.getElementById(id);

/** classFlow(page): fills page.classroom. Build it before the page writes its own hash. */
export function classFlow(page) {
  let ownDesign = null; // the student's design while the spotlight shows someone else's run
  let classLocked = false;
  let assigned = null; // the class experiment's assignment: its design stays locked
  const classLocks = [$('dataset-panel'), $('training-panel'), $('model-panel'), $('layers-panel')];
  function applyClassLock() {
    if (page.watching.runId) return; // watch mode locks everything itself
    const locked = classLocked || Boolean(assigned);
    for (const el of classLocks) el.disabled = locked;
    page.stack.setReadOnly(locked);
    page.header.setWatching(locked);
  }
  function classNote(text) {
    $('design-note').hidden = false;
    $('design-note').textContent = text;
  }
  // The pushed design's banner, under the class bar: load it, or go back to my design.
  const pushBar = h('div', { class: 'class-push', id: 'class-push', role: 'status', hidden: true });
  $('class-bar').after(pushBar);
  function showPush(text, ...buttons) {
    pushBar.hidden = false;
    replace(pushBar, h('span', {}, text), ...buttons);
  }
  function loadPushed(pushed) {
    const mine = clone(page.experiment());
    page.load(pushed);
    showPush(
      'Your teacher sent this design: it is loaded. Press Train to train it.',
      h('button', { type: 'button', id: 'push-undo', onclick: () => {
        page.load(mine);
        showPush('Your own design is back.', h('button', { type: 'button', id: 'push-redo', onclick: () => loadPushed(pushed) }, 'Load the teacher’s design again'));
      } }, 'Back to my design'),
    );
  }
  const lab = classLabFlow({
    anchor: $('class-bar'),
    load: (design) => (page.watching.runId ? (ownDesign = clone(design)) : page.load(design)),
    onAssigned: (assignment) => {
      if (assignment && !assigned) classNote(`Class experiment: your ${assignment.setting} is ${assignment.value}. The design is loaded and locked: press Train.`);
      assigned = assignment;
      applyClassLock();
    },
  });
  const classroom = classBar({
    root: $('class-bar'),
    onMessage: lab.message,
    onSpotlight: async (runId) => {
      if (runId) {
        if (!page.watching.runId) ownDesign = clone(page.experiment());
        page.session.detach(); // the student's own run goes on (watching it must not stop it)
        await page.watchRun(runId);
        return;
      }
      const watched = Boolean(page.watching.runId);
      page.stopWatching(); // also voids a spotlight's run still loading
      if (watched && ownDesign) page.load(ownDesign);
      ownDesign = null;
      if (watched) applyClassLock();
    },
    onPush: (pushed) => {
      if (page.watching.runId) {
        ownDesign = clone(pushed); // shown once the spotlight ends
        showPush('Your teacher sent a design: it loads when the spotlight ends.');
      } else if (page.session.active) {
        // Loading a new model would stop the student's run: they choose when.
        showPush(
          'Your teacher sent a design. Your run keeps going; load the design when you are ready (that ends your run).',
          h('button', { type: 'button', id: 'push-load', onclick: () => loadPushed(pushed) }, 'Load it'),
        );
      } else {
        loadPushed(pushed);
      }
    },
    onLock: (locked) => {
      classLocked = locked;
      applyClassLock();
    },
  });
  Object.assign(page, { classroom });
}
