"""Train/validation splits of index ranges, driven by a numpy Generator (never global RNG)."""

from __future__ import annotations

import numpy as np


def split_count(n: int, train_fraction: float) -> int:
    """How many of `n` go to training: rounded, and at least one on each side when n >= 2."""
    return min(max(int(round(n * train_fraction)), 1), max(n - 1, 1))


def random_split(
    n: int, train_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle `range(n)` and cut it: `(train_idx, val_idx)`, int64 index arrays."""
    order = rng.permutation(n)
    k = split_count(n, train_fraction)
    return order[:k], order[k:]


def stratified_split(
    labels: np.ndarray, train_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split each class separately so both sides keep the class proportions; each side is
    shuffled (classes interleaved). `labels`: (N,) integers."""
    train, val = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        k = split_count(len(members), train_fraction)
        train.append(members[:k])
        val.append(members[k:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(val))
