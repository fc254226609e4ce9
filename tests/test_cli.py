"""The `layerlab` command: check prints the layer table or the errors; train writes history."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from server.cli import main
from server.config import get_settings
from server.engine.errors import ExperimentError
from server.engine.validation import validate_experiment

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.json"))


def test_every_family_has_an_example():
    names = {p.stem for p in EXAMPLES}
    assert {"spiral_mlp", "digits_cnn", "sine_lstm", "waveform_gru"} <= names
    assert {"digits_autoencoder", "digits_anomaly", "iris_mlp"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_check_prints_the_layer_table(path, capsys):
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "total parameters:" in out and "head" in out


def test_check_names_the_broken_layer(tmp_path, capsys):
    doc = {
        "dataset": {"name": "digits"},
        "model": {"layers": [{"type": "flatten"}, {"type": "conv2d"}]},
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "model.layers.1: layer 1 (conv2d) needs an image-shaped input (C, H, W)" in err


def test_check_refuses_what_the_api_refuses(tmp_path, capsys, monkeypatch):
    """One validation for both (engine/validation.py, which POST /api/check answers with): a
    batch that does not fit in a worker passed `layerlab check` before and was a 422 there."""
    doc = {
        "dataset": {"name": "digits"},
        "model": {"layers": [{"type": "conv2d", "filters": 64, "padding": "same"}]},
        "training": {"batch_size": 4096},
    }
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc))
    monkeypatch.setenv("LAYERLAB_WORKER_MEMORY_MB", "800")
    get_settings.cache_clear()
    try:
        assert main(["check", str(path)]) == 2
        with pytest.raises(ExperimentError) as caught:
            validate_experiment(doc, get_settings())
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    (error,) = caught.value.errors
    assert error["loc"] == ("training", "batch_size")
    assert f"training.batch_size: {error['msg']}" in err


def test_check_rejects_a_file_that_is_not_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(SystemExit, match="not valid JSON"):
        main(["check", str(path)])


def test_train_writes_the_epoch_records(tmp_path, capsys):
    out = tmp_path / "history.json"
    example = next(p for p in EXAMPLES if p.stem == "spiral_mlp")
    assert main(["train", str(example), "--epochs", "3", "--device", "cpu", "--out", str(out)]) == 0
    history = json.loads(out.read_text())
    assert [r["epoch"] for r in history] == [1, 2, 3]
    printed = capsys.readouterr().out
    assert "epoch 3/3" in printed and "final: loss" in printed


def test_train_reports_divergence(tmp_path, capsys):
    doc = json.loads(next(p for p in EXAMPLES if p.stem == "spiral_mlp").read_text())
    doc["training"].update(optimizer="sgd", learning_rate=10, epochs=50)
    doc["model"]["layers"] = [{"type": "dense", "units": 64, "activation": "relu"}] * 4
    path = tmp_path / "wild.json"
    path.write_text(json.dumps(doc))
    assert main(["train", str(path), "--device", "cpu"]) == 3
    assert "diverged" in capsys.readouterr().err


def test_train_exports_a_script_and_its_weights(tmp_path, capsys):
    example = next(p for p in EXAMPLES if p.stem == "iris_mlp")
    out = tmp_path / "export"
    assert (
        main(["train", str(example), "--epochs", "2", "--device", "cpu", "--export", str(out)]) == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "model.onnx",
        "model.py",
        "weights.safetensors",
    ]
    printed = capsys.readouterr().out
    assert f"exported model.py and weights.safetensors to {out}" in printed
    assert f"exported model.onnx to {out}" in printed
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    probabilities = session.run(["output"], {"input": np.zeros((3, 4), np.float32)})[0]
    assert probabilities.shape == (3, 3)  # three iris species, for three rows of 4 features
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    done = subprocess.run(
        [sys.executable, "model.py"], cwd=out, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "predicted class:" in done.stdout


@pytest.fixture
def keep_threads():
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_train_sets_its_thread_count(keep_threads, capsys):
    import torch

    from server.cli import train_threads
    from server.config import Settings
    from server.engine.model import parse_experiment
    from server.engine.trainer import Trainer

    example = next(p for p in EXAMPLES if p.stem == "spiral_mlp")
    assert main(["train", str(example), "--epochs", "2", "--device", "cpu"]) == 0
    assert "(fast path, 1 threads)" in capsys.readouterr().out
    assert torch.get_num_threads() == 1  # a small network: one thread, however many cores
    assert main(["train", str(example), "--epochs", "1", "--threads", "2"]) == 0
    assert "2 threads" in capsys.readouterr().out and torch.get_num_threads() == 2
    settings = Settings()
    big = json.loads(next(p for p in EXAMPLES if p.stem == "digits_cnn").read_text())
    big["training"]["batch_size"] = 256
    trainer = Trainer(parse_experiment(big, settings), settings)
    assert not trainer.fast_path
    import os

    # a big step: the cores this process may use
    assert train_threads(trainer, None) == min(8, len(os.sched_getaffinity(0)))
    assert train_threads(trainer, 3) == 3
