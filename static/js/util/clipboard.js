// Sharing a link: a read-only field that holds it, and a copy to the clipboard that never
// fails the page (the clipboard may be refused, as in a headless browser, or never answer).

import { h } from './dom.js';

/** Resolves true when `text` was copied, false when it was refused or took over `timeoutMs`. */
export function copyText(text, timeoutMs = 1500) {
  let write = null;
  try {
    write = navigator.clipboard?.writeText(text).then(() => true, () => false) ?? null;
  } catch {
    write = null;
  }
  return Promise.race([
    write ?? Promise.resolve(false),
    new Promise((resolve) => setTimeout(() => resolve(false), timeoutMs)),
  ]);
}

/** A read-only text field holding a link, selected whole when focused (to copy by hand). */
export function linkField({ id, link, label }) {
  return h('input', { type: 'text', id, value: link, readonly: true, 'aria-label': label, onfocus: (e) => e.target.select() });
}
