"""The dataset contract: `Data` (what a load returns), `DatasetType` (one registry entry) and
the registry itself, `DATASETS`, filled by the `register` class decorator.

A dataset type is defined once, in one class: its parameter model (from which the browser
builds its form), how it loads, and how it previews itself for the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

import torch
from pydantic import BaseModel, ConfigDict

from server.config import Settings

from .split import split_count

Task = Literal["classification", "regression", "reconstruction", "forecasting"]
Family = Literal["2d", "image", "tabular", "sequence", "autoencoder"]

TASKS: tuple[str, ...] = ("classification", "regression", "reconstruction", "forecasting")
FAMILIES: tuple[str, ...] = ("2d", "image", "tabular", "sequence", "autoencoder")


@dataclass
class Data:
    """A loaded dataset, ready for a model: tensors on the CPU, no batch dimension in shapes.

    - `x_*`: float32 `(N, *input_shape)`; integer-token sets use int64 and say so in
      `meta["input_dtype"] = "int64"`.
    - `y_*`: classification int64 `(N,)` class indices; otherwise float32 `(N, *target_shape)`.
      Reconstruction sets may share storage between `y_*` and `x_*` (the target is the input).
    - `target_shape`: `(n_classes,)` for classification, the target's shape otherwise.
    - `meta`: per family extras for probes and the page (see docs/internals.md).
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    task: Task
    input_shape: tuple[int, ...]
    target_shape: tuple[int, ...]
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    output_activation: Literal["sigmoid"] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A mismatch here is a bug in a dataset, not a user error: fail loudly and early.
        self.input_shape = tuple(int(d) for d in self.input_shape)
        self.target_shape = tuple(int(d) for d in self.target_shape)
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}")
        x_dtype = torch.int64 if self.meta.get("input_dtype") == "int64" else torch.float32
        for split in ("train", "val"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.dtype != x_dtype or tuple(x.shape[1:]) != self.input_shape:
                raise ValueError(
                    f"x_{split} is {x.dtype} {tuple(x.shape)}, expected {x_dtype} "
                    f"(N, *{self.input_shape})"
                )
            if len(y) != len(x) or len(x) == 0:
                raise ValueError(f"x_{split} has {len(x)} rows but y_{split} has {len(y)}")
            if self.task == "classification":
                n_classes = self.target_shape[0]
                # Per-position sets (meta["positions"] = T) label every position: (N, T).
                y_ndim = 2 if self.meta.get("positions") else 1
                if y.dtype != torch.int64 or y.ndim != y_ndim:
                    raise ValueError(f"y_{split} must be int64 (N,), got {y.dtype} {y.shape}")
                if int(y.min()) < 0 or int(y.max()) >= n_classes:
                    raise ValueError(f"y_{split} has labels outside 0..{n_classes - 1}")
            elif y.dtype != torch.float32 or tuple(y.shape[1:]) != self.target_shape:
                raise ValueError(
                    f"y_{split} is {y.dtype} {tuple(y.shape)}, expected float32 "
                    f"(N, *{self.target_shape})"
                )
        if self.task == "classification" and (
            len(self.target_shape) != 1
            or (self.class_names is not None and len(self.class_names) != self.target_shape[0])
        ):
            raise ValueError("classification needs target_shape (n_classes,) and one name each")

    @property
    def n_train(self) -> int:
        return len(self.x_train)

    @property
    def n_val(self) -> int:
        return len(self.x_val)

    @property
    def n_classes(self) -> int | None:
        return self.target_shape[0] if self.task == "classification" else None


@dataclass(frozen=True)
class DataShapes:
    """What a model needs to know about a dataset before any data is made: the checker and
    the builder use it (`POST /api/check` runs on every edit, so this must stay cheap)."""

    task: Task
    input_shape: tuple[int, ...]
    target_shape: tuple[int, ...]
    output_activation: Literal["sigmoid"] | None = None
    input_dtype: Literal["float32", "int64"] = "float32"
    vocab_size: int | None = None  # integer-token inputs: tokens lie in 0..vocab_size-1
    class_names: tuple[str, ...] | None = None
    positions: int | None = None  # per-position classification: one class per position

    @classmethod
    def of(cls, data: Data) -> DataShapes:
        return cls(
            task=data.task,
            input_shape=data.input_shape,
            target_shape=data.target_shape,
            output_activation=data.output_activation,
            input_dtype=data.meta.get("input_dtype", "float32"),
            vocab_size=data.meta.get("vocab_size"),
            class_names=tuple(data.class_names) if data.class_names is not None else None,
            positions=data.meta.get("positions"),
        )


class DatasetParams(BaseModel):
    """Base of every dataset's `Params`: unknown fields and NaN/infinity are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# Parameter fields that count samples: refused above `settings.max_samples` (see `check`).
SAMPLE_FIELDS: tuple[str, ...] = ("samples", "val_samples")


class DatasetType:
    """One registry entry. Subclasses set the class attributes and implement `load` and
    `picture`; the registry holds one instance per subclass (see `register`)."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]  # one line, shown in the dataset picker
    family: ClassVar[Family]
    task: ClassVar[Task]
    Params: ClassVar[type[DatasetParams]] = DatasetParams
    # Previews of sets that are costly to make (long sequences) are drawn from this many
    # samples: a 70,000 x 512 waveform set costs ~700 MB and seconds, the page shows 8 series.
    preview_samples: ClassVar[int | None] = None

    def load(self, params: Any, settings: Settings) -> Data:
        raise NotImplementedError

    def shapes(self, params: Any) -> DataShapes:
        """The task and shapes `load` will give, computed without making the data."""
        raise NotImplementedError

    def check(self, params: Any, settings: Settings) -> list[dict]:
        """Checks that need the settings or several fields at once; `{loc, msg, type}` errors
        with `loc` relative to the dataset spec (the caller prefixes `"dataset"`)."""
        errors = []
        for name in SAMPLE_FIELDS:
            value = getattr(params, name, None)
            if value is not None and value > settings.max_samples:
                errors.append(
                    {
                        "loc": (name,),
                        "msg": f"{name} must be at most {settings.max_samples} on this server "
                        f"(LAYERLAB_MAX_SAMPLES), got {value}",
                        "type": "less_than_equal",
                    }
                )
        return errors

    def preview(self, params: Any, settings: Settings) -> dict:
        """A small JSON-safe picture of the data for the page: a summary plus `picture`."""
        full = getattr(params, "samples", None)
        small = params
        if self.preview_samples is not None and full is not None and full > self.preview_samples:
            small = params.model_copy(update={"samples": self.preview_samples})
        data = self.load(small, settings)
        preview = {**summary(self, data), **self.picture(data, small)}
        if small is not params:  # the counts the whole set will have
            n_train = split_count(full, params.train_fraction)
            preview.update(n_train=n_train, n_val=full - n_train)
        return preview

    def picture(self, data: Data, params: Any) -> dict:
        """The family-specific part of the preview (`kind` plus points, images, series...)."""
        return {"kind": "none"}


def summary(dataset: DatasetType, data: Data) -> dict[str, Any]:
    """What every preview carries, whatever the family."""
    return {
        "name": dataset.name,
        "title": dataset.title,
        "family": dataset.family,
        "task": data.task,
        "input_shape": list(data.input_shape),
        "target_shape": list(data.target_shape),
        "n_train": data.n_train,
        "n_val": data.n_val,
        "class_names": data.class_names,
        "feature_names": data.feature_names,
    }


DATASETS: dict[str, DatasetType] = {}

D = TypeVar("D", bound=type[DatasetType])


def register(cls: D) -> D:
    """Class decorator: put one instance of `cls` in `DATASETS` under `cls.name`."""
    for attr in ("name", "title", "description", "family", "task"):
        if not isinstance(getattr(cls, attr, None), str):
            raise TypeError(f"{cls.__name__} must set {attr}")
    if cls.family not in FAMILIES or cls.task not in TASKS:
        raise TypeError(f"{cls.__name__}: bad family {cls.family!r} or task {cls.task!r}")
    if cls.name in DATASETS:
        raise ValueError(f"dataset {cls.name!r} is registered twice")
    DATASETS[cls.name] = cls()
    return cls
