// Training settings: optimiser, batch size, epochs, momentum, L1/L2, seed, device, loss.
// The learning rate and the pace live in the run bar (they can change while a run trains).
// The form is generated from the server's JSON schema (GET /api/training) like every other form.

import { h, replace } from '../util/dom.js';
import { fieldsOf } from '../schema.js';
import { schemaForm } from './layer-form.js';

export function trainingForm({ root, schema, onChange }) {
  let values = {};
  const form = schemaForm({
    fields: fieldsOf(schema),
    values,
    idPrefix: 'training',
    exclude: ['learning_rate', 'pace'], // both live on the run bar
    onChange: (name, value) => {
      values = { ...values };
      if (value === undefined) delete values[name];
      else values[name] = value;
      onChange({ ...values });
    },
  });
  replace(root, h('h2', { class: 'panel-title' }, 'Training'), form.element);
  // epochs: null trains until paused (bounded by the server's maximum): an empty field.
  const epochs = root.querySelector('#training-epochs');
  if (epochs) {
    epochs.placeholder = 'until paused';
    epochs.closest('.field').title = 'Passes over the training set. Leave it empty to train until you pause (at most the server’s maximum).';
  }
  // early_stopping: null never stops early: an empty field.
  const patience = root.querySelector('#training-early_stopping');
  if (patience) {
    patience.placeholder = 'off';
    patience.closest('.field').title = 'Stop when the validation loss has not improved for this many epochs, keeping the best epoch’s weights. Empty: never stop early.';
  }
  return {
    setValues(next) {
      values = { ...next };
      form.setValues(values);
    },
    setErrors: (errors) => form.setErrors(errors),
  };
}
