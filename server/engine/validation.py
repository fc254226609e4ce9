"""One validation of an experiment, for every caller: `POST /api/check`, runs, designs,
sweeps, classes and `layerlab check` all ask this, so they cannot disagree."""

from __future__ import annotations

from typing import Any

from ..config import Settings
from .memory import check_memory
from .model import check, parse_experiment
from .trainer import resolve_device


def validate_experiment(doc: Any, settings: Settings) -> tuple[dict, dict]:
    """The normalised experiment and its check, or ExperimentError (nothing is allocated):
    structure and limits, the device, shapes, parameters, FLOPs and a batch's memory."""
    experiment = parse_experiment(doc, settings)
    device = experiment.training.device
    resolve_device(device if device != "auto" else settings.device)  # cuda without a GPU
    result = check(experiment, settings)
    normalised = experiment.model_dump(mode="json")
    check_memory(normalised, result, settings)
    return normalised, result
