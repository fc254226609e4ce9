"""Issue 22's export: a graph design's model.py writes its wiring as a readable forward()
and rebuilds the trained network exactly; its ONNX gives PyTorch's outputs within 1e-4."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from safetensors.torch import load_file

from server.config import Settings
from server.engine.blocks import expand_block
from server.engine.export import SCRIPT_NAME, WEIGHTS_NAME, export_trainer
from server.engine.model import parse_experiment
from server.engine.onnx_export import Predictor, example_input, export_onnx
from server.engine.trainer import Trainer

SETTINGS = Settings(device="cpu", persist_runs=False)


def _transformer() -> dict:
    layers = [{"type": "embedding", "dim": 16}, {"type": "positional", "id": "pos"}]
    layers += expand_block("transformer_block", {"heads": 2}, (6, 16), "t0", "pos")
    layers.append({"type": "attention", "heads": 4, "causal": True, "inputs": ["t0_skip2"]})
    return {
        "dataset": {"name": "sort", "length": 6, "vocab": 7, "samples": 200},
        "model": {"layers": layers},
        "training": {"optimizer": "adam", "batch_size": 20, "epochs": 1},
    }


def _residual() -> dict:
    layers = [{"type": "dense", "units": 8, "activation": "tanh", "id": "h"}]
    layers += expand_block("residual_block", {"activation": "tanh"}, (8,), "r0", "h")
    layers += [
        {"type": "dense", "units": 3, "id": "side", "inputs": ["input"]},
        {"type": "concat", "inputs": ["r0_skip", "side"]},
    ]
    return {
        "dataset": {"name": "spiral", "samples": 100},
        "model": {"layers": layers},
        "training": {"epochs": 1},
    }


DESIGNS = {"transformer_sort": _transformer, "residual_concat_spiral": _residual}


def _trained(name: str) -> Trainer:
    trainer = Trainer(parse_experiment(DESIGNS[name](), SETTINGS), SETTINGS)
    trainer.train_epoch()
    return trainer


@pytest.mark.parametrize("name", DESIGNS)
def test_a_graph_exports_a_readable_forward_that_rebuilds_it(name: str, tmp_path: Path):
    trainer = _trained(name)
    for file, content in export_trainer(trainer, run_id="gr4ph001").items():
        (tmp_path / file).write_bytes(content)
    source = (tmp_path / SCRIPT_NAME).read_text()
    assert "class GraphNetwork(Network):" in source
    if name == "residual_concat_spiral":  # the skip and the join, in plain Python
        assert "h3 = self.body[3](h0, h2)  # layer 3: add 'r0_skip'" in source
        assert "h5 = self.body[5](h3, h4)  # layer 5: concat" in source
        assert "h4 = self.body[4](x)  # layer 4: dense 'side'" in source
    spec = importlib.util.spec_from_file_location(f"graph_export_{name}", tmp_path / SCRIPT_NAME)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build_model()
    model.load_state_dict(load_file(str(tmp_path / WEIGHTS_NAME)), strict=True)
    model.eval()
    assert str(model).removeprefix("Graph") == str(trainer.model)  # the same modules
    x = trainer.x_val[:16]
    with torch.no_grad(), trainer.eval_mode():
        assert torch.allclose(model(x), trainer.model(x), atol=1e-6)


@pytest.mark.parametrize("name", DESIGNS)
def test_a_graph_in_onnx_gives_pytorchs_outputs(name: str):
    trainer = _trained(name)
    content = export_onnx(trainer.model, trainer.plan)
    predictor = Predictor(trainer.model, trainer.plan).eval()
    session = ort.InferenceSession(content, providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        x = example_input(trainer.plan, batch)
        with torch.no_grad():
            expected = predictor(x).numpy()
        (got,) = session.run(["output"], {"input": x.numpy()})
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)
