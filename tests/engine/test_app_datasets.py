"""The application datasets (issue 23): sentiment, spoken_digits and ratings each learn to
their threshold from the command line, and their data keeps the promises the issue makes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from server.cli import main
from server.config import Settings
from server.engine.datasets import get_dataset, load_data, preview_data
from server.engine.datasets import sentiment as S
from server.engine.datasets.spectrogram import FRAMES, MELS, log_mel
from server.engine.datasets.spoken_digits import clips
from server.engine.errors import ExperimentError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def train_cli(tmp_path: Path, name: str, **training) -> dict:
    """Train examples/<name>.json through `layerlab train`; the last epoch record."""
    return train_history(tmp_path, name, **training)[-1]


def train_history(tmp_path: Path, name: str, **training) -> list[dict]:
    """Train examples/<name>.json through `layerlab train`; every epoch's record."""
    doc = json.loads((EXAMPLES / f"{name}.json").read_text())
    doc["training"].update(training)
    path, out = tmp_path / "exp.json", tmp_path / "history.json"
    path.write_text(json.dumps(doc))
    assert main(["train", str(path), "--device", "cpu", "--threads", "1", "--out", str(out)]) == 0
    return json.loads(out.read_text())


def test_sentiment_holds_out_whole_frames_and_balances_labels():
    frames = S._FRAMES
    held = {frames[i][0] for i in S._HELD}
    train = {text for i, (text, _) in enumerate(frames) if i not in S._HELD}
    assert held and not held & train
    # Every word of a held-out frame also appears in some training frame.
    train_words = {w for text in train for w in text.split()}
    assert {w for text in held for w in text.split()} <= train_words
    data = load_data({"name": "sentiment", "samples": 3000, "seed": 4})
    assert data.n_train + data.n_val == 3000
    assert data.x_train.dtype.is_floating_point is False and data.input_shape == (S.MAX_LEN,)
    assert abs(data.y_train.float().mean().item() - 0.5) < 0.02
    texts = data.meta["texts_val"]
    assert len(set(texts)) > 500 and all(
        S.encode(t) == row for t, row in zip(texts, data.x_val.tolist(), strict=True)
    )
    lengths = {len(t.split()) for t in texts}
    assert min(lengths) <= 4 and max(lengths) >= 12


def test_sentiment_tokens_and_seed():
    assert S.VOCAB[:2] == ["<pad>", "<unk>"] and len(S.VOCAB) < 200
    ids = S.encode("The film wasn't good, zebra!")
    words = [S.VOCAB[i] for i in ids if i]
    assert words == ["the", "film", "was", "not", "good", ",", "<unk>"]
    a = load_data({"name": "sentiment", "samples": 200, "seed": 1})
    b = load_data({"name": "sentiment", "samples": 200, "seed": 1})
    c = load_data({"name": "sentiment", "samples": 200, "seed": 2})
    assert a.x_train.equal(b.x_train) and not a.x_train.equal(c.x_train)
    assert preview_data({"name": "sentiment"})["vocab"] == S.VOCAB


@pytest.mark.slow
def test_an_lstm_reads_sentiment_from_the_cli(tmp_path):
    record = train_cli(tmp_path, "sentiment_lstm", epochs=5)
    assert record["metrics"]["val_accuracy"] >= 0.85, record


def test_spoken_digits_ship_enough_clips_of_every_digit():
    images, labels = clips()
    assert images.dtype == np.uint8 and images.shape[1:] == (MELS, FRAMES)
    assert len(labels) >= 1500 and np.bincount(labels).min() >= 150
    data = load_data({"name": "spoken_digits", "samples": 500, "seed": 3})
    assert data.input_shape == (1, MELS, FRAMES) and data.class_names[7] == "seven"
    assert np.bincount(data.y_train.numpy(), minlength=10).min() >= 35
    assert data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0
    with pytest.raises(ExperimentError) as err:
        load_data({"name": "spoken_digits", "samples": len(labels) + 1})
    assert err.value.errors[0]["loc"] == ("dataset", "samples")


def test_the_spectrogram_sees_a_tone_at_its_pitch():
    t = np.arange(8000) / 8000
    low, high = log_mel(np.sin(2 * np.pi * 300 * t)), log_mel(np.sin(2 * np.pi * 2500 * t))
    assert low.shape == (MELS, FRAMES) and low.dtype == np.float32
    assert low.mean(axis=1).argmax() < high.mean(axis=1).argmax()
    assert low.max() == 1.0 and low.min() >= 0.0


@pytest.mark.slow
def test_a_cnn_hears_spoken_digits_from_the_cli(tmp_path):
    # Its validation accuracy swings from epoch to epoch (batch norm's running statistics on
    # batches of 16): seed 0 went 0.94, 0.69, 0.93, 0.74 over epochs 3-6 on one CPU, where
    # another ended at 0.85 or more. Seeds 0-5 all reached 0.93-0.96 by epoch 6.
    history = train_history(tmp_path, "spoken_digits_cnn", epochs=6)
    accuracy = [r["metrics"]["val_accuracy"] for r in history]
    assert max(accuracy) >= 0.9 and max(accuracy[-2:]) >= 0.85, accuracy


def test_ratings_baseline_and_limits():
    data = load_data({"name": "ratings", "samples": 3000, "seed": 2})
    y_val, y_train = data.y_val[:, 0].double(), data.y_train[:, 0].double()
    baseline = math.sqrt(((y_val - y_train.mean()) ** 2).mean().item())
    assert data.meta["baseline_rmse"] == pytest.approx(baseline, abs=1e-3)
    assert set(data.y_train.unique().tolist()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert data.x_train[:, 0].max() < 200 and data.x_train[:, 1].max() < 120
    errors = get_dataset("ratings").check(
        get_dataset("ratings").Params(samples=100, users=5, items=5), Settings()
    )
    assert errors and errors[0]["loc"] == ("samples",)


@pytest.mark.slow
def test_the_recommender_beats_the_mean_rating_from_the_cli(tmp_path):
    record = train_cli(tmp_path, "ratings_recommender")
    baseline = load_data({"name": "ratings", "seed": 1}).meta["baseline_rmse"]
    rmse = math.sqrt(record["val_loss"])
    assert rmse < 0.7 * baseline, (rmse, baseline)
