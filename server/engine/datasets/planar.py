"""The 2D sets of the TensorFlow Playground, with its generators, feature crosses and extent.

Generators follow playground.tensorflow.org's `dataset.ts` (noise there is 0..50%, here the
fraction 0..0.5); its labels -1/+1 become 0/1. `moons` follows scikit-learn's `make_moons`,
scaled into the Playground's [-6, 6] square. Regression targets lie roughly in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import torch
from pydantic import Field, field_validator

from server.config import Settings

from .base import Data, DatasetParams, DatasetType, DataShapes, register
from .fields import noise_field, samples_field, seed_field, train_fraction_field
from .preview import points_picture
from .split import random_split

# [x1min, x1max, x2min, x2max]: the square the Playground draws and probes evaluate.
EXTENT: list[float] = [-6.0, 6.0, -6.0, 6.0]

CrossName = Literal["x1", "x2", "x1_squared", "x2_squared", "x1_x2", "sin_x1", "sin_x2"]

# Playground labels -1 / +1 become classes 0 / 1.
CLASS_NAMES = ("negative", "positive")

# Each cross maps raw points (N, 2) to one feature column (N,).
CROSSES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "x1": lambda p: p[:, 0],
    "x2": lambda p: p[:, 1],
    "x1_squared": lambda p: p[:, 0] * p[:, 0],
    "x2_squared": lambda p: p[:, 1] * p[:, 1],
    "x1_x2": lambda p: p[:, 0] * p[:, 1],
    "sin_x1": lambda p: torch.sin(p[:, 0]),
    "sin_x2": lambda p: torch.sin(p[:, 1]),
}
# How the page writes each cross.
CROSS_LABELS: dict[str, str] = {
    "x1": "x₁",
    "x2": "x₂",
    "x1_squared": "x₁²",
    "x2_squared": "x₂²",
    "x1_x2": "x₁x₂",
    "sin_x1": "sin(x₁)",
    "sin_x2": "sin(x₂)",
}


def cross_features(points: torch.Tensor, crosses: Sequence[str]) -> torch.Tensor:
    """Model inputs from raw 2D points: (N, 2) -> (N, len(crosses)), columns in `crosses`
    order, same dtype and device as `points`. Probes call this on a boundary grid."""
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {tuple(points.shape)}")
    unknown = [c for c in crosses if c not in CROSSES]
    if unknown or not crosses:
        raise ValueError(f"unknown or empty crosses {unknown}; choose from {list(CROSSES)}")
    return torch.stack([CROSSES[c](points) for c in crosses], dim=1)


class PlanarParams(DatasetParams):
    samples: int = samples_field(500, what="points")
    noise: float = noise_field(0.0, what="noise, as a fraction (the Playground's 0..50%)")
    train_fraction: float = train_fraction_field(0.5)
    seed: int = seed_field()
    crosses: list[CrossName] = Field(
        ["x1", "x2"],  # pydantic copies a mutable default for each instance
        min_length=1,
        max_length=len(CROSSES),
        description="input features computed from each point (x1, x2, x1², x2², x1·x2, "
        "sin x1, sin x2)",
        json_schema_extra={"uniqueItems": True},
    )

    @field_validator("crosses")
    @classmethod
    def _no_repeats(cls, value: list[str]) -> list[str]:
        repeated = sorted({c for c in value if value.count(c) > 1})
        if repeated:
            raise ValueError(f"each feature may appear once; repeated: {', '.join(repeated)}")
        return value


# A generator: (n, noise, rng) -> (points (n, 2) float64, target (n,) float64).
Generated = tuple[np.ndarray, np.ndarray]


class PlanarDataset(DatasetType):
    """Shared loading for the 2D sets; subclasses give `generate` and the task."""

    family = "2d"
    Params = PlanarParams
    class_names: tuple[str, ...] = CLASS_NAMES  # multi-class sets name their own (planar_multi)

    @staticmethod
    def generate(n: int, noise: float, rng: np.random.Generator) -> Generated:
        raise NotImplementedError

    def shapes(self, params: PlanarParams) -> DataShapes:
        classes = self.task == "classification"
        return DataShapes(
            task=self.task,
            input_shape=(len(params.crosses),),
            target_shape=(len(self.class_names),) if classes else (1,),
            class_names=self.class_names if classes else None,
        )

    def load(self, params: PlanarParams, settings: Settings) -> Data:
        rng = np.random.default_rng(params.seed)
        raw, target = self.generate(params.samples, params.noise, rng)
        train_idx, val_idx = random_split(params.samples, params.train_fraction, rng)
        points = torch.from_numpy(raw.astype(np.float32))
        x = cross_features(points, params.crosses)
        if self.task == "classification":
            y = torch.from_numpy(target.astype(np.int64))
            target_shape, class_names = (len(self.class_names),), list(self.class_names)
        else:
            y = torch.from_numpy(target.astype(np.float32)).unsqueeze(1)
            target_shape, class_names = (1,), None
        train_idx, val_idx = torch.from_numpy(train_idx), torch.from_numpy(val_idx)
        return Data(
            x_train=x[train_idx],
            y_train=y[train_idx],
            x_val=x[val_idx],
            y_val=y[val_idx],
            task=self.task,
            input_shape=(len(params.crosses),),
            target_shape=target_shape,
            class_names=class_names,
            feature_names=list(params.crosses),
            meta={
                "extent": list(EXTENT),
                "crosses": list(params.crosses),
                "points_train": points[train_idx],
                "points_val": points[val_idx],
            },
        )

    def picture(self, data: Data, params: PlanarParams) -> dict:
        pic = points_picture(data.meta["points_train"], data.y_train.flatten(), EXTENT)
        val = points_picture(data.meta["points_val"], data.y_val.flatten(), EXTENT)
        pic["val_points"], pic["val_labels"] = val["points"], val["labels"]
        pic["feature_labels"] = [CROSS_LABELS[c] for c in params.crosses]
        return pic


def _halves(n: int) -> tuple[int, int]:
    """Two class sizes summing to n (the Playground draws n/2 of each)."""
    return n // 2, n - n // 2


def _uniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return rng.uniform(lo, hi, size=n)


@register
class Circle(PlanarDataset):
    name = "circle"
    title = "Circle"
    description = "One class inside a disc, the other in a ring around it."
    task = "classification"

    @staticmethod
    def generate(n: int, noise: float, rng: np.random.Generator) -> Generated:
        radius = 5.0
        n_in, n_out = _halves(n)
        r = np.concatenate(
            [_uniform(rng, 0, radius * 0.5, n_in), _uniform(rng, radius * 0.7, radius, n_out)]
        )
        angle = _uniform(rng, 0, 2 * np.pi, n)
        points = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
        # The label comes from the point moved by noise; the point itself is not moved.
        jitter = rng.uniform(-radius, radius, size=(n, 2)) * noise
        inside = np.linalg.norm(points + jitter, axis=1) < radius * 0.5
        return points, inside.astype(np.float64)


@register
class Xor(PlanarDataset):
    name = "xor"
    title = "Exclusive or"
    description = "Four quadrants: positive where x1 and x2 have the same sign."
    task = "classification"

    @staticmethod
    def generate(n: int, noise: float, rng: np.random.Generator) -> Generated:
        points = rng.uniform(-5, 5, size=(n, 2))
        points += np.where(points > 0, 0.3, -0.3)  # padding away from the axes
        jitter = rng.uniform(-5, 5, size=(n, 2)) * noise
        noisy = points + jitter
        return points, (noisy[:, 0] * noisy[:, 1] >= 0).astype(np.float64)


@register
class Gauss(PlanarDataset):
    name = "gauss"
    title = "Two Gaussians"
    description = "Two Gaussian blobs around (2, 2) and (-2, -2); noise widens them."
    task = "classification"

    @staticmethod
    def generate(n: int, noise: float, rng: np.random.Generator) -> Generated:
        variance = 0.5 + (4.0 - 0.5) * noise / 0.5  # Playground: noise 0..0.5 -> variance 0.5..4
        n_pos, n_neg = _halves(n)
        centres = np.concatenate([np.full((n_pos, 2), 2.0), np.full((n_neg, 2), -2.0)])
        points = rng.normal(centres, np.sqrt(variance))
        return points, np.concatenate([np.ones(n_pos), np.zeros(n_neg)])


@register
class Spiral(PlanarDataset):
    name = "spiral"
    title = "Spiral"
    description = "Two interleaved spiral arms: the hardest of the Playground sets."
    task = "classification"

    @staticmethod
    def generate(n: int, noise: float, rng: np.random.Generator) -> Generated:
        arms = []
        for size, delta in zip(_halves(n), (0.0, np.pi), strict=True):
            i = np.arange(size) / max(size, 1)
            r = i * 5.0
            t = 1.75 * i * 2 * np.pi + delta
            jitter = rng.uniform(-1, 1, size=(size, 2)) * noise
            arms.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1) + jitter)
        n_pos, n_neg = _halves(n)
        return np.concatenate(arms), np.concatenate([np.ones(n_pos), np.zeros(n_neg)])


@register
class Moons(PlanarDataset):
    name = "moons"
    title = "Two moons"
    description = "Two interleaving half circles (scikit-learn's make_moons), scaled by 3."
    task = "classification"

    @staticmethod
    def generate(n: int, noise: float, rng: np.random.Generator) -> Generated:
        n_out, n_in = _halves(n)
        t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
        outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
        inner = np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], axis=1)
        points = np.concatenate([outer, inner]) + rng.normal(0.0, noise, size=(n, 2))
        # make_moons spans x1 in [-1, 2], x2 in [-0.5, 1]: centre it and fill the square.
        points = (points - np.array([0.5, 0.25])) * 3.0
        return points, np.concatenate([np.zeros(n_out), np.ones(n_in)])


@register
class Plane(PlanarDataset):
    name = "plane"
    title = "Plane (regression)"
    description = "Regression: the target rises linearly with x1 + x2."
    task = "regression"

    @staticmethod
    def generate(n: int, noise: float, rng: np.random.Generator) -> Generated:
        radius = 6.0
        points = rng.uniform(-radius, radius, size=(n, 2))
        jitter = rng.uniform(-radius, radius, size=(n, 2)) * noise
        return points, (points + jitter).sum(axis=1) / 10.0  # Playground: [-10, 10] -> [-1, 1]


# (centre x1, centre x2, sign) of the six bumps of the Playground's multi-Gaussian set.
_BUMPS = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]]
)


@register
class MultiGauss(PlanarDataset):
    name = "multi_gauss"
    title = "Multi-Gaussian (regression)"
    description = "Regression: six positive and negative bumps on a grid."
    task = "regression"

    @staticmethod
    def generate(n: int, noise: float, rng: np.random.Generator) -> Generated:
        radius = 6.0
        points = rng.uniform(-radius, radius, size=(n, 2))
        noisy = points + rng.uniform(-radius, radius, size=(n, 2)) * noise
        # Each bump: sign * clamp(1 - distance / 2, 0, 1); keep the largest in absolute value.
        dist = np.linalg.norm(noisy[:, None, :] - _BUMPS[None, :, :2], axis=2)  # (n, 6)
        values = _BUMPS[None, :, 2] * np.clip(1.0 - dist / 2.0, 0.0, 1.0)
        pick = np.abs(values).argmax(axis=1)
        return points, values[np.arange(n), pick]
