"""The log-mel spectrogram of a short clip, as `spoken_digits` and the microphone use it.

One recipe, written so the page can do exactly the same in JavaScript
(static/js/audio/spectrogram.js mirrors it step by step):
- mono audio at SAMPLE_RATE (8 kHz), cut or zero-padded to CLIP_SAMPLES (0.99 s);
- FRAMES frames of WINDOW samples, HOP apart, each times a periodic Hann window;
- power spectrum of each frame (WINDOW-point DFT, WINDOW // 2 + 1 bins);
- MELS triangular mel filters (HTK mel scale, 0 Hz .. SAMPLE_RATE / 2, peak 1);
- log10(mel power + 1e-10), then relative to the clip's loudest cell and scaled so the top
  DYNAMIC_RANGE decades fill 0..1: `clip((log - max) / DYNAMIC_RANGE + 1, 0, 1)`.
Result: float32 (MELS, FRAMES), low frequencies in row 0.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 8000
WINDOW = 256
HOP = 248
FRAMES = 32
MELS = 32
CLIP_SAMPLES = WINDOW + (FRAMES - 1) * HOP  # 7,944 samples
DYNAMIC_RANGE = 8.0  # decades of power kept (80 dB)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filters() -> np.ndarray:
    """(MELS, WINDOW // 2 + 1) triangular filters, each peaking at 1 on its centre."""
    bins = WINDOW // 2 + 1
    freqs = np.arange(bins) * SAMPLE_RATE / WINDOW
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(np.array(SAMPLE_RATE / 2)), MELS + 2))
    filters = np.zeros((MELS, bins))
    for m in range(MELS):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        up = (freqs - lo) / (mid - lo)
        down = (hi - freqs) / (hi - mid)
        filters[m] = np.maximum(0.0, np.minimum(up, down))
    return filters


_FILTERS = mel_filters()
_HANN = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW) / WINDOW)


def fit_clip(audio: np.ndarray) -> np.ndarray:
    """Cut or zero-pad mono audio at SAMPLE_RATE to CLIP_SAMPLES."""
    out = np.zeros(CLIP_SAMPLES)
    n = min(len(audio), CLIP_SAMPLES)
    out[:n] = audio[:n]
    return out


def log_mel(audio: np.ndarray) -> np.ndarray:
    """float32 (MELS, FRAMES) in 0..1 for mono audio at SAMPLE_RATE (cut/padded to a clip)."""
    clip = fit_clip(np.asarray(audio, dtype=np.float64))
    starts = np.arange(FRAMES) * HOP
    frames = np.stack([clip[s : s + WINDOW] for s in starts]) * _HANN  # (FRAMES, WINDOW)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (FRAMES, bins)
    logs = np.log10(_FILTERS @ power.T + 1e-10)  # (MELS, FRAMES)
    return np.clip((logs - logs.max()) / DYNAMIC_RANGE + 1.0, 0.0, 1.0).astype(np.float32)


def resample(audio: np.ndarray, rate: int) -> np.ndarray:
    """Linear-interpolation resampling to SAMPLE_RATE, after a moving-average low-pass that
    keeps most aliasing out when going down from 22-48 kHz."""
    audio = np.asarray(audio, dtype=np.float64)
    if rate == SAMPLE_RATE:
        return audio
    width = max(1, round(rate / SAMPLE_RATE))
    if width > 1:
        audio = np.convolve(audio, np.ones(width) / width, mode="same")
    n_out = int(len(audio) * SAMPLE_RATE / rate)
    return np.interp(np.arange(n_out) * rate / SAMPLE_RATE, np.arange(len(audio)), audio)
