"""The `value` of a control request, checked per action: a 422 whose `loc` names the field.

`ControlRequest.value` is one generic field (its meaning depends on `action`), so it is checked
here against the action's own model, and each error keeps its place inside the value
(`["body", "value", "weight"]`), as FastAPI's own 422s do for typed fields.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from .models import ControlRequest

MAX_PACE = 10_000.0  # epochs per second: the schema's bound on training.pace
WEIGHT_LIMIT = 1_000.0  # a typed weight or bias; the playground's weights sit within +-10

Pace = Annotated[float, Field(gt=0, le=MAX_PACE, allow_inf_nan=False)]
Edit = Annotated[float, Field(ge=-WEIGHT_LIMIT, le=WEIGHT_LIMIT, allow_inf_nan=False)]


class WeightEdit(BaseModel):
    """set_weight: one link's weight (`from` -> `to`) or one neuron's bias, of a dense layer."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    layer: Annotated[int, Field(ge=0, le=10_000)] | Literal["head"] = Field(
        description='the index in model.layers of a dense layer, or "head"'
    )
    to: int = Field(ge=0, le=1_000_000, description="the neuron whose input or bias changes")
    from_: int | None = Field(
        None, alias="from", ge=0, le=1_000_000, description="the input neuron of the link"
    )
    weight: Edit | None = None
    bias: Edit | None = None

    @model_validator(mode="after")
    def _one_edit(self) -> WeightEdit:
        if (self.weight is None) == (self.bias is None):
            raise ValueError('give either "from" and "weight" (a link) or "bias" (a neuron)')
        if self.weight is not None and self.from_ is None:
            raise ValueError('a weight needs "from": the input neuron of the link')
        if self.bias is not None and self.from_ is not None:
            raise ValueError('a bias belongs to the neuron "to" alone: leave "from" out')
        return self


_PACE = TypeAdapter(Pace | None)
_LR = TypeAdapter(Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)])
_SAMPLE = TypeAdapter(Annotated[int, Field(ge=0)] | None)
_EDIT = TypeAdapter(WeightEdit)


def control_value(body: ControlRequest) -> Any:
    """The action's argument, checked: pace -> float | None; set_weight -> {"layer", "to",
    "from"?, "weight"? | "bias"?}; set_lr -> float; step_batch -> int | None; else None.
    Raises RequestValidationError (422) at `body.value...` (or the action's own field)."""
    action, value = body.action, body.value
    if action == "set_lr":
        return body.learning_rate if body.learning_rate is not None else _check(_LR, value)
    if action == "step_batch":
        return body.sample if body.sample is not None else _check(_SAMPLE, value)
    if action == "pace":
        if isinstance(value, bool):
            _fail([], "pace is a number of epochs per second, or null for full speed", value)
        return _check(_PACE, value)
    if action == "set_weight":
        if not isinstance(value, dict):
            _fail([], 'set_weight needs {"layer", "to", "from", "weight"} or {.., "bias"}', value)
        edit = _check(_EDIT, value, keyed=True)
        return edit.model_dump(by_alias=True, exclude_none=True)
    return None


def _check(adapter: TypeAdapter, value: Any, keyed: bool = False) -> Any:
    """`value` through `adapter`; errors at `body.value`, and for an object (`keyed`) at the
    key they concern (a union's member names, such as "int", are no place in the request)."""
    try:
        return adapter.validate_python(value)
    except ValidationError as err:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "value", *(e["loc"][:1] if keyed else ())),
                    "msg": e["msg"],
                    "type": e["type"],
                    "input": e.get("input"),
                }
                for e in err.errors(include_url=False)
            ]
        ) from None


def _fail(loc: list, msg: str, value: Any) -> None:
    raise RequestValidationError(
        [{"loc": ("body", "value", *loc), "msg": msg, "type": "value_error", "input": value}]
    )


def check_edit(check: dict, edit: dict) -> None:
    """A set_weight edit against the run's checked design (its layers' shapes): the layer
    must be a dense one (or the head), `to` one of its neurons, `from` one of its inputs.
    Raises RequestValidationError at `body.value.<field>`."""
    layers, layer = check.get("layers") or [], edit["layer"]
    if layer == "head":
        shape = layers[-1]["output_shape"] if layers else check.get("input_shape") or []
        inputs, outputs = math.prod(shape), math.prod(check.get("head", {}).get("output_shape", []))
    else:
        if layer >= len(layers) or layers[layer]["type"] != "dense":
            what = (
                f"layer {layer} is a {layers[layer]['type']}"
                if layer < len(layers)
                else (f"the model has {len(layers)} layers")
            )
            _fail(["layer"], f'{what}: give the index of a dense layer, or "head"', layer)
        shape = layers[layer - 1]["output_shape"] if layer else check.get("input_shape") or []
        inputs, outputs = shape[-1] if shape else 0, layers[layer]["output_shape"][-1]
    if edit["to"] >= outputs:
        _fail(["to"], f"to must be a neuron of layer {layer}: 0 to {outputs - 1}", edit["to"])
    if "from" in edit and edit["from"] >= inputs:
        _fail(["from"], f"from must be an input of layer {layer}: 0 to {inputs - 1}", edit["from"])
