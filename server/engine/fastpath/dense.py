"""Forward and backward of a dense stack for one batch, in NumPy over the flat buffers.

Layer l computes z_l = a_{l-1} W_l^T + b_l and a_l = f_l(z_l) with W_l (out, in) and b_l (out,)
the model's own tensors (views of `FlatState.data`); backward writes dL/dW_l and dL/db_l into
the views of `FlatState.grad`. Inputs a_0 are (B, F); the last layer is the head (linear, or
a sigmoid for [0, 1] reconstructions).
"""

from __future__ import annotations

import numpy as np

from .coverage import Coverage
from .flat import FlatState
from .kernels import ACTIVATIONS

Array = np.ndarray


class DenseStack:
    """The covered network as NumPy views of its parameters and gradients."""

    def __init__(self, coverage: Coverage, state: FlatState):
        self.weights: list[Array] = []  # (out, in) each
        self.biases: list[Array | None] = []  # (out,) each
        self.grad_w: list[Array] = []
        self.grad_b: list[Array | None] = []
        self.forward_fns = []
        self.backward_fns = []
        for spec in coverage.layers:
            w, gw = state.views(spec.linear.weight)
            self.weights.append(w)
            self.grad_w.append(gw)
            if spec.linear.bias is not None:
                b, gb = state.views(spec.linear.bias)
            else:
                b = gb = None
            self.biases.append(b)
            self.grad_b.append(gb)
            f, df = ACTIVATIONS[spec.activation]
            self.forward_fns.append(None if spec.activation == "linear" else f)
            self.backward_fns.append(None if spec.activation == "linear" else df)
        if coverage.head_sigmoid:
            f, df = ACTIVATIONS["sigmoid"]
            self.forward_fns[-1], self.backward_fns[-1] = f, df

    def forward(self, x: Array) -> tuple[Array, list[Array], list[Array]]:
        """x (B, F) -> output (B, D), the layer inputs a_{l-1} and pre-activations z_l."""
        inputs, pre = [], []
        a = x
        for w, b, f in zip(self.weights, self.biases, self.forward_fns, strict=True):
            inputs.append(a)
            z = a @ w.T
            if b is not None:
                z += b
            pre.append(z)
            a = z if f is None else f(z)
        return a, inputs, pre

    def backward(self, d_out: Array, out: Array, inputs: list[Array], pre: list[Array]) -> None:
        """From dL/d output (B, D), write every layer's gradients into the flat buffer."""
        g = d_out  # dL/da_l for the top layer
        a = out
        for layer in range(len(self.weights) - 1, -1, -1):
            df = self.backward_fns[layer]
            dz = g if df is None else df(g, pre[layer], a)  # (B, out)
            np.matmul(dz.T, inputs[layer], out=self.grad_w[layer])
            gb = self.grad_b[layer]
            if gb is not None:
                np.sum(dz, axis=0, out=gb)
            if layer:
                g = dz @ self.weights[layer]  # dL/da_{l-1} (B, in)
                a = inputs[layer]
