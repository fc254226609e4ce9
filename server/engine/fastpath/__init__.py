"""Tiny networks at native speed: many optimiser steps per call, outside autograd.

A small dense network spends ~90% of an eager PyTorch step in per-op overhead (dispatcher,
autograd, optimiser hooks). For the runs `coverage.cover` accepts, `FastPath` trains the same
batches with hand-written NumPy forward/backward/update kernels over flat buffers that *are*
the model's parameters, gradients and optimiser state (`flat.py`), so probes, export and an
eager step read and continue the very same tensors. No compiler is involved: the fast form is
ready when the trainer is, and the first epoch is not delayed. Everything else trains eagerly.

    attach(trainer) -> FastPath | str   (the fast loop, or why the run trains eagerly)

Many covered runs of one shape (a class on one starter) train one epoch each as one batched
computation: `stacked.train_epochs` (the worker groups them: runs/stacking.py).
"""

from __future__ import annotations

from . import compiler
from .coverage import Coverage, cover
from .runner import FastPath

_threads_limited = False


def _limit_blas_threads() -> None:
    """NumPy's BLAS uses as many threads as torch (workers run one each): never more."""
    global _threads_limited
    if _threads_limited:
        return
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=torch.get_num_threads(), user_api="blas")
    _threads_limited = True


def attach(trainer) -> FastPath | str:
    """The fast loop for `trainer`, or the reason it is not covered."""
    coverage = cover(trainer)
    if isinstance(coverage, str):
        return coverage
    _limit_blas_threads()
    compiled = trainer.settings.fast_path_compiled
    if compiled:
        compiler.warm()
    return FastPath(trainer, coverage, compiled=compiled)


__all__ = ["Coverage", "FastPath", "attach", "cover"]
