// The class flow (#class=<code>): the teacher's spotlight (the page watches that run until it
// ends, the student's own run goes on), designs the teacher pushes, and the lock.

import { clone } from '../state.js';
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
      if (!page.watching.runId) return;
      page.stopWatching();
      if (ownDesign) page.load(ownDesign);
      ownDesign = null;
      applyClassLock();
    },
    onPush: (pushed) => {
      if (page.watching.runId) ownDesign = clone(pushed); // shown once the spotlight ends
      else page.load(pushed);
      classNote('Your teacher sent this design: it is loaded. Press Train to train it.');
    },
    onLock: (locked) => {
      classLocked = locked;
      applyClassLock();
    },
  });
  Object.assign(page, { classroom });
}
