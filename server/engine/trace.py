"""The trace of one optimiser step: forward values, the error, deltas, gradients and the update.

`traced_step(trainer, sample)` runs exactly one of the trainer's own optimiser steps (the next
mini-batch of the epoch, or training example `sample` alone) with hooks on the real model, and
returns what happened, in PyTorch's own numbers:

- per sample: `x` (the model's input, after preprocessing), `target`, `output` (probabilities
  for classification, predictions otherwise; pre-step weights, as the loss);
- per layer (the head last): `z` the pre-activation (layers with an activation), `a` the
  output, `delta` = dloss/dz (or dloss/da where there is no activation: `delta_of` says which),
  and per parameter tensor `before`, `grad`, `after` (and the optimiser's state after the
  step, e.g. Adam's moments), in PyTorch's layout (`weight` is (out, in));
- `input_grad`: dloss/dx, what the step says about each input value.

Tensors of up to `MAX_VALUES` values (and layers of up to `MAX_UNITS` units) travel whole, as
nested lists; larger ones as a summary (norm, mean, spread, a histogram, and per channel or
per time step norms) marked `"summarised": true`. Every float is finite or null.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from .bytegrid import rounded, rounded_list
from .graph import AddModule, ConcatModule

MAX_VALUES = 4096  # whole tensors up to this many values
MAX_UNITS = 64  # whole per-sample activations for layers up to this many units
HISTOGRAM_BINS = 16


def traced_step(trainer: Any, sample: int | None = None) -> tuple[dict, dict | None]:
    """One optimiser step of `trainer` with its trace: `(trace, record)`, where `record` is the
    epoch's record when the step was the epoch's last mini-batch (else None)."""
    recorder = _Recorder(trainer)
    with recorder.hooked():
        record, idx, loss = trainer.step_batch(sample)
    return recorder.trace(idx, loss, sample), record


class _Recorder:
    """Hooks that keep each layer's z and a (with their gradients) for one step."""

    def __init__(self, trainer: Any):
        self.trainer = trainer
        model: nn.Module = trainer.model
        # Layers in order, the head last: (index, type, module, the module giving z or None).
        types = [layer.kind.name for layer in trainer.plan.layers]
        self.layers: list[tuple[int, str, nn.Module, nn.Module | None]] = []
        for i, (kind, module) in enumerate(zip(types, model.body, strict=True)):
            self.layers.append((i, kind, module, _pre_activation(module)))
        self.layers.append((len(types), "head", model.head, _head_linear(model.head)))
        self.values: dict[tuple[int, str], Tensor] = {}
        self.before: dict[int, dict[str, Tensor]] = {}
        self.x: Tensor | None = None

    @contextmanager
    def hooked(self) -> Iterator[None]:
        handles = []

        def keep(key: tuple[int, str]):
            def hook(_module, inputs, out):
                if isinstance(out, tuple):  # recurrent cells: (output, state)
                    out = out[0]
                if out.requires_grad:
                    out.retain_grad()
                self.values[key] = out

            return hook

        model = self.trainer.model

        def keep_input(_module, inputs):
            x = inputs[0]
            if x.is_floating_point():  # token ids have no gradient
                x = x.detach().requires_grad_(True)  # for dloss/dx: what each input did
            self.x = x
            return (x,)

        handles.append(model.register_forward_pre_hook(keep_input))
        for index, _kind, module, z_module in self.layers:
            handles.append(module.register_forward_hook(keep((index, "a"))))
            if z_module is not None:
                handles.append(z_module.register_forward_hook(keep((index, "z"))))
            self.before[index] = {
                n: p.detach().clone() for n, p in _own_params(module, z_module).items()
            }
        try:
            yield
        finally:
            for h in handles:
                h.remove()

    def trace(self, idx: Tensor, loss: dict, sample: int | None) -> dict:
        t = self.trainer
        y = t.y_train[idx.to(t.y_train.device)]
        out = self.values[(len(self.layers) - 1, "a")].detach()
        if t.plan.task == "classification":
            output = out.softmax(dim=1)
        else:
            output = t.predictions(out).reshape(y.shape)
        optimizer = t.experiment.training.optimizer
        layers = []
        for index, kind, module, z_module in self.layers:
            z = self.values.get((index, "z"))
            a = self.values[(index, "a")]
            has_z = z is not None  # (z is a itself for a linear activation)
            delta_src = z if has_z else a
            entry: dict[str, Any] = {
                "index": index,
                "type": kind,
                "z": _per_sample(z) if has_z else None,
                "a": _per_sample(a),
                "delta": _per_sample(delta_src.grad) if delta_src.grad is not None else None,
                "delta_of": "z" if has_z else "a",
                "params": {},
            }
            if kind == "head" and t.plan.task == "classification":
                entry["a"] = _per_sample(output)  # a = softmax(z): what the loss compares
            if t.plan.wiring is not None and kind != "head":
                entry.update(_branches(t.plan, index, module, a.grad))
            for name, p in _own_params(module, z_module).items():
                entry["params"][name] = {
                    "shape": list(p.shape),
                    "before": _values(self.before[index][name]),
                    "grad": _values(p.grad) if p.grad is not None else None,
                    "after": _values(p.detach()),
                    "state": _optimizer_state(t.optimizer, p),
                }
            layers.append(entry)
        x = self.x
        return {
            "samples": idx.tolist(),
            "single": sample is not None,
            "epoch": t.epoch,
            "batch": loss["batch"],
            "x": _per_sample(x.detach()) if x is not None else None,
            "input_grad": _per_sample(x.grad) if x is not None and x.grad is not None else None,
            "target": rounded_list(y) if not y.is_floating_point() else _per_sample(y),
            "output": _per_sample(output),
            "loss": rounded(loss["total"]),
            "data_loss": rounded(loss["data"]),
            "loss_name": t.plan.loss,
            "optimizer": optimizer,
            "lr": rounded(t.learning_rate),
            "momentum": rounded(t.experiment.training.momentum),
            "layers": layers,
        }


def _branches(plan: Any, index: int, module: nn.Module, grad: Tensor | None) -> dict:
    """A graph layer's `inputs` (positions, -1: the network's input) and, at a join, the
    gradient flowing back into each branch: the whole delta into both sides of an add, each
    input's slice of it at a concat (`branch_grads`, one per input)."""
    layer = plan.layers[index]
    out: dict[str, Any] = {"inputs": list(layer.inputs)}
    if grad is None or len(layer.inputs) < 2:
        return out
    if isinstance(module, AddModule):
        out["branch_grads"] = [_per_sample(grad)] * len(layer.inputs)
    elif isinstance(module, ConcatModule):
        dim = module.dim if module.dim >= 0 else grad.dim() + module.dim
        sizes = [s[dim - 1] for s in layer.input_shapes]  # shapes have no batch axis
        out["branch_grads"] = [_per_sample(g) for g in torch.split(grad, sizes, dim=dim)]
    return out


def _pre_activation(module: nn.Module) -> nn.Module | None:
    """The module whose output is z in a `Sequential(weighted, activation)` layer."""
    if isinstance(module, nn.Sequential) and len(module) == 2:
        return module[0]
    return None


def _head_linear(head: nn.Module) -> nn.Module | None:
    """The head's weighted module (its Linear or 1x1 Conv): its output is the head's z."""
    weighted = [m for m in head.modules() if isinstance(m, nn.Linear | nn.Conv2d)]
    return weighted[0] if weighted else None


def _own_params(module: nn.Module, z_module: nn.Module | None) -> dict[str, Tensor]:
    """A layer's parameter tensors by their short names (`weight`, `bias`, `weight_ih_l0`...)."""
    source = z_module if z_module is not None else module
    named = dict(source.named_parameters())
    if not named:
        named = dict(module.named_parameters())
    return {name.rsplit(".", 1)[-1] if name.count(".") else name: p for name, p in named.items()}


def _values(t: Tensor) -> Any:
    """A whole tensor (nested lists) when small, else its summary."""
    t = t.detach()
    if t.numel() <= MAX_VALUES:
        return rounded_list(t, 6)
    return _summary(t)


def _per_sample(t: Tensor | None) -> Any:
    """(B, ...) values per sample: whole for up to MAX_UNITS units per sample and
    MAX_VALUES in all, else a summary with per-channel (images) or per-step (sequences) norms."""
    if t is None:
        return None
    t = t.detach()
    per_sample = t[0].numel() if t.dim() > 0 and t.shape[0] else 0
    if t.numel() <= MAX_VALUES and per_sample <= MAX_UNITS:
        return rounded_list(t, 6)
    summary = _summary(t)
    if t.dim() == 4:  # (B, C, H, W): one norm per sample and channel
        summary["channel_norms"] = rounded_list(t.flatten(2).norm(dim=2), 6)
    elif t.dim() == 3:  # (B, T, F): one norm per sample and time step
        summary["step_norms"] = rounded_list(t.norm(dim=2), 6)
    elif t.dim() == 2 and t.shape[1] > MAX_UNITS:
        summary["sample_norms"] = rounded_list(t.norm(dim=1), 6)
    return summary


def _summary(t: Tensor) -> dict:
    f = t.detach().to("cpu", torch.float64)
    finite = f[torch.isfinite(f)]
    if finite.numel() == 0:
        return {"summarised": True, "shape": list(t.shape), "norm": None}
    lo, hi = float(finite.min()), float(finite.max())
    counts = torch.histc(finite, bins=HISTOGRAM_BINS, min=lo, max=hi if hi > lo else lo + 1)
    return {
        "summarised": True,
        "shape": list(t.shape),
        "norm": rounded(finite.norm()),
        "mean": rounded(finite.mean()),
        "std": rounded(finite.std()) if finite.numel() > 1 else 0.0,
        "min": rounded(lo),
        "max": rounded(hi),
        "histogram": {"lo": rounded(lo), "hi": rounded(hi), "counts": counts.long().tolist()},
    }


def _optimizer_state(optimizer: torch.optim.Optimizer, p: Tensor) -> dict | None:
    """What the optimiser keeps for `p` after the step: Adam's moments, SGD's momentum."""
    state = optimizer.state.get(p)
    if not state:
        return None
    kept = {}
    for key in ("exp_avg", "exp_avg_sq", "momentum_buffer", "square_avg"):
        if isinstance(state.get(key), Tensor):
            kept[key] = _values(state[key])
    if "step" in state:
        kept["step"] = int(state["step"])
    return kept or None


__all__ = ["MAX_UNITS", "MAX_VALUES", "traced_step"]
