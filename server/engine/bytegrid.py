"""Byte grids: compact arrays for snapshots, and the JSON-safety helpers probes and records use.

A byte grid is `{"shape": [..], "lo": float, "hi": float, "b64": "<base64 uint8>"}` with
value = lo + (hi - lo) * byte / 255 (static/js/bytegrid.js decodes it). A 40x40 heatmap is
1,600 bytes (~2.1 KB base64) instead of ~32 KB of float JSON, and 256 levels are plenty for a
colour scale. Non-finite values are stored as `lo` (they never reach the browser as NaN).
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
import torch
from torch import Tensor


def rounded(x: float | int | Tensor | None, digits: int = 6) -> float | None:
    """A float rounded to `digits` significant digits, or None when it is not finite."""
    if x is None:
        return None
    x = float(x)
    if not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def rounded_list(t: Tensor | np.ndarray, decimals: int = 4) -> list:
    """A tensor as nested lists of floats rounded to `decimals` places (None where not
    finite), JSON-safe. Vectorised: a 64x64 weight matrix takes ~0.1 ms."""
    a = t.detach().to("cpu", torch.float64).numpy() if isinstance(t, Tensor) else np.asarray(t)
    a = np.round(a.astype(np.float64), decimals)
    finite = np.isfinite(a)
    if finite.all():
        return a.tolist()
    return np.where(finite, a, None).tolist()  # object array: None where not finite


def byte_grid(t: Tensor | np.ndarray, lo: float | None = None, hi: float | None = None) -> dict:
    """Quantise an array to uint8 over [lo, hi] (default: its finite min and max)."""
    if isinstance(t, Tensor):
        t = t.detach().to("cpu", torch.float32).numpy()
    return byte_grids(np.asarray(t)[None], lo, hi, per_row=False)[0]


def byte_grids(
    t: Tensor | np.ndarray, lo: float | None = None, hi: float | None = None, per_row: bool = True
) -> list[dict]:
    """One byte grid per row of t (K, ...), each of shape t.shape[1:], quantised in one
    vectorised pass. per_row: each row gets its own finite min/max (e.g. one heatmap per
    neuron, each with full contrast); else one range for all. Fixed lo/hi override both.

    In NumPy on purpose: a snapshot quantises a few small arrays (32 neuron thumbnails of
    10x10, one 40x40 surface), where each torch op's ~5-10 us of dispatch made this ~0.25 ms a
    call, a tenth of a tiny net's probe; NumPy's float32 arithmetic gives the same bytes."""
    if isinstance(t, Tensor):
        t = t.detach().to("cpu", torch.float32).numpy()
    a = np.asarray(t, dtype=np.float32)
    k = a.shape[0]
    flat = a.reshape(k, -1)  # (K, D)
    finite = np.isfinite(flat)
    all_finite = bool(finite.all())
    own_range = lo is None and hi is None  # each row (or all) over its own min and max
    if lo is None or hi is None:
        if not flat.shape[1]:
            mins = maxs = np.zeros(k, np.float32)
        elif all_finite:
            mins, maxs = flat.min(axis=1), flat.max(axis=1)
        else:
            big = np.finfo(np.float32).max
            mins = np.where(finite, flat, big).min(axis=1)
            maxs = np.where(finite, flat, -big).max(axis=1)
        if not per_row:
            mins = np.full(k, mins.min(initial=np.inf), np.float32)
            maxs = np.full(k, maxs.max(initial=-np.inf), np.float32)
        none = mins > maxs  # rows without a finite value
        mins, maxs = np.where(none, 0, mins), np.where(none, 0, maxs)
        if lo is not None:
            mins = np.full(k, lo)
        if hi is not None:
            maxs = np.full(k, hi)
    else:
        mins, maxs = np.full(k, lo), np.full(k, hi)
    mins, maxs = mins.astype(np.float32), maxs.astype(np.float32)
    span = (maxs - mins)[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scale = np.where(span > 0, np.float32(255.0) / span, np.float32(0.0))
        q = flat - mins[:, None]
        q *= scale
        np.rint(q, out=q)  # np.round's rule (half to even)
        # Each row over its own finite min and max already lies in [0, 255]: no clip.
        if not (own_range and all_finite):
            np.clip(q, 0, 255, out=q)
    if not all_finite:
        q = np.where(finite, q, 0)
    q = q.astype(np.uint8)
    shape = list(a.shape[1:])
    los, his = mins.tolist(), maxs.tolist()
    if np.isfinite(mins).all() and np.isfinite(maxs).all():  # rounded(v, 7), inline
        fmt = "{:.7g}".format
        los, his = [float(fmt(v)) for v in los], [float(fmt(v)) for v in his]
    else:
        los, his = [rounded(v, 7) for v in los], [rounded(v, 7) for v in his]
    b64 = base64.b64encode
    return [
        {"shape": shape, "lo": lo_i, "hi": hi_i, "b64": b64(row.tobytes()).decode("ascii")}
        for lo_i, hi_i, row in zip(los, his, q, strict=True)
    ]


def decode_grid(grid: dict) -> np.ndarray:
    """The float32 values of a byte grid (for tests and Python clients)."""
    raw = np.frombuffer(base64.b64decode(grid["b64"]), dtype=np.uint8).astype(np.float32)
    lo, hi = float(grid["lo"] or 0.0), float(grid["hi"] or 0.0)
    return (lo + (hi - lo) * raw / 255.0).reshape(grid["shape"])


def json_safe(obj: Any) -> Any:
    """Replace non-finite floats by None, recursively (a last line of defence before JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj
