// Starter designs, a few per model family. The first of each family mirrors the file in
// examples/ (spiral_mlp.json, digits_cnn.json, ...). Each is a complete experiment document:
// what the URL holds and what POST /api/runs accepts. Each is also a lesson (the lesson gallery,
// `#lesson=<id>`): `lesson.summary` says what the design shows (one line on its card),
// `lesson.watch` which views to watch while it trains, `lesson.next` what to try next; view
// names as the page titles them, 3 to 6 sentences in all.

const adam = (overrides) => ({
  optimizer: 'adam',
  learning_rate: 0.01,
  batch_size: 32,
  epochs: null, // until paused (bounded by the server's max_epochs): a class watches it learn
  seed: 0,
  device: 'auto',
  ...overrides,
});

const dense = (units, activation = 'relu') => ({ type: 'dense', units, activation });

// Issue 22's lessons: graph designs (layers with `id` and `inputs`). The parts are written
// out, as the palette's blocks expand them (server/engine/blocks.py), so each stays editable.
function residualSpiral(depth) {
  const layers = [{ ...dense(8, 'tanh'), id: 'h0' }];
  let prev = 'h0';
  for (let k = 0; k < Math.floor((depth - 1) / 2); k += 1) {
    layers.push({ ...dense(8, 'tanh'), id: `a${k}`, inputs: [prev] }, { ...dense(8, 'tanh'), id: `b${k}` });
    layers.push({ type: 'add', id: `s${k}`, inputs: [prev, `b${k}`] });
    prev = `s${k}`;
  }
  return depth % 2 === 0 ? [...layers, { ...dense(8, 'tanh'), inputs: [prev] }] : layers;
}

function transformerParts(p, source, width) {
  return [
    { type: 'layernorm', id: `${p}_norm1`, inputs: [source] },
    { type: 'attention', id: `${p}_attn`, inputs: [`${p}_norm1`], heads: 2, dim: null, causal: false },
    { type: 'add', id: `${p}_skip1`, inputs: [source, `${p}_attn`] },
    { type: 'layernorm', id: `${p}_norm2`, inputs: [`${p}_skip1`] },
    { type: 'dense', id: `${p}_mlp`, inputs: [`${p}_norm2`], units: 2 * width, activation: 'gelu' },
    { type: 'dense', id: `${p}_proj`, inputs: [`${p}_mlp`], units: width, activation: 'linear' },
    { type: 'add', id: `${p}_skip2`, inputs: [`${p}_skip1`, `${p}_proj`] },
  ];
}

function GRAPH_LESSONS() {
  return [
    {
      id: 'skip-connections',
      family: '2d',
      title: 'Why skip connections',
      lesson: {
        summary: 'Twenty tanh layers on the spiral, with a skip around every pair: each add layer passes its input on unchanged and adds what the pair learned.',
        watch: 'Watch Weight and gradient norms: the gradients reach the first layers at a useful size, and the Decision surface wraps around the arms (about 90% validation accuracy after 100 epochs). Skips against blocks shows, per add layer, the signal arriving around the block beside what the block adds.',
        next: [
          'Remove the add layers (and the inputs fields) to get the same twenty layers as a plain stack: its gradients vanish towards the first layer and it stays near 50%.',
          'Compare the two runs side by side in Compare runs.',
        ],
      },
      experiment: {
        dataset: { name: 'spiral', samples: 400, noise: 0, train_fraction: 0.5, seed: 1, crosses: ['x1', 'x2'] },
        model: { layers: residualSpiral(20) },
        training: adam({ learning_rate: 0.003, batch_size: 10 }),
      },
    },
    {
      id: 'attention-reverse',
      family: 'sequence',
      title: 'Attention learns where to look',
      lesson: {
        summary: 'Two transformer blocks learn to reverse a sequence of 8 tokens: position i must output the token at position 7 − i.',
        watch: 'Watch the Attention view: at first every position looks everywhere, then within a few epochs both heads of the second block look along the anti-diagonal, each position at the one it must copy. Choose another example: the map stays the same, because where to look does not depend on the tokens.',
        next: [
          'Delete the positional layer: without positions attention cannot tell first from last and the accuracy stays low.',
          'Switch the dataset to sort and see the maps look at tokens by value instead of by place.',
        ],
      },
      experiment: {
        dataset: { name: 'reverse', length: 8, vocab: 10, samples: 3000, train_fraction: 0.8, seed: 1 },
        model: {
          layers: [
            { type: 'embedding', dim: 32, id: 'emb' },
            { type: 'positional', mode: 'learned', id: 'pos' },
            ...transformerParts('t0', 'pos', 32),
            ...transformerParts('t1', 't0_skip2', 32),
            { type: 'layernorm', inputs: ['t1_skip2'] },
          ],
        },
        training: adam({ learning_rate: 0.003, batch_size: 32 }),
      },
    },
  ];
}

export const STARTERS = [
  // 2D: TensorFlow Playground's home ground.
  {
    id: 'spiral-mlp',
    family: '2d',
    title: 'Spiral: a small MLP',
    lesson: {
      summary: 'Two hidden layers of 32 tanh neurons separate two interleaved spiral arms, from x₁ and x₂ alone.',
      watch: 'Watch the Decision surface: it starts as a rough split of the plane and bends, epoch after epoch, until it follows each arm. In the Network view, first-layer neurons draw straight edges and second-layer neurons combine them into curves.',
      next: [
        'Remove the second layer and train again: one layer cannot follow the arms all the way round, and the validation accuracy drops well below the two-layer result.',
        'Set L2 to 0 and train for a few hundred epochs: the validation loss is lowest near epoch 135 and then climbs while the training loss keeps falling, and the Loss chart marks it as overfitting (with L2 at 0.001 it goes on falling for 2,500 epochs).',
      ],
    },
    experiment: {
      dataset: { name: 'spiral', samples: 500, noise: 0.1, train_fraction: 0.5, seed: 1, crosses: ['x1', 'x2'] },
      model: { layers: [dense(32, 'tanh'), dense(32, 'tanh')] },
      // L2 0.001 keeps it from overfitting (bench/starter_overfit.py: without it the
      // validation loss bottoms at epoch 136 and is four times higher by epoch 1,200).
      training: adam({ learning_rate: 0.01, batch_size: 10, epochs: null, l2: 0.001 }),
    },
  },
  {
    id: 'circle-crosses',
    family: '2d',
    title: 'Circle: no hidden layer, squared features',
    lesson: {
      summary: 'No hidden layer at all: with x₁² and x₂² as inputs, the output neuron alone separates the disc from the ring.',
      watch: 'Watch the Decision surface: within a few epochs the boundary closes around the disc, because a straight line in x₁² and x₂² can be an ellipse in the plane.',
      next: [
        'Under Crosses, tick x1 and x2 instead of the squares: one neuron can only draw a straight line, and the accuracy stays at or below 50%.',
        'Then add a dense layer of 3 ReLU neurons: the hidden layer builds the curve itself.',
      ],
    },
    experiment: {
      dataset: { name: 'circle', samples: 500, noise: 0.1, train_fraction: 0.5, seed: 1, crosses: ['x1_squared', 'x2_squared'] },
      model: { layers: [] },
      training: { optimizer: 'sgd', learning_rate: 0.03, batch_size: 10, epochs: null, seed: 0, device: 'auto' },
    },
  },
  {
    id: 'xor-mlp',
    family: '2d',
    title: 'XOR: four ReLU neurons',
    lesson: {
      summary: 'Positive where x₁ and x₂ have the same sign: no single straight line separates the quadrants, so four ReLU neurons work together.',
      watch: 'In the Network view each hidden neuron draws one straight fold; the Decision surface combines the folds into four quadrants.',
      next: [
        'Remove the hidden layer: the accuracy stays near 50%, because a single neuron cannot solve XOR.',
        'Keep it removed and, under Crosses, tick only x1_x2: with the product x₁x₂ as its input, one neuron is enough.',
      ],
    },
    experiment: {
      dataset: { name: 'xor', samples: 500, noise: 0.1, train_fraction: 0.5, seed: 1, crosses: ['x1', 'x2'] },
      model: { layers: [dense(4, 'relu')] },
      training: { optimizer: 'sgd', learning_rate: 0.03, momentum: 0.9, batch_size: 10, epochs: null, seed: 0, device: 'auto' },
    },
  },
  // Step through (issue 9): one example, one optimiser step, phase by phase on the graph.
  {
    id: 'one-step',
    family: '2d',
    title: 'One example, one step: watch the boundary move',
    lesson: {
      summary: 'Press Step through, click one point on the Decision surface and follow a single optimiser step on that example alone: forward pass, error, backward pass, update.',
      watch: 'Watch the Decision surface when you reach Update (key 4): the boundary moves so that the clicked point is classified a little better. In the backward pass (key 3) the thickest links are the weights that change most.',
      next: [
        'Click a point on the other side of the boundary and step again: the boundary moves back the other way.',
        'Change the optimizer to adam and compare the Update: Adam moves every weight by about the learning rate, whatever the size of its gradient.',
      ],
    },
    experiment: {
      dataset: { name: 'gauss', samples: 200, noise: 0.1, train_fraction: 0.5, seed: 1, crosses: ['x1', 'x2'] },
      model: { layers: [dense(3, 'tanh')] },
      training: { optimizer: 'sgd', learning_rate: 0.3, momentum: 0, batch_size: 10, epochs: null, seed: 0, device: 'auto' },
    },
  },
  {
    id: 'plane-regression',
    family: '2d',
    title: 'Plane: regression',
    lesson: {
      summary: 'A regression: the target rises evenly with x₁ + x₂, and the network predicts a number for every point instead of a class.',
      watch: 'Watch the Decision surface shade smoothly from one corner to the opposite one, and the Metric chart, where r2 climbs towards 1, a perfect fit.',
      next: [
        'Remove the hidden layer: a single neuron does just as well, because the target is a plane.',
        'Raise Noise to 0.5: the error stays higher however long it trains, because noise cannot be learned.',
      ],
    },
    experiment: {
      dataset: { name: 'plane', samples: 500, noise: 0.1, train_fraction: 0.5, seed: 1, crosses: ['x1', 'x2'] },
      model: { layers: [dense(8, 'tanh')] },
      training: adam({ learning_rate: 0.01, batch_size: 10, epochs: null }),
    },
  },
  {
    id: 'deep-sigmoid',
    family: '2d',
    title: 'Deep sigmoid stack: vanishing gradients',
    lesson: {
      summary: 'Six layers of sigmoid neurons, trained with plain SGD, fail on the easy circle set.',
      watch: 'Watch the Weight and gradient norms: each layer’s gradient line lies far below the next one’s, from about 0.1 at the output down to about 1e-6 at the first layer, so the first layers hardly learn. The Loss stays flat near 0.7, no better than guessing.',
      next: [
        'Set every layer’s Activation to relu (or tanh) and train again: the gradient lines move close together and the circle is learned within about 20 epochs.',
      ],
    },
    experiment: {
      dataset: { name: 'circle', samples: 500, noise: 0.1, train_fraction: 0.5, seed: 1, crosses: ['x1', 'x2'] },
      model: { layers: Array.from({ length: 6 }, () => dense(8, 'sigmoid')) },
      training: { optimizer: 'sgd', learning_rate: 0.1, batch_size: 10, epochs: null, seed: 0, device: 'auto' },
    },
  },
  // Tables.
  {
    id: 'iris-mlp',
    family: 'tabular',
    title: 'Iris flowers: an MLP on a table',
    lesson: {
      summary: 'A table, not an image: four measurements of each flower, and two dense layers that tell three species apart.',
      watch: 'Watch the Loss and Metric charts: training accuracy reaches 100% while validation accuracy stays lower; that gap is what the network memorised from only 120 flowers.',
      next: [
        'Empty Early stopping and set L2 to 0: the validation loss is lowest within ten epochs and then climbs for good while the training loss falls; the Loss chart marks it as overfitting.',
        'Remove both hidden layers: a single layer reaches the same validation accuracy, because the species are almost separable by straight lines.',
      ],
    },
    experiment: {
      dataset: { name: 'iris', train_fraction: 0.8, seed: 1 },
      model: { layers: [dense(16), dense(16)] },
      // L2 0.01 and early stopping (bench/starter_overfit.py: without them the validation loss
      // is lowest at epoch 7 and 8 times higher by epoch 1,500; with L2 0.01 lowest near 500).
      training: adam({ learning_rate: 0.01, batch_size: 16, epochs: null, l2: 0.01, early_stopping: 200 }),
    },
  },
  // Images.
  {
    id: 'digits-cnn',
    family: 'image',
    title: 'Digits 8×8: a small CNN',
    lesson: {
      summary: 'Sixteen 3×3 filters slide over 8×8 handwritten digits, a pooling layer halves the image’s width and height, and a dense layer names the digit.',
      watch: 'Watch the First convolution’s filters change from random noise into small edge and stroke patterns, and the Feature maps of a probe image show where each one fires. The Confusion matrix fills its diagonal; the few bright cells off it show which digits are still mixed up.',
      next: [
        'Set Filters to 2: with fewer detectors the validation accuracy drops a few points.',
        'Remove the convolution and pooling layers: on images this small a dense layer does about as well.',
      ],
    },
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
      training: adam({ learning_rate: 0.003, batch_size: 32, epochs: null }),
    },
  },
  {
    id: 'digits-mlp',
    family: 'image',
    title: 'Digits 8×8: flatten and a dense layer',
    lesson: {
      summary: 'The same digits without convolutions: flatten turns each image into 64 numbers, and a dense layer of 32 with dropout classifies them.',
      watch: 'Watch Predictions: a red ✗ marks a validation digit it got wrong; hover it to see the true class. In the Metric chart the training accuracy may sit below validation, because dropout silences a fifth of the neurons during training only.',
      next: [
        'Remove the dense and dropout layers, keeping only flatten: a linear classifier on raw pixels still gets most digits right.',
      ],
    },
    experiment: {
      dataset: { name: 'digits', train_fraction: 0.8, seed: 1 },
      model: { layers: [{ type: 'flatten' }, dense(32), { type: 'dropout', rate: 0.2 }] },
      training: adam({ learning_rate: 0.003, batch_size: 32, epochs: null }),
    },
  },
  // Sequences.
  {
    id: 'sine-lstm',
    family: 'sequence',
    title: 'Sine: LSTM forecast',
    lesson: {
      summary: 'An LSTM with 16 units reads 24 noisy values of a sum of two sine waves and forecasts the next value.',
      watch: 'Watch Forecast against truth: the dashed prediction lands closer and closer to the solid line. Hidden state over time shows what the LSTM carries from step to step while it reads one window, one row per unit.',
      next: [
        'Set Horizon to 5 to forecast five steps ahead: the task gets harder and the error rises.',
        'Replace the LSTM with flatten and a dense layer: for a wave this regular, a plain MLP does almost as well.',
      ],
    },
    experiment: {
      dataset: { name: 'sine', samples: 1000, window: 24, horizon: 1, components: 2, noise: 0.05, seed: 1 },
      model: { layers: [{ type: 'lstm', units: 16 }] },
      training: adam({ learning_rate: 0.01, batch_size: 32, epochs: null }),
    },
  },
  {
    id: 'waveform-gru',
    family: 'sequence',
    title: 'Waveforms: GRU classifier',
    lesson: {
      summary: 'A GRU reads 64 steps of a wave and says whether it is a sine, square, triangle or sawtooth wave, whatever its pitch.',
      watch: 'Watch Predicted class probabilities: each bar is one validation series, and it turns from four even parts to one main colour. After 10 epochs it is right about 6 times in 10, so the Metric chart is still climbing.',
      next: [
        'Set Epochs to 30: the accuracy climbs past 80%.',
        'Replace the GRU with a plain RNN: it stays near chance (25%), because a plain RNN struggles to carry what it saw across 64 steps.',
      ],
    },
    experiment: {
      dataset: { name: 'waveform', samples: 1000, length: 64, noise: 0.1, seed: 1 },
      model: { layers: [{ type: 'gru', units: 16 }] },
      training: adam({ learning_rate: 0.01, batch_size: 32, epochs: null }),
    },
  },
  {
    id: 'tokens-embedding',
    family: 'sequence',
    title: 'Tokens: embedding and RNN',
    lesson: {
      summary: 'Sequences of 12 tokens, the numbers 0 to 9: are there more 1s than 2s? An embedding turns each token into 8 numbers and an RNN reads them in order.',
      watch: 'Watch Predicted class probabilities grow confident and the Metric chart reach about 99% accuracy; Hidden state over time shows the RNN’s state after each token.',
      next: [
        'Set Length to 48: the plain RNN falls to about chance; replace it with an LSTM and it counts correctly again.',
      ],
    },
    experiment: {
      dataset: { name: 'tokens', samples: 1000, length: 12, vocab_size: 10, seed: 1 },
      model: { layers: [{ type: 'embedding', dim: 8 }, { type: 'rnn', units: 16 }] },
      training: adam({ learning_rate: 0.01, batch_size: 32, epochs: null }),
    },
  },
  // Autoencoders.
  {
    id: 'digits-autoencoder',
    family: 'autoencoder',
    title: 'Digits: dense autoencoder',
    lesson: {
      summary: 'The network squeezes each 8×8 digit into just 2 numbers and rebuilds the image from them, without ever seeing the labels.',
      watch: 'Watch Originals and reconstructions: the copies start as blurs and take on the rough shape of each digit. The Latent space places each digit at its 2 numbers, coloured by class: digits of one kind gather in regions, though some overlap.',
      next: [
        'Set the middle layer’s Units to 8: the reconstructions sharpen, and the Latent space then shows a 2D projection (PCA) of the 8 numbers.',
      ],
    },
    experiment: {
      dataset: { name: 'digits_reconstruction', seed: 1 },
      model: { layers: [{ type: 'flatten' }, dense(32), dense(2, 'linear'), dense(32)] },
      training: adam({ learning_rate: 0.003, batch_size: 32, epochs: null }),
    },
  },
  {
    id: 'anomaly-detector',
    family: 'autoencoder',
    title: 'Digit anomalies: autoencoder detector',
    lesson: {
      summary: 'An autoencoder trained only on zeros: every other digit is an anomaly it never learned to rebuild.',
      watch: 'Watch Anomaly scores: the normal zeros (blue) pile up at low reconstruction error, the anomalies (red) move to the right, and the ROC AUC approaches 1.0. Originals and reconstructions shows why: zeros come back well, other digits badly.',
      next: [
        'Type 0, 1, 2, 3, 4 into Normal classes: normal now covers five shapes, the two groups overlap more and the ROC AUC drops.',
      ],
    },
    experiment: {
      dataset: { name: 'digits_anomaly', normal_classes: [0], anomaly_ratio: 1.0, seed: 1 },
      model: { layers: [{ type: 'flatten' }, dense(16), dense(4, 'linear'), dense(16)] },
      training: adam({ learning_rate: 0.003, batch_size: 16, epochs: null }),
    },
  },
  {
    id: 'planar-autoencoder',
    family: 'autoencoder',
    title: '2D points through a 1-number bottleneck',
    lesson: {
      summary: 'Points of the spiral set pass through a single number and are rebuilt as 2D points: the code can only say where a point lies along one curve.',
      watch: 'Watch Originals and reconstructions: the orange reconstructions settle on one curve through the blue originals, with a line joining each pair. The Latent space is a single line, since each point’s code is one number.',
      next: [
        'Set the middle layer’s Units to 2: nothing has to be squeezed any more, and the reconstructions land on the originals.',
      ],
    },
    experiment: {
      dataset: { name: 'planar_reconstruction', source: 'spiral', samples: 500, noise: 0, seed: 1 },
      model: { layers: [dense(16, 'tanh'), dense(1, 'linear'), dense(16, 'tanh')] },
      training: adam({ learning_rate: 0.01, batch_size: 16, epochs: null }),
    },
  },
  // Sweep lessons (issue 14): each loads its design and fills in the Sweep panel below the
  // views (`sweep`: its axes and the epochs of every variant); Start sweep trains them all.
  {
    id: 'sweep-data-needed',
    family: '2d',
    title: 'Sweep: how much data does a network need?',
    sweep: { axes: [{ setting: 'data_fraction', values: [0.05, 0.1, 0.25, 0.5, 1] }], epochs: 150 },
    lesson: {
      summary: 'The same spiral MLP trained five times at once, on 5% to 100% of its training set, each tested on the same validation set.',
      watch: 'Press Start sweep in the Sweep panel below. In Final metric against the setting, validation accuracy climbs from about 60% on 5% of the data to above 95% on all of it. In Validation loss of every variant, the loss of the smallest fractions rises again: the network memorises its few points.',
      next: [
        'Add a second setting, units, with the values 4, 32: four neurons per layer stay near 60% however much data they get.',
      ],
    },
    experiment: {
      dataset: { name: 'spiral', samples: 500, noise: 0.1, train_fraction: 0.5, seed: 1, crosses: ['x1', 'x2'] },
      model: { layers: [dense(32, 'tanh'), dense(32, 'tanh')] },
      training: adam({ learning_rate: 0.01, batch_size: 10, epochs: null }),
    },
  },
  {
    id: 'sweep-learning-rate',
    family: '2d',
    title: 'Sweep: too large a learning rate',
    sweep: { axes: [{ setting: 'learning_rate', values: [0.003, 0.03, 0.3, 3, 10] }], epochs: 60 },
    lesson: {
      summary: 'Five copies of one network, trained with learning rates from 0.003 to 10: where does learning stop working?',
      watch: 'Press Start sweep in the Sweep panel below. In Validation loss of every variant the smallest rate creeps down, 0.03 and 0.3 fall fast, and the two largest jump about and never settle; Final metric against the setting draws it as a hill.',
      next: [
        'Add the optimiser as a second setting with sgd, adam: Adam learns well already at 0.003 and fails sooner above it, so its hill moves to smaller rates.',
      ],
    },
    experiment: {
      dataset: { name: 'circle', samples: 500, noise: 0.1, train_fraction: 0.5, seed: 1, crosses: ['x1', 'x2'] },
      model: { layers: [dense(8, 'tanh'), dense(8, 'tanh')] },
      training: { optimizer: 'sgd', learning_rate: 0.03, batch_size: 10, epochs: null, seed: 0, device: 'auto' },
    },
  },
  {
    id: 'sweep-depth-activation',
    family: '2d',
    title: 'Sweep: depth with sigmoid vs ReLU',
    sweep: { axes: [{ setting: 'layers', values: [1, 2, 4, 6] }, { setting: 'activation', values: ['sigmoid', 'relu'] }], epochs: 60 },
    lesson: {
      summary: 'One to six layers, of sigmoid or of ReLU neurons: eight networks train at once on the circle set.',
      watch: 'Press Start sweep in the Sweep panel below. In Final metric against the setting the relu line stays above 90% as layers are added, while the sigmoid line falls to about 50% from two layers on: its gradients shrink at every layer.',
      next: [
        'Open the lesson Deep sigmoid stack and watch its Weight and gradient norms: the shrinking gradients themselves.',
      ],
    },
    experiment: {
      dataset: { name: 'circle', samples: 500, noise: 0.1, train_fraction: 0.5, seed: 1, crosses: ['x1', 'x2'] },
      model: { layers: [dense(8, 'sigmoid'), dense(8, 'sigmoid')] },
      training: { optimizer: 'sgd', learning_rate: 0.1, batch_size: 10, epochs: null, seed: 0, device: 'auto' },
    },
  },
  // Applications (issue 23): text, speech, recommendations. Each mirrors its examples/ file.
  {
    id: 'sentiment-lstm',
    family: 'sequence',
    title: 'Reading sentiment: embedding then LSTM',
    lesson: {
      summary: 'An embedding turns each word into a vector and an LSTM reads the sentence word by word, then says whether it is positive or negative.',
      watch: 'Watch the Loss and Metric charts: the validation sentences use sentence frames the network never saw, so validation accuracy above 85% means it learned what the words and "not" mean, not the frames.',
      next: [
        'Replace the LSTM with a GRU of 32 units and compare how fast the validation accuracy rises.',
        'Set the embedding dim to 2: every word must now fit on a plane; see whether the network still passes 85%.',
        'Once it has trained, press Try it under the network and type your own sentences: which words push the answer, what does “not” do, and where do the words sit on the map of words?',
      ],
    },
    experiment: {
      dataset: { name: 'sentiment', samples: 3000, seed: 1 },
      model: { layers: [{ type: 'embedding', dim: 16 }, { type: 'lstm', units: 32 }] },
      training: adam({ learning_rate: 0.01, batch_size: 32 }),
    },
  },
  {
    id: 'spoken-digits-cnn',
    family: 'image',
    title: 'Hearing digits: a CNN on spectrograms',
    lesson: {
      summary: 'Each spoken digit is a log-mel spectrogram, a 32×32 picture of sound: time runs left to right, pitch bottom to top, and a CNN learns which word it shows.',
      watch: 'Watch the First convolution’s filters and the Feature maps: filters that respond to rising and falling pitch tracks appear, and the Metric chart passes 85% validation accuracy.',
      next: [
        'Remove both batchnorm layers: the same network learns much more slowly.',
        'Drop the second convolution with its batchnorm and pooling, and read the Confusion matrix: which words does one layer of filters mix up?',
        'Once it has trained, press Try it under the network, then Record, and say a digit (or try one of the dataset’s clips): Grad-CAM shows where in the spectrogram the network listened.',
      ],
    },
    experiment: {
      dataset: { name: 'spoken_digits', seed: 1 },
      model: {
        layers: [
          { type: 'conv2d', filters: 16, kernel_size: 3, activation: 'relu' },
          { type: 'batchnorm' },
          { type: 'maxpool2d', pool_size: 2 },
          { type: 'conv2d', filters: 32, kernel_size: 3, activation: 'relu' },
          { type: 'batchnorm' },
          { type: 'maxpool2d', pool_size: 2 },
          { type: 'flatten' },
          dense(64),
        ],
      },
      training: adam({ learning_rate: 0.002, batch_size: 16 }),
    },
  },
  {
    id: 'gestures-cnn',
    family: 'image',
    title: 'Teach it your gestures: a CNN on your camera',
    // Opens "Capture with the camera" in the data column (main.js): the learner's frames
    // replace the digits below, and the network stays.
    capture: 'camera',
    lesson: {
      summary: 'Make your own image dataset: in the data column, Capture with the camera, name two or three gestures (a thumb up, an open hand, a fist), hold each one’s button or number key to record about 30 frames, and Save as upload. The CNN here then learns your gestures.',
      watch: 'Watch the Metric chart: with frames from one session the validation accuracy climbs fast, and the Confusion matrix shows which gestures look alike to the network. The camera is asked for only when you press Start; frames go to this LayerLab server, nowhere else.',
      next: [
        'Record a second session in another light or place and add it: does the validation accuracy hold when the background changes?',
        'Set the Image size to 16 before saving: can the network still tell your gestures apart from fewer pixels?',
      ],
    },
    experiment: {
      dataset: { name: 'digits', train_fraction: 0.8, seed: 1 },
      model: {
        layers: [
          { type: 'conv2d', filters: 8, kernel_size: 3, activation: 'relu' },
          { type: 'maxpool2d', pool_size: 2 },
          { type: 'conv2d', filters: 16, kernel_size: 3, activation: 'relu' },
          { type: 'maxpool2d', pool_size: 2 },
          { type: 'flatten' },
          dense(32),
        ],
      },
      training: adam({ learning_rate: 0.003, batch_size: 16, epochs: null }),
    },
  },
  {
    id: 'ratings-recommender',
    family: 'tabular',
    title: 'Recommending: two embeddings and a dot product',
    lesson: {
      summary: 'Every user and every item gets a learned vector; a predicted rating is their dot product plus a bias for each, as in the recommenders that suggest films and songs.',
      watch: 'Watch the Loss chart: the validation loss is the squared rating error, and its square root must fall below the dataset preview’s baseline RMSE, the error of always guessing the mean rating. Then press Try it under the network: pick a user and see the items the network would recommend, its RMSE beside the mean-rating baseline, and every item’s vector as a map.',
      next: [
        'In Try it, the recommended items are ringed on the item map: do they sit near the genres this user rated highly?',
        'Set the recommender dim to 1: one number per user cannot hold three hidden tastes, and the validation loss stays higher.',
        'Set dim to 64 and train long: watch the gap between the training and validation loss, the sign of vectors that memorise ratings.',
      ],
    },
    experiment: {
      dataset: { name: 'ratings', seed: 1 },
      model: { layers: [{ type: 'recommender', dim: 8 }] },
      training: adam({ learning_rate: 0.02, batch_size: 64 }),
    },
  },
  ...GRAPH_LESSONS(),
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

// The pace a class can follow, per family (epochs per second; the trainer's, so a slowed run
// costs the server less): a 2D boundary forms over tens of seconds at 20. Full speed is one
// click away on the run bar. The sweep lessons keep full speed (a sweep compares, not shows).
export const STARTER_PACE = { '2d': 20, tabular: 10, sequence: 5, image: 2, autoencoder: 5 };
for (const s of STARTERS) {
  if (!s.sweep && s.experiment.training.pace === undefined) s.experiment.training.pace = STARTER_PACE[s.family] ?? null;
}
