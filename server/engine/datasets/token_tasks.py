"""Generated token-sequence tasks that need attention, one label per position:

- `reverse`: the output at position i is the input token at position T-1-i;
- `sort`: the input's tokens in ascending order;
- `copy`: the input itself (a sanity task: attention to the same position suffices).

Inputs are int64 `(N, T)` tokens in 0..vocab-1 (for an embedding layer); targets int64
`(N, T)`, classified per position (`meta["positions"] = T`): accuracy is counted per token.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import Field

from server.config import Settings

from .base import Data, DatasetParams, DatasetType, DataShapes, register
from .fields import samples_field, seed_field, train_fraction_field
from .split import random_split


class TokenTaskParams(DatasetParams):
    length: int = Field(8, ge=2, le=64, description="tokens per sequence")
    vocab: int = Field(10, ge=2, le=100, description="distinct tokens (0 .. vocab-1)")
    samples: int = samples_field(3000, what="sequences")
    train_fraction: float = train_fraction_field(0.8)
    seed: int = seed_field()


class _TokenTask(DatasetType):
    family = "sequence"
    task = "classification"
    Params = TokenTaskParams
    preview_samples = 64

    def target(self, tokens: np.ndarray) -> np.ndarray:
        """(N, T) input tokens -> (N, T) target tokens."""
        raise NotImplementedError

    def shapes(self, params: TokenTaskParams) -> DataShapes:
        return DataShapes(
            task="classification",
            input_shape=(params.length,),
            target_shape=(params.vocab,),
            input_dtype="int64",
            vocab_size=params.vocab,
            class_names=tuple(str(v) for v in range(params.vocab)),
            positions=params.length,
        )

    def load(self, params: TokenTaskParams, settings: Settings) -> Data:
        rng = np.random.default_rng(params.seed)
        tokens = rng.integers(0, params.vocab, size=(params.samples, params.length))
        targets = self.target(tokens)
        train, val = random_split(params.samples, params.train_fraction, rng)

        def part(a: np.ndarray, idx: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a[idx]).astype(np.int64))

        return Data(
            x_train=part(tokens, train),
            y_train=part(targets, train),
            x_val=part(tokens, val),
            y_val=part(targets, val),
            task="classification",
            input_shape=(params.length,),
            target_shape=(params.vocab,),
            class_names=[str(v) for v in range(params.vocab)],
            meta={
                "vocab_size": params.vocab,
                "input_dtype": "int64",
                "positions": params.length,
            },
        )

    def picture(self, data: Data, params: TokenTaskParams) -> dict[str, Any]:
        """A few input sequences, each labelled with its target sequence (the page's token
        preview draws a label per row)."""
        k = min(8, data.n_train)
        return {
            "kind": "tokens",
            "sequences": data.x_train[:k].tolist(),
            "labels": ["→ " + " ".join(str(t) for t in row) for row in data.y_train[:k].tolist()],
            "vocab_size": params.vocab,
        }


@register
class Reverse(_TokenTask):
    name = "reverse"
    title = "Reverse a sequence"
    description = "Output the input tokens in reverse order: each position must look elsewhere."

    def target(self, tokens):
        return tokens[:, ::-1]


@register
class Sort(_TokenTask):
    name = "sort"
    title = "Sort a sequence"
    description = "Output the input tokens in ascending order."

    def target(self, tokens):
        return np.sort(tokens, axis=1)


@register
class Copy(_TokenTask):
    name = "copy"
    title = "Copy a sequence"
    description = "Output the input tokens unchanged: attention to the same position suffices."

    def target(self, tokens):
        return tokens.copy()
