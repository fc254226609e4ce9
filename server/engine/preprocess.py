"""From a person's raw input to the model's input: what the exported script's `preprocess` does.

A raw input is one sample in the dataset's own form: a 2D point `[x1, x2]`, a table row in its
own units, an image of pixel values (8×8 digits 0..16, MNIST 0..255), a sequence of values, or
token ids (or, for a set with words such as `sentiment`, a sentence). `Preprocessing.of(dataset_name, plan)` says which form a run's data takes (the one
rule `export.py` follows too) and `to_input(raw)` turns one raw sample into a model input
`(1, *input_shape)`, or raises `InputError` naming what is wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from .datasets import DATASETS
from .datasets.images import IdxImageDataset
from .datasets.planar import cross_features
from .datasets.sentiment import tokenize
from .model import Plan

MAX_TEXT = 1000  # characters of a sentence typed to try a text model
Kind = Literal["planar", "tabular", "images", "tokens", "sequences", "as_is"]


class InputError(ValueError):
    """A raw input that does not fit the run's data; the message says what would."""


@dataclass(frozen=True)
class Preprocessing:
    kind: Kind
    input_shape: tuple[int, ...]
    crosses: tuple[str, ...] = ()
    mean: Tensor | None = None  # tabular: the training split's statistics
    std: Tensor | None = None
    pixel_max: int = 1
    vocab_size: int = 0
    vocab: tuple[str, ...] = ()  # token sets with words (sentiment): raw text is accepted too

    @classmethod
    def of(cls, dataset_name: str, plan: Plan) -> Preprocessing:
        """The preprocessing of a plan's data (the plan must hold its data, as a trainer's)."""
        data, shape = plan.data, tuple(plan.shapes.input_shape)
        if data is None:
            raise ValueError("preprocessing needs the plan with its data")
        meta = data.meta
        if "crosses" in meta:
            return cls("planar", shape, crosses=tuple(meta["crosses"]))
        if "mean" in meta and "std" in meta:
            mean = torch.as_tensor(meta["mean"], dtype=torch.float64)
            std = torch.as_tensor(meta["std"], dtype=torch.float64)
            return cls("tabular", shape, mean=mean, std=std)
        if len(shape) == 3:
            # Uploaded images are 0..255 like MNIST files; digits 0..16.
            idx = isinstance(DATASETS.get(dataset_name), IdxImageDataset)
            pixel_max = 255 if idx or dataset_name == "upload" else 16
            pixel_max = meta.get("pixel_max", pixel_max)  # spectrograms: 0..1 as they are
            return cls("images", shape, pixel_max=pixel_max)
        if plan.shapes.input_dtype == "int64":
            return cls(
                "tokens",
                shape,
                vocab_size=plan.shapes.vocab_size or meta["vocab_size"],
                vocab=tuple(meta.get("vocab", ())),
            )
        if len(shape) == 2:
            return cls("sequences", shape)
        return cls("as_is", shape)

    def describe(self) -> str:
        """The raw form one input takes, in words (for error messages and the API docs)."""
        s = self.input_shape
        if self.kind == "planar":
            return "a 2D point [x1, x2]"
        if self.kind == "tabular":
            return f"a row of {s[0]} numbers, one per feature, in the table's own units"
        if self.kind == "images":
            c, h, w = s
            channels = f" (or {c}×{h}×{w})" if c > 1 else ""
            return f"an image of {h}×{w} pixel values 0..{self.pixel_max}{channels}"
        if self.kind == "tokens":
            text = f"a sentence (up to {MAX_TEXT} characters) or " if self.vocab else ""
            return f"{text}{s[0]} token ids, each 0..{self.vocab_size - 1}"
        if self.kind == "sequences":
            one = "one number" if s[1] == 1 else f"{s[1]} numbers"
            return f"a sequence of {s[0]} time steps, {one} each"
        return f"{math.prod(s)} numbers shaped {list(s)}"

    def to_input(self, raw: Any) -> Tensor:
        """One raw sample -> the model's input (1, *input_shape) on the CPU."""
        if self.kind == "tokens" and isinstance(raw, str):
            return self.text_ids(raw).unsqueeze(0)
        if self.kind == "tokens":
            x = _tensor(raw, torch.int64, self)
            if x.shape != self.input_shape:
                raise InputError(f"expected {self.describe()}, got shape {list(x.shape)}")
            if x.numel() and (int(x.min()) < 0 or int(x.max()) >= self.vocab_size):
                raise InputError(f"token ids must lie in 0..{self.vocab_size - 1}")
            return x.unsqueeze(0)
        x = _tensor(raw, torch.float64, self)
        if self.kind == "planar":
            if x.shape != (2,):
                raise InputError(f"expected {self.describe()}, got shape {list(x.shape)}")
            return cross_features(x.reshape(1, 2), list(self.crosses)).to(torch.float32)
        if self.kind == "tabular":
            if x.shape != self.input_shape:
                raise InputError(f"expected {self.describe()}, got {x.numel()} values")
            return ((x - self.mean) / self.std).to(torch.float32).unsqueeze(0)
        if self.kind == "images":
            c, h, w = self.input_shape
            if x.shape == (h, w):
                x = x.unsqueeze(0)
            if x.shape != (c, h, w):
                raise InputError(f"expected {self.describe()}, got shape {list(x.shape)}")
            if float(x.min()) < 0 or float(x.max()) > self.pixel_max:
                raise InputError(f"pixel values must lie in 0..{self.pixel_max}")
            return (x / self.pixel_max).to(torch.float32).unsqueeze(0)
        if self.kind == "sequences":
            steps, features = self.input_shape
            if x.shape == (steps,) and features == 1:
                x = x.unsqueeze(-1)
            if x.shape != (steps, features):
                raise InputError(f"expected {self.describe()}, got shape {list(x.shape)}")
            return x.to(torch.float32).unsqueeze(0)
        if x.shape != self.input_shape:
            raise InputError(f"expected {self.describe()}, got shape {list(x.shape)}")
        return x.to(torch.float32).unsqueeze(0)

    def text_ids(self, text: str) -> Tensor:
        """A sentence -> its token ids (T,), as the dataset made them: lowercase words and
        commas, unknown words as <unk>, front-padded (or cut, keeping the end)."""
        if not self.vocab:
            raise InputError(f"expected {self.describe()}: this data has no words, only ids")
        if len(text) > MAX_TEXT:
            raise InputError(f"the sentence must be at most {MAX_TEXT} characters")
        index = {w: i for i, w in enumerate(self.vocab)}
        steps = self.input_shape[0]
        ids = [index.get(w, 1) for w in tokenize(text)][-steps:]  # 1: <unk>
        return torch.tensor([0] * (steps - len(ids)) + ids, dtype=torch.int64)


def _tensor(raw: Any, dtype: torch.dtype, p: Preprocessing) -> Tensor:
    """Nested lists of numbers as a tensor; anything else (ragged, text, NaN) refused."""
    try:
        x = torch.as_tensor(raw, dtype=dtype)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        raise InputError(f"expected {p.describe()}: nested lists of numbers") from None
    if x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise InputError("every value must be a finite number")
    return x


__all__ = ["InputError", "Preprocessing"]
