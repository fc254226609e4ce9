"""Which runs the fast path covers, and why not the others (eager PyTorch trains those).

Covered: CPU training of a stack of dense layers (leading flatten layers allowed) with any
activation, the classification or regression head (a reshape to the target and a sigmoid for
[0, 1] reconstructions included), every loss, SGD with momentum, Adam, AdamW, RMSprop, L1, L2.
Not covered: dropout, batch norm, convolutions, recurrent layers, embeddings, CUDA (where the
same idea would be CUDA graphs), and models big enough that arithmetic, not PyTorch's per-op
overhead, dominates a step (`MAX_WORK`): there NumPy would only match PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..layers import ReshapeModule

# name of each activation module the layer registry builds, with the settings the kernels
# assume (nn.LeakyReLU's slope 0.01, nn.ELU's alpha 1, exact GELU).
_ACTIVATIONS: dict[type, str] = {
    nn.ReLU: "relu",
    nn.LeakyReLU: "leaky_relu",
    nn.ELU: "elu",
    nn.GELU: "gelu",
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.Identity: "linear",
}
_OPTIMIZERS: dict[type, str] = {
    torch.optim.SGD: "sgd",
    torch.optim.Adam: "adam",
    torch.optim.AdamW: "adamw",
    torch.optim.RMSprop: "rmsprop",
}
# Batch size x parameters per step. Measured here (digits, two relu layers, Adam, one thread,
# a busy 2-core machine): NumPy steps were 17x / 3.7x / 2.0x eager at 0.1M / 0.8M / 5.4M; the
# compiled kernel (scalar loops) 10x / 0.8x / 0.2x, so it only takes the smallest steps.
MAX_WORK = 2_000_000  # above: eager (arithmetic-bound; NumPy's edge is small and shrinking)
COMPILED_MAX_WORK = 50_000  # above: NumPy steps (BLAS) beat the compiled loops


@dataclass
class DenseSpec:
    """One linear layer of the stack: its module and the activation after it."""

    linear: nn.Linear
    activation: str


@dataclass
class Coverage:
    layers: list[DenseSpec]  # the body's dense layers, then the head's linear ("linear")
    head_sigmoid: bool  # the head ends in a sigmoid (reconstruction of [0, 1] data)
    optimizer: str
    work: int  # batch size x parameters: one step's multiply-adds, roughly


def _activation(module: nn.Module) -> str | None:
    name = _ACTIVATIONS.get(type(module))
    if name == "leaky_relu" and module.negative_slope != 0.01:
        return None
    if name == "elu" and module.alpha != 1.0:
        return None
    if name == "gelu" and module.approximate != "none":
        return None
    return name


def _dense(module: nn.Module) -> DenseSpec | None:
    if not (isinstance(module, nn.Sequential) and len(module) == 2):
        return None
    linear, act = module[0], module[1]
    name = _activation(act)
    if type(linear) is not nn.Linear or name is None:
        return None
    return DenseSpec(linear, name)


def cover(trainer) -> Coverage | str:
    """The fast form of `trainer`'s training, or the reason it trains eagerly."""
    if trainer.device.type != "cpu":
        return f"the fast path runs on the CPU; {trainer.device.type} trains eagerly"
    kind = _OPTIMIZERS.get(type(trainer.optimizer))
    if kind is None:
        return f"optimizer {type(trainer.optimizer).__name__} is not covered"
    group = trainer.optimizer.param_groups[0]
    if group.get("nesterov") or group.get("dampening") or group.get("amsgrad"):
        return "nesterov, dampening and amsgrad are not covered"
    if group.get("centered") or group.get("maximize"):
        return "centered RMSprop and maximize are not covered"
    if getattr(trainer.model, "inputs", None) is not None:
        return "a graph (skips and joins) trains eagerly"
    layers: list[DenseSpec] = []
    for i, module in enumerate(trainer.model.body):
        if type(module) is nn.Flatten and not layers:
            continue
        spec = _dense(module)
        if spec is None:
            return f"layer {i} ({type(module).__name__}) is not a dense layer"
        layers.append(spec)
    head = list(trainer.model.head)
    sigmoid = bool(head) and type(head[-1]) is nn.Sigmoid
    if sigmoid:
        head = head[:-1]
    if head and type(head[-1]) is ReshapeModule:
        head = head[:-1]
    if len(head) != 1 or type(head[0]) is not nn.Linear:
        return "the head is not one linear layer"
    layers.append(DenseSpec(head[0], "linear"))
    features = trainer.x_train[0].numel()
    if layers[0].linear.in_features != features:
        return "the input is not flat features"
    if any(p.dtype != torch.float32 for p in trainer.model.parameters()):
        return "the fast path trains float32 parameters"
    params = sum(p.numel() for p in trainer.model.parameters())
    batch = trainer.experiment.training.batch_size
    if batch * params > MAX_WORK:
        return f"a step of {batch} x {params:,} parameters is arithmetic-bound: eager is as fast"
    return Coverage(layers, sigmoid, kind, batch * params)
