// The log-mel spectrogram of a short clip, step by step as server/engine/datasets/spectrogram.py
// computes it (the `spoken_digits` recipe), so a clip recorded here looks like the dataset's:
// - mono audio at SAMPLE_RATE (8 kHz), cut or zero-padded to CLIP_SAMPLES (0.99 s);
// - FRAMES frames of WINDOW samples, HOP apart, each times a periodic Hann window;
// - power spectrum of each frame (WINDOW-point DFT, WINDOW / 2 + 1 bins);
// - MELS triangular mel filters (HTK mel scale, 0 Hz .. SAMPLE_RATE / 2, peak 1);
// - log10(mel power + 1e-10), then `clip((log - max) / DYNAMIC_RANGE + 1, 0, 1)`.
// Result: Float32Array of MELS * FRAMES, row-major (MELS, FRAMES), low frequencies in row 0.

export const SAMPLE_RATE = 8000;
export const WINDOW = 256;
export const HOP = 248;
export const FRAMES = 32;
export const MELS = 32;
export const CLIP_SAMPLES = WINDOW + (FRAMES - 1) * HOP; // 7,944 samples
export const DYNAMIC_RANGE = 8.0;

const BINS = WINDOW / 2 + 1;
const hzToMel = (hz) => 2595.0 * Math.log10(1.0 + hz / 700.0);
const melToHz = (mel) => 700.0 * (10.0 ** (mel / 2595.0) - 1.0);

/** (MELS, BINS) triangular filters, each peaking at 1 on its centre: an array of rows. */
export function melFilters() {
  const top = hzToMel(SAMPLE_RATE / 2);
  // np.linspace(0, top, MELS + 2)
  const edges = Array.from({ length: MELS + 2 }, (_, i) => melToHz((top * i) / (MELS + 1)));
  return Array.from({ length: MELS }, (_, m) => {
    const [lo, mid, hi] = [edges[m], edges[m + 1], edges[m + 2]];
    const row = new Float64Array(BINS);
    for (let k = 0; k < BINS; k += 1) {
      const f = (k * SAMPLE_RATE) / WINDOW;
      row[k] = Math.max(0, Math.min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
    }
    return row;
  });
}

const FILTERS = melFilters();
const HANN = Float64Array.from({ length: WINDOW }, (_, n) => 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / WINDOW));
// The DFT's cosines and sines, (BINS, WINDOW): 33k entries, computed once.
const COS = Array.from({ length: BINS }, (_, k) => Float64Array.from({ length: WINDOW }, (_, n) => Math.cos((2 * Math.PI * k * n) / WINDOW)));
const SIN = Array.from({ length: BINS }, (_, k) => Float64Array.from({ length: WINDOW }, (_, n) => Math.sin((2 * Math.PI * k * n) / WINDOW)));

/** Cut or zero-pad mono audio at SAMPLE_RATE to CLIP_SAMPLES. */
export function fitClip(audio) {
  const out = new Float64Array(CLIP_SAMPLES);
  out.set(Array.prototype.slice.call(audio, 0, CLIP_SAMPLES));
  return out;
}

/** Float32Array (MELS * FRAMES, row-major) in 0..1 for mono audio at SAMPLE_RATE. */
export function logMel(audio) {
  const clip = fitClip(audio);
  const logs = new Float64Array(MELS * FRAMES);
  const frame = new Float64Array(WINDOW);
  const power = new Float64Array(BINS);
  for (let t = 0; t < FRAMES; t += 1) {
    for (let n = 0; n < WINDOW; n += 1) frame[n] = clip[t * HOP + n] * HANN[n];
    for (let k = 0; k < BINS; k += 1) {
      let re = 0;
      let im = 0;
      const c = COS[k];
      const s = SIN[k];
      for (let n = 0; n < WINDOW; n += 1) {
        re += frame[n] * c[n];
        im -= frame[n] * s[n];
      }
      power[k] = re * re + im * im;
    }
    for (let m = 0; m < MELS; m += 1) {
      const f = FILTERS[m];
      let sum = 0;
      for (let k = 0; k < BINS; k += 1) sum += f[k] * power[k];
      logs[m * FRAMES + t] = Math.log10(sum + 1e-10);
    }
  }
  let max = -Infinity;
  for (const v of logs) max = Math.max(max, v);
  return Float32Array.from(logs, (v) => Math.min(1, Math.max(0, (v - max) / DYNAMIC_RANGE + 1)));
}

/** Linear-interpolation resampling to SAMPLE_RATE after a moving-average low-pass, as
 * spectrogram.resample does (np.convolve mode "same", then np.interp). */
export function resample(audio, rate) {
  let x = Float64Array.from(audio);
  if (rate === SAMPLE_RATE) return x;
  const width = Math.max(1, Math.round(rate / SAMPLE_RATE));
  if (width > 1) {
    // np.convolve(x, ones(width) / width, "same"): output i averages x[i - a .. i + b] with
    // b = floor((width - 1) / 2) ahead and a = width - 1 - b behind (zeros past the ends).
    const b = Math.floor((width - 1) / 2);
    const a = width - 1 - b;
    const prefix = new Float64Array(x.length + 1);
    for (let i = 0; i < x.length; i += 1) prefix[i + 1] = prefix[i] + x[i];
    const y = new Float64Array(x.length);
    for (let i = 0; i < x.length; i += 1) {
      const lo = Math.max(0, i - a);
      const hi = Math.min(x.length - 1, i + b);
      y[i] = (prefix[hi + 1] - prefix[lo]) / width;
    }
    x = y;
  }
  const nOut = Math.floor((x.length * SAMPLE_RATE) / rate);
  const out = new Float64Array(nOut);
  for (let i = 0; i < nOut; i += 1) {
    const p = (i * rate) / SAMPLE_RATE;
    const j = Math.floor(p);
    out[i] = j + 1 < x.length ? x[j] + (p - j) * (x[j + 1] - x[j]) : x[x.length - 1];
  }
  return out;
}

/** The spectrogram as 8-bit grey levels, (MELS, FRAMES) row-major: row 0 (low frequencies)
 * is the image's top row, as in spoken_digits' images, so the model sees what it shows. */
export function toBytes(spec) {
  return Uint8ClampedArray.from(spec, (v) => Math.round(v * 255));
}
