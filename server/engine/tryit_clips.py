"""Validation clips for the speech try-it: examples of a run's own data it was not trained on.

`validation_clips(spec, settings, count)` loads the dataset a run's spec names (as its worker
did: the same seed gives the same split) and returns up to `count` validation examples, the
classes taken in turn: `{"images" (k, H, W) in 0..1, "labels" (k,), "class_names", "split"}`.
Only sets of spectrograms made by the project (`CLIP_SETS`): they load from a shipped file in
milliseconds, and hold nobody's data (an upload's rows are its owner's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.config import Settings

from .datasets import parse_params
from .datasets.preview import floats, ints, per_class

CLIP_SETS = ("spoken_digits",)
MAX_CLIPS = 40  # one request's examples (each 32×32 values: about 5 KB of JSON)


class ClipsError(ValueError):
    """This run's data has no clips to offer; the message says why."""


def validation_clips(spec: Mapping[str, Any], settings: Settings, count: int) -> dict[str, Any]:
    """Up to `count` (at most MAX_CLIPS) validation examples of the spec's data."""
    name = spec.get("name") if isinstance(spec, Mapping) else None
    if name not in CLIP_SETS:
        raise ClipsError(f"clips come from {', '.join(CLIP_SETS)} only, not {name!r}")
    dataset, params = parse_params(spec, settings)
    data = dataset.load(params, settings)
    idx = per_class(data.y_val.numpy(), max(1, min(count, MAX_CLIPS)))
    return {
        "images": floats(data.x_val[idx, 0], decimals=3),
        "labels": ints(data.y_val[idx]),
        "class_names": list(data.class_names or []),
        "split": "validation",
    }


__all__ = ["CLIP_SETS", "MAX_CLIPS", "ClipsError", "validation_clips"]
