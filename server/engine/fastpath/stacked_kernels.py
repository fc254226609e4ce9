"""Losses and optimiser steps for R runs at once: the rules of kernels.py and optim.py, stacked.

Every array has the runs as its first axis: outputs (R, B, D), class ids (R, B), parameter
arenas (R, P) (one row per run, weights first as in `FlatState`), per-run hyper-parameters
(R, 1) float32, so one NumPy call does what R calls of the per-run kernels do, element for
element with the same float32 operations (the per-run path casts its Python floats to float32
the same way). A loss returns the per-run mean (R,) float32 and d loss / d out (R, B, D).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .kernels import HALF, ONE, _sigmoid

Array = np.ndarray


def cross_entropy(out: Array, y: Array) -> tuple[Array, Array]:
    """Mean softmax cross-entropy of logits (R, B, C) against class ids (R, B)."""
    r, b, c = out.shape
    if c == 2:  # the same values without reducing 2-long axes, ~20 us a call at R = 50:
        # max is exact (NaN wins either way) and a sum of two has one rounding in any order
        shifted = out - np.maximum(out[..., :1], out[..., 1:])
        e = np.exp(shifted)
        s = e[..., :1] + e[..., 1:]
    else:
        shifted = out - out.max(axis=2, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=2, keepdims=True)
    rows, cols = np.arange(r)[:, None], np.arange(b)[None, :]
    loss = (np.log(s[..., 0]) - shifted[rows, cols, y]).mean(axis=1)
    grad = e / s
    grad[rows, cols, y] -= ONE
    return loss, grad / np.float32(b)


def mse(out: Array, y: Array) -> tuple[Array, Array]:
    d = out - y
    return (d * d).mean(axis=(1, 2)), d * np.float32(2.0 / (d.shape[1] * d.shape[2]))


def mae(out: Array, y: Array) -> tuple[Array, Array]:
    d = out - y
    return np.abs(d).mean(axis=(1, 2)), np.sign(d) * np.float32(1.0 / (d.shape[1] * d.shape[2]))


def huber(out: Array, y: Array) -> tuple[Array, Array]:
    d = out - y
    ad = np.abs(d)
    per = np.where(ad < ONE, HALF * d * d, ad - HALF)
    scale = np.float32(1.0 / (d.shape[1] * d.shape[2]))
    return per.mean(axis=(1, 2)), np.clip(d, -ONE, ONE) * scale


def bce(out: Array, y: Array) -> tuple[Array, Array]:
    per = np.maximum(out, 0) - out * y + np.log1p(np.exp(-np.abs(out)))
    scale = np.float32(1.0 / (out.shape[1] * out.shape[2]))
    return per.mean(axis=(1, 2)), (_sigmoid(out) - y) * scale


LOSSES: dict[str, Callable[[Array, Array], tuple[Array, Array]]] = {
    "cross_entropy": cross_entropy,
    "mse": mse,
    "mae": mae,
    "huber": huber,
    "bce": bce,
}


@dataclass
class Arena:
    """R runs' flat buffers side by side: rows are runs, columns `FlatState`'s layout."""

    data: Array  # (R, P) parameters
    grad: Array  # (R, P) gradients of the last batch
    slots: dict[str, Array]  # (R, P) each: the optimiser's state, as FlatState names it
    steps: Array  # (R,) int64 optimiser step counts
    n_weights: int  # columns [:n_weights] are weights (L1, L2), the rest biases
    scratch: Array  # (R, P) grad + L2
    tmp: Array  # (R, P)


@dataclass
class Hyper:
    """Per-run hyper-parameters, (R, 1) float32 each, read from each optimiser at the call."""

    lr: Array
    wd: Array
    momentum: Array
    beta1: Array
    beta2: Array
    eps: Array
    alpha: Array
    l1: Array
    one_minus_beta1: Array  # (R, 1) float32 of the double 1 - beta1, as optim.py casts it
    one_minus_beta2: Array
    one_minus_alpha: Array
    decay_factor: Array  # (R, 1) float32 of 1 - lr * weight_decay (AdamW)
    lr64: Array  # (R,) float64: Adam's step size is computed in double, as optim.py does
    beta1_64: Array
    beta2_64: Array
    any_wd: bool  # the switches hold for the whole stack, chunks included: a run with
    any_momentum: bool  # weight decay 0 computes g + 0 * w whenever any run has some
    any_l1: bool

    def rows(self, lo: int, hi: int) -> Hyper:
        """Runs lo:hi's parameters, with the whole stack's switches."""
        fields = {
            name: value[lo:hi] if isinstance(value, np.ndarray) else value
            for name, value in vars(self).items()
        }
        return Hyper(**fields)


def _decayed_grad(a: Arena, h: Hyper) -> Array:
    if not h.any_wd:
        return a.grad
    np.copyto(a.scratch, a.grad)
    nw = a.n_weights
    a.scratch[:, :nw] += h.wd * a.data[:, :nw]
    return a.scratch


def sgd(a: Arena, h: Hyper) -> None:
    g = _decayed_grad(a, h)
    buf = a.slots.get("momentum_buffer")
    if buf is not None:  # the slot exists when momentum != 0 (the stack's key)
        buf *= h.momentum
        buf += g
        g = buf
    np.multiply(g, h.lr, out=a.tmp)
    a.data -= a.tmp


def _adam(a: Arena, h: Hyper, decoupled: bool) -> None:
    a.steps += 1
    t = a.steps
    tmp = a.tmp
    if decoupled:
        if h.any_wd:
            nw = a.n_weights
            a.data[:, :nw] *= h.decay_factor
        g = a.grad
    else:
        g = _decayed_grad(a, h)
    m, v = a.slots["exp_avg"], a.slots["exp_avg_sq"]
    np.subtract(g, m, out=tmp)
    tmp *= h.one_minus_beta1
    m += tmp
    np.multiply(g, g, out=tmp)
    tmp *= h.one_minus_beta2
    v *= h.beta2
    v += tmp
    step_size = (h.lr64 / (1 - h.beta1_64**t)).astype(np.float32)[:, None]
    np.sqrt(v, out=tmp)
    tmp /= np.sqrt(1 - h.beta2_64**t).astype(np.float32)[:, None]
    tmp += h.eps
    np.divide(m, tmp, out=tmp)
    tmp *= step_size
    a.data -= tmp


def adam(a: Arena, h: Hyper) -> None:
    _adam(a, h, decoupled=False)


def adamw(a: Arena, h: Hyper) -> None:
    _adam(a, h, decoupled=True)


def rmsprop(a: Arena, h: Hyper) -> None:
    a.steps += 1
    g = _decayed_grad(a, h)
    tmp = a.tmp
    sq = a.slots["square_avg"]
    sq *= h.alpha
    np.multiply(g, g, out=tmp)
    tmp *= h.one_minus_alpha
    sq += tmp
    np.sqrt(sq, out=tmp)
    tmp += h.eps
    np.divide(g, tmp, out=tmp)
    buf = a.slots.get("momentum_buffer")
    if buf is not None:
        buf *= h.momentum
        buf += tmp
        np.multiply(buf, h.lr, out=tmp)
    else:
        tmp *= h.lr
    a.data -= tmp


def compiled_adam(adam_rows: Callable, h: Hyper, decoupled: bool) -> Callable[[Arena, Hyper], None]:
    """Adam (AdamW: `decoupled`) through the compiled kernel's `adam_rows` (fused.py) for runs
    of hyper-parameters `h`: one pass over each run's row instead of eleven NumPy passes over
    the arena; the same rules. Its per-run columns are made once, not at every batch."""
    r = h.lr.shape[0]
    ones, zeros = np.ones(r, np.float32), np.zeros(r, np.float32)
    if decoupled:
        decay, keep = zeros, _column(h.decay_factor) if h.any_wd else ones
    else:
        decay, keep = (_column(h.wd) if h.any_wd else zeros), ones
    one_b1, b2, one_b2 = _column(h.one_minus_beta1), _column(h.beta2), _column(h.one_minus_beta2)
    eps = _column(h.eps)

    def update(a: Arena, h: Hyper) -> None:
        a.steps += 1
        t = a.steps
        adam_rows(
            a.data, a.grad, a.slots["exp_avg"], a.slots["exp_avg_sq"], a.n_weights, decay, keep,
            one_b1, b2, one_b2,
            (h.lr64 / (1 - h.beta1_64**t)).astype(np.float32),  # the step size, in double
            np.sqrt(1 - h.beta2_64**t).astype(np.float32), eps,
        )  # fmt: skip

    return update


def _column(a: Array) -> Array:
    """(R, 1) -> (R,), contiguous (the compiled kernel's argument types)."""
    return np.ascontiguousarray(a[:, 0])


UPDATES: dict[str, Callable[[Arena, Hyper], None]] = {
    "sgd": sgd,
    "adam": adam,
    "adamw": adamw,
    "rmsprop": rmsprop,
}
