"""The dataset registry: every dataset a run can use, with its parameter schema.

Public API:
- `DATASETS`: name -> `DatasetType` (one instance per dataset).
- `get_dataset(name)`, `parse_params(spec, settings)`, `dataset_shapes(spec, settings)`,
  `load_data(spec, settings)`, `preview_data(spec, settings)`, `describe_datasets(settings)`.
- `Data`, `DataShapes`, `cross_features` (2D probes), `read_idx` / `write_idx`.

A spec is the experiment's `dataset` object: `{"name": "spiral", "samples": 500, ...}`.
Errors are `ExperimentError`s whose `loc` starts with `"dataset"`, then the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from server.config import Settings, get_settings
from server.engine.errors import ExperimentError

# Importing the modules registers their datasets.
from . import (  # noqa: F401
    autoencoder,
    images,
    planar,
    planar_multi,
    ratings,
    sentiment,
    sequences,
    spoken_digits,
    tabular,
    token_tasks,
    upload,
)
from .base import DATASETS, FAMILIES, SAMPLE_FIELDS, Data, DatasetParams, DatasetType, DataShapes
from .idx import IdxError, read_idx, write_idx
from .planar import CROSSES, EXTENT, cross_features

# One order everywhere (picker, error messages): by family, 2D sets first, then as registered.
_ordered = sorted(DATASETS.items(), key=lambda item: FAMILIES.index(item[1].family))
DATASETS.clear()
DATASETS.update(_ordered)

__all__ = [
    "CROSSES",
    "DATASETS",
    "EXTENT",
    "Data",
    "DataShapes",
    "DatasetParams",
    "DatasetType",
    "IdxError",
    "cross_features",
    "dataset_shapes",
    "describe_datasets",
    "get_dataset",
    "load_data",
    "parse_params",
    "preview_data",
    "read_idx",
    "write_idx",
]


def _choices() -> str:
    return ", ".join(DATASETS)


def get_dataset(name: str) -> DatasetType:
    """The registry entry for `name`; ExperimentError (loc `dataset.name`) if there is none."""
    if not isinstance(name, str) or name not in DATASETS:
        raise ExperimentError.single(
            ("dataset", "name"),
            f"unknown dataset {name!r}; choose one of {_choices()}",
            "unknown_dataset",
        )
    return DATASETS[name]


def parse_params(
    spec: Mapping[str, Any] | BaseModel, settings: Settings | None = None
) -> tuple[DatasetType, DatasetParams]:
    """Validate a dataset spec `{"name": ..., **params}` against the dataset's `Params` and
    the server limits. Sample counts left at a default above the server's limit are lowered
    to it; a count the user typed above it is refused."""
    settings = settings or get_settings()
    if isinstance(spec, BaseModel):
        spec = spec.model_dump()
    if not isinstance(spec, Mapping):
        raise ExperimentError.single(
            ("dataset",), 'the dataset must be an object like {"name": "spiral", ...}'
        )
    fields = dict(spec)
    if "name" not in fields:
        raise ExperimentError.single(
            ("dataset", "name"), f"name the dataset; choose one of {_choices()}", "missing"
        )
    dataset = get_dataset(fields.pop("name"))
    try:
        params = dataset.Params.model_validate(fields)
    except ValidationError as exc:
        raise ExperimentError([_translate(dataset, e) for e in exc.errors()]) from None
    lowered = {
        name: settings.max_samples
        for name in SAMPLE_FIELDS
        if name not in params.model_fields_set
        and getattr(params, name, None) is not None
        and getattr(params, name) > settings.max_samples
    }
    if lowered:
        params = dataset.Params.model_validate({**params.model_dump(), **lowered})
    errors = dataset.check(params, settings)
    if errors:
        raise ExperimentError([{**e, "loc": ("dataset", *e["loc"])} for e in errors])
    return dataset, params


def _translate(dataset: DatasetType, error: Mapping[str, Any]) -> dict:
    """A pydantic error -> `{loc, msg, type}` under `dataset` (no `ctx`, no input echoed)."""
    loc = ("dataset", *error["loc"])
    if error["type"] == "extra_forbidden":
        field = error["loc"][0] if error["loc"] else "?"
        allowed = ", ".join(["name", *dataset.Params.model_fields])
        msg = f"unknown field {field!r} for dataset '{dataset.name}'; allowed: {allowed}"
    else:
        msg = str(error["msg"]).removeprefix("Value error, ")
    return {"loc": loc, "msg": msg, "type": str(error["type"])}


def dataset_shapes(
    spec: Mapping[str, Any] | BaseModel, settings: Settings | None = None
) -> DataShapes:
    """Task and shapes of the data a spec describes, without making the data (cheap: for
    the model checker)."""
    dataset, params = parse_params(spec, settings)
    return dataset.shapes(params)


def load_data(spec: Mapping[str, Any] | BaseModel, settings: Settings | None = None) -> Data:
    """Validate a spec and load its data (may download MNIST-style files once)."""
    settings = settings or get_settings()
    dataset, params = parse_params(spec, settings)
    return dataset.load(params, settings)


def preview_data(spec: Mapping[str, Any] | BaseModel, settings: Settings | None = None) -> dict:
    """The JSON-safe preview of a spec's data (never downloads anything)."""
    settings = settings or get_settings()
    dataset, params = parse_params(spec, settings)
    return dataset.preview(params, settings)


def describe_datasets(settings: Settings | None = None) -> list[dict]:
    """What `GET /api/datasets` returns: per dataset its name, title, description, family,
    task, parameter JSON schema (sample bounds lowered to this server's limit) and defaults,
    in registry order (by family, 2D sets first)."""
    settings = settings or get_settings()
    described = []
    for dataset in DATASETS.values():
        schema = dataset.Params.model_json_schema()
        defaults = dataset.Params().model_dump(mode="json")
        for name in SAMPLE_FIELDS:
            prop = schema.get("properties", {}).get(name)
            if prop is None:
                continue
            prop["maximum"] = min(prop.get("maximum", settings.max_samples), settings.max_samples)
            prop["default"] = min(prop["default"], settings.max_samples)
            defaults[name] = min(defaults[name], settings.max_samples)
        described.append(
            {
                "name": dataset.name,
                "title": dataset.title,
                "description": dataset.description,
                "family": dataset.family,
                "task": dataset.task,
                "params": schema,
                "defaults": defaults,
            }
        )
    return described
