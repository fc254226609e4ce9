// The palette that "+" between two blocks of the network opens: the layer types (from
// GET /api/layers) that can take the input arriving there, by its rank: flat features (F,),
// sequences (T, F) or images (C, H, W). The check still has the last word: a layer that fits
// the rank but not the numbers says why on its block.

import { h, replace } from '../util/dom.js';

// Which input ranks each category of layer takes (a type may refine it below).
const RANKS_BY_CATEGORY = {
  core: [1, 2],
  convolution: [3],
  pooling: [3],
  recurrent: [2],
  shape: [1, 2, 3],
  regularisation: [1, 2, 3],
};

/** True when a layer of type `t` can take an input of `rank` at slot `index`. */
export function fits(t, rank, index, family) {
  if (rank === null || rank === undefined) return true; // unknown (the design does not check): offer all
  // Token ids arrive flat, (T,): an embedding turns them into a sequence, only at the start.
  if (t.type === 'embedding') return index === 0 && rank === 1 && family === 'sequence';
  const ranks = RANKS_BY_CATEGORY[t.category] || [1, 2, 3];
  return ranks.includes(rank);
}

const RANK_WORDS = { 1: 'flat features', 2: 'a sequence', 3: 'images' };

/** insertPalette({layerTypes, onPick(index, type)}) -> {element, open(index, rank, family, anchor), close()} */
export function insertPalette({ layerTypes, onPick }) {
  const list = h('div', { class: 'insert-list', role: 'group', 'aria-label': 'Layer types that fit here' });
  const title = h('p', { class: 'insert-title', id: 'insert-title' });
  const close = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close the palette', title: 'Close' }, '✕');
  const element = h('div', { class: 'insert-palette', id: 'insert-palette', role: 'dialog', 'aria-labelledby': 'insert-title', hidden: true }, h('div', { class: 'insert-head' }, title, close), list);
  let anchor = null;

  function hide() {
    element.hidden = true;
    anchor?.focus();
    anchor = null;
  }
  close.addEventListener('click', hide);
  element.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') hide();
  });

  return {
    element,
    open(index, rank, family, from) {
      anchor = from;
      const offered = layerTypes.filter((t) => fits(t, rank, index, family));
      title.textContent = `Insert ${index === 0 ? 'after the input' : `after layer ${index}`}${rank ? ` (it receives ${RANK_WORDS[rank] || `rank ${rank}`})` : ''}:`;
      replace(
        list,
        offered.map((t) =>
          h(
            'button',
            {
              type: 'button',
              class: 'palette-item',
              dataset: { insertType: t.type },
              title: t.description || t.title,
              onclick: () => {
                element.hidden = true;
                anchor = null;
                onPick(index, t.type);
              },
            },
            t.title || t.type,
          ),
        ),
      );
      element.dataset.index = String(index);
      element.hidden = false;
      list.querySelector('button')?.focus();
    },
    close: hide,
  };
}
