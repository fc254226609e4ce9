"""Checking a design: shapes and parameter counts per layer, or errors that name the layer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..config import Settings
from ..engine.errors import ExperimentError
from ..engine.model import check, parse_experiment
from ..engine.trainer import resolve_device
from ..runs.limits import check_memory
from .deps import JsonBody, SettingsDep
from .openapi import EXPERIMENT_BODY

router = APIRouter(prefix="/api", tags=["experiments"])

CHECK_ERRORS = {
    200: {
        "description": "per layer {index, type, output_shape, params, flops}; the head "
        "{description, output_shape, params, flops}; input_shape, total_params, total_flops "
        "(forward + backward FLOPs of one example), step_flops (of one training batch), task, "
        "loss"
    },
    415: {"description": "the body is not sent as application/json"},
    422: {
        "description": "the design cannot run (shapes, limits, parameters, memory, or the "
        "FLOPs of one training step); `detail` lists {loc, msg, type}"
    },
}


def validate_experiment(doc: Any, settings: Settings) -> tuple[dict, dict]:
    """The normalised experiment and its check, or ExperimentError (nothing is allocated)."""
    experiment = parse_experiment(doc, settings)
    device = experiment.training.device
    resolve_device(device if device != "auto" else settings.device)  # cuda without a GPU
    result = check(experiment, settings)
    doc = experiment.model_dump(mode="json")
    check_memory(doc, result, settings)
    return doc, result


@router.post("/check", openapi_extra=EXPERIMENT_BODY, responses=CHECK_ERRORS)
def check_experiment(doc: JsonBody, settings: SettingsDep) -> dict[str, Any]:
    """Per-layer output shapes, parameter counts and FLOPs per example (forward + backward),
    the derived head, the totals and the FLOPs of one training step."""
    return validate_experiment(doc, settings)[1]


__all__ = ["ExperimentError", "router", "validate_experiment"]
