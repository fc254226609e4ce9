"""Predict one raw input with a run's current weights: the exported script's numbers, bad
inputs refused in words, and Captum attributions that point at the inputs that matter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_export import import_script, write_export

from server.config import Settings
from server.engine.model import parse_experiment
from server.engine.predict import predict
from server.engine.preprocess import InputError
from server.engine.trainer import Trainer

EXAMPLES = {p.stem: p for p in (Path(__file__).resolve().parents[2] / "examples").glob("*.json")}
SETTINGS = Settings(device="cpu", persist_runs=False)
RAW = {  # one raw input per example, in the dataset's own form
    "spiral_mlp": [0.5, -1.5],
    "iris_mlp": [5.9, 3.0, 4.2, 1.5],
    "digits_cnn": [[(r * 3 + c) % 17 for c in range(8)] for r in range(8)],
    "sine_lstm": [float(np.sin(t / 3)) for t in range(24)],
    "waveform_gru": None,  # filled from the data's own shape below
}


def trained(name: str, epochs: int = 2) -> Trainer:
    doc = json.loads(EXAMPLES[name].read_text())
    doc["training"].update(epochs=epochs, device="cpu")
    trainer = Trainer(parse_experiment(doc, SETTINGS), SETTINGS)
    for _ in range(epochs):
        trainer.train_epoch()
    return trainer


@pytest.mark.parametrize("name", sorted(RAW))
def test_the_same_numbers_as_the_exported_script(name: str, tmp_path):
    trainer = trained(name)
    raw = RAW[name]
    if raw is None:
        steps = trainer.plan.shapes.input_shape[0]
        raw = [float(np.sign(np.sin(t / 4))) for t in range(steps)]
    answer = predict(trainer, raw)
    script = import_script(write_export(trainer, tmp_path), name)
    expected = script.predict(script.load_model(), script.preprocess([raw]))[0]
    np.testing.assert_allclose(np.array(answer["output"]), expected.numpy(), atol=1e-5)
    if trainer.plan.task == "classification":
        assert answer["label"] == answer["class_names"][int(expected.argmax())]
    assert trainer.model.training  # asking did not disturb training


@pytest.mark.parametrize(
    ("name", "raw", "words"),
    [
        ("spiral_mlp", [1.0, 2.0, 3.0], "a 2D point [x1, x2]"),
        ("spiral_mlp", [1.0, float("nan")], "finite number"),
        ("spiral_mlp", ["a", "b"], "nested lists of numbers"),
        ("iris_mlp", [1.0, 2.0], "a row of 4 numbers"),
        ("digits_cnn", [[1] * 8] * 7, "an image of 8×8 pixel values 0..16"),
        ("digits_cnn", [[20] * 8] * 8, "pixel values must lie in 0..16"),
        ("sine_lstm", [[1.0, 2.0]] * 3, "a sequence of 24 time steps"),
    ],
)
def test_bad_inputs_say_what_would_fit(name, raw, words):
    trainer = trained(name, epochs=1)
    with pytest.raises(InputError, match=words.replace("[", r"\[").replace("]", r"\]")):
        predict(trainer, raw)


def test_attribution_is_small_for_inputs_that_do_not_matter():
    """Four features, the class decided by the first alone: after training, integrated
    gradients give the other three a small share."""
    doc = json.loads(EXAMPLES["iris_mlp"].read_text())
    doc["training"].update(epochs=30, device="cpu", learning_rate=0.01, optimizer="adam")
    # Eager: the data is swapped after construction, which the fast path has already packed.
    trainer = Trainer(parse_experiment(doc, SETTINGS), SETTINGS, fast_path=False)
    gen = torch.Generator().manual_seed(0)
    for split in ("train", "val"):
        x = torch.randn(getattr(trainer, f"x_{split}").shape, generator=gen)
        setattr(trainer, f"x_{split}", x)
        setattr(trainer, f"y_{split}", (x[:, 0] > 0).long() + (x[:, 0] > 1).long())
    while not trainer.finished:
        record = trainer.train_epoch()
    assert record["metrics"]["val_accuracy"] >= 0.85

    shares = []
    for row in torch.randn(20, 4, generator=gen):
        raw = (row.double() * trainer.data.meta["std"] + trainer.data.meta["mean"]).tolist()
        features = predict(trainer, raw, explain=True)["attribution"]["features"]
        size = np.abs([f["value"] for f in features])
        shares.append(size / size.sum())
    mean_share = np.mean(shares, axis=0)
    assert mean_share[0] > 0.6 and max(mean_share[1:]) < 0.15, mean_share


def test_an_image_model_explains_with_saliency_integrated_gradients_and_grad_cam():
    trainer = trained("digits_cnn")
    digit = (trainer.data.x_val[0, 0] * 16).round().tolist()  # a validation image, raw 0..16
    answer = predict(trainer, digit, explain=True)
    attribution = answer["attribution"]
    assert attribution["target"] == answer["predicted"]
    for key in ("saliency", "integrated_gradients", "grad_cam"):
        grid = np.array(attribution[key], dtype=float)
        assert grid.shape == (8, 8) and np.isfinite(grid).all() and np.abs(grid).sum() > 0
    # Integrated gradients from a black image: a pixel that is black has nothing to add.
    black = np.array(digit) == 0
    assert np.abs(np.array(attribution["integrated_gradients"])[black]).max() == 0
    json.dumps(answer, allow_nan=False)


def test_sequences_are_explained_per_time_step():
    trainer = trained("sine_lstm", epochs=1)
    attribution = predict(trainer, RAW["sine_lstm"], explain=True)["attribution"]
    assert len(attribution["steps"]) == 24 and any(abs(v) > 0 for v in attribution["steps"])
