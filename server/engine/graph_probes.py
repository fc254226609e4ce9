"""The snapshot's `graph` section: what attention looks at and what skips carry.

- `attention`: per attention layer, each head's weights (T×T, rows: the position looking,
  columns: where it looks) for the first ATTN_EXAMPLES validation examples, as byte grids on
  [0, 1]; with the example's tokens so the page can label rows and columns.
- `joins`: per add layer, the mean L2 norm (per example) of each input: a residual block's
  contribution beside the skip it is added to.

Bounded: at most MAX_ATTN_LAYERS layers, and fewer examples where T is long.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .attention import SelfAttention
from .bytegrid import byte_grid, rounded
from .graph import AddModule

ATTN_EXAMPLES = 4  # validation examples whose attention maps travel (the page picks one)
MAX_ATTN_LAYERS = 8
MAX_ATTN_CELLS = 65_536  # T·T·heads·layers·examples per snapshot: ~64 KB of bytes at most
NORM_SAMPLES = 64


def wants_graph(trainer: Any) -> bool:
    """A graph design, or one with attention: the section applies."""
    return trainer.plan.wiring is not None or any(
        pl.kind.name == "attention" for pl in trainer.plan.layers
    )


@torch.no_grad()
def graph_section(trainer: Any, x: Tensor) -> dict:
    """The `graph` snapshot section for probe inputs `x` (callers hold no_grad/eval mode)."""
    model = trainer.model
    attn = [i for i, m in enumerate(model.body) if isinstance(m, SelfAttention)]
    attn = attn[:MAX_ATTN_LAYERS]
    adds = [i for i, m in enumerate(model.body) if isinstance(m, AddModule)]
    norms: dict[int, list[float]] = {}

    def keep_norms(i: int):
        def hook(_module, inputs, _output):
            norms[i] = [
                rounded(torch.linalg.vector_norm(t.reshape(t.shape[0], -1), dim=1).mean().item())
                for t in inputs
            ]

        return hook

    handles = [model.body[i].register_forward_hook(keep_norms(i)) for i in adds]
    for i in attn:
        model.body[i].keep_weights = True
    try:
        model(x[:NORM_SAMPLES])
    finally:
        for h in handles:
            h.remove()
        for i in attn:
            model.body[i].keep_weights = False
    section: dict = {"joins": [], "attention": []}
    inputs = trainer.plan.wiring.inputs if trainer.plan.wiring is not None else None
    for i in adds:
        sources = list(inputs[i]) if inputs is not None else [i - 1]
        section["joins"].append({"layer": i, "inputs": sources, "norms": norms.get(i, [])})
    if attn:
        t = model.body[attn[0]].weights.shape[-1]
        cells = sum(model.body[i].heads for i in attn) * t * t
        examples = max(1, min(ATTN_EXAMPLES, MAX_ATTN_CELLS // max(cells, 1), x.shape[0]))
        section["examples"] = [_tokens(x[k]) for k in range(examples)]
        for i in attn:
            weights = model.body[i].weights  # (N, heads, T, T)
            section["attention"].append(
                {
                    "layer": i,
                    "heads": weights.shape[1],
                    "causal": model.body[i].causal,
                    "maps": [
                        [byte_grid(weights[k, h], 0.0, 1.0) for h in range(weights.shape[1])]
                        for k in range(examples)
                    ],
                }
            )
        for i in attn:
            model.body[i].weights = None  # do not hold a batch's maps between snapshots
    return section


def _tokens(x: Tensor) -> list:
    """One example's input as labels for the map's rows and columns."""
    if x.dtype == torch.int64:
        return x.reshape(-1).tolist()
    return list(range(x.shape[0]))
