"""A sweep request and its expansion: the base experiment, one or two axes, the variants.

An axis names a setting and its values. Settings and where they land in the experiment:
`learning_rate`, `batch_size`, `optimizer`, `data_fraction` (training.*), `units` and
`activation` (model.layers[layer].*, or every layer that takes it when `layer` is null), and
`layers` (how many layers: the first N of the design's, or its last layer repeated up to N).
Two axes give every combination (their product), the first axis varying slowest.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..config import Settings
from ..engine.layers import LAYERS

Setting = Literal[
    "learning_rate", "units", "layers", "batch_size", "activation", "optimizer", "data_fraction"
]
TRAINING_SETTINGS = ("learning_rate", "batch_size", "optimizer", "data_fraction")
LAYER_SETTINGS = ("units", "activation")
TITLES = {
    "learning_rate": "learning rate",
    "units": "units",
    "layers": "number of layers",
    "batch_size": "batch size",
    "activation": "activation",
    "optimizer": "optimiser",
    "data_fraction": "training data used",
}
MAX_VALUES = 16


class Axis(BaseModel):
    """One setting varied over a list of values."""

    model_config = ConfigDict(extra="forbid")

    setting: Setting = Field(description="which setting the variants differ in")
    values: list[float | int | str] = Field(
        min_length=1, max_length=MAX_VALUES, description="its values, one variant each"
    )
    layer: int | None = Field(
        None,
        ge=0,
        description="units or activation: the index in model.layers; null: every layer "
        "that takes the setting",
    )


class SweepIn(BaseModel):
    """POST /api/sweeps: a design and the settings to vary."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=200, description="a name to list it by")
    experiment: dict[str, Any] = Field(description="the base design (as POST /api/runs takes)")
    axes: list[Axis] = Field(
        min_length=1, max_length=2, description="one or two settings and their values"
    )


@dataclass
class Variant:
    """One combination of axis values and the experiment it makes."""

    index: int
    values: dict[str, Any]  # setting (or "units@1" for one layer) -> value
    picks: tuple[int, ...]  # per axis, the index of its value
    experiment: dict
    check: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.values.items())


class SpecError(Exception):
    """Bad axes: a list of {loc, msg, type} (loc relative to the request body)."""

    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(e["msg"] for e in errors))
        self.errors = errors


def axis_key(axis: Axis) -> str:
    """The name of an axis in a variant's `values`: its setting, with the layer when one."""
    return axis.setting if axis.layer is None else f"{axis.setting}@{axis.layer}"


def _error(loc: list, msg: str) -> dict:
    return {"loc": ["body", *loc], "msg": msg, "type": "value_error"}


def _typed(axis: Axis, i: int, j: int, value: Any) -> Any:
    """The value as its setting takes it (whole numbers for counts, text for names)."""
    loc = ["axes", i, "values", j]
    name = TITLES[axis.setting]
    if axis.setting in ("units", "layers", "batch_size"):
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise SpecError([_error(loc, f"{name} takes whole numbers, not {value!r}")])
        return int(value)
    if axis.setting in ("learning_rate", "data_fraction"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError([_error(loc, f"{name} takes numbers, not {value!r}")])
        return float(value)
    if not isinstance(value, str):
        raise SpecError([_error(loc, f"{name} takes a name, not {value!r}")])
    return value


def check_bounds(axes: list[Axis], settings: Settings) -> None:
    """SpecError for a `layers` value above `max_layers`, before anything is built (a
    million layers would be a million copies of one, made before the check refused them)."""
    for i, axis in enumerate(axes):
        if axis.setting != "layers":
            continue
        for j, value in enumerate(axis.values):
            count = _typed(axis, i, j, value)
            if count > settings.max_layers:
                msg = f"layers = {count:,}: at most {settings.max_layers} (LAYERLAB_MAX_LAYERS)"
                raise SpecError([_error(["axes", i, "values", j], msg)])


def _layers_taking(layers: list[dict], param: str) -> list[int]:
    out = []
    for k, layer in enumerate(layers):
        kind = LAYERS.get(layer.get("type", ""))
        if kind is not None and param in kind.Params.model_fields:
            out.append(k)
    return out


def apply(experiment: dict, axis: Axis, value: Any, i: int, j: int) -> dict:
    """A copy of `experiment` with the axis set to `value` (SpecError when it cannot be)."""
    doc = copy.deepcopy(experiment)
    layers: list[dict] = doc.setdefault("model", {}).setdefault("layers", [])
    s = axis.setting
    if s in TRAINING_SETTINGS:
        doc.setdefault("training", {})[s] = value
    elif s in LAYER_SETTINGS:
        if axis.layer is not None:
            if axis.layer >= len(layers):
                raise SpecError(
                    [_error(["axes", i, "layer"], f"the design has no layer {axis.layer}")]
                )
            targets = [axis.layer]
        else:
            targets = _layers_taking(layers, s)
            if not targets:
                raise SpecError(
                    [_error(["axes", i, "setting"], f"no layer of the design takes {s}")]
                )
        for k in targets:
            layers[k][s] = value
    else:  # layers: the first N, or the last one repeated up to N
        if value < 0:
            raise SpecError([_error(["axes", i, "values", j], f"layers = {value}: not below 0")])
        if value > len(layers) and not layers:
            raise SpecError(
                [
                    _error(
                        ["axes", i, "values", j],
                        f"layers = {value}: the design has no layer to repeat; add one first",
                    )
                ]
            )
        doc["model"]["layers"] = layers[:value] + [
            copy.deepcopy(layers[-1]) for _ in range(value - len(layers))
        ]
    return doc


def expand(base: dict, axes: list[Axis]) -> list[Variant]:
    """Every combination of the axes' values applied to `base`, the first axis slowest
    (SpecError for a value of the wrong kind, a repeated value, or a repeated axis)."""
    keys = [axis_key(a) for a in axes]
    if len(set(keys)) < len(keys) or (
        len(axes) == 2 and axes[0].setting == axes[1].setting and None in (a.layer for a in axes)
    ):
        raise SpecError([_error(["axes", 1, "setting"], "both axes vary the same setting")])
    typed: list[list[Any]] = []
    for i, axis in enumerate(axes):
        values = [_typed(axis, i, j, v) for j, v in enumerate(axis.values)]
        for j, v in enumerate(values):
            if v in values[:j]:
                raise SpecError(
                    [_error(["axes", i, "values", j], f"{axis.setting} = {v} is listed twice")]
                )
        typed.append(values)
    variants = []
    for n, picks in enumerate(itertools.product(*(range(len(v)) for v in typed))):
        doc = base
        for i, (axis, j) in enumerate(zip(axes, picks, strict=True)):
            doc = apply(doc, axis, typed[i][j], i, j)
        values = {keys[i]: typed[i][j] for i, j in enumerate(picks)}
        variants.append(Variant(n, values, tuple(picks), doc))
    return variants
