"""From an experiment document to a checked plan and a PyTorch network.

`check` walks the layer stack from the dataset's input shape, validating each layer's
parameters and shape rule, derives the output head from the task, and counts parameters on
the meta device, so a hostile design is refused before a single weight is allocated.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import torch
from pydantic import ValidationError
from torch import Tensor, nn

from ..config import Settings
from . import recommender  # noqa: F401  (registers the recommender layer type)
from .attention import PerPosition
from .cost import FlopCounts, check_step_flops, count_flops, rule_flops
from .datasets import Data, DataShapes, dataset_shapes, load_data
from .errors import ExperimentError
from .graph import MergeType, Wiring
from .layers import (
    ReshapeModule,
    Shape,
    shape_text,
)
from .schema import Experiment
from .walk import PlannedLayer
from .walk import walk as _walk


def parse_experiment(doc: Any, settings: Settings) -> Experiment:
    """Validate the document's structure and the limits in settings (not the layers yet)."""
    try:
        exp = Experiment.model_validate(doc)
    except ValidationError as err:
        raise ExperimentError(
            [{"loc": e["loc"], "msg": e["msg"], "type": e["type"]} for e in err.errors()]
        ) from None
    t = exp.training
    errors = []
    if t.epochs is not None and t.epochs > settings.max_epochs:
        errors.append(_limit(("training", "epochs"), t.epochs, settings.max_epochs, "MAX_EPOCHS"))
    if t.batch_size > settings.max_batch_size:
        errors.append(
            _limit(
                ("training", "batch_size"), t.batch_size, settings.max_batch_size, "MAX_BATCH_SIZE"
            )
        )
    if len(exp.model.layers) > settings.max_layers:
        errors.append(
            _limit(("model", "layers"), len(exp.model.layers), settings.max_layers, "MAX_LAYERS")
        )
    if errors:
        raise ExperimentError(errors)
    return exp


def _limit(loc: tuple, value: int, limit: int, env: str) -> dict:
    return {
        "loc": loc,
        "msg": f"{value:,} is over this server's limit of {limit:,} (LAYERLAB_{env})",
        "type": "limit",
    }


@dataclass
class Plan:
    """A checked design: every layer with its shapes, the head, the loss (and the data, when
    loaded: `check` plans from the dataset's shapes alone, without making any data)."""

    shapes: DataShapes
    layers: list[PlannedLayer]
    head_shape: Shape  # the shape entering the head
    loss: str
    wiring: Wiring | None = None  # None: a plain stack, each layer reads the one before
    data: Data | None = None

    @property
    def task(self) -> str:
        return self.shapes.task


def body_output_shape(exp: Experiment, settings: Settings) -> Shape:
    """The shape the design's last layer outputs (the data's own for no layers), checking
    the layers but not yet the head: where the palette appends a block to a design."""
    return _walk(exp, settings, dataset_shapes(exp.dataset.model_dump(), settings), True)[1]


def plan(exp: Experiment, settings: Settings, data: Data | None = None) -> Plan:
    """Check the design against its data (loaded here unless given) and plan every layer."""
    data = data if data is not None else load_data(exp.dataset.model_dump(), settings)
    shapes = DataShapes.of(data)
    layers, head_shape, loss, wiring = _walk(exp, settings, shapes)
    return Plan(shapes, layers, head_shape, loss, wiring, data)


def plan_from_shapes(exp: Experiment, settings: Settings) -> Plan:
    """Check and plan the design from the dataset's shapes alone, making no data: enough to
    build the network (for counting, or to load saved weights into)."""
    shapes = dataset_shapes(exp.dataset.model_dump(), settings)
    return Plan(shapes, *_walk(exp, settings, shapes))


class Network(nn.Module):
    """The user's layers (`body`, one module per layer, so probes can hook each) and the head."""

    def __init__(
        self,
        body: list[nn.Module],
        head: nn.Module,
        inputs: list[list[int]] | None = None,
        order: list[int] | None = None,
    ):
        super().__init__()
        self.body = nn.ModuleList(body)
        self.head = head
        # A graph: body[i] reads the outputs of body[j] for j in inputs[i] (-1: the input),
        # computed in `order`; the last body layer feeds the head. None: a plain stack.
        self.inputs = inputs
        self.order = order

    def forward(self, x: Tensor) -> Tensor:
        if self.inputs is None or self.order is None:
            for layer in self.body:
                x = layer(x)
            return self.head(x)
        outs = {-1: x}
        for i in self.order:
            outs[i] = self.body[i](*[outs[j] for j in self.inputs[i]])
        return self.head(outs[len(self.body) - 1])

    @torch.no_grad()
    def set_weight(
        self,
        layer: int | str,
        to: int,
        source: int | None = None,
        weight: float | None = None,
        bias: float | None = None,
    ) -> float:
        """Set one weight (neuron `to` <- input `source`) or one bias (neuron `to`) of a dense
        layer, in place (`layer`: its index in model.layers, or "head": the snapshot's
        weights/biases addressing). In place keeps tensors that alias the parameter (the fast
        path's flat buffer) in step. -> the old value. Raises ExperimentError at `value.*`."""
        module = self.head if layer == "head" else None
        if isinstance(layer, int) and 0 <= layer < len(self.body):
            module = self.body[layer]
        if module is None:
            raise ExperimentError.single(
                ("value", "layer"),
                f'layer must be "head" or a layer index 0 to {len(self.body) - 1}, not {layer!r}',
            )
        lin = next((m for m in module.modules() if isinstance(m, nn.Linear)), None)
        if lin is None:
            raise ExperimentError.single(
                ("value", "layer"), f"layer {layer} is not a dense layer: it has no links to edit"
            )
        if not 0 <= to < lin.out_features:
            raise ExperimentError.single(
                ("value", "to"), f"to must be a neuron 0 to {lin.out_features - 1}, not {to}"
            )
        if bias is not None:
            if lin.bias is None:
                raise ExperimentError.single(("value", "bias"), f"layer {layer} has no bias")
            old = float(lin.bias[to])
            lin.bias[to] = bias
            return old
        if source is None or weight is None or not 0 <= source < lin.in_features:
            raise ExperimentError.single(
                ("value", "from"),
                f"from must be an input 0 to {lin.in_features - 1}, with a weight, not {source}",
            )
        old = float(lin.weight[to, source])
        lin.weight[to, source] = weight
        return old


def build_head(p: Plan) -> tuple[nn.Module, str]:
    """The output block the task calls for, and a short description of it."""
    data, shape = p.shapes, p.head_shape
    features = math.prod(shape)
    flat: list[nn.Module] = [nn.Flatten()] if len(shape) > 1 else []
    flat_text = "flatten → " if len(shape) > 1 else ""
    if data.task == "classification" and data.positions:
        n = data.target_shape[0]
        return PerPosition(shape[-1], n), f"dense({n}) per position → softmax"
    if data.task == "classification":
        n = data.target_shape[0]
        return nn.Sequential(*flat, nn.Linear(features, n)), f"{flat_text}dense({n}) → softmax"
    if data.task in ("regression", "forecasting"):
        n = math.prod(data.target_shape)
        return nn.Sequential(*flat, nn.Linear(features, n)), f"{flat_text}dense({n}), linear"
    target = tuple(data.target_shape)  # reconstruction: the input's own shape
    if len(shape) == 3 and len(target) == 3 and shape[1:] == target[1:]:
        mods: list[nn.Module] = [nn.Conv2d(shape[0], target[0], 1)]
        text = f"conv2d({target[0]}, 1×1)"
    else:
        mods = [*flat, nn.Linear(features, math.prod(target)), ReshapeModule(target)]
        text = f"{flat_text}dense({math.prod(target)}) → reshape {shape_text(target)}"
    if data.output_activation == "sigmoid" and p.loss != "bce":
        mods.append(nn.Sigmoid())
        text += " → sigmoid"
    return nn.Sequential(*mods), text


def build_model(p: Plan) -> Network:
    """Instantiate the planned network (on the current default device, meta for counting)."""
    body = [
        layer.kind.build_merge(list(layer.input_shapes), layer.params)
        if isinstance(layer.kind, MergeType)
        else layer.kind.build(layer.input_shape, layer.params, layer.ctx)
        for layer in p.layers
    ]
    head, _ = build_head(p)
    if p.wiring is None:
        return Network(body, head)
    return Network(body, head, [list(i) for i in p.wiring.inputs], list(p.wiring.order))


def _count(module: nn.Module) -> int:
    return sum(t.numel() for t in module.parameters())


# `check` runs in the API's threads, and its torch part touches state of the whole process:
# fork_rng saves and restores the global RNG (two at once can restore each other's), and
# FlopCounterMode names each FLOP's module through torch's global module hooks
# (torch.utils.module_tracker), so two counts at once count each other's modules: under 24
# concurrent checks a spiral's first layer showed 4,608 FLOPs instead of 256. One check's torch
# part at a time (24 starters' checks take about a second in all, alone or together).
TORCH_STATE = threading.Lock()


FLOPS = FlopCounts()  # this process's counts, by network_key


def network_key(p: Plan) -> str:
    """A text naming everything `build_model(p)` builds from: the data's shapes, each layer's
    type, parameters (their pydantic repr lists every field), shapes, context and inputs, the
    head's input, the loss and the wiring. Two plans with one key build the same network."""
    layers = [
        (x.kind.name, x.params, x.input_shape, x.output_shape, x.ctx, x.inputs, x.input_shapes)
        for x in p.layers
    ]
    return repr((p.shapes, layers, p.head_shape, p.loss, p.wiring))


def check(exp: Experiment, settings: Settings, data: Data | None = None) -> dict:
    """Per-layer output shapes and parameter counts, the head and the total, or ExperimentError."""
    if data is not None:
        p = plan(exp, settings, data)
    else:
        shapes = dataset_shapes(exp.dataset.model_dump(), settings)
        p = Plan(shapes, *_walk(exp, settings, shapes))
    # Meta tensors still draw from the global RNG when initialised: keep it untouched.
    with TORCH_STATE, torch.random.fork_rng(devices=[]), torch.device("meta"):
        net = build_model(p)
        _, head_text = build_head(p)
    counts = [_count(m) for m in net.body]
    _refuse_batch_of_one(p, exp.training.batch_size)
    total = _count(net)
    if total > settings.max_params:
        biggest = max(range(len(counts)), key=counts.__getitem__) if counts else None
        where = (
            f"; layer {biggest} ({p.layers[biggest].kind.name}) alone has {counts[biggest]:,}"
            if biggest is not None
            else ""
        )
        loc = ("model", "layers", p.layers[biggest].index) if biggest is not None else ("model",)
        raise ExperimentError.single(
            loc,
            f"the model has {total:,} parameters, over this server's limit of "
            f"{settings.max_params:,} (LAYERLAB_MAX_PARAMS){where}",
            "limit",
        )
    key = network_key(p)
    flops = FLOPS.get(key)
    if flops is None:
        with TORCH_STATE, torch.random.fork_rng(devices=[]):
            flops = count_flops(
                net, tuple(p.shapes.input_shape), p.shapes.vocab_size is not None, _rules(p)
            )
        FLOPS.put(key, flops)
    head_out = tuple(p.shapes.target_shape)
    result = {
        "input_shape": list(p.shapes.input_shape),
        "layers": [
            {
                "index": layer.index,
                "type": layer.kind.name,
                "output_shape": list(layer.output_shape),
                # graphs: where it reads from (-1: the input) and each input's shape
                "inputs": list(layer.inputs),
                "input_shapes": [list(s) for s in layer.input_shapes],
                "params": n,
                "flops": f,  # forward + backward, per example
            }
            for layer, n, f in zip(p.layers, counts, flops["layers"], strict=True)
        ],
        "head": {
            "description": head_text,
            "output_shape": list(head_out),
            "params": _count(net.head),
            "flops": flops["head"],
        },
        "total_params": total,
        "total_flops": flops["total"],  # one example, forward + backward
        "step_flops": flops["total"] * exp.training.batch_size,  # one training batch
        "task": p.task,
        "loss": p.loss,
    }
    check_step_flops(result, exp.training.batch_size, settings)
    return result


def _rules(p: Plan) -> dict[int, tuple[int, Shape]]:
    """The body layers whose FLOPs come from a shape rule (cost.rule_flops), by position."""
    rules = {}
    for i, layer in enumerate(p.layers):
        units = getattr(layer.params, "units", 0)
        flops = rule_flops(layer.kind.name, layer.input_shape, units)
        if flops is not None:
            rules[i] = (flops, layer.output_shape)
    return rules


def _refuse_batch_of_one(p: Plan, batch_size: int) -> None:
    """Batch norm needs more than one value per channel in a training batch: refuse a batch
    that gives it one (a batch of one on flat features), in words, at the layer."""
    for layer in p.layers:
        if layer.kind.name != "batchnorm":
            continue
        per_channel = batch_size * math.prod(
            layer.input_shape[1:] if len(layer.input_shape) == 3 else layer.input_shape[:-1]
        )
        if per_channel <= 1:
            raise ExperimentError.single(
                ("model", "layers", layer.index),
                f"layer {layer.index} (batchnorm) normalises each feature over the batch, and a "
                f"batch of {batch_size} gives it a single value per feature: use a batch size of "
                "at least 2, or remove the batch norm layer",
                "value_error",
            )
