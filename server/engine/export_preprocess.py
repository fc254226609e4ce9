"""The exported script's preprocessing: what a user does to raw data before the network sees
it (feature crosses of 2D points, standardised table rows, scaled pixels, token ids), written
as a `preprocess` function with its constants, and an example input to call it with.
"""

from __future__ import annotations

import torch

from . import layers as layer_registry
from .datasets import Data
from .datasets.planar import CROSS_LABELS
from .model import Plan
from .module_code import INDENT, ExportError, py_literal
from .preprocess import Preprocessing
from .schema import Experiment


def shape_literal(shape: tuple[int, ...] | list[int]) -> str:
    return layer_registry.shape_text(tuple(shape))


def _floats(values: torch.Tensor) -> str:
    """A float32 tensor as a list literal whose values read back exactly."""
    return "[" + ", ".join(repr(float(v)) for v in values.reshape(-1).tolist()) + "]"


def preprocess_section(experiment: Experiment, plan: Plan) -> tuple[str, str, str]:
    """The preprocessing constants and `preprocess`, an example raw input for `__main__`
    (an expression), and a few words on that input."""
    data = plan.data
    if data is None:  # the preprocessing constants (e.g. tabular statistics) come from it
        raise ExportError("export needs the plan with its data: plan(experiment, settings)")
    p = Preprocessing.of(experiment.dataset.name, plan)  # the page's predict follows it too
    shape = p.input_shape
    if p.kind == "planar":
        return _planar(list(p.crosses), data.meta.get("extent"))
    if p.kind == "tabular":
        return _tabular(data)
    if p.kind == "images":
        return _images(shape, p.pixel_max)
    if p.kind == "tokens":
        return _tokens(shape, p.vocab_size)
    if p.kind == "sequences":
        return _sequences(shape)
    return _as_is(shape)


def _planar(crosses: list[str], extent: list[float] | None) -> tuple[str, str, str]:
    formulas = {
        "x1": "x1",
        "x2": "x2",
        "x1_squared": "x1 * x1",
        "x2_squared": "x2 * x2",
        "x1_x2": "x1 * x2",
        "sin_x1": "torch.sin(x1)",
        "sin_x2": "torch.sin(x2)",
    }
    columns = "".join(f"{INDENT * 3}{formulas[c]},  # {c}: {CROSS_LABELS[c]}\n" for c in crosses)
    where = (
        f"\n# The points LayerLab drew lie in x1 in [{extent[0]}, {extent[1]}], "
        f"x2 in [{extent[2]}, {extent[3]}]."
        if extent
        else ""
    )
    code = f"""\
# Preprocessing: the network does not see raw 2D points (x1, x2) but these feature crosses of
# each point, computed in this order.{where}
FEATURES = {py_literal(list(crosses))}


def preprocess(points) -> Tensor:
    \"\"\"Raw points (N, 2) -> the model's input features (N, {len(crosses)}).\"\"\"
    points = torch.as_tensor(points, dtype=torch.float32)
    x1, x2 = points[:, 0], points[:, 1]
    return torch.stack(
        [
{columns}        ],
        dim=1,
    )"""
    return code, "[[1.0, 2.0]]", "the point (x1, x2) = (1, 2)"


def _tabular(data: Data) -> tuple[str, str, str]:
    names = list(data.feature_names or [f"x{i}" for i in range(data.input_shape[0])])
    code = f"""\
# Preprocessing: raw rows of measurements, one column per feature in this order, are
# standardised with the mean and standard deviation of LayerLab's training split.
FEATURE_NAMES = {py_literal(names)}
MEAN = {_floats(data.meta["mean"])}
STD = {_floats(data.meta["std"])}


def preprocess(rows) -> Tensor:
    \"\"\"Raw rows (N, {len(names)}) in the table's own units -> standardised float32 (N, {len(names)}).\"\"\"
    rows = torch.as_tensor(rows, dtype=torch.float64)
    mean = torch.tensor(MEAN, dtype=torch.float64)
    std = torch.tensor(STD, dtype=torch.float64)
    return ((rows - mean) / std).to(torch.float32)"""
    return code, "[MEAN]", "an average row (the training mean)"


def _images(shape: tuple[int, ...], pixel_max: int) -> tuple[str, str, str]:
    c, height, width = shape
    source = {16: "scikit-learn's 8×8 digits", 1: "log-mel spectrogram values"}.get(
        pixel_max, "8-bit grey levels"
    )
    code = f"""\
# Preprocessing: raw pixel values 0..PIXEL_MAX ({source}) are scaled to 0..1, and
# images get their channel axis: (N, H, W) -> (N, {c}, H, W).
PIXEL_MAX = {pixel_max}


def preprocess(pixels) -> Tensor:
    \"\"\"Raw images (N, {height}, {width}) or (N, {c}, {height}, {width}) with values 0..PIXEL_MAX
    -> float32 (N, {c}, {height}, {width}) with values 0..1.\"\"\"
    x = torch.as_tensor(pixels)
    if x.ndim == 3:
        x = x.unsqueeze(1)
    return (x.to(torch.float64) / PIXEL_MAX).to(torch.float32)"""
    example = f"torch.randint(0, PIXEL_MAX + 1, (1, {height}, {width}))"
    return code, example, "random pixels"


def _tokens(shape: tuple[int, ...], vocab: int) -> tuple[str, str, str]:
    (length,) = shape
    code = f"""\
# Preprocessing: inputs are integer token ids 0..VOCAB_SIZE-1, {length} per sequence; the first
# layer (an embedding) looks each one up.
VOCAB_SIZE = {vocab}


def preprocess(tokens) -> Tensor:
    \"\"\"Token ids (N, {length}) -> int64 (N, {length}), checked to lie in 0..VOCAB_SIZE-1.\"\"\"
    x = torch.as_tensor(tokens, dtype=torch.int64)
    if x.numel() and (int(x.min()) < 0 or int(x.max()) >= VOCAB_SIZE):
        raise ValueError(f"token ids must lie in 0..{{VOCAB_SIZE - 1}}")
    return x"""
    return code, f"torch.randint(0, VOCAB_SIZE, (1, {length}))", "random tokens"


def _sequences(shape: tuple[int, ...]) -> tuple[str, str, str]:
    steps, features = shape
    code = f"""\
# Preprocessing: none beyond the shape. Each sample is a sequence of {steps} time steps with
# {features} {"value" if features == 1 else "values"} each, used as it is (no scaling).


def preprocess(series) -> Tensor:
    \"\"\"Sequences (N, {steps}, {features}) as float32; (N, {steps}) is one value per step.\"\"\"
    x = torch.as_tensor(series, dtype=torch.float32)
    return x.unsqueeze(-1) if x.ndim == 2 else x"""
    if features == 1:
        return (
            code,
            f"0.5 * torch.sin(torch.arange({steps}) / 3.0).reshape(1, {steps})",
            "a sine wave",
        )
    return code, f"torch.rand(1, {steps}, {features})", "random values"


def _as_is(shape: tuple[int, ...]) -> tuple[str, str, str]:
    code = f"""\
# Preprocessing: none; each sample is {shape_literal(shape)} float values, used as they are.


def preprocess(x) -> Tensor:
    \"\"\"Inputs (N, *INPUT_SHAPE) as float32.\"\"\"
    return torch.as_tensor(x, dtype=torch.float32)"""
    example = "[[1.0, 2.0]]" if shape == (2,) else f"torch.rand(1, *{shape!r})"
    return code, example, "a sample"
