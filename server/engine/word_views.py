"""What the text try-it view shows beside a prediction (sets with words, such as `sentiment`).

- `typed_words(prep, raw)`: the words the learner typed, one per model step, aligned with the
  ids the model read (None where the step is padding), and which of them the vocabulary lacks
  (they reach the model as `<unk>`);
- `attention_maps(model, x, words)`: for each self-attention layer, each head's weights (row i:
  where word i looks) for this one input, over the words read (padding left out);
- `word_map(model, vocab, steps)`: the embedding layer's vector for every word of the
  vocabulary projected to 2D by PCA (scikit-learn, signs fixed as in projector.py), each word
  with the model's answer when it reads that word alone (the colour of its dot on the page):
  after training, positive and negative words lie apart.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .attention import SelfAttention
from .bytegrid import byte_grid, rounded_list
from .datasets.sentiment import tokenize
from .projector import pca_points

SPECIAL = ("<pad>", "<unk>")  # left out of the word map: they carry no meaning
MAP_WORDS = 1000  # words on the map at most (the first ids): one forward pass of that many


def typed_words(steps: int, vocab: tuple[str, ...], raw: Any) -> dict[str, list] | None:
    """A typed sentence -> {"typed": (T,) str | None, "unknown": (T,) bool}, aligned with the
    model's front-padded steps (a sentence longer than T keeps its end, as the ids do)."""
    if not isinstance(raw, str) or not vocab:
        return None
    known = set(vocab)
    words = tokenize(raw)[-steps:]
    typed: list[str | None] = [None] * (steps - len(words)) + list(words)
    return {"typed": typed, "unknown": [w is not None and w not in known for w in typed]}


def attention_maps(model: nn.Module, x: Tensor, words: list[str]) -> dict[str, Any] | None:
    """Each self-attention layer's weights for input `x` (1, T) whose step words are `words`,
    cut to the steps that are not padding, in the shape of the snapshot's graph section (so
    the page's attention widget draws it): {"examples": [words read], "attention": [{"layer",
    "heads", "causal", "maps": [[byte grid (n, n) per head]]}]}; None without attention."""
    layers = [(i, m) for i, m in enumerate(model.body) if isinstance(m, SelfAttention)]
    if not layers:
        return None
    kept = [m.keep_weights for _, m in layers]
    try:
        for _, m in layers:
            m.keep_weights = True
        with torch.no_grad():
            model(x)
        start = next((k for k, w in enumerate(words) if w != SPECIAL[0]), len(words) - 1)
        return {
            "examples": [words[start:]],
            "attention": [
                {
                    "layer": i,
                    "heads": m.heads,
                    "causal": m.causal,
                    "maps": [
                        [
                            byte_grid(m.weights[0, h, start:, start:], 0.0, 1.0)
                            for h in range(m.heads)
                        ]
                    ],
                }
                for i, m in layers
                if m.weights is not None
            ],
        }
    finally:
        for (_, m), keep in zip(layers, kept, strict=True):
            m.keep_weights = keep
            m.weights = None


def word_map(model: nn.Module, vocab: tuple[str, ...], steps: int) -> dict[str, Any] | None:
    """{"words" (V',), "points" (V', 2), "alone" (V', classes)}: the embedding's vectors of
    the vocabulary (padding and <unk> left out, at most MAP_WORDS) in 2D, and the model's class probabilities for
    each word read alone (front-padded like a one-word sentence). None without an embedding
    layer first."""
    embedding = model.body[0] if len(model.body) else None
    if not isinstance(embedding, nn.Embedding) or not vocab:
        return None
    usable = vocab[: embedding.num_embeddings]
    ids = [i for i, w in enumerate(usable) if w not in SPECIAL][:MAP_WORDS]
    if len(ids) < 3:
        return None
    with torch.no_grad():
        vectors = embedding.weight[ids].detach().cpu().double().numpy()
        alone = torch.zeros(len(ids), steps, dtype=torch.int64, device=embedding.weight.device)
        alone[:, -1] = torch.tensor(ids, dtype=torch.int64)
        out = model(alone)
        probs = out.reshape(len(ids), -1).softmax(dim=1)
    return {
        "words": [vocab[i] for i in ids],
        "points": rounded_list(pca_points(vectors), 4),
        "alone": rounded_list(probs, 4),
        "dim": int(vectors.shape[1]),
    }


__all__ = ["attention_maps", "typed_words", "word_map"]
