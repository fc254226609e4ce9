"""Generated MNIST-shaped IDX files, for benchmarks on a machine without the real ones.

Ten classes, each a fixed random 28x28 stroke pattern, drawn shifted by a pixel or two with
noise: the same shapes, dtypes and sizes as MNIST's files, learnable in a few epochs, so a
benchmark measures the real work (a 28x28 CNN on 10,000 images) without a download.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from server.engine.datasets.idx import write_idx
from server.engine.datasets.mnist_files import FILES


def _images(prototypes: np.ndarray, n: int, rng: np.random.Generator) -> tuple:
    labels = rng.integers(0, 10, n).astype(np.uint8)
    shifts = rng.integers(-2, 3, (n, 2))
    images = np.empty((n, 28, 28), np.float32)
    for i, (label, (dy, dx)) in enumerate(zip(labels, shifts, strict=True)):
        images[i] = np.roll(prototypes[label], (dy, dx), axis=(0, 1))
    images += rng.normal(0, 0.15, images.shape).astype(np.float32)
    return (np.clip(images, 0, 1) * 255).astype(np.uint8), labels


def write_mnist_like(folder: Path, train: int = 12_000, test: int = 2_000, seed: int = 0) -> Path:
    """Writes the four files into `folder/mnist/`; -> that data_dir (`folder`)."""
    rng = np.random.default_rng(seed)
    prototypes = (rng.random((10, 28, 28)) > 0.8).astype(np.float32)
    target = folder / "mnist"
    target.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", train), ("test", test)):
        images, labels = _images(prototypes, n, rng)
        write_idx(target / FILES[f"{split}_images"], images)
        write_idx(target / FILES[f"{split}_labels"], labels)
    return folder
