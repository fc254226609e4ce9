"""Export: the standalone script rebuilds exactly the trained network and loads its weights.

Every example is trained briefly, exported, run as a script in a fresh interpreter, and
imported: its `build_model()` takes the trainer's state_dict strictly and gives the trainer's
outputs, and its `preprocess` turns raw data into the trainer's own inputs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from safetensors.torch import load, load_file

from server.config import Settings
from server.engine.export import (
    SCRIPT_NAME,
    WEIGHTS_NAME,
    ExportError,
    export_trainer,
    module_code,
    save_weights,
)
from server.engine.model import parse_experiment
from server.engine.trainer import Trainer

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.json"))
SETTINGS = Settings(device="cpu", persist_runs=False)


def train(doc: dict, epochs: int) -> Trainer:
    doc = json.loads(json.dumps(doc))
    doc["training"].update(epochs=epochs, device="cpu")
    trainer = Trainer(parse_experiment(doc, SETTINGS), SETTINGS)
    while not trainer.finished:
        trainer.train_epoch()
    return trainer


def write_export(trainer: Trainer, where: Path) -> Path:
    for name, content in export_trainer(trainer, run_id="t3st1d00").items():
        (where / name).write_bytes(content)
    return where / SCRIPT_NAME


def import_script(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"layerlab_export_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@torch.no_grad()
def trainer_outputs(trainer: Trainer, x: torch.Tensor) -> torch.Tensor:
    with trainer.eval_mode():
        return trainer.model(x)


def exported_model(module: ModuleType, weights: Path) -> torch.nn.Module:
    model = module.build_model()
    model.load_state_dict(load_file(str(weights)), strict=True)
    return model.eval()


def raw_inputs(trainer: Trainer) -> tuple[torch.Tensor, float]:
    """The validation inputs as a user holds them before preprocessing, and how closely the
    script's preprocess must reproduce the trainer's inputs from them."""
    data = trainer.data
    if "points_val" in data.meta and "crosses" in data.meta:
        return data.meta["points_val"], 0.0  # raw 2D points, before the feature crosses
    if "mean" in data.meta:  # tabular: the table's own rows, in its units
        from server.engine.datasets import parse_params
        from server.engine.datasets.split import stratified_split
        from server.engine.datasets.tabular import _table

        dataset, params = parse_params(trainer.experiment.dataset, SETTINGS)
        features, labels, _, _ = _table(dataset.loader)  # as TabularDataset.load splits it
        rng = np.random.default_rng(params.seed)
        _, val = stratified_split(labels, params.train_fraction, rng)
        return torch.from_numpy(features[val]), 1e-5
    if data.meta.get("pixel_max") == 1:  # spectrograms: values 0..1 as they are
        return data.x_val[:, 0].clone(), 1e-6  # a fresh layout: conv sums may differ in ulps
    if data.x_val.ndim == 4:  # digits: pixel values 0..16 (integers), scaled by 1/16
        return (data.x_val[:, 0] * 16).round(), 0.0
    if data.x_val.ndim == 3 and data.x_val.shape[2] == 1:
        return data.x_val[:, :, 0], 0.0  # one value per step
    return data.x_val, 0.0


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_exports_a_script_that_runs_and_matches(path: Path, tmp_path: Path):
    trainer = train(json.loads(path.read_text()), epochs=2)
    script = write_export(trainer, tmp_path)
    source = script.read_text()
    assert "import pickle" not in source and "torch.load(" not in source
    assert "import server" not in source and "from server" not in source

    # A fresh interpreter, elsewhere than the repository: the script stands alone.
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"input (1, {', '.join(map(str, trainer.data.input_shape))})" in done.stdout
    assert any(w in done.stdout for w in ("predicted class", "forecast", "prediction"))

    module = import_script(script, path.stem)
    model = exported_model(module, tmp_path / WEIGHTS_NAME)
    assert str(model) == str(trainer.model)  # the same module tree, hyperparameters included
    assert model.state_dict().keys() == trainer.model.state_dict().keys()
    assert trainer.plan.task == module.TASK
    assert trainer.data.input_shape == module.INPUT_SHAPE
    if trainer.plan.task == "classification":
        assert trainer.data.class_names == module.CLASS_NAMES

    x_val = trainer.x_val[:64]
    expected = trainer_outputs(trainer, x_val)
    with torch.no_grad():
        assert torch.allclose(model(x_val), expected)

    raw, tolerance = raw_inputs(trainer)
    features = module.preprocess(raw[:64])
    assert features.dtype == x_val.dtype and features.shape == x_val.shape
    if tolerance:
        assert torch.allclose(features, x_val, atol=tolerance)
        with torch.no_grad():
            assert torch.allclose(model(features), expected, atol=1e-4)
    else:
        assert torch.equal(features, x_val)
        with torch.no_grad():
            assert torch.allclose(model(features), expected)


# Every layer type of the registry and every head, in a few small designs.
def digits_everything() -> dict:
    return {
        "dataset": {"name": "digits", "train_fraction": 0.2},
        "model": {
            "layers": [
                {"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "leaky_relu"},
                {"type": "batchnorm"},
                {"type": "avgpool2d", "pool_size": 2},
                {"type": "upsample", "scale": 2, "mode": "bilinear"},
                {"type": "maxpool2d", "pool_size": 2, "stride": 2},
                {"type": "conv_transpose2d", "filters": 2, "activation": "elu"},
                {"type": "conv2d", "filters": 3, "kernel_size": 3, "padding": "valid"},
                {"type": "dropout", "rate": 0.3},
                {"type": "flatten"},
                {"type": "dense", "units": 16, "activation": "gelu", "bias": False},
                {"type": "batchnorm"},
                {"type": "reshape", "shape": [4, -1]},
                {"type": "batchnorm"},
                {"type": "rnn", "units": 6, "return_sequences": True},
                {"type": "lstm", "units": 5, "return_sequences": True},
                {"type": "dense", "units": 3, "activation": "sigmoid"},
                {"type": "gru", "units": 4},
            ]
        },
        "training": {"optimizer": "sgd", "learning_rate": 0.01, "batch_size": 32},
    }


DESIGNS = {
    "every_layer": digits_everything(),
    "tokens": {
        "dataset": {"name": "tokens", "samples": 100, "length": 6, "vocab_size": 7},
        "model": {"layers": [{"type": "embedding", "dim": 4}, {"type": "gru", "units": 5}]},
        "training": {"batch_size": 20},
    },
    "conv_autoencoder_bce": {
        "dataset": {"name": "digits_reconstruction", "train_fraction": 0.2},
        "model": {"layers": [{"type": "conv2d", "filters": 4, "activation": "tanh"}]},
        "training": {"loss": "bce", "batch_size": 64},
    },
    "plane_every_cross": {
        "dataset": {
            "name": "plane",
            "samples": 80,
            "crosses": ["x1", "x2", "x1_squared", "x2_squared", "x1_x2", "sin_x1", "sin_x2"],
        },
        "model": {"layers": [{"type": "dense", "units": 5, "activation": "tanh"}]},
        "training": {"batch_size": 20},
    },
    "sine_sequence_head": {
        "dataset": {"name": "sine", "samples": 60, "window": 8, "horizon": 3},
        "model": {"layers": [{"type": "rnn", "units": 4, "return_sequences": True}]},
        "training": {"batch_size": 20},
    },
    "planar_autoencoder": {
        "dataset": {"name": "planar_reconstruction", "samples": 60},
        "model": {"layers": [{"type": "dense", "units": 1, "activation": "linear"}]},
        "training": {"batch_size": 20},
    },
    "head_only": {
        "dataset": {"name": "wine"},
        "model": {"layers": []},
        "training": {"batch_size": 32},
    },
}


@pytest.mark.parametrize("name", DESIGNS)
def test_every_layer_type_and_head_round_trips(name: str, tmp_path: Path):
    trainer = train(DESIGNS[name], epochs=1)
    module = import_script(write_export(trainer, tmp_path), name)
    model = exported_model(module, tmp_path / WEIGHTS_NAME)
    assert str(model) == str(trainer.model)
    x = trainer.x_val[:32]
    with torch.no_grad():
        assert torch.allclose(model(x), trainer_outputs(trainer, x))
    raw, tolerance = raw_inputs(trainer)
    features = module.preprocess(raw[:32])
    assert torch.allclose(features.double(), x.double(), atol=tolerance or 0.0, rtol=1e-6)
    if name == "conv_autoencoder_bce":  # bce trains on logits: predict() applies the sigmoid
        assert torch.allclose(module.predict(model, x), torch.sigmoid(model(x)))


def test_weights_are_safetensors_of_the_state_dict_on_the_cpu():
    trainer = train(DESIGNS["every_layer"], epochs=1)
    tensors = load(save_weights(trainer.model))
    state = trainer.model.state_dict()
    assert tensors.keys() == state.keys()
    assert any(k.endswith("running_mean") for k in tensors)  # buffers travel too
    for key, value in state.items():
        assert tensors[key].device.type == "cpu" and torch.equal(tensors[key], value)


def test_an_unknown_module_is_refused_by_name():
    with pytest.raises(ExportError, match="Softplus"):
        module_code(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Softplus()))
