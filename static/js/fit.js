// How a run is fitting, from its epoch records alone (pure: no imports, tested in the browser):
// the best validation epoch, whether validation loss has been rising for a while (overfitting),
// honest smoothing (an exponential moving average, the raw values drawn underneath) and the
// loss chart's x axis (all epochs, a log scale, or the recent window).

/** The record with the lowest validation loss (the first of equals), or null. */
export function bestEpoch(records) {
  let best = null;
  for (const r of records) {
    const v = r?.val_loss;
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    if (best === null || v < best.val_loss) best = r;
  }
  return best ? { epoch: best.epoch, val_loss: best.val_loss } : null;
}

/**
 * Overfitting: the validation loss (smoothed) has stayed above its best for at least
 * `patience` epochs and is now clearly above it (by `margin`, relative), while the training
 * loss kept falling. Returns {since: the best epoch, best, now} or null.
 */
export function overfitting(records, { patience = 40, margin = 0.1, alpha = 0.1 } = {}) {
  const val = records.filter((r) => typeof r?.val_loss === 'number' && Number.isFinite(r.val_loss));
  if (val.length < patience + 5) return null;
  const smooth = ema(val.map((r) => r.val_loss), alpha);
  let bi = 0;
  for (let i = 1; i < smooth.length; i += 1) if (smooth[i] < smooth[bi]) bi = i;
  const last = smooth.length - 1;
  const nowEpoch = val[last].epoch;
  // Said as the raw best epoch (the one the chart marks) when it lies before the rise.
  const raw = bestEpoch(val);
  const since = raw && raw.epoch <= nowEpoch - patience ? raw.epoch : val[bi].epoch;
  if (nowEpoch - val[bi].epoch < patience) return null;
  const best = smooth[bi];
  const now = smooth[last];
  if (!(now > best * (1 + margin) + 1e-6)) return null;
  // The training loss went on falling (else it is not overfitting but something else).
  const trainAt = (i) => val[i].loss;
  if (typeof trainAt(bi) === 'number' && typeof trainAt(last) === 'number' && trainAt(last) > trainAt(bi)) return null;
  return { since, best, now };
}

/** Exponential moving average (weight `alpha` on each new value); non-numbers keep the last. */
export function ema(values, alpha = 0.1) {
  const out = new Array(values.length);
  let s = null;
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (typeof v === 'number' && Number.isFinite(v)) s = s === null ? v : s + alpha * (v - s);
    out[i] = s;
  }
  return out;
}

/**
 * The smoothing weight for n records shown: the average lags about n / 40 epochs, 2.5% of the
 * chart's width, whatever the run's length (none at all under 40 records).
 */
export function smoothingFor(n) {
  return n < 40 ? 1 : Math.max(0.002, Math.min(1, 40 / n));
}

/**
 * The x axis of the loss chart: mode 'all' (linear, every epoch), 'log' (log10 of the epoch:
 * the first epochs, where most of the learning is, get as much room as the rest) or 'recent'
 * (the last `window` epochs). -> {e0, e1, x(epoch) -> 0..1, ticks: [epoch]}
 */
export function xAxis(mode, first, last, window = 200) {
  const e1 = Math.max(last, first + 1);
  if (mode === 'log') {
    const a = Math.log10(Math.max(1, first));
    const b = Math.max(Math.log10(e1), a + 0.5);
    const ticks = [];
    for (let p = 0; 10 ** p <= e1 * 1.0001; p += 1) {
      for (const m of [1, 2, 5]) {
        const t = m * 10 ** p;
        if (t >= Math.max(1, first) && t <= e1) ticks.push(t);
      }
    }
    return { e0: Math.max(1, first), e1, x: (e) => (Math.log10(Math.max(1, e)) - a) / (b - a), ticks };
  }
  const e0 = mode === 'recent' ? Math.max(first, e1 - window) : Math.min(first, 1);
  return { e0, e1, x: (e) => (e - e0) / (e1 - e0 || 1), ticks: null };
}
