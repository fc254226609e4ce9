"""`spoken_digits`: the ten digits spoken, as log-mel spectrogram images (1, MELS, FRAMES).

The clips were made by scripts/make_spoken_digits.py with espeak-ng (many voices, speeds and
pitches, time shifts, noise) and ship as shipped/spoken_digits.npz (uint8), so loading needs no
synthesiser and no network. `seed` draws the split (stratified) and a little fresh noise on
each spectrogram (`noise`), so two seeds give two different sets from the same clips.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from server.config import Settings

from .base import Data, DatasetParams, DatasetType, DataShapes, register
from .fields import noise_field, samples_field, seed_field, train_fraction_field
from .preview import images_picture
from .spectrogram import FRAMES, MELS
from .split import stratified_split

FILE = Path(__file__).resolve().parent / "shipped" / "spoken_digits.npz"
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@lru_cache(maxsize=1)
def clips() -> tuple[np.ndarray, np.ndarray]:
    """The shipped clips: uint8 (N, MELS, FRAMES) and int64 labels (N,), read once."""
    with np.load(FILE) as f:
        return f["images"], f["labels"].astype(np.int64)


class SpokenDigitsParams(DatasetParams):
    samples: int = samples_field(1800, le=100_000, what="clips (at most the shipped count)")
    noise: float = noise_field(0.02, le=0.3, what="standard deviation of noise added per cell")
    train_fraction: float = train_fraction_field(0.8)
    seed: int = seed_field()


@register
class SpokenDigits(DatasetType):
    name = "spoken_digits"
    title = "Spoken digits"
    description = (
        "Ten digits spoken by many synthetic voices, as log-mel spectrograms (1, 32, 32): "
        "a CNN hears which."
    )
    family = "image"
    task = "classification"
    Params = SpokenDigitsParams

    def shapes(self, params: SpokenDigitsParams) -> DataShapes:
        return DataShapes(
            task="classification",
            input_shape=(1, MELS, FRAMES),
            target_shape=(10,),
            class_names=tuple(WORDS),
        )

    def check(self, params: SpokenDigitsParams, settings: Settings) -> list[dict]:
        errors = super().check(params, settings)
        shipped = len(clips()[1])
        if params.samples > shipped:
            errors.append(
                {
                    "loc": ("samples",),
                    "msg": f"samples must be at most {shipped} (the clips shipped), "
                    f"got {params.samples}",
                    "type": "less_than_equal",
                }
            )
        return errors

    def load(self, params: SpokenDigitsParams, settings: Settings) -> Data:
        rng = np.random.default_rng(params.seed)
        images, labels = clips()
        # A class-balanced subset of `samples` clips, then a stratified split of it.
        order = rng.permutation(len(labels))
        chosen = order[np.argsort(labels[order], kind="stable")]  # by class, shuffled within
        rank = np.empty(len(labels), dtype=np.int64)
        for c in range(10):
            members = chosen[labels[chosen] == c]
            rank[members] = np.arange(len(members))
        keep = np.sort(np.argsort(rank, kind="stable")[: params.samples])
        x = images[keep].astype(np.float32) / 255.0
        x += np.float32(params.noise) * rng.standard_normal(x.shape, dtype=np.float32)
        np.clip(x, 0.0, 1.0, out=x)
        y = labels[keep]
        tr, va = stratified_split(y, params.train_fraction, rng)
        return Data(
            x_train=torch.from_numpy(x[tr, None]),
            y_train=torch.from_numpy(y[tr]),
            x_val=torch.from_numpy(x[va, None]),
            y_val=torch.from_numpy(y[va]),
            task="classification",
            input_shape=(1, MELS, FRAMES),
            target_shape=(10,),
            class_names=list(WORDS),
            # pixel_max: a raw input (the page's own spectrogram) is 0..1 already.
            meta={"spectrogram": {"mels": MELS, "frames": FRAMES}, "pixel_max": 1},
        )

    def picture(self, data: Data, params: SpokenDigitsParams) -> dict[str, Any]:
        return images_picture(data.x_train, data.y_train, k=20)
