"""`upload`: a dataset someone uploaded (a CSV table, a zip of images, or 2D points drawn on
the page), read from the file the server materialised for it.

The engine knows nothing of the database or the web: `server/uploads` parses the upload and
writes one `.npz` file per dataset, `<state_dir>/uploads/<id>.npz`, read here with
`allow_pickle=False` (never pickle from a user). Its arrays:

- `x`: the examples, float32 `(N, F)` for tables and points (features in the table's own
  units, text columns already one-hot), uint8 `(N, C, H, W)` for images (pixels 0..255),
  float32 `(N, window, 1)` for a series' windows (forecasting, in the series' own units);
- `y`: int64 `(N,)` class indices, float32 `(N,)` regression targets, or float32
  `(N, horizon)` the values after each window;
- `info`: a 0-d string array holding JSON `{"kind": "csv"|"images"|"points"|"series",
  "family": "tabular"|"image"|"2d"|"sequence", "task", "input_shape", "class_names", "feature_names", "extent",
  "name"}`.

Splits follow the spec's `train_fraction` and `seed` (stratified for classes); tables are
standardised with the training split's statistics (kept in `meta` so a raw row is scaled the
same way), images scaled to 0..1, points go through the feature crosses like the built-in
2D sets.
"""

from __future__ import annotations

import json
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import Field, PrivateAttr

from server.config import Settings, get_settings
from server.core.ids import ID_PATTERN
from server.engine.errors import ExperimentError

from .base import Data, DatasetParams, DatasetType, DataShapes, register, summary
from .fields import seed_field, train_fraction_field
from .planar import CROSS_LABELS, CrossName, cross_features
from .preview import floats, images_picture, ints, points_picture
from .split import random_split, split_count, stratified_split

UPLOAD_ID_PATTERN = ID_PATTERN  # ids come from server.core.ids
# A file missing, cut short or overwritten (a bad zip, a member cut off): "cannot be read".
UNREADABLE = (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile)


def upload_path(state_dir: Path, upload_id: str) -> Path:
    """Where the arrays of upload `upload_id` live (the contract with server/uploads)."""
    return Path(state_dir) / "uploads" / f"{upload_id}.npz"


class UploadParams(DatasetParams):
    id: str = Field(
        "000000000000",
        pattern=UPLOAD_ID_PATTERN,
        description="the id POST /api/datasets/uploads returned",
    )
    train_fraction: float = train_fraction_field(0.8)
    seed: int = seed_field()
    crosses: list[CrossName] | None = Field(
        None,
        min_length=1,
        max_length=len(CROSS_LABELS),
        description="drawn 2D points only: the input features computed from each point",
    )
    # The upload's info, read by `check` (which has the settings: where the files are), for
    # `shapes` (which has none); parse_params always checks first.
    _info: dict | None = PrivateAttr(None)


@lru_cache(maxsize=64)
def _info(path: str, mtime_ns: int) -> dict:
    """The info of one upload file (its small `info` member only); cached per file version:
    every design check reads it."""
    with open(path, "rb") as file, np.load(file, allow_pickle=False) as npz:  # closed if bad
        return json.loads(str(npz["info"]))


def _arrays(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y): read when a run loads its data, not kept (an image upload can be large)."""
    with open(path, "rb") as file, np.load(file, allow_pickle=False) as npz:
        return npz["x"], npz["y"]


def _unknown(params: UploadParams, err: Exception) -> ExperimentError:
    why = (
        "there is no such upload (deleted?)"
        if isinstance(err, FileNotFoundError)
        else "its file cannot be read"
    )
    return ExperimentError.single(
        ("dataset", "id"), f"uploaded dataset {params.id!r}: {why}", "unknown_upload"
    )


def read_info(params: UploadParams, settings: Settings) -> dict:
    path = upload_path(settings.state_dir, params.id)
    try:
        return _info(str(path), path.stat().st_mtime_ns)
    except UNREADABLE as err:
        raise _unknown(params, err) from None


def read_upload(params: UploadParams, settings: Settings) -> tuple[dict, np.ndarray, np.ndarray]:
    """(info, x, y) of the upload a spec names; ExperimentError at `dataset.id` if none."""
    info = read_info(params, settings)
    try:
        x, y = _arrays(str(upload_path(settings.state_dir, params.id)))
    except UNREADABLE as err:
        raise _unknown(params, err) from None
    return info, x, y


def _crosses(params: UploadParams) -> list[str]:
    return list(params.crosses or ["x1", "x2"])


@register
class Upload(DatasetType):
    name = "upload"
    title = "Your own data"
    description = "A CSV table, a zip of images or 2D points you uploaded or drew."
    family = "tabular"  # the registry's; each upload's own family is in its preview
    task = "classification"
    Params = UploadParams

    def check(self, params: UploadParams, settings: Settings) -> list[dict]:
        info = read_info(params, settings)
        params._info = info
        if params.crosses is not None and info["kind"] != "points":
            return [
                {
                    "loc": ("crosses",),
                    "msg": "feature crosses apply to 2D points only",
                    "type": "value_error",
                }
            ]
        return super().check(params, settings)

    def shapes(self, params: UploadParams) -> DataShapes:
        info = params._info or read_info(params, get_settings())
        return DataShapes(
            task=info["task"],
            input_shape=self._input_shape(info, params),
            target_shape=self._target_shape(info),
            class_names=tuple(info["class_names"]) if info["class_names"] else None,
        )

    @staticmethod
    def _input_shape(info: dict, params: UploadParams) -> tuple[int, ...]:
        if info["kind"] == "points":
            return (len(_crosses(params)),)
        return tuple(info["input_shape"])

    @staticmethod
    def _target_shape(info: dict) -> tuple[int, ...]:
        if info["task"] == "forecasting":
            return (int(info["horizon"]),)
        return (len(info["class_names"]),) if info["task"] == "classification" else (1,)

    def load(self, params: UploadParams, settings: Settings) -> Data:
        info, x, y = read_upload(params, settings)
        rng = np.random.default_rng(params.seed)
        classes = info["task"] == "classification"
        if classes:
            train, val = stratified_split(y, params.train_fraction, rng)
            y_t = torch.from_numpy(y.astype(np.int64))
        elif info["kind"] == "series":
            # Windows of one series: the earlier ones train, the later ones validate (a
            # forecast is judged on a future it has not seen).
            k = split_count(len(y), params.train_fraction)
            train, val = np.arange(k), np.arange(k, len(y))
            y_t = torch.from_numpy(y.astype(np.float32))
        else:
            train, val = random_split(len(y), params.train_fraction, rng)
            y_t = torch.from_numpy(y.astype(np.float32)).reshape(-1, 1)
        common: dict[str, Any] = {
            "task": info["task"],
            "target_shape": self._target_shape(info),
            "class_names": list(info["class_names"]) if classes else None,
        }
        tr, va = torch.from_numpy(train), torch.from_numpy(val)
        if info["kind"] == "images":
            images = torch.from_numpy(x.astype(np.float32) / np.float32(255.0))
            return Data(
                x_train=images[tr],
                y_train=y_t[tr],
                x_val=images[va],
                y_val=y_t[va],
                input_shape=tuple(x.shape[1:]),
                meta={"image_shape": tuple(x.shape[2:]), "upload": info},
                **common,
            )
        if info["kind"] == "series":
            windows = torch.from_numpy(x.astype(np.float32))
            return Data(
                x_train=windows[tr],
                y_train=y_t[tr],
                x_val=windows[va],
                y_val=y_t[va],
                input_shape=tuple(x.shape[1:]),
                feature_names=list(info["feature_names"]),
                meta={
                    "window": info["window"],
                    "horizon": info["horizon"],
                    "series_val": torch.cat([windows[va, :, 0], y_t[va]], dim=1),
                    "upload": info,
                },
                **common,
            )
        if info["kind"] == "points":
            crosses = _crosses(params)
            points = torch.from_numpy(x.astype(np.float32))
            feats = cross_features(points, crosses)
            return Data(
                x_train=feats[tr],
                y_train=y_t[tr],
                x_val=feats[va],
                y_val=y_t[va],
                input_shape=(len(crosses),),
                feature_names=crosses,
                meta={
                    "extent": list(info["extent"]),
                    "crosses": crosses,
                    "points_train": points[tr],
                    "points_val": points[va],
                    "upload": info,
                },
                **common,
            )
        # A table: standardised with the training split's statistics only.
        table = x.astype(np.float64)
        mean = table[train].mean(axis=0)
        std = table[train].std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)  # a constant column stays 0, not NaN
        scaled = torch.from_numpy(((table - mean) / std).astype(np.float32))
        return Data(
            x_train=scaled[tr],
            y_train=y_t[tr],
            x_val=scaled[va],
            y_val=y_t[va],
            input_shape=(x.shape[1],),
            feature_names=list(info["feature_names"]),
            meta={
                "mean": torch.from_numpy(mean.astype(np.float32)),
                "std": torch.from_numpy(std.astype(np.float32)),
                "upload": info,
            },
            **common,
        )

    def preview(self, params: UploadParams, settings: Settings) -> dict:
        info = read_info(params, settings)
        data = self.load(params, settings)
        out = {**summary(self, data), **self.picture(data, params)}
        # The upload's own family and kind: the page picks its views from them.
        out.update(
            family=info["family"],
            upload={
                "id": params.id,
                **{k: info.get(k) for k in ("kind", "name", "columns", "target")},
            },
        )
        return out

    def picture(self, data: Data, params: UploadParams) -> dict:
        info = data.meta["upload"]
        labels_train = data.y_train.flatten()
        if info["kind"] == "points":
            extent = list(info["extent"])
            pic = points_picture(data.meta["points_train"], labels_train, extent)
            val = points_picture(data.meta["points_val"], data.y_val.flatten(), extent)
            pic["val_points"], pic["val_labels"] = val["points"], val["labels"]
            pic["feature_labels"] = [CROSS_LABELS[c] for c in _crosses(params)]
            return pic
        if info["kind"] == "images":
            images = data.x_train.mean(dim=1, keepdim=True)  # channels averaged, 0..1
            return images_picture(images, data.y_train)
        if info["kind"] == "series":
            idx = np.linspace(0, data.n_train - 1, num=min(data.n_train, 6)).astype(np.int64)
            return {
                "kind": "series",
                "inputs": floats(data.x_train[idx, :, 0]),
                "targets": floats(data.y_train[idx]),
                "window": info["window"],
                "horizon": info["horizon"],
            }
        x = data.x_train
        if x.shape[1] >= 2:
            _, _, v = torch.linalg.svd(x - x.mean(dim=0), full_matrices=False)
            projected = x @ v[:2].T
        else:
            projected = torch.cat([x, torch.zeros_like(x)], dim=1)
        rows = x[:8] * data.meta["std"] + data.meta["mean"]
        pic: dict[str, Any] = {
            "kind": "table",
            "rows": floats(rows),
            "points": floats(projected[:300]),
            "labels": ints(labels_train[:300])
            if data.task == "classification"
            else floats(labels_train[:300]),
        }
        if data.task == "classification":
            pic["row_labels"] = ints(data.y_train[:8])
            pic["class_counts"] = ints(
                torch.bincount(data.y_train, minlength=len(data.class_names))
            )
        return pic
