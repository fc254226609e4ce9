"""Export a trained network as ONNX, for onnxruntime and every other ONNX consumer.

The graph is the exported script's `predict`: model inputs `(N, *INPUT_SHAPE)` as `preprocess()`
gives them, named `input`, and the prediction, named `output` (class probabilities for
classification, the target for regression and forecasting, the reconstruction for an
autoencoder). The batch dimension is dynamic. Weights are the trained ones, embedded in the file.

It uses PyTorch's own exporter (`torch.onnx.export(dynamo=True)`, which needs the `onnx` and
`onnxscript` packages: `pip install layerlab[onnx]`). The exporter costs seconds, so callers run
it away from training (the server does it in a process of its own, see
`server/runs/offline.py`); `onnx_from_weights` is the entry point such a process calls.
"""

from __future__ import annotations

import copy
import logging
import warnings
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from torch import Tensor, nn

from ..config import Settings
from .model import Network, Plan, build_model, plan_from_shapes
from .schema import Experiment

ONNX_NAME = "model.onnx"
OPSET = 18


class OnnxUnavailable(RuntimeError):
    """The exporter's packages are missing, or the network holds what ONNX cannot express."""


class Predictor(nn.Module):
    """The network followed by what the exported script's `predict` applies to its output."""

    def __init__(self, net: Network, plan: Plan):
        super().__init__()
        self.net = net
        self.task, self.loss = plan.task, plan.loss
        self.output_shape = tuple(plan.shapes.target_shape)

    def forward(self, x: Tensor) -> Tensor:
        y = self.net(x)
        if self.task == "classification":
            return y.softmax(dim=1)
        if self.task in ("regression", "forecasting"):
            return y.reshape(y.shape[0], *self.output_shape)
        if self.loss == "bce":  # trained on logits: the reconstruction is their sigmoid
            return torch.sigmoid(y)
        return y


def example_input(plan: Plan, batch: int = 2) -> Tensor:
    """A batch of model inputs of the right shape and dtype (tokens: valid ids)."""
    shape = (batch, *plan.shapes.input_shape)
    if plan.shapes.input_dtype == "int64":
        generator = torch.Generator().manual_seed(0)
        return torch.randint(0, plan.shapes.vocab_size or 1, shape, generator=generator)
    return torch.rand(shape, generator=torch.Generator().manual_seed(0))


def export_onnx(net: Network, plan: Plan) -> bytes:
    """The trained `net` (any device; exported from a CPU copy) as ONNX bytes, or
    OnnxUnavailable saying why not."""
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter's dependency)
    except ImportError:
        raise OnnxUnavailable(
            "ONNX export needs the onnx and onnxscript packages: pip install 'layerlab[onnx]'"
        ) from None
    # A CPU copy in eval mode: the caller's network keeps its device and training mode.
    predictor = Predictor(copy.deepcopy(net), plan).to("cpu").eval()
    x = example_input(plan)
    batch = torch.export.Dim("batch", min=1, max=1 << 16)
    try:
        with _exporter_quiet(), torch.no_grad():
            program = torch.onnx.export(
                predictor,
                (x,),
                input_names=["input"],
                output_names=["output"],
                dynamic_shapes={"x": {0: batch}},
                opset_version=OPSET,
                dynamo=True,
                verbose=False,
                report=False,
            )
    except Exception as err:  # the exporter's own errors are long and internal: say what
        kinds = ", ".join(sorted({type(m).__name__ for m in net.modules() if not m._modules}))
        raise OnnxUnavailable(
            f"PyTorch's ONNX exporter could not express this network ({kinds}): "
            f"{type(err).__name__}; the script and safetensors export still work"
        ) from err
    return program.model_proto.SerializeToString()


def onnx_from_weights(experiment: dict[str, Any], weights: bytes, settings: Settings) -> bytes:
    """Rebuild a run's network from its experiment and safetensors weights and export it:
    what a separate export process runs (nothing from the run's worker is needed)."""
    exp = Experiment.model_validate(experiment)
    plan = plan_from_shapes(exp, settings)
    with torch.random.fork_rng(devices=[]):
        net = build_model(plan)
    net.load_state_dict(load_safetensors(weights), strict=True)
    return export_onnx(net, plan)


class _exporter_quiet:
    """Silence, at this call only, what torch 2.13's exporter says on the way that is not
    about the user's network: warnings about its own internals, and log lines about
    torchvision ops (there is no torchvision here) and unsupported tracing options."""

    _LOGGERS = ("torch.onnx", "torch.export", "torch._export", "onnxscript")

    def __enter__(self) -> None:
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        # torch 2.13's exporter trips over its own deprecations (pytree's LeafSpec,
        # _check_is_size, ...): about PyTorch's internals, never about the user's network.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        # nn.RNN/LSTM/GRU refresh their `_flat_weights` list (views of their registered
        # parameters) on every call; torch.export notes the assignment. The exported graph is
        # checked against PyTorch's own outputs in tests/engine/test_onnx_export.py.
        warnings.filterwarnings("ignore", message=r".*_flat_weights.*assigned during export")
        self._levels = {}
        for name in self._LOGGERS:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.setLevel(logging.CRITICAL)

    def __exit__(self, *exc: object) -> None:
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
        self._warnings.__exit__(*exc)


__all__ = ["ONNX_NAME", "OnnxUnavailable", "Predictor", "export_onnx", "onnx_from_weights"]
