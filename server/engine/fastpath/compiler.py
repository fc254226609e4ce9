"""Loading the compiled kernel (fused.py) in the background, once per process.

`warm()` starts one daemon thread that imports numba and compiles the kernel, or loads it from
numba's disk cache, kept across restarts and shared by every process of the machine: numba's
own place (`__pycache__` beside fused.py, or a per-user directory where that is read-only), or
`NUMBA_CACHE_DIR`. A cold compile takes ~10-30 s on 2 busy cores, a cached load ~1-2 s. The worker's runs keep training meanwhile (NumPy
path): numba releases the GIL while LLVM works and the kernel itself runs with `nogil`.
`kernel()` is the compiled training function once ready, else None (`predictor()` its forward
for the validation records, ready with it); `status()` says why not.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

_lock = threading.Lock()
_thread: threading.Thread | None = None
_kernel: Callable | None = None
_predict: Callable | None = None
_adam_rows: Callable | None = None
_status = "not started"
ready_after_s: float | None = None  # seconds from warm() to a ready kernel


def kernel() -> Callable | None:
    """The compiled `train_batches`, or None while it loads or when numba is missing."""
    return _kernel


def predictor() -> Callable | None:
    """The compiled `predict` (the stack's raw outputs), ready with `kernel()`."""
    return _predict


def stacked_adam() -> Callable | None:
    """The compiled `adam_rows` (a stacked epoch's Adam step), ready with `kernel()`."""
    return _adam_rows


def status() -> str:
    return "ready" if _kernel is not None else _status


def warm(cache_dir: Path | str | None = None) -> None:
    """Start compiling or loading the kernel in the background (once per process); with
    `cache_dir`, numba's cache goes there (benchmarks time a cold compile so)."""
    global _thread, _status
    with _lock:
        if _thread is not None:
            return
        _status = "loading"
        _thread = threading.Thread(
            target=_load, args=(cache_dir,), name="layerlab-fastpath", daemon=True
        )
        _thread.start()


def wait(timeout: float | None = None) -> bool:
    """Block until the background load ends (tests, benchmarks); -> whether it is ready."""
    if _thread is not None:
        _thread.join(timeout)
    return _kernel is not None


def _load(cache_dir: Path | str | None) -> None:
    global _kernel, _predict, _adam_rows, _status, ready_after_s
    start = time.perf_counter()
    # At normal priority on purpose: this thread holds the GIL through most of numba's import
    # and cache load, and a niced GIL holder on busy cores starves the process's other threads
    # (its heartbeat went silent for over 5 s and the watchdog killed a healthy worker).
    try:
        if cache_dir is not None:
            os.environ["NUMBA_CACHE_DIR"] = str(Path(cache_dir).expanduser())
        from . import fused
    except ImportError:
        _status = "numba is not installed (pip install layerlab[fast])"
        return
    try:
        _smoke(fused.train_batches, fused.predict, fused.adam_rows)
    except Exception as err:  # noqa: BLE001 - the NumPy path remains; say why
        _status = f"the compiled kernel failed to build: {type(err).__name__}: {err}"
        return
    ready_after_s = time.perf_counter() - start
    _predict = fused.predict
    _adam_rows = fused.adam_rows
    _kernel = fused.train_batches


def _smoke(train_batches: Callable, predict: Callable, adam_rows: Callable) -> None:
    """One call of each with the argument types the runner passes: compiles (or loads) them."""
    f32, i64 = np.float32, np.int64
    layout = np.array([[2, 1, 0, 2, 6, 0, -1]], i64)
    train_batches(
        np.zeros((2, 2), f32), np.zeros(2, i64), np.zeros((2, 1), f32), np.arange(2, dtype=i64),
        np.array([0, 2], i64), 0, 1, layout, np.zeros(3, f32), np.zeros(3, f32),
        np.zeros(3, f32), np.zeros(3, f32), 2, 0, 1, np.zeros(8), 0, np.zeros((2, 1), f32),
        np.zeros((1, 2)),
    )  # fmt: skip
    predict(np.zeros((2, 2), f32), layout, np.zeros(3, f32), np.zeros((2, 1), f32))
    rows, col = np.zeros((1, 3), f32), np.zeros(1, f32)
    adam_rows(rows, rows, rows, rows, 2, col, col, col, col, col, col, col, col)
