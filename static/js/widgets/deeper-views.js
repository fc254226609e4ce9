// The deeper views below the stage: sections (Inside the network, the layer list and training
// settings, Compare runs...) and a bar of links that jumps to each. A widget module adds its
// own section with addDeeperSection() (e.g. "My designs"); the bar follows.

import { h, replace } from '../util/dom.js';

let bar = null;
let container = null;

function rebuild() {
  if (!bar || !container) return;
  const sections = [...container.querySelectorAll(':scope > .deeper-section[data-title]')];
  replace(
    bar,
    h('span', { class: 'deeper-nav-title' }, 'Below:'),
    sections.map((s) => h('a', { href: `#${s.id}`, class: 'deeper-link', dataset: { section: s.id }, onclick: (e) => jump(e, s) }, s.dataset.title)),
  );
}

function jump(e, section) {
  // The URL's hash holds the design: scroll without touching it.
  e.preventDefault();
  section.scrollIntoView({ block: 'start' });
  section.querySelector('h2, summary, [tabindex]')?.focus?.({ preventScroll: true });
}

/** deeperViews({nav, root}): the bar of links for the sections already in `root`. */
export function deeperViews({ nav, root }) {
  bar = nav;
  container = root;
  rebuild();
}

/**
 * Add a section below the stage: {id, title, element} (element: its content). Returns the
 * <section>, placed before Compare runs unless `last` is set.
 */
export function addDeeperSection({ id, title, element, last = false }) {
  const section = h('section', { class: 'deeper-section', id, dataset: { title }, 'aria-label': title }, element);
  const compare = container?.querySelector('#compare-panel');
  if (compare && !last) container.insertBefore(section, compare);
  else container?.append(section);
  rebuild();
  return section;
}
