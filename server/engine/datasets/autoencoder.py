"""Sets for autoencoders: the target is the input itself (task `reconstruction`).

Labels are not trained on but travel in `meta` (`labels_train`, `labels_val`, `label_names`)
so the page can colour the latent space; `digits_anomaly` adds `val_anomaly` (0/1 per
validation sample) for ROC-AUC of the reconstruction error.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import torch
from pydantic import Field, field_validator

from server.config import Settings

from .base import DATASETS, Data, DatasetParams, DatasetType, DataShapes, register
from .fields import noise_field, samples_field, seed_field, train_fraction_field
from .images import DIGIT_NAMES, digits_arrays, image_tensor
from .planar import CLASS_NAMES, EXTENT, PlanarDataset
from .preview import floats, images_picture, ints, per_class, points_picture
from .split import random_split, stratified_split


def _digits_shapes() -> DataShapes:
    return DataShapes(
        task="reconstruction",
        input_shape=(1, 8, 8),
        target_shape=(1, 8, 8),
        output_activation="sigmoid",
    )


def _digits_data(train: np.ndarray, val: np.ndarray, meta: dict[str, Any]) -> Data:
    """Digits rows `train` / `val` as a reconstruction set; y is x (same tensor)."""
    images, labels = digits_arrays()
    x_train, x_val = image_tensor(images[train]), image_tensor(images[val])
    return Data(
        x_train=x_train,
        y_train=x_train,
        x_val=x_val,
        y_val=x_val,
        task="reconstruction",
        input_shape=(1, 8, 8),
        target_shape=(1, 8, 8),
        output_activation="sigmoid",  # pixels lie in 0..1
        meta={
            "image_shape": (8, 8),
            "labels_train": torch.from_numpy(labels[train]),
            "labels_val": torch.from_numpy(labels[val]),
            "label_names": list(DIGIT_NAMES),
            **meta,
        },
    )


class DigitsReconstructionParams(DatasetParams):
    train_fraction: float = train_fraction_field(0.8)
    seed: int = seed_field()


@register
class DigitsReconstruction(DatasetType):
    name = "digits_reconstruction"
    title = "Digits 8×8 (autoencoder)"
    description = "Compress and rebuild 8×8 digit images; the latent space is coloured by digit."
    family = "autoencoder"
    task = "reconstruction"
    Params = DigitsReconstructionParams

    def shapes(self, params: DigitsReconstructionParams) -> DataShapes:
        return _digits_shapes()

    def load(self, params: DigitsReconstructionParams, settings: Settings) -> Data:
        _, labels = digits_arrays()
        train, val = stratified_split(
            labels, params.train_fraction, np.random.default_rng(params.seed)
        )
        return _digits_data(train, val, {})

    def picture(self, data: Data, params: DigitsReconstructionParams) -> dict:
        return images_picture(data.x_train, data.meta["labels_train"])


PlanarSource = Literal["circle", "xor", "gauss", "spiral", "moons"]


class PlanarReconstructionParams(DatasetParams):
    source: PlanarSource = Field("spiral", description="which 2D classification set to rebuild")
    samples: int = samples_field(500, what="points")
    noise: float = noise_field(0.0, what="noise, as a fraction (the Playground's 0..50%)")
    train_fraction: float = train_fraction_field(0.5)
    seed: int = seed_field()


@register
class PlanarReconstruction(DatasetType):
    name = "planar_reconstruction"
    title = "2D points (autoencoder)"
    description = "Rebuild 2D points through a narrow layer: a 1-unit code traces a curve."
    family = "autoencoder"
    task = "reconstruction"
    Params = PlanarReconstructionParams

    def shapes(self, params: PlanarReconstructionParams) -> DataShapes:
        return DataShapes(task="reconstruction", input_shape=(2,), target_shape=(2,))

    def load(self, params: PlanarReconstructionParams, settings: Settings) -> Data:
        rng = np.random.default_rng(params.seed)
        source = DATASETS[params.source]
        assert isinstance(source, PlanarDataset)
        raw, labels = source.generate(params.samples, params.noise, rng)
        train, val = random_split(params.samples, params.train_fraction, rng)
        points = torch.from_numpy(raw.astype(np.float32))  # (N, 2), raw coordinates
        classes = torch.from_numpy(labels.astype(np.int64))
        x_train, x_val = points[train], points[val]
        return Data(
            x_train=x_train,
            y_train=x_train,
            x_val=x_val,
            y_val=x_val,
            task="reconstruction",
            input_shape=(2,),
            target_shape=(2,),
            feature_names=["x1", "x2"],
            meta={
                "source": params.source,
                "extent": list(EXTENT),
                "points_train": x_train,
                "points_val": x_val,
                "labels_train": classes[train],
                "labels_val": classes[val],
                "label_names": list(CLASS_NAMES),
            },
        )

    def picture(self, data: Data, params: PlanarReconstructionParams) -> dict:
        return points_picture(data.x_train, data.meta["labels_train"], EXTENT)


class DigitsAnomalyParams(DatasetParams):
    normal_classes: list[Annotated[int, Field(ge=0, le=9)]] = Field(
        [0],  # digit 0 alone: a small dense autoencoder reaches ROC-AUC ~0.9-1.0 fast
        min_length=1,
        max_length=9,
        description="digits counted as normal and trained on; every other digit is an anomaly",
        json_schema_extra={"uniqueItems": True},
    )
    anomaly_ratio: float = Field(
        1.0,
        ge=0.1,
        le=4.0,
        description="anomalous validation images per normal validation image",
    )
    train_fraction: float = train_fraction_field(0.7)
    seed: int = seed_field()

    @field_validator("normal_classes")
    @classmethod
    def _unique(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("each digit may appear once")
        return sorted(value)


@register
class DigitsAnomaly(DatasetType):
    name = "digits_anomaly"
    title = "Digit anomalies (autoencoder)"
    description = "Learn to rebuild one kind of digit; other digits rebuild badly and stand out."
    family = "autoencoder"
    task = "reconstruction"
    Params = DigitsAnomalyParams

    def shapes(self, params: DigitsAnomalyParams) -> DataShapes:
        return _digits_shapes()

    def load(self, params: DigitsAnomalyParams, settings: Settings) -> Data:
        _, labels = digits_arrays()
        rng = np.random.default_rng(params.seed)
        normal = np.isin(labels, params.normal_classes)
        # Normal digits split stratified; anomalies (never trained on) join validation only.
        normal_idx = np.flatnonzero(normal)
        train, val_normal = stratified_split(labels[normal_idx], params.train_fraction, rng)
        train, val_normal = normal_idx[train], normal_idx[val_normal]
        anomalies = rng.permutation(np.flatnonzero(~normal))
        n_anomalies = min(len(anomalies), max(1, round(params.anomaly_ratio * len(val_normal))))
        val = np.concatenate([val_normal, anomalies[:n_anomalies]])
        is_anomaly = np.concatenate([np.zeros(len(val_normal)), np.ones(n_anomalies)])
        order = rng.permutation(len(val))  # mix normal and anomalous samples
        return _digits_data(
            train,
            val[order],
            {
                "val_anomaly": torch.from_numpy(is_anomaly[order].astype(np.int64)),
                "normal_classes": list(params.normal_classes),
            },
        )

    def picture(self, data: Data, params: DigitsAnomalyParams) -> dict:
        flags = data.meta["val_anomaly"]
        idx = per_class(flags, 12)  # normal and anomalous images in turn
        return {
            "kind": "images",
            "images": floats(data.x_val[idx, 0], decimals=2),
            "labels": ints(data.meta["labels_val"][idx]),
            "anomaly": ints(flags[idx]),
        }
