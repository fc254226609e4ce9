"""Graph designs: layers with an `id` and `inputs`, and the merge layers that join branches.

A layer may carry `id` (a short name) and `inputs` (ids, or "input" for the network's input).
Without `inputs` a layer takes the previous layer's output (the first layer: the network's
input), so a plain stack means exactly what it meant before graphs existed.

`wire(layers)` resolves every layer's inputs to positions (-1: the network's input) and an
order to compute them in (a topological order, stable by position), or raises ExperimentError
at `model.layers.<i>.inputs` / `.id` for unknown ids, duplicate ids and cycles.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field
from torch import Tensor, nn

from .errors import ExperimentError, ShapeError
from .layers import LayerContext, LayerParams, LayerType, Shape, register, shape_text

INPUT = "input"  # the id that names the network's input
GRAPH_FIELDS = ("id", "inputs")  # a layer's wiring fields, beside its type's parameters
ID_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,31}$")
MAX_INPUTS = 8  # a join of more branches than this is not a design anyone needs


@dataclass(frozen=True)
class Wiring:
    """Where each layer reads from: `inputs[i]` are positions (-1: the network's input);
    `order` computes every layer after its inputs; `graph` is False for a plain stack."""

    inputs: tuple[tuple[int, ...], ...]
    order: tuple[int, ...]
    graph: bool
    ids: tuple[str | None, ...] = ()  # each layer's id, where it has one


def _spec_field(spec: Any, name: str) -> Any:
    extra = getattr(spec, "model_extra", None) or {}
    return extra.get(name)


def wire(layers: list[Any]) -> Wiring:
    """Resolve `id`/`inputs` of the layer specs; ExperimentError at the field on bad wiring."""
    errors: list[dict] = []
    ids: dict[str, int] = {}
    graph = False
    for i, spec in enumerate(layers):
        ident = _spec_field(spec, "id")
        if ident is None:
            continue
        graph = True
        loc = ("model", "layers", i, "id")
        if not isinstance(ident, str) or not ID_PATTERN.match(ident) or ident == INPUT:
            errors.append(
                {
                    "loc": loc,
                    "msg": f"layer {i}: id must be a short name (letters, digits, _ or -, "
                    f"at most 32, not {INPUT!r}), not {ident!r}",
                    "type": "value_error",
                }
            )
        elif ident in ids:
            errors.append(
                {
                    "loc": loc,
                    "msg": f"layer {i}: id {ident!r} is already the id of layer {ids[ident]}",
                    "type": "value_error",
                }
            )
        else:
            ids[ident] = i
    inputs: list[tuple[int, ...]] = []
    for i, spec in enumerate(layers):
        raw = _spec_field(spec, "inputs")
        if raw is None:
            inputs.append((i - 1,))
            continue
        graph = True
        loc = ("model", "layers", i, "inputs")
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not raw or len(raw) > MAX_INPUTS:
            errors.append(
                {
                    "loc": loc,
                    "msg": f"layer {i}: inputs must be a list of 1 to {MAX_INPUTS} layer ids "
                    f'or "{INPUT}"',
                    "type": "value_error",
                }
            )
            inputs.append(())
            continue
        resolved = []
        for name in raw:
            if name == INPUT:
                resolved.append(-1)
            elif isinstance(name, str) and name in ids:
                resolved.append(ids[name])
            else:
                known = ", ".join([f'"{INPUT}"', *(f'"{k}"' for k in ids)])
                errors.append(
                    {
                        "loc": loc,
                        "msg": f"layer {i}: unknown input {name!r}; known ids: {known}",
                        "type": "value_error",
                    }
                )
        inputs.append(tuple(resolved))
    if errors:
        raise ExperimentError(errors)
    order, stuck = _topological(inputs)
    if stuck:
        first = min(stuck)
        # Told in the direction values flow: each layer feeds the next.
        cycle = " → ".join(f"layer {j}" for j in reversed(_cycle_from(first, inputs, stuck)))
        raise ExperimentError.single(
            ("model", "layers", first, "inputs"),
            f"layer {first}: its inputs form a cycle ({cycle}); a layer cannot depend on "
            "its own output",
            "cycle",
        )
    names = tuple(_spec_field(spec, "id") for spec in layers)
    return Wiring(tuple(inputs), tuple(order), graph, names)


def _topological(inputs: list[tuple[int, ...]]) -> tuple[list[int], set[int]]:
    """Kahn's order, smallest position first; -> (order, positions left in cycles)."""
    waiting = [len({j for j in ins if j >= 0}) for ins in inputs]
    users: list[list[int]] = [[] for _ in inputs]
    for i, ins in enumerate(inputs):
        for j in {j for j in ins if j >= 0}:
            users[j].append(i)
    ready = [i for i, n in enumerate(waiting) if n == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for u in users[i]:
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(ready, u)
    return order, set(range(len(inputs))) - set(order)


def _cycle_from(start: int, inputs: list[tuple[int, ...]], stuck: set[int]) -> list[int]:
    """One cycle through the stuck layers, starting at `start`, for the message."""
    path, seen, node = [start], {start}, start
    while True:
        node = next(j for j in inputs[node] if j in stuck)
        if node in seen:
            return [*path[path.index(node) :], node]
        path.append(node)
        seen.add(node)


# ---------------------------------------------------------------- merge layers


class MergeType(LayerType):
    """A layer that joins several inputs: its shape rule and builder see every input shape.
    Messages use `{sources}`: the inputs as "(32,) from layer 4 with (16,) from layer 6"."""

    category = "graph"

    def merge_shape(self, shapes: list[Shape], p: LayerParams) -> Shape:
        raise NotImplementedError

    def build_merge(self, shapes: list[Shape], p: LayerParams) -> nn.Module:
        raise NotImplementedError

    # A merge also works as a one-input layer (a stack that has not been wired yet).
    def output_shape(self, shape, p, ctx):
        return self.merge_shape([shape], p)

    def build(self, shape, p, ctx):
        return self.build_merge([shape], p)


class AddModule(nn.Module):
    """Sums its inputs, all of one shape: the residual join."""

    def forward(self, *xs: Tensor) -> Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class ConcatModule(nn.Module):
    """Joins its inputs along `dim` (a batch-inclusive axis: -1 features, 1 channels)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, *xs: Tensor) -> Tensor:
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


@register
class Add(MergeType):
    name = "add"
    title = "Add"
    description = "Adds its inputs element by element: the skip (residual) connection's join."

    def merge_shape(self, shapes, p):
        if any(s != shapes[0] for s in shapes[1:]):
            raise ShapeError("joins {sources}: the shapes must match")
        return shapes[0]

    def build_merge(self, shapes, p):
        return AddModule()


class ConcatParams(LayerParams):
    axis: Literal["features", "channels"] = Field(
        "features",
        description="features: the last axis of (F,) or (T, F); channels: C of (C, H, W)",
    )


@register
class Concat(MergeType):
    name = "concat"
    title = "Concatenate"
    description = "Places its inputs side by side along the feature (or channel) axis."
    Params: ClassVar = ConcatParams

    def merge_shape(self, shapes, p):
        axis = 0 if p.axis == "channels" else len(shapes[0]) - 1
        if p.axis == "channels" and any(len(s) != 3 for s in shapes):
            raise ShapeError("joins {sources} along channels: each input must be (C, H, W)")
        rest = [s[:axis] + s[axis + 1 :] for s in shapes]
        if any(len(s) != len(shapes[0]) for s in shapes) or any(r != rest[0] for r in rest):
            raise ShapeError("joins {sources}: every axis but the " + p.axis + " axis must match")
        total = sum(s[axis] for s in shapes)
        return (*shapes[0][:axis], total, *shapes[0][axis + 1 :])

    def build_merge(self, shapes, p):
        return ConcatModule(1 if p.axis == "channels" else -1)


def sources_text(shapes: list[Shape], names: list[str]) -> str:
    """ "(32,) from layer 4 with (16,) from layer 6" for a merge's message."""
    return " with ".join(f"{shape_text(s)} from {n}" for s, n in zip(shapes, names, strict=True))


def merge_context() -> LayerContext:
    return LayerContext()
