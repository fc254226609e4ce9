"""Small tabular classification sets from scikit-learn (bundled, no download), standardised
with statistics of the training split only (the validation split stays unseen)."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import torch

from server.config import Settings

from .base import Data, DatasetParams, DatasetType, DataShapes, register
from .fields import seed_field, train_fraction_field
from .preview import floats, ints
from .split import stratified_split


class TabularParams(DatasetParams):
    train_fraction: float = train_fraction_field(0.8)
    seed: int = seed_field()


@cache
def _table(loader_name: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """(features float64 (N, F), labels int64 (N,), feature names, class names), read-only."""
    import sklearn.datasets  # local: keeps importing the registry light

    bunch = getattr(sklearn.datasets, loader_name)()
    features = np.asarray(bunch.data, dtype=np.float64)
    labels = np.asarray(bunch.target, dtype=np.int64)
    features.setflags(write=False)
    labels.setflags(write=False)
    return (
        features,
        labels,
        tuple(map(str, bunch.feature_names)),
        tuple(map(str, bunch.target_names)),
    )


class TabularDataset(DatasetType):
    family = "tabular"
    task = "classification"
    Params = TabularParams
    loader: str  # name of the scikit-learn loader, e.g. "load_iris"

    def shapes(self, params: TabularParams) -> DataShapes:
        features, _, _, classes = _table(self.loader)
        return DataShapes(
            task="classification",
            input_shape=(features.shape[1],),
            target_shape=(len(classes),),
            class_names=classes,
        )

    def load(self, params: TabularParams, settings: Settings) -> Data:
        features, labels, feature_names, class_names = _table(self.loader)
        rng = np.random.default_rng(params.seed)
        train, val = stratified_split(labels, params.train_fraction, rng)
        mean = features[train].mean(axis=0)
        std = features[train].std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)  # a constant column stays 0, not NaN

        def scaled(idx: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(((features[idx] - mean) / std).astype(np.float32))

        return Data(
            x_train=scaled(train),
            y_train=torch.from_numpy(labels[train]),
            x_val=scaled(val),
            y_val=torch.from_numpy(labels[val]),
            task="classification",
            input_shape=(features.shape[1],),
            target_shape=(len(class_names),),
            class_names=list(class_names),
            feature_names=list(feature_names),
            # Training statistics, so a raw row can be scaled the same way: (F,) each.
            meta={
                "mean": torch.from_numpy(mean.astype(np.float32)),
                "std": torch.from_numpy(std.astype(np.float32)),
            },
        )

    def picture(self, data: Data, params: TabularParams) -> dict[str, Any]:
        # The first rows in original units, and every training row projected on its two
        # principal components (a scatter the page can colour by class).
        x = data.x_train
        _, _, v = torch.linalg.svd(x - x.mean(dim=0), full_matrices=False)
        projected = x @ v[:2].T  # (N, 2)
        rows = x[:8] * data.meta["std"] + data.meta["mean"]
        return {
            "kind": "table",
            "rows": floats(rows),
            "row_labels": ints(data.y_train[:8]),
            "points": floats(projected[:300]),
            "labels": ints(data.y_train[:300]),
            "class_counts": ints(torch.bincount(data.y_train, minlength=len(data.class_names))),
        }


@register
class Iris(TabularDataset):
    name = "iris"
    title = "Iris flowers"
    description = "150 iris flowers: 4 measurements, 3 species."
    loader = "load_iris"


@register
class Wine(TabularDataset):
    name = "wine"
    title = "Wine"
    description = "178 wines: 13 chemical measurements, 3 cultivars."
    loader = "load_wine"


@register
class BreastCancer(TabularDataset):
    name = "breast_cancer"
    title = "Breast cancer"
    description = "569 tumours: 30 cell-nucleus measurements, malignant or benign."
    loader = "load_breast_cancer"
