"""Checking a design along its wiring: each layer's parameters, then its shape rule on the
shapes it reads (a stack: the layer before; a graph: its `inputs`), in the graph's order.

`walk` gives the planned layers, the shape entering the head, the loss and the wiring, or
raises ExperimentError whose errors name the layer index and field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from pydantic import ValidationError

from ..config import Settings
from .datasets import DataShapes
from .errors import ExperimentError, ShapeError
from .graph import GRAPH_FIELDS, MergeType, Wiring, sources_text, wire
from .layers import LAYERS, LayerContext, LayerParams, LayerType, Shape, shape_text
from .schema import Experiment

TASK_LOSSES: dict[str, tuple[str, ...]] = {
    "classification": ("cross_entropy",),
    "regression": ("mse", "mae", "huber"),
    "forecasting": ("mse", "mae", "huber"),
    "reconstruction": ("mse", "mae", "huber", "bce"),
}


@dataclass
class PlannedLayer:
    index: int
    kind: LayerType
    params: LayerParams
    input_shape: Shape
    output_shape: Shape
    ctx: LayerContext
    inputs: tuple[int, ...] = ()  # positions it reads (-1: the network's input)
    input_shapes: tuple[Shape, ...] = ()  # one per input (merge layers have several)


def walk(
    exp: Experiment, settings: Settings, shapes: DataShapes, body_only: bool = False
) -> tuple[list, Shape, str, Wiring | None]:
    """Walk the layers along their wiring (a stack: in order) from the data's input shape;
    errors name the layer index and field."""
    layers, errors = _parse_layers(exp)
    try:
        wiring = wire(exp.model.layers)
    except ExperimentError as err:
        errors.extend(err.errors)
        wiring = None
    planned: dict[int, PlannedLayer] = {}
    tokens = shapes.vocab_size is not None
    data_source = f"the dataset ({exp.dataset.name})"
    outputs: dict[int, tuple[Shape, str]] = {-1: (tuple(shapes.input_shape), data_source)}
    for i in wiring.order if wiring is not None else ():
        if layers[i] is None or any(j not in outputs for j in wiring.inputs[i]):
            continue  # its parameters, or a layer it reads, are already in error
        kind, params = layers[i]
        ins = [outputs[j] for j in wiring.inputs[i]]
        error = _place(i, kind, params, ins, wiring.inputs[i], tokens, shapes, settings)
        if isinstance(error, dict):
            errors.append(error)
            continue
        planned[i] = error
        outputs[i] = (error.output_shape, f"layer {i} ({kind.name})")
    last = len(exp.model.layers) - 1
    shape = outputs[last][0] if last in outputs else tuple(shapes.input_shape)
    if body_only:
        if errors:
            raise ExperimentError(errors)
        return [], shape, "", None
    if shapes.positions and last in outputs and (len(shape) != 2 or shape[0] != shapes.positions):
        errors.append(
            {
                "loc": ("model", "layers", max(last, 0)),
                "msg": f"the dataset ({exp.dataset.name}) is classified per position: the last "
                f"layer must output a sequence ({shapes.positions}, F), not {shape_text(shape)}",
                "type": "shape",
            }
        )
    if last < 0 and tokens:
        errors.append(
            {
                "loc": ("model", "layers"),
                "msg": f"the dataset ({exp.dataset.name}) gives integer token ids: "
                "start the stack with an embedding layer",
                "type": "shape",
            }
        )
    loss = exp.training.loss or TASK_LOSSES[shapes.task][0]
    if loss not in TASK_LOSSES[shapes.task]:
        allowed = ", ".join(TASK_LOSSES[shapes.task])
        errors.append(
            {
                "loc": ("training", "loss"),
                "msg": f"a {shapes.task} task takes {allowed}, not {loss}",
            }
        )
    if loss == "bce" and shapes.output_activation != "sigmoid":
        errors.append(
            {"loc": ("training", "loss"), "msg": "bce needs targets in [0, 1]; this data has none"}
        )
    if exp.training.device == "cuda" and not torch.cuda.is_available():
        errors.append(
            {
                "loc": ("training", "device"),
                "msg": "this server has no CUDA GPU: choose auto or cpu",
            }
        )
    if errors:
        raise ExperimentError(errors)
    ordered = [planned[i] for i in range(len(planned))]
    return ordered, shape, loss, wiring if wiring is not None and wiring.graph else None


def _parse_layers(exp: Experiment) -> tuple[list, list[dict]]:
    """Each layer's registry entry and validated parameters (None where in error)."""
    layers: list[tuple[LayerType, LayerParams] | None] = []
    errors: list[dict] = []
    for i, spec in enumerate(exp.model.layers):
        loc = ("model", "layers", i)
        kind = LAYERS.get(spec.type)
        if kind is None:
            names = ", ".join(LAYERS)
            errors.append(
                {
                    "loc": (*loc, "type"),
                    "msg": f"unknown layer type '{spec.type}'; choose one of {names}",
                }
            )
            layers.append(None)
            continue
        fields = {k: v for k, v in (spec.model_extra or {}).items() if k not in GRAPH_FIELDS}
        try:
            params = kind.Params.model_validate(fields)
        except ValidationError as err:
            for e in err.errors():
                field = e["loc"][0] if e["loc"] else "type"
                msg = f"layer {i} ({kind.name}): {field}: {e['msg']}"
                errors.append({"loc": (*loc, *e["loc"]), "msg": msg, "type": e["type"]})
            layers.append(None)
            continue
        layers.append((kind, params))
    return layers, errors


def _place(
    i: int,
    kind: LayerType,
    params: LayerParams,
    ins: list[tuple[Shape, str]],
    sources: tuple[int, ...],
    tokens: bool,
    shapes: DataShapes,
    settings: Settings,
) -> PlannedLayer | dict:
    """Plan layer `i` on its inputs' (shape, name) pairs, or the error at its field."""
    loc = ("model", "layers", i)
    in_shapes = [s for s, _ in ins]
    from_data = sources == (-1,) and tokens
    ctx = LayerContext(tokens=True, vocab_size=shapes.vocab_size) if from_data else LayerContext()
    try:
        if isinstance(kind, MergeType) and tokens and -1 in sources:
            return {
                "loc": (*loc, "inputs"),
                "msg": f"layer {i} ({kind.name}) cannot join the dataset's integer token ids: "
                "give them an embedding layer first",
                "type": "shape",
            }
        if isinstance(kind, MergeType):
            out = kind.merge_shape(in_shapes, params)
        elif len(ins) != 1:
            return {
                "loc": (*loc, "inputs"),
                "msg": f"layer {i} ({kind.name}) takes one input, not {len(ins)}: join "
                "them with an add or concat layer first",
                "type": "shape",
            }
        else:
            out = kind.output_shape(in_shapes[0], params, ctx)
    except ShapeError as err:
        text = str(err).replace("{source}", ins[0][1])
        names = ["the input" if j < 0 else f"layer {j}" for j in sources]
        text = text.replace("{sources}", sources_text(in_shapes, names))
        return {"loc": loc, "msg": f"layer {i} ({kind.name}) " + text, "type": "shape"}
    size = math.prod(out)
    if size > settings.max_layer_output:
        return {
            "loc": loc,
            "msg": f"layer {i} ({kind.name}) outputs {shape_text(out)} = {size:,} values per "
            f"sample, over this server's limit of {settings.max_layer_output:,} "
            "(LAYERLAB_MAX_LAYER_OUTPUT)",
            "type": "limit",
        }
    return PlannedLayer(i, kind, params, in_shapes[0], out, ctx, sources, tuple(in_shapes))
