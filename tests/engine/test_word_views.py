"""What the text try-it shows beside a prediction (engine/word_views.py): the typed words
aligned with the model's steps, attention over the words read, the map of the vocabulary."""

from __future__ import annotations

import pytest
import torch

from server.config import Settings
from server.engine.attention import SelfAttention
from server.engine.datasets.sentiment import MAX_LEN, VOCAB
from server.engine.model import parse_experiment
from server.engine.predict import predict
from server.engine.trainer import Trainer
from server.engine.word_views import typed_words, word_map

SETTINGS = Settings()


def test_typed_words_line_up_with_the_front_padded_steps():
    vocab = ("<pad>", "<unk>", "good", "not", ",")
    got = typed_words(5, vocab, "Not GOOD, zebra")
    assert got == {
        "typed": [None, "not", "good", ",", "zebra"],
        "unknown": [False, False, False, False, True],
    }
    # Longer than the model reads: the end is kept, as the ids keep it.
    assert typed_words(2, vocab, "good good not zebra")["typed"] == ["not", "zebra"]
    assert typed_words(5, vocab, [0, 0, 0, 2, 3]) is None  # ids: nothing was typed
    assert typed_words(5, (), "good") is None  # a set without words


def trainer(layers: list[dict]) -> Trainer:
    doc = {
        "dataset": {"name": "sentiment", "samples": 200, "seed": 3},
        "model": {"layers": layers},
        "training": {"optimizer": "adam", "epochs": 1},
    }
    return Trainer(parse_experiment(doc, SETTINGS), SETTINGS, device="cpu")


@pytest.fixture(scope="module")
def attention_trainer() -> Trainer:
    return trainer(
        [
            {"type": "embedding", "dim": 8},
            {"type": "positional"},
            {"type": "attention", "heads": 2},
            {"type": "global_pool"},
        ]
    )


def test_attention_covers_the_words_read_and_leaves_the_model_as_it_was(attention_trainer):
    t = attention_trainer
    layer = next(m for m in t.model.body if isinstance(m, SelfAttention))
    answer = predict(t, "i loved this zebra", explain=True)
    graph = answer["attention"]
    assert graph["examples"] == [["i", "loved", "this", "<unk>"]]
    (entry,) = graph["attention"]
    assert entry["heads"] == 2 and entry["causal"] is False
    assert [m["shape"] for m in entry["maps"][0]] == [[4, 4], [4, 4]]
    assert layer.keep_weights is False and layer.weights is None  # nothing held after
    # Without explain, none of the extras: the answer stays small for plain predictions.
    plain = predict(t, "i loved this zebra")
    assert "attention" not in plain and "word_map" not in plain
    assert plain["typed"][-1] == "zebra" and plain["unknown"][-1] is True


def test_the_map_of_words_is_the_embedding_in_2d(attention_trainer):
    t = attention_trainer
    got = word_map(t.model, tuple(VOCAB), MAX_LEN)
    assert got["words"] == VOCAB[2:] and got["dim"] == 8
    assert len(got["points"]) == len(got["alone"]) == len(VOCAB) - 2
    assert all(len(p) == 2 for p in got["points"])
    assert all(abs(sum(p) - 1) < 1e-3 for p in got["alone"])
    # The points are the embedding's vectors projected: centred, spread along the first axis
    # at least as much as along the second (PCA's order).
    pts = torch.tensor(got["points"])
    assert pts.mean(dim=0).abs().max() < 1e-3
    assert float(pts[:, 0].var()) >= float(pts[:, 1].var())


def test_no_map_without_an_embedding_first():
    class Net(torch.nn.Module):  # a body whose first layer is not an embedding
        def __init__(self):
            super().__init__()
            self.body = torch.nn.ModuleList([torch.nn.Linear(MAX_LEN, 2)])

    assert word_map(Net(), tuple(VOCAB), MAX_LEN) is None
