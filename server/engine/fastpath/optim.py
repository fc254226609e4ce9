"""Optimiser steps over the flat buffers, with PyTorch's update rules (torch.optim, 2.5-2.13).

Each function takes the `FlatState` after the gradients of one batch are in `grad` and updates
`data` and the slot buffers in place: a handful of NumPy operations over all parameters at
once, instead of one PyTorch kernel launch per tensor. Hyper-parameters are read from the
optimiser's first param group at every call, so a learning rate set between calls applies
from the next batch. L2 (`weight_decay`) applies to `[:n_weights]`, as the trainer's groups do.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .flat import FlatState


def _decayed_grad(s: FlatState, wd: float, scratch: np.ndarray) -> np.ndarray:
    """grad + wd * param on the weights (coupled L2), in `scratch`; the grad itself if wd 0."""
    if wd == 0:
        return s.np_grad
    np.copyto(scratch, s.np_grad)
    nw = s.n_weights
    scratch[:nw] += np.float32(wd) * s.np_data[:nw]
    return scratch


def sgd(s: FlatState, group: dict, scratch: np.ndarray, tmp: np.ndarray) -> None:
    g = _decayed_grad(s, group["weight_decay"], scratch)
    momentum = group["momentum"]
    if momentum != 0:
        buf = s.np_slots["momentum_buffer"]  # zeros before the first step: buf = g then
        buf *= np.float32(momentum)
        buf += g
        g = buf
    np.multiply(g, np.float32(group["lr"]), out=tmp)
    s.np_data -= tmp


def _adam(s: FlatState, group: dict, scratch: np.ndarray, tmp: np.ndarray, decoupled: bool):
    lr, wd, eps = group["lr"], group["weight_decay"], group["eps"]
    beta1, beta2 = group["betas"]
    s.step_count += 1
    t = s.step_count
    if decoupled and wd != 0:
        nw = s.n_weights
        s.np_data[:nw] *= np.float32(1 - lr * wd)
        g = s.np_grad
    else:
        g = _decayed_grad(s, wd, scratch)
    m, v = s.np_slots["exp_avg"], s.np_slots["exp_avg_sq"]
    np.subtract(g, m, out=tmp)  # m.lerp_(g, 1 - beta1)
    tmp *= np.float32(1 - beta1)
    m += tmp
    np.multiply(g, g, out=tmp)  # v = beta2 v + (1 - beta2) g^2
    tmp *= np.float32(1 - beta2)
    v *= np.float32(beta2)
    v += tmp
    step_size = lr / (1 - beta1**t)
    np.sqrt(v, out=tmp)  # denom = sqrt(v) / sqrt(1 - beta2^t) + eps
    tmp /= np.float32(math.sqrt(1 - beta2**t))
    tmp += np.float32(eps)
    np.divide(m, tmp, out=tmp)
    tmp *= np.float32(step_size)
    s.np_data -= tmp


def adam(s: FlatState, group: dict, scratch: np.ndarray, tmp: np.ndarray) -> None:
    _adam(s, group, scratch, tmp, decoupled=False)


def adamw(s: FlatState, group: dict, scratch: np.ndarray, tmp: np.ndarray) -> None:
    _adam(s, group, scratch, tmp, decoupled=True)


def rmsprop(s: FlatState, group: dict, scratch: np.ndarray, tmp: np.ndarray) -> None:
    lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
    s.step_count += 1
    g = _decayed_grad(s, group["weight_decay"], scratch)
    sq = s.np_slots["square_avg"]
    sq *= np.float32(alpha)
    np.multiply(g, g, out=tmp)
    tmp *= np.float32(1 - alpha)
    sq += tmp
    np.sqrt(sq, out=tmp)  # avg = sqrt(square_avg) + eps
    tmp += np.float32(eps)
    np.divide(g, tmp, out=tmp)
    if momentum > 0:
        buf = s.np_slots["momentum_buffer"]
        buf *= np.float32(momentum)
        buf += tmp
        np.multiply(buf, np.float32(lr), out=tmp)
    else:
        tmp *= np.float32(lr)
    s.np_data -= tmp


UPDATES: dict[str, Callable[[FlatState, dict, np.ndarray, np.ndarray], None]] = {
    "sgd": sgd,
    "adam": adam,
    "adamw": adamw,
    "rmsprop": rmsprop,
}
