"""PyTorch modules printed as the Python that constructs them, for the exported script.

`module_code(module)` writes `nn.Sequential(nn.Linear(2, 8), nn.Tanh())` and the like: the
constructor's arguments read back from the module, a keyword only where it differs from its
default, so the printed network rebuilds the trainer's modules and its `state_dict` loads with
`strict=True`. LayerLab's own module classes (reshape, sequence batch norm, recurrent) are
printed by name; server/engine/export.py puts their source in the script.
"""

from __future__ import annotations

import json
import math
from typing import Any

from torch import nn

from . import attention, graph
from . import layers as layer_registry
from .recommender import DotRecommender


class ExportError(ValueError):
    """What this exporter cannot write: a module type it does not know, a plan without data."""


ALWAYS = object()  # a keyword with no default: always printed

# Per module type: the constructor's positional attributes, then its keyword attributes with
# their defaults (a keyword is printed only when the module's value differs). Attribute names
# are the constructor's argument names. Exact types only: a subclass must be listed itself.
_KW = dict[str, Any]
_CONV2D: _KW = {
    "stride": 1,
    "padding": 0,
    "dilation": 1,
    "groups": 1,
    "bias": True,
    "padding_mode": "zeros",
}
_BATCHNORM: _KW = {"eps": 1e-5, "momentum": 0.1, "affine": True, "track_running_stats": True}
_RECURRENT: _KW = {
    "num_layers": 1,
    "bias": True,
    "batch_first": False,
    "dropout": 0.0,
    "bidirectional": False,
}
_MODULES: dict[type[nn.Module], tuple[tuple[str, ...], _KW]] = {
    nn.Linear: (("in_features", "out_features"), {"bias": True}),
    nn.Conv2d: (("in_channels", "out_channels", "kernel_size"), _CONV2D),
    nn.ConvTranspose2d: (
        ("in_channels", "out_channels", "kernel_size"),
        {**_CONV2D, "output_padding": 0},
    ),
    nn.MaxPool2d: (
        ("kernel_size",),
        {"stride": None, "padding": 0, "dilation": 1, "return_indices": False, "ceil_mode": False},
    ),
    nn.AvgPool2d: (
        ("kernel_size",),
        {
            "stride": None,
            "padding": 0,
            "ceil_mode": False,
            "count_include_pad": True,
            "divisor_override": None,
        },
    ),
    nn.Upsample: (
        (),
        {
            "size": None,
            "scale_factor": None,
            "mode": "nearest",
            "align_corners": None,
            "recompute_scale_factor": None,
        },
    ),
    nn.Flatten: ((), {"start_dim": 1, "end_dim": -1}),
    nn.Dropout: ((), {"p": 0.5, "inplace": False}),
    nn.BatchNorm1d: (("num_features",), _BATCHNORM),
    nn.BatchNorm2d: (("num_features",), _BATCHNORM),
    nn.RNN: (("input_size", "hidden_size"), {**_RECURRENT, "nonlinearity": "tanh"}),
    nn.LSTM: (("input_size", "hidden_size"), {**_RECURRENT, "proj_size": 0}),
    nn.GRU: (("input_size", "hidden_size"), _RECURRENT),
    nn.Embedding: (
        ("num_embeddings", "embedding_dim"),
        {
            "padding_idx": None,
            "max_norm": None,
            "norm_type": 2.0,
            "scale_grad_by_freq": False,
            "sparse": False,
        },
    ),
    nn.ReLU: ((), {"inplace": False}),
    nn.LeakyReLU: ((), {"negative_slope": 0.01, "inplace": False}),
    nn.ELU: ((), {"alpha": 1.0, "inplace": False}),
    nn.GELU: ((), {"approximate": "none"}),
    nn.Sigmoid: ((), {}),
    nn.Tanh: ((), {}),
    nn.Identity: ((), {}),
    # The registry's own small modules: their source goes into the script as it is.
    layer_registry.ReshapeModule: (("shape",), {}),
    layer_registry._SequenceBatchNorm: (("num_features",), _BATCHNORM),
    layer_registry._Recurrent: (("cell",), {"return_sequences": ALWAYS}),
    nn.LayerNorm: (("normalized_shape",), {"eps": 1e-5, "elementwise_affine": True, "bias": True}),
    graph.AddModule: ((), {}),
    graph.ConcatModule: (("dim",), {}),
    attention.SelfAttention: (("features", "dim", "heads", "causal"), {}),
    attention.Positions: (("length", "features", "learned"), {}),
    attention.GlobalPool: (("dims",), {}),
    attention.PerPosition: (("features", "classes"), {}),
    DotRecommender: (("rows", "dim"), {}),
}
# Classes whose source the script carries (`nn.*` comes from torch), in the script's order.
OWN_CLASSES: tuple[type[nn.Module], ...] = (
    layer_registry.ReshapeModule,
    layer_registry._SequenceBatchNorm,
    layer_registry._Recurrent,
    graph.AddModule,
    graph.ConcatModule,
    attention.SelfAttention,
    attention.sinusoids,
    attention.Positions,
    attention.GlobalPool,
    attention.PerPosition,
    DotRecommender,
)
_PAIRS = {"kernel_size", "stride", "padding", "dilation", "output_padding"}
INDENT = "    "
LINE = 99  # the longest line the printer writes on one line


def _value(module: nn.Module, name: str) -> Any:
    value = getattr(module, name)
    if name == "bias" and not isinstance(value, bool):
        value = value is not None  # Linear/Conv keep a Parameter or None; RNNs a bool
    if name in _PAIRS and isinstance(value, tuple) and len(set(value)) == 1:
        value = value[0]  # (3, 3) -> 3: what the registry passed
    return value


def _class_name(module: nn.Module) -> str:
    cls = type(module)
    return cls.__name__ if cls in OWN_CLASSES else f"nn.{cls.__name__}"


def module_code(module: nn.Module, indent: int = 0) -> str:
    """`module` as the Python expression that constructs it (without its weights)."""
    cls = type(module)
    if cls is nn.Sequential:
        parts = [module_code(child, indent + 1) for child in module]
        one_line = f"nn.Sequential({', '.join(parts)})"
        if "\n" not in one_line and len(INDENT * indent) + len(one_line) <= LINE - 1:
            return one_line
        inner = INDENT * (indent + 1)
        body = "".join(f"{inner}{module_code(child, indent + 1)},\n" for child in module)
        return f"nn.Sequential(\n{body}{INDENT * indent})"
    if cls not in _MODULES:
        raise ExportError(
            f"cannot export a {cls.__name__} module as code: add it to server/engine/module_code.py"
        )
    positional, keywords = _MODULES[cls]
    args = [_literal(_value(module, name), indent) for name in positional]
    for name, default in keywords.items():
        value = _value(module, name)
        if default is ALWAYS or value != default:
            args.append(f"{name}={_literal(value, indent)}")
    return f"{_class_name(module)}({', '.join(args)})"


def _literal(value: Any, indent: int) -> str:
    if isinstance(value, nn.Module):
        return module_code(value, indent)
    if isinstance(value, float) and not math.isfinite(value):
        raise ExportError(f"cannot write {value} as a constant")
    return py_literal(value)


def py_literal(value: Any) -> str:
    """A literal as a formatter writes it: strings (and lists of them) in double quotes."""
    if isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return json.dumps(value)
    return repr(value)
