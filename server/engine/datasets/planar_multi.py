"""Multi-class 2D sets: Gaussian blobs and a three-armed spiral (three or more classes), so the
decision surface is coloured per class (probes' boundary `kind: "class"`)."""

from __future__ import annotations

import numpy as np

from .base import register
from .planar import Generated, PlanarDataset


def _sizes(n: int, k: int) -> list[int]:
    """k class sizes summing to n, as equal as can be."""
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


@register
class Blobs(PlanarDataset):
    name = "blobs"
    title = "Blobs (3 classes)"
    description = "Three Gaussian blobs at the corners of a triangle; noise widens them."
    task = "classification"
    class_names = ("red", "green", "blue")

    @staticmethod
    def generate(n: int, noise: float, rng: np.random.Generator) -> Generated:
        angles = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
        centres = 3.5 * np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (3, 2)
        spread = 0.6 + 4.0 * noise  # noise 0..0.5 -> standard deviation 0.6..2.6
        points, labels = [], []
        for k, size in enumerate(_sizes(n, 3)):
            points.append(rng.normal(centres[k], spread, size=(size, 2)))
            labels.append(np.full(size, k, dtype=np.float64))
        return np.concatenate(points), np.concatenate(labels)


@register
class Spiral3(PlanarDataset):
    name = "spiral3"
    title = "Three-armed spiral"
    description = "Three interleaved spiral arms, one class each."
    task = "classification"
    class_names = ("arm 1", "arm 2", "arm 3")

    @staticmethod
    def generate(n: int, noise: float, rng: np.random.Generator) -> Generated:
        points, labels = [], []
        for k, size in enumerate(_sizes(n, 3)):
            i = np.arange(size) / max(size, 1)
            r = i * 5.0
            t = 1.5 * i * 2 * np.pi + 2 * np.pi * k / 3
            jitter = rng.uniform(-1, 1, size=(size, 2)) * noise
            points.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1) + jitter)
            labels.append(np.full(size, k, dtype=np.float64))
        return np.concatenate(points), np.concatenate(labels)
