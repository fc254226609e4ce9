"""Transformer parts: layernorm, multi-head self-attention, positions, global pooling, and
the transformer block, a palette entry that expands into its parts.

Sequences are `(T, F)` (no batch). Attention computes its weights explicitly (softmax of
QKᵀ/√d) rather than through a fused kernel, so the live view can read them and ONNX export
traces plain matrix products.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from .errors import ShapeError
from .layers import LayerParams, LayerType, _need, _need_sequence, register

# ---------------------------------------------------------------- layernorm


@register
class LayerNorm(LayerType):
    name = "layernorm"
    title = "Layer norm"
    description = (
        "Rescales each example's features to zero mean and unit variance, then learns a "
        "scale and shift (per position in a sequence)."
    )
    category = "attention"

    def output_shape(self, shape, p, ctx):
        if ctx.tokens:
            raise _need("real-valued input", shape, "token ids need an embedding layer first")
        return shape

    def build(self, shape, p, ctx):
        # (F,) and (T, F): over the features; (C, H, W): over the whole example.
        return nn.LayerNorm(list(shape[-1:] if len(shape) < 3 else shape))


# ---------------------------------------------------------------- attention


class AttentionParams(LayerParams):
    heads: int = Field(2, ge=1, le=16, description="attention heads, each looking on its own")
    dim: int | None = Field(
        None, ge=1, le=4096, description="width of queries, keys and values; null: the input's"
    )
    causal: bool = Field(False, description="each position sees only itself and earlier ones")


class SelfAttention(nn.Module):
    """Multi-head self-attention: (N, T, F) -> (N, T, dim). `keep_weights` keeps the last
    forward's weights (N, heads, T, T) in `weights`, detached, for the live view."""

    def __init__(self, features: int, dim: int, heads: int, causal: bool):
        super().__init__()
        self.features, self.heads, self.dim, self.causal = features, heads, dim, causal
        self.qkv = nn.Linear(features, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.keep_weights = False
        self.weights: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        n, t, _ = x.shape
        head_dim = self.dim // self.heads
        # (N, T, 3·dim) -> three (N, heads, T, head_dim)
        q, k, v = self.qkv(x).reshape(n, t, 3, self.heads, head_dim).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-2, -1) / math.sqrt(head_dim)  # (N, heads, T, T)
        if self.causal:
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(mask, float("-inf"))
        weights = scores.softmax(dim=-1)
        if self.keep_weights:
            self.weights = weights.detach()
        mixed = (weights @ v).transpose(1, 2).reshape(n, t, self.dim)
        return self.out(mixed)

    def extra_repr(self) -> str:
        return f"heads={self.heads}, dim={self.dim}, causal={self.causal}"


@register
class Attention(LayerType):
    name = "attention"
    title = "Self-attention"
    description = (
        "Each position looks at every position (heads look in parallel) and takes a "
        "weighted mix of their values: softmax(QKᵀ/√d)·V."
    )
    category = "attention"
    Params = AttentionParams

    def output_shape(self, shape, p, ctx):
        t, f = _need_sequence(shape, ctx)
        dim = p.dim or f
        if dim % p.heads:
            raise ShapeError(
                f"splits dim {dim} into {p.heads} heads: dim must be a multiple of heads"
            )
        return (t, dim)

    def build(self, shape, p, ctx):
        return SelfAttention(shape[1], p.dim or shape[1], p.heads, p.causal)


# ---------------------------------------------------------------- positions


class PositionalParams(LayerParams):
    mode: Literal["learned", "sinusoidal"] = Field(
        "learned", description="learned: one trained vector per position; sinusoidal: fixed waves"
    )


class Positions(nn.Module):
    """Adds a (T, F) position table to (N, T, F): a parameter, or fixed sinusoids."""

    def __init__(self, length: int, features: int, learned: bool):
        super().__init__()
        self.length, self.features, self.learned = length, features, learned
        if learned:
            self.table = nn.Parameter(torch.randn(length, features) * 0.1)
        else:
            self.register_buffer("table", sinusoids(length, features))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.table

    def extra_repr(self) -> str:
        return f"length={self.length}, features={self.features}, learned={self.learned}"


def sinusoids(length: int, features: int) -> Tensor:
    """The transformer's fixed positions: sin and cos at geometric wavelengths, (T, F)."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(
        torch.arange(0, features, 2, dtype=torch.float32) * (-math.log(1e4) / features)
    )
    table = torch.zeros(length, features)
    table[:, 0::2] = torch.sin(pos * rate)
    table[:, 1::2] = torch.cos(pos * rate)[:, : features // 2]
    return table


@register
class Positional(LayerType):
    name = "positional"
    title = "Positions"
    description = "Adds a position vector to each token's vector, so attention can tell order."
    category = "attention"
    Params = PositionalParams

    def output_shape(self, shape, p, ctx):
        return _need_sequence(shape, ctx)

    def build(self, shape, p, ctx):
        return Positions(shape[0], shape[1], p.mode == "learned")


# ---------------------------------------------------------------- pooling


class GlobalPool(nn.Module):
    """Mean over time (N, T, F) -> (N, F) or over space (N, C, H, W) -> (N, C)."""

    def __init__(self, dims: tuple[int, ...]):
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        return x.mean(dim=self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


@register
class GlobalPoolType(LayerType):
    name = "global_pool"
    title = "Global average pool"
    description = "Averages over time (T, F) -> (F,) or over space (C, H, W) -> (C,)."
    category = "pooling"

    def output_shape(self, shape, p, ctx):
        if ctx.tokens or len(shape) not in (2, 3):
            raise _need("a sequence (T, F) or feature maps (C, H, W)", shape)
        return (shape[0],) if len(shape) == 3 else (shape[1],)

    def build(self, shape, p, ctx):
        return GlobalPool((2, 3) if len(shape) == 3 else (1,))


# ---------------------------------------------------------------- per-position head


class PerPosition(nn.Module):
    """The per-position classification head: (N, T, F) -> logits (N, classes, T), the
    layout cross entropy takes for (N, T) targets."""

    def __init__(self, features: int, classes: int):
        super().__init__()
        self.features, self.classes = features, classes
        self.linear = nn.Linear(features, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(x).transpose(1, 2)
