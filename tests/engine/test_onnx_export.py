"""ONNX export: every example family, briefly trained, gives onnxruntime the same outputs as
PyTorch (the exported script's `predict`), at any batch size."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from server.config import Settings
from server.engine.export import save_weights
from server.engine.model import parse_experiment
from server.engine.onnx_export import (
    OnnxUnavailable,
    Predictor,
    example_input,
    export_onnx,
    onnx_from_weights,
)
from server.engine.trainer import Trainer

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.json"))
SETTINGS = Settings(device="cpu", persist_runs=False)
# Layer types the examples do not use, in two more designs: tokens, batch norm, decoders.
MORE = {
    "tokens_embedding_gru": {
        "dataset": {"name": "tokens"},
        "model": {"layers": [{"type": "embedding", "dim": 8}, {"type": "gru", "units": 8}]},
        "training": {"epochs": 1},
    },
    "conv_decoder_bce": {
        "dataset": {"name": "digits_reconstruction"},
        "model": {
            "layers": [
                {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same"},
                {"type": "batchnorm"},
                {"type": "maxpool2d", "pool_size": 2},
                {"type": "upsample", "scale": 2},
                {"type": "conv_transpose2d", "filters": 4, "kernel_size": 3},
                {"type": "dropout", "rate": 0.2},
            ]
        },
        "training": {"epochs": 1, "loss": "bce"},
    },
}
DESIGNS = {p.stem: json.loads(p.read_text()) for p in EXAMPLES} | MORE


def trained(doc: dict) -> Trainer:
    doc = json.loads(json.dumps(doc))
    doc["training"].update(epochs=1, device="cpu")
    trainer = Trainer(parse_experiment(doc, SETTINGS), SETTINGS)
    trainer.train_epoch()
    return trainer


def run_onnx(content: bytes, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(content, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input"]
    return session.run(["output"], {"input": x.numpy()})[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_onnxruntime_gives_pytorchs_outputs(name: str):
    trainer = trained(DESIGNS[name])
    content = export_onnx(trainer.model, trainer.plan)
    assert trainer.model.training  # the trainer's own model is left as it was
    predictor = Predictor(trainer.model, trainer.plan).eval()
    for batch in (1, 7):  # the batch dimension is dynamic
        x = example_input(trainer.plan, batch)
        with torch.no_grad():
            expected = predictor(x).numpy()
        got = run_onnx(content, x)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)
    if trainer.plan.task == "classification":  # probabilities, as the script's predict()
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)


def test_rebuilt_from_experiment_and_weights_alone():
    """What the server's export process does: no trainer, only what a saved run holds."""
    trainer = trained(DESIGNS["spiral_mlp"])
    weights = save_weights(trainer.model)
    content = onnx_from_weights(trainer.experiment.model_dump(), weights, SETTINGS)
    x = example_input(trainer.plan, 4)
    with torch.no_grad():
        expected = trainer.model(x).softmax(dim=1).numpy()
    np.testing.assert_allclose(run_onnx(content, x), expected, atol=1e-5)
    # The export left the trainer's model as it was: training mode and weights untouched.
    assert trainer.model.training
    assert save_weights(trainer.model) == weights


def test_without_the_exporter_packages_it_says_what_to_install(monkeypatch):
    trainer = trained(DESIGNS["iris_mlp"])
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import now raises ImportError
    with pytest.raises(OnnxUnavailable, match=r"pip install 'layerlab\[onnx\]'"):
        export_onnx(trainer.model, trainer.plan)
