// The class as one experiment, on a class page (#class=<code>): the student's assigned design
// (loaded and locked while the teacher's class experiment runs), the class question to answer
// (and its reveal, also on the teacher's projector page), and the help panel (the diagnosis of
// the student's latest run, and their hand). Fed by the class socket's messages.

import { h } from '../util/dom.js';
import { request, describeMessages } from '../http.js';
import { classQuestion } from '../widgets/class-question.js';
import { helpFlags } from '../widgets/help-flags.js';

/**
 * classLabFlow({anchor, load(design), onAssigned(assignment | null)}) -> {message(msg)}
 * `anchor`: the element the panels follow (the class bar); `message`: every class socket
 * message, hello first.
 */
export function classLabFlow({ anchor, load, onAssigned }) {
  let base = null;
  let role = null;
  let question = null;
  let help = null;
  let loadedKey = null;

  async function refreshAssignment() {
    if (role !== 'student') return;
    let me;
    try {
      me = await request('GET', `${base}/me`, { describe: describeMessages });
    } catch {
      return;
    }
    const a = me.assignment;
    const key = a ? `${a.setting}=${JSON.stringify(a.value)}` : null;
    if (key && key !== loadedKey) load(a.experiment);
    assign(a, key);
  }

  /** The assignment in force (null: none); its design was loaded already. */
  function assign(a, key) {
    loadedKey = key;
    document.body.dataset.assignment = key || '';
    onAssigned(a);
  }

  async function refreshQuestion() {
    try {
      const got = await request('GET', `${base}/question`, { describe: describeMessages });
      question.show(got.question, got.mine);
    } catch {
      // shown on the next question message
    }
  }

  function start(msg) {
    role = msg.role;
    base = `/api/classes/${encodeURIComponent(msg.class.code)}`;
    if (!question) {
      const root = h('section', { id: 'class-question', class: 'class-panel', 'aria-label': 'The class question', hidden: true });
      anchor.after(root);
      question = classQuestion({ root, base });
      if (role === 'student') {
        const helpRoot = h('section', { id: 'class-help', class: 'class-panel', 'aria-label': 'Help' });
        root.after(helpRoot);
        help = helpFlags({ root: helpRoot, base });
      }
    }
    refreshQuestion();
    refreshAssignment();
  }

  function message(msg) {
    if (msg.type === 'hello') {
      start(msg);
      help?.resume();
    } else if (msg.type === 'removed') {
      help?.pause();
      question?.show(null); // no longer theirs to answer
      // No longer in the class's experiment: its design stays loaded, no longer locked.
      if (loadedKey) assign(null, null);
    } else if (!base) return;
    else if (msg.type === 'question') question.show(msg.question, undefined);
    else if (msg.type === 'experiment') refreshAssignment();
    else if (msg.type === 'state' && msg.change === 'join') help?.refresh();
  }
  return { message };
}
