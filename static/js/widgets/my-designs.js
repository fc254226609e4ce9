// "My designs": save the current design with a name and a note, list the saved ones, open,
// rename, duplicate, delete, download one as a JSON file and upload such a file again.
// Designs live on the server (/api/designs); whose they are is an owner token this browser
// keeps in localStorage and sends as X-Owner-Token (the server stores only its hash).

import { api } from '../api.js';
export { ownerToken } from '../owner.js';
import { h, replace } from '../util/dom.js';

// One request with this browser's owner token (api.js), for every call of the panel.
const call = (method, path, body) => api.owned(method, path, body);

const when = (t) => new Date(t * 1000).toLocaleString();

/**
 * myDesigns({root, getExperiment() -> experiment, onOpen(experiment, design)}) -> {refresh()}
 * root: an empty element; the panel is built inside it (closed until opened).
 */
export function myDesigns({ root, getExperiment, onOpen }) {
  let designs = [];
  const status = h('p', { id: 'designs-status', class: 'muted', 'aria-live': 'polite' });
  const name = h('input', { id: 'design-name', type: 'text', maxlength: 200, required: true, placeholder: 'Name', 'aria-label': 'Name of the design to save' });
  const note = h('textarea', { id: 'design-note-text', rows: 2, maxlength: 10000, placeholder: 'Note: what it shows, what to try', 'aria-label': 'Note' });
  const save = h('button', { type: 'submit', id: 'design-save', class: 'primary' }, 'Save current design');
  const upload = h('input', { id: 'design-upload', type: 'file', accept: '.json,application/json', onchange: () => uploadFile() });
  const list = h('ul', { id: 'design-list', class: 'design-list', 'aria-label': 'Saved designs' });
  const form = h(
    'form',
    { class: 'design-form', onsubmit: (e) => { e.preventDefault(); saveCurrent(); } },
    name, note, save,
  );
  const panel = h(
    'details',
    { id: 'my-designs', class: 'compare my-designs', ontoggle: () => panel.open && refresh() },
    h('summary', { class: 'compare-summary' }, h('h2', { class: 'panel-title', id: 'my-designs-title' }, 'My designs')),
    h(
      'div',
      { class: 'compare-body' },
      h('p', { class: 'muted' }, 'Designs saved on this server by this browser. Open one to edit and train it; Download gives a file to keep or share, Upload brings one back.'),
      form,
      h('label', { class: 'design-upload' }, 'Upload a design file ', upload),
      status,
      list,
    ),
  );
  replace(root, panel);

  function say(text) {
    status.textContent = text;
  }

  async function refresh() {
    try {
      designs = await call('GET', '/api/designs');
      draw();
      say(designs.length ? `${designs.length} saved design${designs.length === 1 ? '' : 's'}` : 'No saved designs yet: name this one and save it.');
    } catch (err) {
      say(`Could not list the designs: ${err.message}`);
    }
  }

  async function saveCurrent() {
    const text = name.value.trim();
    if (!text) {
      say('Give the design a name first.');
      name.focus();
      return;
    }
    try {
      const saved = await call('POST', '/api/designs', { name: text, note: note.value, experiment: getExperiment() });
      name.value = '';
      note.value = '';
      await refresh();
      say(`Saved “${saved.name}”.`);
    } catch (err) {
      say(`Could not save: ${err.message}`);
    }
  }

  async function uploadFile() {
    const file = upload.files && upload.files[0];
    if (!file) return;
    try {
      let doc;
      try {
        doc = JSON.parse(await file.text());
      } catch {
        throw new Error(`${file.name} is not a JSON file`);
      }
      // A design file ({name, note, experiment}), or a bare experiment (examples/*.json).
      const body = doc && doc.experiment ? doc : { name: file.name.replace(/\.json$/i, ''), note: '', experiment: doc };
      const saved = await call('POST', '/api/designs', body);
      await refresh();
      say(`Uploaded “${saved.name}”.`);
    } catch (err) {
      say(`Could not upload ${file.name}: ${err.message}`);
    } finally {
      upload.value = '';
    }
  }

  async function act(design, what, fn) {
    try {
      await fn();
      await refresh();
      say(`${what} “${design.name}”.`);
    } catch (err) {
      say(`Could not do that to “${design.name}”: ${err.message}`);
    }
  }

  function rename(design, item) {
    const input = h('input', { type: 'text', class: 'design-rename', value: design.name, maxlength: 200, 'aria-label': `New name for ${design.name}` });
    const done = () => {
      const text = input.value.trim();
      if (text && text !== design.name) act(design, 'Renamed', () => call('PATCH', `/api/designs/${design.id}`, { name: text }));
      else draw();
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') done();
      if (e.key === 'Escape') draw();
    });
    const ok = h('button', { type: 'button', class: 'design-rename-save', onclick: done }, 'Save name');
    replace(item.querySelector('.design-name'), input, ok);
    input.focus();
    input.select();
  }

  function row(design) {
    const id = design.id;
    const item = h('li', { class: 'design-item', dataset: { design: id } });
    const del = h('button', {
      type: 'button',
      class: 'design-delete',
      onclick: () => {
        if (del.dataset.confirm === 'true') act(design, 'Deleted', () => call('DELETE', `/api/designs/${id}`));
        else {
          del.dataset.confirm = 'true';
          del.textContent = 'Confirm delete';
        }
      },
    }, 'Delete');
    item.append(
      h('div', { class: 'design-name' }, h('strong', {}, design.name)),
      design.note ? h('p', { class: 'design-note-text muted' }, design.note) : null,
      h('p', { class: 'muted design-when' }, `saved ${when(design.updated)}`),
      h(
        'div',
        { class: 'design-actions' },
        h('button', { type: 'button', class: 'design-open', onclick: () => { onOpen(design.experiment, design); say(`Opened “${design.name}”.`); } }, 'Open'),
        h('button', { type: 'button', class: 'design-rename-button', onclick: () => rename(design, item) }, 'Rename'),
        h('button', { type: 'button', class: 'design-duplicate', onclick: () => act(design, 'Duplicated', () => call('POST', `/api/designs/${id}/duplicate`)) }, 'Duplicate'),
        h('a', { class: 'design-download', href: `/api/designs/${id}/file`, download: '' }, 'Download'),
        del,
      ),
    );
    return item;
  }

  function draw() {
    replace(list, ...designs.map(row));
  }

  return { refresh };
}
