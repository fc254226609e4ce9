"""The compute of one training step, counted before anything runs.

A design can be small in parameters and memory and still cost minutes per step (an upsampled
image through two 15×15 convolutions: 7.3 GFLOPs per example, about 87 s per batch of 256 on
one core). So the check counts the floating-point operations of one forward and backward pass
on the meta device (`torch.utils.flop_counter.FlopCounterMode`: matrix products and
convolutions, the ops that dominate; element-wise ops, pooling and the optimiser update are
not counted), per layer and per example, and refuses a step over `max_step_flops`.

FLOPs are counted as PyTorch's flop counter does: a multiply-add is 2. Every counted op is
linear in the batch, so the cost of a step is `batch_size * per-example`.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..config import Settings
from .errors import ExperimentError

Shape = tuple[int, ...]
COUNT_BATCH = 2  # batch norm refuses a training batch of one, even on the meta device
# Recurrent layers by shape rule: on the meta device they decompose step by step in Python
# (1.5 s for a 64-step GRU, too slow for a check on every edit). Gate blocks per cell type:
GATES = {"rnn": 1, "gru": 3, "lstm": 4}
BACKWARD_FACTOR = 3  # forward + backward (gradients of inputs and of weights) ~ 3x forward


def rule_flops(layer_type: str, in_shape: Shape, units: int) -> int | None:
    """FLOPs per example of a layer counted by shape rule rather than on the meta device:
    recurrent layers, `T` steps of `gates` products of (F + H) inputs into H units; None for
    every other type."""
    gates = GATES.get(layer_type)
    if gates is None or len(in_shape) != 2:
        return None
    steps, features = in_shape
    return BACKWARD_FACTOR * steps * 2 * gates * units * (features + units)


class _StandIn(nn.Module):
    """Takes a rule-counted layer's place while counting: its output shape, no FLOPs, and a
    gradient path to its input (so the layers before it count their own backward)."""

    def __init__(self, out_shape: Shape):
        super().__init__()
        self.out_shape = out_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        zero = x.float().sum() * 0  # () on the meta device
        return zero.reshape([1] * (len(self.out_shape) + 1)).expand(x.shape[0], *self.out_shape)


def count_flops(
    net: nn.Module,
    input_shape: Shape,
    tokens: bool,
    rules: dict[int, tuple[int, Shape]] | None = None,
) -> dict:
    """Forward + backward FLOPs per example of `net` (built on the meta device).

    `net` is a `model.Network` (`.body`: one module per user layer, `.head`); `rules` maps a
    body index to (its FLOPs by shape rule, its output shape) for the layers not to run here.
    Returns `{"layers": [flops per body layer], "head": flops, "total": flops}`; the head's
    share includes what no body layer owns (the loss). Nothing is allocated: meta tensors.
    """
    rules = rules or {}
    dtype = torch.int64 if tokens else torch.float32
    x = torch.zeros((COUNT_BATCH, *input_shape), dtype=dtype, device="meta")
    counter = FlopCounterMode(display=False)
    was_training = net.training
    originals = {i: net.body[i] for i in rules}
    for i, (_, out_shape) in rules.items():
        net.body[i] = _StandIn(out_shape)
    net.train()
    try:
        with counter:
            out = net(x)
            out.float().sum().backward()
    finally:
        for i, module in originals.items():
            net.body[i] = module
        net.train(was_training)
        net.zero_grad(set_to_none=True)
    counts = counter.get_flop_counts()
    prefix = type(net).__name__
    layers = [
        sum(counts.get(f"{prefix}.body.{i}", {}).values()) // COUNT_BATCH
        for i in range(len(net.body))
    ]
    total = sum(counts.get("Global", {}).values()) // COUNT_BATCH
    head = max(0, total - sum(layers))
    for i, (flops, _) in rules.items():
        layers[i] = flops
    return {"layers": layers, "head": head, "total": sum(layers) + head}


class FlopCounts:
    """Counts already made, by a key naming everything the counted network is built from
    (model.network_key); bounded, the least recently used dropped first. Counting a digits
    CNN takes ~13 ms, most of its `POST /api/runs`, and the same network is counted again and
    again: by each of a class's students starting one starter (one check at a time:
    model.TORCH_STATE), by each variant of a sweep, and by the worker before it allocates."""

    def __init__(self, size: int = 256):
        self.size = size
        self._counts: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        with self._lock:
            counts = self._counts.get(key)
            if counts is None:
                return None
            self._counts.move_to_end(key)
        return {**counts, "layers": list(counts["layers"])}

    def put(self, key: str, counts: dict) -> None:
        with self._lock:
            self._counts[key] = {**counts, "layers": list(counts["layers"])}
            self._counts.move_to_end(key)
            while len(self._counts) > self.size:
                self._counts.popitem(last=False)

    def __len__(self) -> int:
        return len(self._counts)


def flops_text(flops: float) -> str:
    """1.9 TFLOPs, 320 MFLOPs, 4.1 kFLOPs: three significant figures at most."""
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if flops >= scale:
            return f"{flops / scale:.3g} {unit}FLOPs"
    return f"{flops:.0f} FLOPs"


def check_step_flops(result: dict, batch_size: int, settings: Settings) -> None:
    """Raise ExperimentError when one training step of the checked design costs more than
    `settings.max_step_flops`: at the dominating layer when not even a batch of one fits,
    else at `training.batch_size` with the largest batch that would."""
    per_example = int(result["total_flops"])
    need = per_example * batch_size
    limit = settings.max_step_flops
    if need <= limit:
        return
    layers = result["layers"]
    top = max(layers, key=lambda layer: layer["flops"], default=None)
    share = ""
    if top is not None and per_example > 0:
        share = (
            f"; layer {top['index']} ({top['type']}) takes "
            f"{100 * top['flops'] / per_example:.0f}% of it"
        )
    budget = f"this server's limit of {flops_text(limit)} per step (LAYERLAB_MAX_STEP_FLOPS)"
    fits = math.floor(limit / max(per_example, 1))
    if fits < 1:
        loc = ("model", "layers", top["index"]) if top is not None else ("model",)
        raise ExperimentError.single(
            loc,
            f"one example costs {flops_text(per_example)} to train (forward and backward), "
            f"over {budget}{share}: use fewer filters or units, a smaller kernel, or a smaller "
            "input (less upsampling)",
            "limit",
        )
    raise ExperimentError.single(
        ("training", "batch_size"),
        f"a training step with a batch of {batch_size:,} costs {flops_text(need)} "
        f"({flops_text(per_example)} per example, forward and backward), over {budget}"
        f"{share}; use a batch size of at most {fits:,}, or smaller layers",
        "limit",
    )
