"""Export a trained run: a standalone PyTorch script and its weights as safetensors.

`export_script(experiment, plan)` writes one Python file that reads top to bottom: what the
network predicts (task, input shape, class names), the preprocessing a user applies to raw
data (feature crosses, standardisation, pixel scaling, token ids), the network itself in plain
`torch.nn` (printed from the modules `build_model` makes, so the trainer's `state_dict` loads
with `strict=True`), and a `__main__` that loads the weights and predicts once.
`save_weights(model)` gives those weights as safetensors bytes. No pickle anywhere.

The script depends on torch and safetensors only, never on LayerLab.
"""

from __future__ import annotations

import inspect
import json
import math
from typing import Any

import torch
from safetensors.torch import save
from torch import nn

from . import layers as layer_registry
from .datasets import Data
from .datasets.planar import CROSS_LABELS
from .model import Network, Plan, build_head, build_model
from .preprocess import Preprocessing
from .schema import Experiment

SCRIPT_NAME = "model.py"
WEIGHTS_NAME = "weights.safetensors"


class ExportError(ValueError):
    """What this exporter cannot write: a module type it does not know, a plan without data."""


# ---------------------------------------------------------------- weights


def save_weights(model: nn.Module) -> bytes:
    """The model's state_dict (parameters and buffers, e.g. batch-norm statistics) as
    safetensors bytes, on the CPU. Keys are the trainer's: `body.0.0.weight`, `head.0.bias`..."""
    # Cloned: the fast path keeps all parameters in one buffer, and safetensors refuses
    # tensors that share memory.
    state = {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}
    return save(state, metadata={"format": "pt"})


# ---------------------------------------------------------------- printing modules as code

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
}
# Classes whose source the script carries (`nn.*` comes from torch), in the script's order.
_OWN_CLASSES: tuple[type[nn.Module], ...] = (
    layer_registry.ReshapeModule,
    layer_registry._SequenceBatchNorm,
    layer_registry._Recurrent,
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
    return cls.__name__ if cls in _OWN_CLASSES else f"nn.{cls.__name__}"


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
            f"cannot export a {cls.__name__} module as code: add it to server/engine/export.py"
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
    return _py(value)


# ---------------------------------------------------------------- the script's parts


def _shape(shape: tuple[int, ...] | list[int]) -> str:
    return layer_registry.shape_text(tuple(shape))


def _floats(values: torch.Tensor) -> str:
    """A float32 tensor as a list literal whose values read back exactly."""
    return "[" + ", ".join(repr(float(v)) for v in values.reshape(-1).tolist()) + "]"


def _rule(title: str) -> str:
    """A section rule: `# the data ---...`, as wide as the longest line."""
    return f"# {title} ".ljust(LINE, "-")


def _py(value: Any) -> str:
    """A literal as a formatter writes it: strings (and lists of them) in double quotes."""
    if isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return json.dumps(value)
    return repr(value)


def _json_lines(label: str, value: Any) -> list[str]:
    """`#   label: {json}` comment lines, a long object broken between its items."""
    prefix = f"#   {label:<9} "
    text = json.dumps(value)
    if len(prefix) + len(text) <= LINE or not isinstance(value, dict):
        return [prefix + text]
    items = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in value.items()]
    lines, current = [], "{"
    for i, item in enumerate(items):
        piece = item + ("}" if i == len(items) - 1 else ",")
        if current != "{" and len(prefix) + len(current) + 1 + len(piece) > LINE:
            lines.append(current)
            current = " " + piece
        else:
            current += ("" if current == "{" else " ") + piece
    lines.append(current)
    pad = "#" + " " * (len(prefix) - 1)
    return [prefix + lines[0]] + [pad + line for line in lines[1:]]


def _header(experiment: Experiment, plan: Plan, note: str | None) -> str:
    doc = experiment.model_dump(mode="json")
    what = f"a {plan.task} network for the {doc['dataset']['name']!r} dataset"
    lines = [
        f'"""LayerLab export: {what}.',
        "",
        *([f"{note[0].upper()}{note[1:]}.", ""] if note else []),
        "A standalone PyTorch script: it rebuilds the trained network with plain torch.nn and",
        "loads its weights from a safetensors file (no pickle). It needs torch and safetensors:",
        "",
        "    python model.py                          # weights.safetensors next to this file",
        "    python model.py path/to/weights.safetensors",
        "",
        "or, from Python: `model = load_model(); y = predict(model, preprocess(raw_inputs))`.",
        "Shapes are written with N for the batch.",
        '"""',
        "",
        "# The design it was trained from (LayerLab's experiment document):",
        *_json_lines("dataset:", doc["dataset"]),
    ]
    for i, layer in enumerate(doc["model"]["layers"]):
        lines += _json_lines("layers:" if i == 0 else "", layer)
    if not doc["model"]["layers"]:
        lines.append("#   layers:   none (the head alone)")
    lines += _json_lines("training:", doc["training"])
    return "\n".join(lines)


_IMPORTS = """\
from __future__ import annotations

import sys
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import Tensor, nn"""


def _data_section(experiment: Experiment, plan: Plan) -> str:
    s = plan.shapes
    lines = [
        _rule("the data"),
        "",
        f"TASK = {_py(s.task)}",
        f"INPUT_SHAPE = {tuple(s.input_shape)!r}  # one sample, without the batch",
        f"INPUT_DTYPE = torch.{s.input_dtype}",
    ]
    if s.task == "classification":
        names = list(s.class_names or [str(i) for i in range(s.target_shape[0])])
        lines.append(f"CLASS_NAMES = {_py(names)}  # output i is the score of class i")
    else:
        lines.append(f"OUTPUT_SHAPE = {tuple(s.target_shape)!r}  # one prediction")
    return "\n".join(lines)


def _preprocess_section(experiment: Experiment, plan: Plan) -> tuple[str, str, str]:
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
FEATURES = {_py(list(crosses))}


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
FEATURE_NAMES = {_py(names)}
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
    source = "scikit-learn's 8×8 digits" if pixel_max == 16 else "8-bit grey levels"
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
# Preprocessing: none; each sample is {_shape(shape)} float values, used as they are.


def preprocess(x) -> Tensor:
    \"\"\"Inputs (N, *INPUT_SHAPE) as float32.\"\"\"
    return torch.as_tensor(x, dtype=torch.float32)"""
    example = "[[1.0, 2.0]]" if shape == (2,) else f"torch.rand(1, *{shape!r})"
    return code, example, "a sample"


def _layer_text(layer: Any) -> str:
    params = ", ".join(f"{k}={_py(v)}" for k, v in layer.params.model_dump().items())
    return f"{layer.kind.name}({params})"


def _network_section(plan: Plan, net: Network) -> str:
    """The classes the network needs (the registry's own, then Network) and build_model()."""
    used = {type(m) for m in net.modules()}
    sources = [inspect.getsource(cls).rstrip() for cls in _OWN_CLASSES if cls in used]
    if layer_registry.ReshapeModule in used:
        sources.insert(0, "Shape = tuple[int, ...]  # a shape without the batch, e.g. (1, 8, 8)")
    sources.append(inspect.getsource(Network).rstrip())
    _, head_text = build_head(plan)
    lines = [
        "def build_model() -> Network:",
        '    """The network exactly as LayerLab built it: the body layers in order, then the',
        '    head. Its state_dict keys are those of the weights file."""',
    ]
    if not plan.layers:
        lines.append("    body: list[nn.Module] = []")
    else:
        lines.append("    body = [")
        for layer, module in zip(plan.layers, net.body, strict=True):
            shapes = f"{_shape(layer.input_shape)} -> {_shape(layer.output_shape)}"
            comment = f"        # layer {layer.index}: {_layer_text(layer)}, {shapes}"
            if len(comment) > LINE:
                comment = (
                    f"        # layer {layer.index}: {_layer_text(layer)}\n        #   {shapes}"
                )
            lines.append(comment)
            lines.append(f"        {module_code(module, 2)},")
        lines.append("    ]")
    target = _shape(plan.shapes.target_shape)
    lines.append(f"    # head: {head_text}, {_shape(plan.head_shape)} -> {target}")
    lines.append(f"    head = {module_code(net.head, 1)}")
    lines.append("    return Network(body, head)")
    return _rule("the network") + "\n\n\n" + "\n\n\n".join(sources) + "\n\n\n" + "\n".join(lines)


def _predict_section(plan: Plan) -> str:
    task, loss = plan.task, plan.loss
    if task == "classification":
        doc = "class probabilities (N, len(CLASS_NAMES)): the softmax of the logits"
        body = "return model(x).softmax(dim=1)"
    elif task in ("regression", "forecasting"):
        doc = "predictions (N, *OUTPUT_SHAPE)"
        body = "return model(x).reshape(len(x), *OUTPUT_SHAPE)"
    elif loss == "bce":
        doc = "reconstructions (N, *OUTPUT_SHAPE): trained with bce, the head gives logits"
        body = "return torch.sigmoid(model(x))"
    else:
        doc = "reconstructions (N, *OUTPUT_SHAPE), the input rebuilt"
        body = "return model(x)"
    return f'''\
{_rule("loading and predicting")}


def load_model(path: str | Path | None = None) -> Network:
    """build_model() with the trained weights (all of them: strict), in eval mode."""
    model = build_model()
    model.load_state_dict(load_file(str(weights_path(path))), strict=True)
    return model.eval()


def weights_path(path: str | Path | None = None) -> Path:
    """`path`, else this script's name with .safetensors, else weights.safetensors beside it."""
    if path is not None:
        return Path(path)
    here = Path(__file__).resolve()
    for candidate in (here.with_suffix(".safetensors"), here.with_name("weights.safetensors")):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no weights beside {{here.name}}: pass the .safetensors file's path")


@torch.no_grad()
def predict(model: Network, x: Tensor) -> Tensor:
    """Model inputs (N, *INPUT_SHAPE), as preprocess() gives them ->
    {doc}."""
    model.eval()
    {body}'''


def _main_section(plan: Plan, example: str, example_text: str) -> str:
    task = plan.task
    if task == "classification":
        report = """\
    best = int(y[0].argmax())
    print(f"predicted class: {CLASS_NAMES[best]} (probability {float(y[0, best]):.3f})")
    print("probabilities:", {n: round(float(y[0, i]), 4) for i, n in enumerate(CLASS_NAMES)})"""
    elif task == "regression":
        report = """\
    print("prediction:", [round(v, 4) for v in y[0].reshape(-1).tolist()])"""
    elif task == "forecasting":
        report = """\
    print(f"forecast of the next {y.shape[1]} values:", [round(v, 4) for v in y[0].tolist()])"""
    else:
        report = """\
    error = float(((y - x) ** 2).mean())
    print(f"prediction: a reconstruction {tuple(y.shape[1:])}, mean squared error {error:.4f}")
    print("(a high reconstruction error marks an input unlike the training data)")"""
    return f"""\
if __name__ == "__main__":
    model = load_model(sys.argv[1] if len(sys.argv) > 1 else None)
    torch.manual_seed(0)
    x = preprocess({example})  # {example_text}
    y = predict(model, x)
    print(f"input {{tuple(x.shape)}}, {{TASK}}")
{report}
"""


def export_script(experiment: Experiment, plan: Plan, note: str | None = None) -> str:
    """The standalone script for `plan` (with its data loaded: the trainer's plan), which
    rebuilds exactly the module tree of `build_model(plan)`. `note` goes in its title."""
    # The module tree to print, on the meta device: nothing allocated, the global RNG kept.
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        net = build_model(plan)
    preprocess, example, example_text = _preprocess_section(experiment, plan)
    top = [_header(experiment, plan, note), _IMPORTS, _data_section(experiment, plan)]
    parts = [
        "\n\n".join(top),  # one blank line: the formatter's, before a comment
        preprocess,
        _network_section(plan, net),
        _predict_section(plan),
        _main_section(plan, example, example_text),
    ]
    return "\n\n\n".join(p.strip("\n") for p in parts) + "\n"


def export_trainer(trainer: Any, run_id: str | None = None) -> dict[str, bytes]:
    """A trainer's export: {"model.py": script, "weights.safetensors": weights} as bytes."""
    epochs = f"{trainer.epoch} epoch{'s' if trainer.epoch != 1 else ''} trained"
    note = f"run {run_id}, {epochs}" if run_id else epochs
    script = export_script(trainer.experiment, trainer.plan, note)
    return {SCRIPT_NAME: script.encode(), WEIGHTS_NAME: save_weights(trainer.model)}


__all__: list[str] = [
    "SCRIPT_NAME",
    "WEIGHTS_NAME",
    "ExportError",
    "export_script",
    "export_trainer",
    "module_code",
    "save_weights",
]
