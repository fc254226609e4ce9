"""The registries the page builds its palette and forms from, and dataset previews."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..engine.datasets import describe_datasets, preview_data
from ..engine.layers import describe_layers
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
