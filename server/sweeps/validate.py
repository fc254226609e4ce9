"""Checking a sweep before anything starts: the base design, its size, every variant.

Every variant is checked as POST /api/check would check it. A value that cannot run is named
where it was given: first each axis value alone on the base design (`["body", "axes", i,
"values", j]`, with the setting, the value and the check's own words), then the combinations
(two values that each run alone but not together are named at `["body", "axes"]`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..config import Settings
from ..engine.errors import ExperimentError
from ..engine.validation import validate_experiment
from .spec import Axis, SpecError, SweepIn, Variant, apply, axis_key, check_bounds, expand

Check = Callable[[Any, Settings], tuple[dict, dict]]  # engine.validation.validate_experiment


def _where(e: dict) -> str:
    return ".".join(str(p) for p in e["loc"])


def _checked(check: Check, doc: Any, settings: Settings) -> tuple[dict, dict] | list[dict]:
    try:
        return check(doc, settings)
    except ExperimentError as err:
        return [dict(e, loc=list(e["loc"])) for e in err.errors]


def max_variants(settings: Settings) -> int:
    """The largest sweep this server takes: all its variants run at once, for one client."""
    return min(settings.max_sweep_variants, settings.max_runs_per_client, settings.max_runs)


def check_sweep(
    spec: SweepIn, settings: Settings, check: Check = validate_experiment
) -> tuple[dict, list[Variant]]:
    """The normalised base experiment and the checked variants, or SpecError whose errors
    name the field (loc from the request body) and, for a variant, its setting and value.
    Every bound (variants, values) is checked before any variant is built."""
    check_bounds(spec.axes, settings)
    base = _checked(check, spec.experiment, settings)
    if isinstance(base, list):
        raise SpecError(
            [
                {"loc": ["body", "experiment", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in base
            ]
        )
    doc = base[0]
    if doc["training"].get("epochs") is None:
        raise SpecError(
            [
                {
                    "loc": ["body", "experiment", "training", "epochs"],
                    "msg": "a sweep needs a number of epochs (not null): its variants are "
                    "compared when they end",
                    "type": "value_error",
                }
            ]
        )
    count = 1
    for axis in spec.axes:
        count *= len(axis.values)
    limit = max_variants(settings)
    if count > limit:
        raise SpecError(
            [
                {
                    "loc": ["body", "axes"],
                    "msg": f"this sweep has {count} variants; at most {limit} can run at once "
                    "here (LAYERLAB_MAX_SWEEP_VARIANTS, LAYERLAB_MAX_RUNS_PER_CLIENT): use "
                    "fewer values",
                    "type": "value_error",
                }
            ]
        )
    variants = expand(doc, spec.axes)  # kinds, repeats (SpecError)
    for i, axis in enumerate(spec.axes):
        for j in range(len(axis.values)):
            _one_alone(doc, axis, i, j, variants, settings, check)
    for variant in variants:
        result = _checked(check, variant.experiment, settings)
        if isinstance(result, list):
            raise SpecError(
                [
                    {
                        "loc": ["body", "axes"],
                        "msg": f"the variant {variant.label} cannot run: "
                        f"{_where(result[0])}: {result[0]['msg']}",
                        "type": "value_error",
                    }
                ]
            )
        variant.experiment, variant.check = result
    return doc, variants


def _one_alone(
    doc: dict,
    axis: Axis,
    i: int,
    j: int,
    variants: list[Variant],
    settings: Settings,
    check: Check,
) -> None:
    value = next(v.values for v in variants if v.picks[i] == j)
    key = axis_key(axis)
    result = _checked(check, apply(doc, axis, value[key], i, j), settings)
    if isinstance(result, list):
        first = result[0]
        raise SpecError(
            [
                {
                    "loc": ["body", "axes", i, "values", j],
                    "msg": f"{axis.setting} = {value[key]} cannot run: "
                    f"{_where(first)}: {first['msg']}",
                    "type": "value_error",
                }
            ]
        )
