// Small pure helpers about a design (the experiment document) and its check: what counts as a
// new design, the first error in words, and the shapes that stay valid before an error.

/** The dataset and the model: changing either makes a new design (a run of the old one stops). */
export function designKey(experiment) {
  return JSON.stringify({ dataset: experiment?.dataset ?? null, model: experiment?.model ?? null });
}

/** The first error of a failed check, as a sentence (the layer's first, else the others). */
export function firstError(result) {
  const errors = result?.errors;
  if (!errors) return result?.message || null;
  const layers = [...errors.layers.entries()].sort((a, b) => a[0] - b[0]);
  if (layers.length) {
    const [index, list] = layers[0];
    const text = list[0].text || list[0].msg;
    return /^layer \d+/i.test(text) ? text : `Layer ${index + 1}: ${text}`;
  }
  const dataset = Object.values(errors.dataset || {})[0];
  if (dataset) return `Dataset: ${dataset}`;
  const training = Object.values(errors.training || {})[0];
  if (training) return training;
  return errors.general?.[0] || result.message || null;
}

/**
 * The part of the last good check that still holds for `experiment`: the input shape and the
 * layers before the first error, when the dataset and those layers are unchanged. null when
 * nothing can be kept. The head is never kept (it depends on everything before it).
 */
export function partialCheck(lastGood, experiment, errors) {
  if (!lastGood || !experiment) return null;
  if (JSON.stringify(lastGood.experiment.dataset) !== JSON.stringify(experiment.dataset)) return null;
  const broken = [...(errors?.layers?.keys() || [])];
  const firstBad = broken.length ? Math.min(...broken) : 0;
  const before = experiment.model.layers.slice(0, firstBad);
  const old = lastGood.experiment.model.layers;
  let same = 0;
  while (same < before.length && JSON.stringify(before[same]) === JSON.stringify(old[same])) same += 1;
  return {
    input_shape: lastGood.check.input_shape,
    layers: (lastGood.check.layers || []).filter((l) => l.index < same),
    head: null,
    partial: true,
  };
}
