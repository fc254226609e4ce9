"""Palette blocks: ready designs that expand into their parts, so every part stays visible
and editable in the design (a block is never a layer type of its own).

- `transformer_block` (heads, dim, mlp_units): layernorm, attention, add, layernorm, dense,
  dense, add: the pre-norm transformer layer.
- `residual_block` (units, activation): dense, dense (linear), add, activation: the residual
  block of a ResNet on flat features.

`expand_block(name, params, input_shape, prefix, source)` gives the layer specs with `id`s
`<prefix>_<part>` and `inputs`, reading from `source` (an id, or "input").
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ExperimentError
from .layers import Activation, Shape, shape_text


class TransformerBlockParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    heads: int = Field(2, ge=1, le=16, description="attention heads")
    dim: int | None = Field(None, ge=1, le=4096, description="attention width; null: the input's")
    mlp_units: int | None = Field(
        None, ge=1, le=16_384, description="hidden units of the feed-forward part; null: 2× input"
    )


class ResidualBlockParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    activation: Activation = Field("tanh", description="non-linearity inside the block")
    units: int | None = Field(None, ge=1, le=100_000, description="hidden units; null: the input's")


BLOCKS: dict[str, tuple[str, str, type[BaseModel]]] = {
    "transformer_block": (
        "Transformer block",
        "layernorm → attention → add (skip) → layernorm → dense → dense → add (skip)",
        TransformerBlockParams,
    ),
    "residual_block": (
        "Residual block",
        "dense → dense (linear) → add (the skip from the block's input)",
        ResidualBlockParams,
    ),
}

Kind = Literal["transformer_block", "residual_block"]


def describe_blocks() -> list[dict]:
    """The palette's blocks: name, title, what it expands into, its parameter schema."""
    return [
        {
            "type": name,
            "title": title,
            "description": text,
            "params": params.model_json_schema(),
            "defaults": params().model_dump(),
        }
        for name, (title, text, params) in BLOCKS.items()
    ]


def expand_block(
    name: str, params: dict[str, Any], input_shape: Shape, prefix: str, source: str
) -> list[dict]:
    """The parts of block `name` on an input of `input_shape`; ExperimentError at the field."""
    if name not in BLOCKS:
        raise ExperimentError.single(
            ("block",), f"unknown block {name!r}; choose one of {', '.join(BLOCKS)}"
        )
    try:
        p = BLOCKS[name][2].model_validate(params)
    except ValidationError as err:
        raise ExperimentError(
            [
                {"loc": ("params", *e["loc"]), "msg": e["msg"], "type": e["type"]}
                for e in err.errors()
            ]
        ) from None
    width = input_shape[-1] if input_shape else 0
    if name == "transformer_block":
        if len(input_shape) != 2:
            raise ExperimentError.single(
                ("input_shape",),
                f"a transformer block needs a sequence (T, F), not {shape_text(input_shape)}: "
                "start with an embedding layer",
            )
        return _transformer(p, width, prefix, source)
    if len(input_shape) != 1:
        raise ExperimentError.single(
            ("input_shape",),
            f"a residual block needs flat features (F,), not {shape_text(input_shape)}",
        )
    return _residual(p, width, prefix, source)


def _transformer(p: TransformerBlockParams, width: int, prefix: str, source: str) -> list[dict]:
    def part(key: str) -> str:
        return f"{prefix}_{key}"

    return [
        {"type": "layernorm", "id": part("norm1"), "inputs": [source]},
        {
            "type": "attention",
            "id": part("attn"),
            "inputs": [part("norm1")],
            "heads": p.heads,
            "dim": p.dim,
            "causal": False,
        },
        {"type": "add", "id": part("skip1"), "inputs": [source, part("attn")]},
        {"type": "layernorm", "id": part("norm2"), "inputs": [part("skip1")]},
        {
            "type": "dense",
            "id": part("mlp"),
            "inputs": [part("norm2")],
            "units": p.mlp_units or 2 * width,
            "activation": "gelu",
        },
        {
            "type": "dense",
            "id": part("proj"),
            "inputs": [part("mlp")],
            "units": width,
            "activation": "linear",
        },
        {"type": "add", "id": part("skip2"), "inputs": [part("skip1"), part("proj")]},
    ]


def _residual(p: ResidualBlockParams, width: int, prefix: str, source: str) -> list[dict]:
    def part(key: str) -> str:
        return f"{prefix}_{key}"

    return [
        {
            "type": "dense",
            "id": part("a"),
            "inputs": [source],
            "units": p.units or width,
            "activation": p.activation,
        },
        {
            "type": "dense",
            "id": part("b"),
            "inputs": [part("a")],
            "units": width,
            "activation": "linear",
        },
        {"type": "add", "id": part("skip"), "inputs": [source, part("b")]},
    ]


def expand_into(
    layers: list[dict], name: str, params: dict[str, Any], last_shape: Shape
) -> list[dict]:
    """The design's layers with block `name` appended after its last layer (whose output
    shape is `last_shape`); the last layer gets an id if it has none, the block a fresh
    prefix (t0, t1... for transformers, r0, r1... for residual blocks)."""
    layers = [dict(layer) for layer in layers]
    source = "input"
    if layers:
        taken = {layer.get("id") for layer in layers}
        if not layers[-1].get("id"):
            k = len(layers) - 1
            while f"l{k}" in taken:
                k += 1
            layers[-1]["id"] = f"l{k}"
        source = layers[-1]["id"]
    letter = "t" if name == "transformer_block" else "r"
    ids = {str(layer.get("id")) for layer in layers}
    k = 0
    while any(i.startswith(f"{letter}{k}_") for i in ids):
        k += 1
    return layers + expand_block(name, params, last_shape, f"{letter}{k}", source)
