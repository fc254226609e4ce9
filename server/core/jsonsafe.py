"""JSON that a browser accepts: NaN and infinity never leave the server."""

from __future__ import annotations

import json
import math
from typing import Any


def json_safe(obj: Any) -> Any:
    """A copy of `obj` that JSON can carry: non-finite floats become None, tuples become lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if obj is None or isinstance(obj, str | int | bool):
        return obj
    if hasattr(obj, "tolist"):  # numpy and torch scalars and arrays
        return json_safe(obj.tolist())
    return str(obj)


def dumps(obj: Any) -> str:
    """Compact JSON that a browser accepts: NaN and infinity are sent as null."""
    try:
        return json.dumps(obj, allow_nan=False, separators=(",", ":"))
    except (ValueError, TypeError):
        return json.dumps(json_safe(obj), allow_nan=False, separators=(",", ":"))
