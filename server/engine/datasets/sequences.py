"""Generated sequence sets for recurrent (and 1D) networks, each series drawn independently
(no window overlaps between training and validation):

- `sine`: forecasting; noisy windows of sums of sinusoids -> the next `horizon` clean values.
- `waveform`: classification of sine / square / triangle / sawtooth waves.
- `tokens`: classification of integer-token sequences (for an embedding layer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from pydantic import Field

from server.config import Settings

from .base import Data, DatasetParams, DatasetType, DataShapes, register
from .fields import noise_field, samples_field, seed_field, train_fraction_field
from .preview import first, floats, ints, per_class
from .split import random_split, stratified_split


def _take(rng_split: tuple[np.ndarray, np.ndarray], *arrays: np.ndarray) -> list[torch.Tensor]:
    """Index every array by train then val indices: [a_train, a_val, b_train, b_val, ...]."""
    out = []
    for array in arrays:
        out += [torch.from_numpy(np.ascontiguousarray(array[idx])) for idx in rng_split]
    return out


class SineParams(DatasetParams):
    samples: int = samples_field(1000, what="series")
    window: int = Field(24, ge=4, le=256, description="time steps the model sees")
    horizon: int = Field(1, ge=1, le=64, description="time steps it must forecast after them")
    components: int = Field(2, ge=1, le=3, description="sinusoids summed in each series")
    noise: float = noise_field(0.05, what="standard deviation of noise added to the inputs")
    train_fraction: float = train_fraction_field(0.8)
    seed: int = seed_field()


@register
class Sine(DatasetType):
    name = "sine"
    title = "Sine forecasting"
    description = "Forecast the next values of a sum of sine waves from a noisy window."
    family = "sequence"
    task = "forecasting"
    Params = SineParams
    preview_samples = 256

    def shapes(self, params: SineParams) -> DataShapes:
        return DataShapes(
            task="forecasting", input_shape=(params.window, 1), target_shape=(params.horizon,)
        )

    def load(self, params: SineParams, settings: Settings) -> Data:
        rng = np.random.default_rng(params.seed)
        n, k, steps = params.samples, params.components, params.window + params.horizon
        # Per series and component: period 6..48 steps, phase, amplitude 0.3..1. One
        # component at a time, in float32, keeps memory at one (n, steps) array.
        t = np.arange(steps, dtype=np.float32)[None, :]
        clean = np.zeros((n, steps), dtype=np.float32)
        for _ in range(k):
            freq = (2 * np.pi / rng.uniform(6.0, 48.0, size=(n, 1))).astype(np.float32)
            phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1)).astype(np.float32)
            amp = rng.uniform(0.3, 1.0, size=(n, 1)).astype(np.float32)
            clean += amp * np.sin(freq * t + phase)
        clean /= k  # (n, steps), within [-1, 1]
        noisy = clean + np.float32(params.noise) * rng.standard_normal(clean.shape, np.float32)
        x = noisy[:, : params.window, None]  # (n, window, 1)
        y = clean[:, params.window :]  # (n, horizon): the clean future
        split = random_split(n, params.train_fraction, rng)
        x_train, x_val, y_train, y_val, _, series_val = _take(split, x, y, clean)
        return Data(
            x_train=x_train,
            y_train=y_train,
            x_val=x_val,
            y_val=y_val,
            task="forecasting",
            input_shape=(params.window, 1),
            target_shape=(params.horizon,),
            # series_val: the clean series behind each validation window, (n_val, window +
            # horizon): plot x_val (noisy input), this (truth) and the prediction after it.
            meta={
                "window": params.window,
                "horizon": params.horizon,
                "series_val": series_val,
            },
        )

    def picture(self, data: Data, params: SineParams) -> dict[str, Any]:
        idx = first(data.n_train, 6)
        return {
            "kind": "series",
            "inputs": floats(data.x_train[idx, :, 0]),
            "targets": floats(data.y_train[idx]),
            "window": params.window,
            "horizon": params.horizon,
        }


WAVE_NAMES = ["sine", "square", "triangle", "sawtooth"]
# Each maps the phase u in [0, 1) to [-1, 1], in WAVE_NAMES order.
_WAVES: tuple[Callable[[np.ndarray], np.ndarray], ...] = (
    lambda u: np.sin(2 * np.pi * u),
    lambda u: np.where(u < 0.5, 1.0, -1.0),
    lambda u: 1.0 - 4.0 * np.abs(u - 0.5),
    lambda u: 2.0 * u - 1.0,
)


class WaveformParams(DatasetParams):
    samples: int = samples_field(1000, what="waves")
    length: int = Field(64, ge=16, le=512, description="time steps per wave")
    noise: float = noise_field(0.1, le=1.0, what="standard deviation of added noise")
    train_fraction: float = train_fraction_field(0.8)
    seed: int = seed_field()


@register
class Waveform(DatasetType):
    name = "waveform"
    title = "Waveform shapes"
    description = "Tell sine, square, triangle and sawtooth waves apart, whatever their pitch."
    family = "sequence"
    task = "classification"
    Params = WaveformParams
    preview_samples = 256

    def shapes(self, params: WaveformParams) -> DataShapes:
        return DataShapes(
            task="classification",
            input_shape=(params.length, 1),
            target_shape=(len(WAVE_NAMES),),
            class_names=tuple(WAVE_NAMES),
        )

    def load(self, params: WaveformParams, settings: Settings) -> Data:
        rng = np.random.default_rng(params.seed)
        n, length = params.samples, params.length
        labels = rng.permutation(np.arange(n) % len(WAVE_NAMES))  # balanced classes
        # float32 throughout: at the largest sizes every (n, length) array is ~150 MB.
        cycles = rng.uniform(2.0, 6.0, size=(n, 1)).astype(np.float32)  # waves per sequence
        phase = rng.uniform(0.0, 1.0, size=(n, 1)).astype(np.float32)
        amp = rng.uniform(0.5, 1.0, size=(n, 1)).astype(np.float32)
        u = np.arange(length, dtype=np.float32)[None, :] * (cycles / np.float32(length))
        u += phase
        np.mod(u, 1.0, out=u)  # (n, length): phase within each wave, in [0, 1)
        waves = np.empty((n, length), dtype=np.float32)
        for label, shape in enumerate(_WAVES):  # each row gets only its own shape
            rows = np.flatnonzero(labels == label)
            waves[rows] = shape(u[rows])
        del u
        waves *= amp
        waves += np.float32(params.noise) * rng.standard_normal((n, length), np.float32)
        x = waves[:, :, None]
        split = stratified_split(labels, params.train_fraction, rng)
        x_train, x_val, y_train, y_val = _take(split, x, labels.astype(np.int64))
        return Data(
            x_train=x_train,
            y_train=y_train,
            x_val=x_val,
            y_val=y_val,
            task="classification",
            input_shape=(length, 1),
            target_shape=(len(WAVE_NAMES),),
            class_names=list(WAVE_NAMES),
            meta={"length": length},
        )

    def picture(self, data: Data, params: WaveformParams) -> dict[str, Any]:
        idx = per_class(data.y_train, 8)
        return {
            "kind": "series",
            "inputs": floats(data.x_train[idx, :, 0]),
            "labels": ints(data.y_train[idx]),
        }


def _count_ones_twos(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of (N, L) tokens: how many 1s and how many 2s, each (N,)."""
    return (tokens == 1).sum(axis=1), (tokens == 2).sum(axis=1)


class TokensParams(DatasetParams):
    samples: int = samples_field(1000, what="sequences")
    length: int = Field(12, ge=2, le=64, description="tokens per sequence")
    vocab_size: int = Field(10, ge=3, le=100, description="distinct tokens (0 .. vocab_size-1)")
    train_fraction: float = train_fraction_field(0.8)
    seed: int = seed_field()


@register
class Tokens(DatasetType):
    name = "tokens"
    title = "Token counting"
    description = "Integer tokens (use an embedding): does token 1 occur more often than token 2?"
    family = "sequence"
    task = "classification"
    Params = TokensParams
    preview_samples = 256
    class_names = ["more 2s", "more 1s"]

    def shapes(self, params: TokensParams) -> DataShapes:
        return DataShapes(
            task="classification",
            input_shape=(params.length,),
            target_shape=(2,),
            input_dtype="int64",
            vocab_size=params.vocab_size,
            class_names=tuple(self.class_names),
        )

    def load(self, params: TokensParams, settings: Settings) -> Data:
        rng = np.random.default_rng(params.seed)
        n, length = params.samples, params.length
        tokens = rng.integers(0, params.vocab_size, size=(n, length))
        # Break ties so every sequence has an answer: in each tied row, overwrite one token
        # that is not `pick` (1 or 2) with `pick`; the counts then differ by 1 or 2.
        ones, twos = _count_ones_twos(tokens)
        tied = np.flatnonzero(ones == twos)
        pick = rng.integers(1, 3, size=len(tied))
        scores = rng.random((len(tied), length))
        scores[tokens[tied] == pick[:, None]] = -1.0  # never overwrite a token equal to pick
        tokens[tied, scores.argmax(axis=1)] = pick
        ones, twos = _count_ones_twos(tokens)
        labels = (ones > twos).astype(np.int64)
        split = stratified_split(labels, params.train_fraction, rng)
        x_train, x_val, y_train, y_val = _take(split, tokens.astype(np.int64), labels)
        return Data(
            x_train=x_train,
            y_train=y_train,
            x_val=x_val,
            y_val=y_val,
            task="classification",
            input_shape=(length,),
            target_shape=(2,),
            class_names=list(self.class_names),
            meta={"vocab_size": params.vocab_size, "input_dtype": "int64"},
        )

    def picture(self, data: Data, params: TokensParams) -> dict[str, Any]:
        idx = per_class(data.y_train, 8)
        return {
            "kind": "tokens",
            "sequences": ints(data.x_train[idx]),
            "labels": ints(data.y_train[idx]),
            "vocab_size": params.vocab_size,
        }
