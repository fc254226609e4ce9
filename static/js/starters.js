// Starter designs, a few per model family. The first of each family mirrors the file in
// examples/ (spiral_mlp.json, digits_cnn.json, ...). Each is a complete experiment document:
// what the URL holds and what POST /api/runs accepts.

const adam = (overrides) => ({
  optimizer: 'adam',
  learning_rate: 0.01,
  batch_size: 32,
  epochs: 10,
  seed: 0,
  device: 'auto',
  ...overrides,
});

const dense = (units, activation = 'relu') => ({ type: 'dense', units, activation });

export const STARTERS = [
  // 2D: TensorFlow Playground's home ground.
  {
    id: 'spiral-mlp',
    family: '2d',
    title: 'Spiral: a small MLP',
    experiment: {
      dataset: { name: 'spiral', samples: 500, noise: 0.1, train_fraction: 0.5, seed: 1, crosses: ['x1', 'x2'] },
      model: { layers: [dense(32, 'tanh'), dense(32, 'tanh')] },
      training: adam({ learning_rate: 0.01, batch_size: 10, epochs: 100 }),
    },
  },
  {
    id: 'circle-crosses',
    family: '2d',
    title: 'Circle: no hidden layer, squared features',
    experiment: {
      dataset: { name: 'circle', samples: 500, noise: 0.1, train_fraction: 0.5, seed: 1, crosses: ['x1_squared', 'x2_squared'] },
      model: { layers: [] },
      training: { optimizer: 'sgd', learning_rate: 0.03, batch_size: 10, epochs: 100, seed: 0, device: 'auto' },
    },
  },
  {
    id: 'xor-mlp',
    family: '2d',
    title: 'XOR: four ReLU neurons',
    experiment: {
      dataset: { name: 'xor', samples: 500, noise: 0.1, train_fraction: 0.5, seed: 1, crosses: ['x1', 'x2'] },
      model: { layers: [dense(4, 'relu')] },
      training: { optimizer: 'sgd', learning_rate: 0.03, momentum: 0.9, batch_size: 10, epochs: 100, seed: 0, device: 'auto' },
    },
  },
  {
    id: 'plane-regression',
    family: '2d',
    title: 'Plane: regression',
    experiment: {
      dataset: { name: 'plane', samples: 500, noise: 0.1, train_fraction: 0.5, seed: 1, crosses: ['x1', 'x2'] },
      model: { layers: [dense(8, 'tanh')] },
      training: adam({ learning_rate: 0.01, batch_size: 10, epochs: 50 }),
    },
  },
  // Tables.
  {
    id: 'iris-mlp',
    family: 'tabular',
    title: 'Iris flowers: an MLP on a table',
    experiment: {
      dataset: { name: 'iris', train_fraction: 0.8, seed: 1 },
      model: { layers: [dense(16), dense(16)] },
      training: adam({ learning_rate: 0.01, batch_size: 16, epochs: 40 }),
    },
  },
  // Images.
  {
    id: 'digits-cnn',
    family: 'image',
    title: 'Digits 8×8: a small CNN',
    experiment: {
      dataset: { name: 'digits', train_fraction: 0.8, seed: 1 },
      model: {
        layers: [
          { type: 'conv2d', filters: 16, kernel_size: 3, activation: 'relu' },
          { type: 'maxpool2d', pool_size: 2 },
          { type: 'flatten' },
          dense(64),
        ],
      },
      training: adam({ learning_rate: 0.003, batch_size: 32, epochs: 10 }),
    },
  },
  {
    id: 'digits-mlp',
    family: 'image',
    title: 'Digits 8×8: flatten and a dense layer',
    experiment: {
      dataset: { name: 'digits', train_fraction: 0.8, seed: 1 },
      model: { layers: [{ type: 'flatten' }, dense(32), { type: 'dropout', rate: 0.2 }] },
      training: adam({ learning_rate: 0.003, batch_size: 32, epochs: 10 }),
    },
  },
  // Sequences.
  {
    id: 'sine-lstm',
    family: 'sequence',
    title: 'Sine: LSTM forecast',
    experiment: {
      dataset: { name: 'sine', samples: 1000, window: 24, horizon: 1, components: 2, noise: 0.05, seed: 1 },
      model: { layers: [{ type: 'lstm', units: 16 }] },
      training: adam({ learning_rate: 0.01, batch_size: 32, epochs: 10 }),
    },
  },
  {
    id: 'waveform-gru',
    family: 'sequence',
    title: 'Waveforms: GRU classifier',
    experiment: {
      dataset: { name: 'waveform', samples: 1000, length: 64, noise: 0.1, seed: 1 },
      model: { layers: [{ type: 'gru', units: 16 }] },
      training: adam({ learning_rate: 0.01, batch_size: 32, epochs: 10 }),
    },
  },
  {
    id: 'tokens-embedding',
    family: 'sequence',
    title: 'Tokens: embedding and RNN',
    experiment: {
      dataset: { name: 'tokens', samples: 1000, length: 12, vocab_size: 10, seed: 1 },
      model: { layers: [{ type: 'embedding', dim: 8 }, { type: 'rnn', units: 16 }] },
      training: adam({ learning_rate: 0.01, batch_size: 32, epochs: 10 }),
    },
  },
  // Autoencoders.
  {
    id: 'digits-autoencoder',
    family: 'autoencoder',
    title: 'Digits: dense autoencoder',
    experiment: {
      dataset: { name: 'digits_reconstruction', seed: 1 },
      model: { layers: [{ type: 'flatten' }, dense(32), dense(2, 'linear'), dense(32)] },
      training: adam({ learning_rate: 0.003, batch_size: 32, epochs: 20 }),
    },
  },
  {
    id: 'anomaly-detector',
    family: 'autoencoder',
    title: 'Digit anomalies: autoencoder detector',
    experiment: {
      dataset: { name: 'digits_anomaly', normal_classes: [0], anomaly_ratio: 1.0, seed: 1 },
      model: { layers: [{ type: 'flatten' }, dense(16), dense(4, 'linear'), dense(16)] },
      training: adam({ learning_rate: 0.003, batch_size: 16, epochs: 30 }),
    },
  },
  {
    id: 'planar-autoencoder',
    family: 'autoencoder',
    title: '2D points through a 1-number bottleneck',
    experiment: {
      dataset: { name: 'planar_reconstruction', source: 'spiral', samples: 500, noise: 0, seed: 1 },
      model: { layers: [dense(16, 'tanh'), dense(1, 'linear'), dense(16, 'tanh')] },
      training: adam({ learning_rate: 0.01, batch_size: 16, epochs: 40 }),
    },
  },
];

/** The starter with this id, or undefined. */
export function starterById(id) {
  return STARTERS.find((s) => s.id === id);
}

/** The default design when the URL holds none. */
export const DEFAULT_STARTER = 'spiral-mlp';

/** Family titles for menus. */
export const FAMILY_TITLES = {
  '2d': '2D points',
  tabular: 'Tables',
  image: 'Images',
  sequence: 'Sequences',
  autoencoder: 'Autoencoders',
};
