"""The example designs in examples/ learn what they promise, for real, in a few seconds each.

Thresholds are on the last epoch's record (what a user sees when the run finishes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.config import Settings
from server.engine.model import check, parse_experiment
from server.engine.trainer import Trainer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SETTINGS = Settings()
NAMES = [
    "spiral_mlp",
    "digits_cnn",
    "sine_lstm",
    "waveform_gru",
    "digits_autoencoder",
    "digits_anomaly",
    "iris_mlp",
    "sentiment_lstm",
    "spoken_digits_cnn",
    "ratings_recommender",
]


def load(name: str):
    return parse_experiment(json.loads((EXAMPLES / f"{name}.json").read_text()), SETTINGS)


def train(name: str) -> Trainer:
    t = Trainer(load(name), SETTINGS, device="cpu")
    while not t.finished:
        t.train_epoch()
    return t


def test_every_example_is_a_valid_design():
    assert sorted(p.stem for p in EXAMPLES.glob("*.json")) == sorted(NAMES)
    for name in NAMES:
        assert check(load(name), SETTINGS)["total_params"] > 0


def val_accuracy(t: Trainer) -> float:
    return t.history[-1]["metrics"]["val_accuracy"]


@pytest.mark.slow
def test_spiral_mlp():
    assert val_accuracy(train("spiral_mlp")) >= 0.95


@pytest.mark.slow
def test_digits_cnn():
    assert val_accuracy(train("digits_cnn")) >= 0.95


@pytest.mark.slow
def test_waveform_gru():
    assert val_accuracy(train("waveform_gru")) >= 0.90


@pytest.mark.slow
def test_iris_mlp():
    assert val_accuracy(train("iris_mlp")) >= 0.90


@pytest.mark.slow
def test_sine_lstm_beats_repeating_the_last_value():
    t = train("sine_lstm")
    assert t.plan.loss == "mse"
    # Baseline: forecast every future step as the window's last (noisy) value.
    last = t.data.x_val[:, -1, 0:1]  # (N, 1)
    baseline = ((t.data.y_val - last) ** 2).mean().item()
    assert t.history[-1]["val_loss"] < 0.5 * baseline


@pytest.mark.slow
def test_digits_autoencoder_halves_its_loss():
    h = train("digits_autoencoder").history
    assert h[-1]["val_loss"] < 0.5 * h[0]["val_loss"]


@pytest.mark.slow
def test_digits_anomaly_detector():
    t = train("digits_anomaly")
    assert t.history[-1]["metrics"]["val_roc_auc"] >= 0.8
