"""The registries the page builds its palette and forms from, and dataset previews."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..engine.blocks import describe_blocks, expand_into
from ..engine.datasets import describe_datasets, preview_data
from ..engine.errors import ExperimentError
from ..engine.layers import describe_layers
from ..engine.model import body_output_shape, parse_experiment
from ..engine.schema import describe_training
from .deps import JsonBody, SettingsDep
from .openapi import DATASET_BODY

router = APIRouter(prefix="/api", tags=["registries"])


@router.get("/layers")
def list_layers() -> list[dict[str, Any]]:
    """Every layer type with its parameter schema and defaults."""
    return describe_layers()


@router.get("/datasets")
def list_datasets(settings: SettingsDep) -> list[dict[str, Any]]:
    """Every dataset with its family, task, parameter schema and defaults (within limits)."""
    return describe_datasets(settings)


@router.get("/training")
def get_training(settings: SettingsDep) -> dict[str, Any]:
    """The training settings' schema (optimisers, bounds within this server's limits), defaults."""
    return describe_training(settings.max_epochs, settings.max_batch_size)


@router.post("/datasets/preview", openapi_extra=DATASET_BODY)
def preview_dataset(spec: JsonBody, settings: SettingsDep) -> dict[str, Any]:
    """A small picture of a dataset (points, images or series) for the page."""
    return preview_data(spec, settings)


@router.get("/blocks")
def list_blocks() -> list[dict[str, Any]]:
    """The palette's ready blocks (transformer, residual) with their parameter schemas."""
    return describe_blocks()


@router.post("/blocks/{name}/expand")
def expand_block_route(name: str, body: JsonBody, settings: SettingsDep) -> dict[str, Any]:
    """The experiment's layers with block `name` appended as its visible parts:
    body `{"experiment": {...}, "params": {...}}`; 422 at the field for a design that fails."""
    experiment = body.get("experiment") if isinstance(body, dict) else None
    params = body.get("params", {}) if isinstance(body, dict) else {}
    if not isinstance(experiment, dict) or not isinstance(params, dict):
        raise ExperimentError.single(
            ("body",), 'send {"experiment": {...}, "params": {...}} (params may be empty)'
        )
    exp = parse_experiment(experiment, settings)
    last = body_output_shape(exp, settings)
    layers = [spec.model_dump() for spec in exp.model.layers]
    return {"layers": expand_into(layers, name, params, last)}
