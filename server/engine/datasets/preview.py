"""Helpers that turn data into the small JSON-safe previews the page draws.

Everything returned is plain lists, numbers and strings; numbers are rounded (a preview is a
picture, not data) and a non-finite value becomes `None`, because browsers reject NaN in JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def floats(values: torch.Tensor | np.ndarray, decimals: int = 3) -> list:
    """Nested lists of rounded floats; NaN and infinity become None."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    arr = np.round(np.asarray(values, dtype=np.float64), decimals)
    finite = np.isfinite(arr)
    if finite.all():
        return arr.tolist()
    out = arr.astype(object)
    out[~finite] = None
    return out.tolist()


def ints(values: torch.Tensor | np.ndarray) -> list:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.int64).tolist()


def first(n: int, k: int) -> np.ndarray:
    """Indices of at most `k` of `n` items, evenly spread (data is already shuffled)."""
    return (
        np.unique(np.linspace(0, n - 1, num=min(n, k)).astype(np.int64))
        if n
        else np.zeros(0, np.int64)
    )


def per_class(labels: torch.Tensor | np.ndarray, k: int) -> np.ndarray:
    """Up to `k` indices taking classes round-robin, so every class shows up early."""
    labels = np.asarray(labels)
    queues = [list(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    picked: list[int] = []
    while len(picked) < k and any(queues):
        for queue in queues:
            if queue and len(picked) < k:
                picked.append(int(queue.pop(0)))
    return np.asarray(picked, dtype=np.int64)


def points_picture(
    points: torch.Tensor, labels: torch.Tensor, extent: list[float], k: int = 600
) -> dict[str, Any]:
    """2D scatter: `points` (N, 2), `labels` (N,) ints or floats, at most `k` of them."""
    idx = first(len(points), k)
    values = labels[idx]
    as_list = ints(values) if not torch.is_floating_point(values) else floats(values)
    return {"kind": "points", "extent": extent, "points": floats(points[idx]), "labels": as_list}


def images_picture(images: torch.Tensor, labels: torch.Tensor, k: int = 12) -> dict[str, Any]:
    """A few images, one class after another: `images` (N, 1, H, W) in 0..1 -> lists (H, W)."""
    idx = per_class(labels.numpy(), k)
    return {
        "kind": "images",
        "images": floats(images[idx, 0], decimals=2),
        "labels": ints(labels[idx]),
    }
