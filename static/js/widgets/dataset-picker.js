// The dataset picker: a list from GET /api/datasets grouped by family, a form generated from
// the chosen dataset's parameter schema, and a preview of the data (POST /api/datasets/preview).

import { h, replace, debounce } from '../util/dom.js';
import { fieldsOf } from '../schema.js';
import { schemaForm } from './layer-form.js';
import { drawPreview } from './data-preview.js';

const FAMILY_TITLES = {
  '2d': '2D points',
  image: 'Images',
  tabular: 'Tables',
  sequence: 'Sequences',
  autoencoder: 'Autoencoders',
};

export function datasetPicker({ root, datasets, fetchPreview, onPreview, onChange }) {
  const byName = new Map(datasets.map((d) => [d.name, d]));
  let spec = null;
  let form = null;
  let previewSeq = 0;
  let lastPreview = null;

  const select = h('select', { id: 'dataset', 'aria-describedby': 'dataset-description' });
  const families = [...new Set(datasets.map((d) => d.family))];
  for (const fam of families) {
    select.append(
      h(
        'optgroup',
        { label: FAMILY_TITLES[fam] || fam },
        datasets.filter((d) => d.family === fam).map((d) => h('option', { value: d.name }, d.title || d.name)),
      ),
    );
  }
  select.addEventListener('change', () => {
    const d = byName.get(select.value);
    spec = { name: d.name, ...structuredClone(d.defaults || {}) };
    buildForm();
    emit();
  });

  const description = h('p', { id: 'dataset-description', class: 'muted' });
  const formHost = h('div', { class: 'dataset-form' });
  const errorEl = h('div', { class: 'field-error dataset-error', role: 'alert', hidden: true });
  const canvas = h('canvas', {
    id: 'data-preview',
    class: 'view-canvas preview-canvas',
    role: 'img',
    'aria-label': 'Preview of the dataset',
    title: 'A sample of the data the network will learn from',
  });
  const caption = h('p', { class: 'caption muted', id: 'data-preview-caption' });

  replace(
    root,
    h('label', { for: 'dataset' }, 'Dataset'),
    select,
    h('figure', { class: 'preview' }, canvas, h('figcaption', {}, caption)),
    description,
    formHost,
    errorEl,
  );

  // Previews answer out of order and may be slow on a cold server: only the answer for the
  // spec shown is drawn, and another dataset's picture is never left on screen meanwhile.
  const refreshPreview = debounce(async () => {
    const seq = ++previewSeq;
    const asked = spec;
    try {
      const preview = await fetchPreview(asked);
      if (seq !== previewSeq || asked !== spec) return;
      lastPreview = preview;
      onPreview(preview);
      drawNow();
    } catch (err) {
      if (seq !== previewSeq || asked !== spec) return;
      lastPreview = null;
      onPreview(null);
      drawNow();
      caption.textContent = `No preview: ${err.message}`;
    }
  }, 200);

  function schedulePreview() {
    if (lastPreview && lastPreview.name !== spec.name) {
      lastPreview = null;
      onPreview(null);
      drawNow();
    }
    if (!lastPreview) caption.textContent = 'Loading a preview…';
    refreshPreview();
  }

  function drawNow() {
    const d = byName.get(spec?.name);
    const text = drawPreview(canvas, lastPreview, d);
    if (lastPreview) caption.textContent = text;
    const up = lastPreview?.upload;
    if (up && d) description.textContent = `Your upload “${up.name}” (${up.kind === 'points' ? 'drawn points' : up.kind}). Task: ${lastPreview.task}.`;
  }

  function buildForm() {
    const d = byName.get(spec.name);
    description.textContent = d ? `${d.description || ''} Task: ${d.task}.` : 'Unknown dataset.';
    if (!d) {
      replace(formHost);
      form = null;
      return;
    }
    form = schemaForm({
      fields: fieldsOf(d.params),
      values: spec,
      idPrefix: 'dataset',
      // An upload's id is chosen in "Your own data"; crosses apply to drawn points only.
      exclude: d.name === 'upload' ? ['name', 'id', ...(spec.crosses ? [] : ['crosses'])] : ['name'],
      onChange: (name, value) => {
        spec = { ...spec };
        if (value === undefined) delete spec[name];
        else spec[name] = value;
        emit();
      },
    });
    replace(formHost, form.element);
  }

  function emit() {
    onChange({ ...spec });
    schedulePreview();
  }

  return {
    setSpec(next) {
      const changedName = !spec || spec.name !== next.name;
      spec = { ...next };
      if (byName.has(spec.name)) select.value = spec.name;
      if (changedName || !form || spec.name === 'upload') buildForm(); // an upload's fields follow its kind
      else form.setValues(spec);
      schedulePreview();
    },
    /** errors: {field: message}, plus '' for the dataset as a whole. */
    setErrors(errors = {}) {
      form?.setErrors(errors);
      const general = errors[''] || '';
      errorEl.hidden = !general;
      errorEl.textContent = general;
    },
    redraw: drawNow,
    get dataset() {
      return byName.get(spec?.name);
    },
  };
}
