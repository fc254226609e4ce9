"""A parsed upload: the arrays and the info the engine's `upload` dataset reads, as npz bytes.

The file layout is the contract with `server/engine/datasets/upload.py` (see its docstring).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Processed:
    """x: float32 (N, F) or uint8 (N, C, H, W); y: int64 (N,) or float32 (N,)."""

    kind: str  # csv | images | points
    family: str  # tabular | image | 2d
    task: str  # classification | regression
    x: np.ndarray
    y: np.ndarray
    class_names: list[str] | None
    feature_names: list[str]
    name: str
    extra: dict[str, Any] = field(default_factory=dict)  # columns, target, extent, ...

    def info(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "family": self.family,
            "task": self.task,
            "input_shape": list(self.x.shape[1:]),
            "n": int(len(self.x)),
            "class_names": self.class_names,
            "feature_names": self.feature_names,
            "name": self.name,
            **self.extra,
        }

    def npz(self) -> bytes:
        """The arrays and the info as one compressed npz (no pickled objects in it)."""
        buf = io.BytesIO()
        info = np.array(json.dumps(self.info()))  # a 0-d unicode array, not an object
        np.savez_compressed(buf, x=self.x, y=self.y, info=info)
        return buf.getvalue()
