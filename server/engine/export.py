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
from typing import Any

import torch
from safetensors.torch import save
from torch import nn

from . import attention
from . import layers as layer_registry
from .export_graph import graph_class_source
from .export_preprocess import preprocess_section, shape_literal
from .model import TORCH_STATE, Network, Plan, build_head, build_model
from .module_code import LINE, OWN_CLASSES, ExportError, module_code, py_literal
from .schema import Experiment

SCRIPT_NAME = "model.py"
WEIGHTS_NAME = "weights.safetensors"


# ---------------------------------------------------------------- weights


def save_weights(model: nn.Module) -> bytes:
    """The model's state_dict (parameters and buffers, e.g. batch-norm statistics) as
    safetensors bytes, on the CPU. Keys are the trainer's: `body.0.0.weight`, `head.0.bias`..."""
    # Cloned: the fast path keeps all parameters in one buffer, and safetensors refuses
    # tensors that share memory.
    state = {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}
    return save(state, metadata={"format": "pt"})


# ---------------------------------------------------------------- the script's parts


def _rule(title: str) -> str:
    """A section rule: `# the data ---...`, as wide as the longest line."""
    return f"# {title} ".ljust(LINE, "-")


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
        f"TASK = {py_literal(s.task)}",
        f"INPUT_SHAPE = {tuple(s.input_shape)!r}  # one sample, without the batch",
        f"INPUT_DTYPE = torch.{s.input_dtype}",
    ]
    if s.task == "classification":
        names = list(s.class_names or [str(i) for i in range(s.target_shape[0])])
        lines.append(f"CLASS_NAMES = {py_literal(names)}  # output i is the score of class i")
    else:
        lines.append(f"OUTPUT_SHAPE = {tuple(s.target_shape)!r}  # one prediction")
    return "\n".join(lines)


def _layer_text(layer: Any) -> str:
    params = ", ".join(f"{k}={py_literal(v)}" for k, v in layer.params.model_dump().items())
    return f"{layer.kind.name}({params})"


def _network_section(plan: Plan, net: Network) -> str:
    """The classes the network needs (the registry's own, then Network) and build_model()."""
    used = {type(m) for m in net.modules()}
    sources = [inspect.getsource(cls).rstrip() for cls in OWN_CLASSES if cls in used]
    if layer_registry.ReshapeModule in used:
        sources.insert(0, "Shape = tuple[int, ...]  # a shape without the batch, e.g. (1, 8, 8)")
    if attention.Positions in used:  # its fixed table comes from this function
        sources.insert(0, inspect.getsource(attention.sinusoids).rstrip())
    sources.append(inspect.getsource(Network).rstrip())
    network = "Network"
    if plan.wiring is not None:
        sources.append(graph_class_source(plan))
        network = "GraphNetwork"
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
            shapes = f"{shape_literal(layer.input_shape)} -> {shape_literal(layer.output_shape)}"
            comment = f"        # layer {layer.index}: {_layer_text(layer)}, {shapes}"
            if len(comment) > LINE:
                comment = (
                    f"        # layer {layer.index}: {_layer_text(layer)}\n        #   {shapes}"
                )
            lines.append(comment)
            lines.append(f"        {module_code(module, 2)},")
        lines.append("    ]")
    target = shape_literal(plan.shapes.target_shape)
    lines.append(f"    # head: {head_text}, {shape_literal(plan.head_shape)} -> {target}")
    lines.append(f"    head = {module_code(net.head, 1)}")
    lines.append(f"    return {network}(body, head)")
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
    if task == "classification" and plan.shapes.positions:
        report = """\
    tokens = [CLASS_NAMES[int(c)] for c in y[0].argmax(dim=0)]
    print("predicted token per position:", " ".join(tokens))"""
    elif task == "classification":
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
    with TORCH_STATE, torch.random.fork_rng(devices=[]), torch.device("meta"):
        net = build_model(plan)
    preprocess, example, example_text = preprocess_section(experiment, plan)
    imports = _IMPORTS
    if {attention.SelfAttention, attention.Positions} & {type(m) for m in net.modules()}:
        imports = imports.replace("import sys\n", "import math\nimport sys\n")
    top = [_header(experiment, plan, note), imports, _data_section(experiment, plan)]
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
