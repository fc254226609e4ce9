"""Checking a design: shapes and parameter counts per layer, or errors that name the layer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..engine.validation import validate_experiment
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


@router.post("/check", openapi_extra=EXPERIMENT_BODY, responses=CHECK_ERRORS)
def check_experiment(doc: JsonBody, settings: SettingsDep) -> dict[str, Any]:
    """Per-layer output shapes, parameter counts and FLOPs per example (forward + backward),
    the derived head, the totals and the FLOPs of one training step."""
    return validate_experiment(doc, settings)[1]
