"""Try a text model: a typed sentence goes in as the dataset's tokens, the prediction comes
back with the words read and Captum's attribution per word."""

from __future__ import annotations

import pytest

from server.config import Settings
from server.engine.model import parse_experiment
from server.engine.predict import predict
from server.engine.preprocess import InputError
from server.engine.trainer import Trainer

SETTINGS = Settings()


@pytest.fixture(scope="module")
def trainer() -> Trainer:
    doc = {
        "dataset": {"name": "sentiment", "samples": 3000, "seed": 1},
        "model": {"layers": [{"type": "embedding", "dim": 16}, {"type": "lstm", "units": 32}]},
        "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 6},
    }
    t = Trainer(parse_experiment(doc, SETTINGS), SETTINGS, device="cpu")
    while not t.finished:
        t.train_epoch()
    assert t.history[-1]["metrics"]["val_accuracy"] >= 0.85, t.history[-1]
    return t


@pytest.mark.slow
def test_a_typed_sentence_is_read_and_explained(trainer):
    good = predict(trainer, "What a wonderful movie!", explain=True)
    assert good["label"] == "positive" and good["words"][-4:] == ["what", "a", "wonderful", "movie"]
    per_word = good["attribution"]["tokens"]
    assert len(per_word) == len(good["words"]) == 20
    assert good["words"][max(range(20), key=lambda i: per_word[i])] == "wonderful"
    # The word that decides carries the most weight, for either answer.
    for text, label, word in [
        ("the film was awful", "negative", "awful"),
        ("the meal was not good", "negative", "not"),
    ]:
        answer = predict(trainer, text, explain=True)
        tokens = answer["attribution"]["tokens"]
        assert answer["label"] == label
        assert answer["words"][max(range(20), key=lambda i: tokens[i])] == word
    assert predict(trainer, "The film wasn't wonderful")["label"] == "negative"
    assert predict(trainer, "i did not hate this book")["label"] == "positive"
    # Words it never saw are <unk>; ids still work as before.
    assert predict(trainer, "zebra")["words"][-1] == "<unk>"
    assert predict(trainer, [0] * 20)["words"] == ["<pad>"] * 20


def test_text_refusals(trainer):
    with pytest.raises(InputError, match="at most 1000 characters"):
        predict(trainer, "good " * 300)
