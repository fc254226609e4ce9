// The class flow (#class=<code>): the teacher's spotlight (the page watches that run until it
// ends; the student's own run goes on, its heartbeat kept, and is followed again after),
// designs the teacher pushes, and the lock.
//
// A push never stops the student's run: while their own run is active the design waits behind
// a "Load it" button; once loaded, "Back to my design" restores what they had (one click).

import { clone } from '../state.js';
import { designKey } from '../design.js';
import { h, replace } from '../util/dom.js';
import { classBar } from '../widgets/class-bar.js';
import { classLabFlow } from './class-lab-flow.js';

const $ = (id) => document.getElementById(id);

/** classFlow(page): fills page.classroom. Build it before the page writes its own hash. */
export function classFlow(page) {
  let ownDesign = null; // the student's design while the spotlight shows someone else's run
  let ownRun = null; // and their own run, set aside (still beating: run-session.js setAside)
  let pushedMeanwhile = null; // a design the teacher pushed during the spotlight
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
  /** A pushed design: loaded at once, or, while the student's own run goes on, behind a button. */
  function offerPush(pushed) {
    if (page.session.active && page.session.token) {
      // Loading a new model would stop the student's run: they choose when.
      showPush(
        'Your teacher sent a design. Your run keeps going; load the design when you are ready (that ends your run).',
        h('button', { type: 'button', id: 'push-load', onclick: () => loadPushed(pushed) }, 'Load it'),
      );
    } else {
      loadPushed(pushed);
    }
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
    onMessage: (msg) => {
      if (msg.type === 'removed') pushBar.hidden = true; // the teacher's offers went with the class
      lab.message(msg);
    },
    onSpotlight: async (runId, removed = false) => {
      if (runId) {
        if (!page.watching.runId && !ownDesign) ownDesign = clone(page.experiment());
        // The student's own run goes on (watching another must not stop it), followed again
        // when the spotlight ends.
        if (!ownRun) ownRun = page.session.setAside();
        await page.watchRun(runId);
        return;
      }
      const watched = Boolean(page.watching.runId);
      page.stopWatching(); // also voids a spotlight's run still loading
      if (watched && ownDesign) page.load(ownDesign);
      if (ownRun && removed) {
        page.session.forget(ownRun); // the removal stopped it, and it is no longer ours to watch
      } else if (ownRun) {
        // The run comes back under its own design; a class experiment that assigned another
        // meanwhile ends it, as loading that design would have outside the spotlight.
        const started = ownRun.startedWith ? JSON.parse(ownRun.startedWith) : null;
        const same = !watched || !ownDesign || !started || designKey(started) === designKey(ownDesign);
        if (same) page.session.takeBack(ownRun);
        else page.session.letGo(ownRun);
      }
      const pushed = pushedMeanwhile;
      ownDesign = ownRun = pushedMeanwhile = null;
      if (watched) applyClassLock();
      if (pushed) offerPush(pushed);
    },
    onPush: (pushed) => {
      if (page.watching.runId) {
        pushedMeanwhile = clone(pushed); // offered once the spotlight ends
        showPush('Your teacher sent a design: it is offered when the spotlight ends.');
      } else {
        offerPush(pushed);
      }
    },
    onLock: (locked) => {
      classLocked = locked;
      applyClassLock();
    },
  });
  Object.assign(page, { classroom });
}
