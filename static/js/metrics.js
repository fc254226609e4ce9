// Which numbers of an epoch record the charts plot, and what to call them.

const get = (key) => (r) => {
  if (key in r) return r[key];
  return r.metrics ? r.metrics[key] : undefined;
};

/** Train and validation loss. */
export function lossSeries() {
  return [
    { label: 'training loss', color: '--train', get: get('loss') },
    { label: 'validation loss', color: '--val', dash: [6, 4], get: get('val_loss') },
  ];
}

/** Train and validation curves of one metric ("accuracy" plots accuracy and val_accuracy). */
export function metricSeries(name) {
  if (!name) return [];
  return [
    { label: `training ${name.replace(/_/g, ' ')}`, color: '--train', get: get(name) },
    { label: `validation ${name.replace(/_/g, ' ')}`, color: '--val', dash: [6, 4], get: get(`val_${name}`) },
  ];
}

/** Metric names present in the records (without their val_ twins), most useful first. */
export function metricNames(records) {
  const names = new Set();
  const last = records[records.length - 1];
  for (const key of Object.keys(last?.metrics || {})) names.add(key.replace(/^val_/, ''));
  const order = ['accuracy', 'r2', 'mae', 'roc_auc'];
  return [...names].sort((a, b) => rank(a, order) - rank(b, order) || a.localeCompare(b));
}

function rank(name, order) {
  const i = order.indexOf(name);
  return i < 0 ? order.length : i;
}
