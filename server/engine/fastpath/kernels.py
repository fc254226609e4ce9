"""Activations and losses as NumPy float32 kernels: the forward value and the backward rule.

Each rule matches PyTorch's eager autograd (tests/engine/test_fastpath.py checks them against
it): relu and leaky_relu pass no gradient / the slope at exactly 0, elu uses alpha 1, gelu is
the exact erf form (PyTorch's own kernels, called without autograd: NumPy has no erf), huber
uses delta 1, bce takes logits. Shapes: activations keep their input's shape; losses take
outputs `out` (B, D) and targets (B, D), or (B,) class ids for cross_entropy, and return the
mean loss and d loss / d out (B, D).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

Array = np.ndarray
LEAKY_SLOPE = np.float32(0.01)  # nn.LeakyReLU's default
ONE = np.float32(1.0)
HALF = np.float32(0.5)


def _gelu(z: Array) -> Array:
    return torch.nn.functional.gelu(torch.from_numpy(z)).numpy()


def _gelu_back(g: Array, z: Array, a: Array) -> Array:
    return torch.ops.aten.gelu_backward(torch.from_numpy(g), torch.from_numpy(z)).numpy()


def _sigmoid(z: Array) -> Array:
    # 1 / (1 + e^-z) overflows harmlessly to 0 for very negative z; silence that warning.
    with np.errstate(over="ignore"):
        return ONE / (ONE + np.exp(-z))


# name -> (forward f(z) -> a, backward (g = dL/da, z, a) -> dL/dz)
ACTIVATIONS: dict[str, tuple[Callable[[Array], Array], Callable[[Array, Array, Array], Array]]] = {
    "relu": (lambda z: np.maximum(z, 0), lambda g, z, a: g * (z > 0)),
    "leaky_relu": (
        lambda z: np.where(z > 0, z, z * LEAKY_SLOPE),
        lambda g, z, a: np.where(z > 0, g, g * LEAKY_SLOPE),
    ),
    "elu": (
        lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
        lambda g, z, a: np.where(z > 0, g, g * np.exp(np.minimum(z, 0))),
    ),
    "gelu": (_gelu, _gelu_back),
    "sigmoid": (_sigmoid, lambda g, z, a: g * a * (ONE - a)),
    "tanh": (np.tanh, lambda g, z, a: g * (ONE - a * a)),
    "linear": (lambda z: z, lambda g, z, a: g),
}


def cross_entropy(out: Array, y: Array) -> tuple[float, Array]:
    """Mean softmax cross-entropy of logits (B, C) against class ids (B,)."""
    b = out.shape[0]
    shifted = out - out.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(b)
    loss = float((np.log(s[:, 0]) - shifted[rows, y]).mean())
    grad = e / s
    grad[rows, y] -= ONE
    return loss, grad / np.float32(b)


def mse(out: Array, y: Array) -> tuple[float, Array]:
    d = out - y
    return float((d * d).mean()), d * np.float32(2.0 / d.size)


def mae(out: Array, y: Array) -> tuple[float, Array]:
    d = out - y
    return float(np.abs(d).mean()), np.sign(d) * np.float32(1.0 / d.size)


def huber(out: Array, y: Array) -> tuple[float, Array]:
    d = out - y
    ad = np.abs(d)
    per = np.where(ad < ONE, HALF * d * d, ad - HALF)
    return float(per.mean()), np.clip(d, -ONE, ONE) * np.float32(1.0 / d.size)


def bce(out: Array, y: Array) -> tuple[float, Array]:
    """binary_cross_entropy_with_logits: max(z, 0) - z y + log(1 + e^-|z|), stable."""
    per = np.maximum(out, 0) - out * y + np.log1p(np.exp(-np.abs(out)))
    return float(per.mean()), (_sigmoid(out) - y) * np.float32(1.0 / out.size)


LOSSES: dict[str, Callable[[Array, Array], tuple[float, Array]]] = {
    "cross_entropy": cross_entropy,
    "mse": mse,
    "mae": mae,
    "huber": huber,
    "bce": bce,
}
