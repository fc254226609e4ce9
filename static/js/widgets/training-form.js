// Training settings: optimiser, batch size, epochs, momentum, L1/L2, seed, device, loss.
// The learning rate lives in the run bar (it can change while a run trains).
// The form is generated from a JSON schema like every other form; the server publishes no
// training schema, so the one below mirrors TrainingSpec in server/engine/schema.py.

import { h, replace } from '../util/dom.js';
import { fieldsOf } from '../schema.js';
import { schemaForm } from './layer-form.js';

export const FALLBACK_TRAINING_SCHEMA = {
  type: 'object',
  properties: {
    optimizer: {
      type: 'string',
      enum: ['sgd', 'adam', 'adamw', 'rmsprop'],
      default: 'sgd',
      title: 'Optimiser',
      description: 'How the weights follow the gradients: sgd (with momentum), adam, adamw, rmsprop',
    },
    learning_rate: { type: 'number', exclusiveMinimum: 0, maximum: 10, default: 0.03, title: 'Learning rate' },
    momentum: { type: 'number', minimum: 0, exclusiveMaximum: 1, default: 0, title: 'Momentum', description: 'For sgd and rmsprop: how much of the last update carries on' },
    batch_size: { type: 'integer', minimum: 1, default: 10, title: 'Batch size', description: 'Examples per weight update' },
    epochs: { type: 'integer', minimum: 1, default: 100, title: 'Epochs', description: 'Passes over the training set' },
    l1: { type: 'number', minimum: 0, maximum: 1, default: 0, title: 'L1', description: 'Penalty on the sum of |weights|: pushes weights to exactly zero' },
    l2: { type: 'number', minimum: 0, maximum: 1, default: 0, title: 'L2', description: 'Penalty on the sum of squared weights (weight decay): keeps weights small' },
    seed: { type: 'integer', minimum: 0, maximum: 2147483647, default: 0, title: 'Seed', description: 'Same seed and design, same run: initial weights and shuffling' },
    device: { type: 'string', enum: ['auto', 'cpu', 'cuda'], default: 'auto', title: 'Device', description: 'auto trains on the GPU when the server has one' },
    loss: {
      anyOf: [{ type: 'string', enum: ['cross_entropy', 'mse', 'mae', 'huber', 'bce'] }, { type: 'null' }],
      default: null,
      title: 'Loss',
      description: 'automatic: the usual loss for the dataset’s task',
    },
  },
};

export function trainingForm({ root, schema = FALLBACK_TRAINING_SCHEMA, onChange }) {
  let values = {};
  const form = schemaForm({
    fields: fieldsOf(schema),
    values,
    idPrefix: 'training',
    exclude: ['learning_rate'],
    onChange: (name, value) => {
      values = { ...values };
      if (value === undefined) delete values[name];
      else values[name] = value;
      onChange({ ...values });
    },
  });
  replace(root, h('h2', { class: 'panel-title' }, 'Training'), form.element);
  return {
    setValues(next) {
      values = { ...next };
      form.setValues(values);
    },
    setErrors: (errors) => form.setErrors(errors),
  };
}
