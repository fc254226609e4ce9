"""`sentiment`: short English sentences labelled negative (0) or positive (1), made by project
code from templates and a small vocabulary, tokenised for an embedding layer.

Each template is a sentence frame with slots (a noun, an adjective or verb of either polarity,
an intensifier) and a rule for its label: most keep the polarity of their sentiment word, the
negated ones ("the film was not good", "i did not enjoy this book") flip it, the contrast ones
("..., but the ending was dull") take the second clause's. The validation sentences come only
from HELD_OUT templates, so a network is judged on sentence frames it never saw: it has to
learn what the words mean and what negation does, not the frames. Neutral openers and endings
("honestly ,", "overall", "for the price") vary the length.

Tokens: `VOCAB` (index 0 is padding, 1 is an unknown word); sentences are padded at the front
to `MAX_LEN`, so a recurrent layer's last step is always the sentence's last word.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from server.config import Settings

from .base import Data, DatasetParams, DatasetType, DataShapes, register
from .fields import samples_field, seed_field, train_fraction_field
from .preview import ints, per_class

CLASS_NAMES = ["negative", "positive"]
MAX_LEN = 20
PAD, UNK = "<pad>", "<unk>"

# word lists: (negative, positive)
ADJECTIVES = (
    [
        "bad",
        "awful",
        "terrible",
        "boring",
        "dull",
        "poor",
        "weak",
        "horrible",
        "dreadful",
        "bland",
        "tedious",
        "painful",
        "silly",
        "ugly",
        "clumsy",
    ],
    [
        "good",
        "great",
        "wonderful",
        "lovely",
        "brilliant",
        "fun",
        "delightful",
        "superb",
        "charming",
        "excellent",
        "enjoyable",
        "clever",
        "fresh",
        "beautiful",
        "perfect",
    ],
)
VERBS_PAST = (
    ["hated", "disliked", "regretted", "loathed"],
    ["loved", "liked", "enjoyed", "adored"],
)
VERBS_BASE = (["hate", "dislike", "regret", "loathe"], ["love", "like", "enjoy", "adore"])
NOUNS = [
    "movie",
    "film",
    "book",
    "meal",
    "song",
    "show",
    "game",
    "hotel",
    "story",
    "service",
    "album",
    "play",
    "cafe",
    "phone",
    "class",
    "ending",
    "plot",
    "soundtrack",
]
INTENSIFIERS = ["", "very", "really", "quite", "so", "truly", "rather"]
OPENERS = ["", "", "", "honestly ,", "overall", "to be fair ,", "well ,", "in the end"]
ENDINGS = ["", "", "", "to be honest", "in my view", "for the price", "this time", "again"]

# A template: rng -> (sentence, label).
Template = Callable[[np.random.Generator], tuple[str, int]]


def _pick(rng: np.random.Generator, words: list[str]) -> str:
    return words[int(rng.integers(len(words)))]


def _slots(rng: np.random.Generator) -> dict[str, Any]:
    """One draw of every slot; `pol` is the sentiment word's polarity (0 or 1)."""
    pol = int(rng.integers(2))
    nouns = rng.choice(len(NOUNS), size=2, replace=False)
    return {
        "pol": pol,
        "noun": NOUNS[nouns[0]],
        "noun2": NOUNS[nouns[1]],
        "adj": _pick(rng, ADJECTIVES[pol]),
        "adj_same": _pick(rng, ADJECTIVES[pol]),
        "adj_other": _pick(rng, ADJECTIVES[1 - pol]),
        "int": _pick(rng, INTENSIFIERS),
        "past": _pick(rng, VERBS_PAST[pol]),
        "base": _pick(rng, VERBS_BASE[pol]),
    }


def _frame(text: str, flip: bool = False) -> Template:
    """A template from a frame like "the {noun} was {int} {adj}". Its label is the polarity
    of {adj}/{past}/{base}, flipped for a negated frame; a contrast frame ("{adj_other} ...
    but ... {adj}") puts the deciding word in its second clause."""

    def make(rng: np.random.Generator) -> tuple[str, int]:
        s = _slots(rng)
        label = 1 - s["pol"] if flip else s["pol"]
        return text.format(**s), label

    return make


# Frames are built from parts, so every word is seen in many frames and a held-out frame is a
# new combination of familiar parts: who did what (subject x verb form x object), what
# something was (subject x copula form), and a few frames of their own. (text, flips label)
SUBJECTS = ["i", "we", "my friends", "everyone", "they", "you"]
VERB_FORMS = [
    ("{past}", False),
    ("really {past}", False),
    ("will {base}", False),
    ("did not {base}", True),
    ("never {past}", True),
    ("will not {base}", True),
    ("can not say they {past}", True),
]
OBJECTS = ["the {noun}", "this {noun}", "it", "a {noun} like this"]
THINGS = ["the {noun}", "this {noun}", "it", "the {noun} here"]
COPULAS = [
    ("was {int} {adj}", False),
    ("is {int} {adj}", False),
    ("seemed {int} {adj}", False),
    ("was not {int} {adj}", True),
    ("is never {adj}", True),
    ("did not seem {adj}", True),
]
SPECIALS = [
    ("what a {int} {adj} {noun}", False),
    ("not a {adj} {noun} at all", True),
    ("{adj} {noun} , {int} {adj_same}", False),
    ("the {noun} was {adj_other} but the {noun2} was {adj}", False),
    ("the {noun2} was {adj_other} , but the {noun} was {int} {adj}", False),
    ("they said the {noun} was {adj} and i agree", False),
    ("they said the {noun} was {adj} but i disagree", True),
    ("i found the {noun} {int} {adj}", False),
    ("i would call the {noun} {adj}", False),
    ("you would call it {int} {adj}", False),
    ("the {noun} and the {noun2} were {adj} and we {past} them", False),
]


def _all_frames() -> list[tuple[str, bool]]:
    frames = [(f"{s} {v} {o}", flip) for s in SUBJECTS for v, flip in VERB_FORMS for o in OBJECTS]
    frames += [(f"{t} {c}", flip) for t in THINGS for c, flip in COPULAS]
    return frames + SPECIALS


def _held_out(frames: list[tuple[str, bool]]) -> set[int]:
    """Every fifth frame in a fixed shuffled order (the same for every seed), so validation
    frames cover each kind of sentence; a frame is in one set only."""
    order = np.random.default_rng(20261206).permutation(len(frames))
    return {int(i) for i in order[::5]}


_FRAMES = _all_frames()
_HELD = _held_out(_FRAMES)
TRAIN_FRAMES: list[Template] = [
    _frame(t, flip) for i, (t, flip) in enumerate(_FRAMES) if i not in _HELD
]
HELD_OUT: list[Template] = [_frame(t, flip) for i, (t, flip) in enumerate(_FRAMES) if i in _HELD]


def _vocabulary() -> list[str]:
    words: set[str] = set()
    for group in (ADJECTIVES, VERBS_PAST, VERBS_BASE):
        for side in group:
            words.update(side)
    for phrase in [*NOUNS, *INTENSIFIERS, *OPENERS, *ENDINGS]:
        words.update(phrase.split())
    for text, _flip in _FRAMES:  # the frames' own words
        words.update(w for w in text.split() if not w.startswith("{"))
    return [PAD, UNK, *sorted(words)]


VOCAB: list[str] = _vocabulary()
INDEX: dict[str, int] = {w: i for i, w in enumerate(VOCAB)}


def tokenize(text: str) -> list[str]:
    """Lowercase words and commas: "Not good, honestly." -> ["not", "good", ",", "honestly"]."""
    cleaned = "".join(c if c.isalpha() or c in " ,'" else " " for c in text.lower())
    return cleaned.replace(",", " , ").replace("n't", " not").split()


def encode(text: str) -> list[int]:
    """Token ids of `text`, front-padded (or cut, keeping the end) to MAX_LEN."""
    ids = [INDEX.get(w, INDEX[UNK]) for w in tokenize(text)][-MAX_LEN:]
    return [INDEX[PAD]] * (MAX_LEN - len(ids)) + ids


def sentences(
    n: int, frames: list[Template], rng: np.random.Generator
) -> tuple[list[str], np.ndarray]:
    """`n` sentences drawn from `frames`, balanced labels, with openers and endings."""
    texts, labels = [], []
    want = rng.permutation(np.arange(n) % 2)  # the label each row must have
    for target in want:
        while True:
            body, label = frames[int(rng.integers(len(frames)))](rng)
            if label == target:
                break
        text = " ".join(p for p in (_pick(rng, OPENERS), body, _pick(rng, ENDINGS)) if p)
        texts.append(" ".join(text.split()))
        labels.append(label)
    return texts, np.asarray(labels, dtype=np.int64)


class SentimentParams(DatasetParams):
    samples: int = samples_field(4000, le=50_000, what="sentences")
    train_fraction: float = train_fraction_field(0.8)
    seed: int = seed_field()


@register
class Sentiment(DatasetType):
    name = "sentiment"
    title = "Sentiment of sentences"
    description = (
        "Short English sentences, positive or negative (with negation); validation sentences "
        "use frames never seen in training. Tokens: start with an embedding."
    )
    family = "sequence"
    task = "classification"
    Params = SentimentParams
    preview_samples = 256

    def shapes(self, params: SentimentParams) -> DataShapes:
        return DataShapes(
            task="classification",
            input_shape=(MAX_LEN,),
            target_shape=(2,),
            input_dtype="int64",
            vocab_size=len(VOCAB),
            class_names=tuple(CLASS_NAMES),
        )

    def load(self, params: SentimentParams, settings: Settings) -> Data:
        rng = np.random.default_rng(params.seed)
        n_train = max(2, round(params.samples * params.train_fraction))
        n_val = max(2, params.samples - n_train)
        train_text, y_train = sentences(n_train, TRAIN_FRAMES, rng)
        val_text, y_val = sentences(n_val, HELD_OUT, rng)

        def ids(texts: list[str]) -> torch.Tensor:
            return torch.tensor([encode(t) for t in texts], dtype=torch.int64)

        return Data(
            x_train=ids(train_text),
            y_train=torch.from_numpy(y_train),
            x_val=ids(val_text),
            y_val=torch.from_numpy(y_val),
            task="classification",
            input_shape=(MAX_LEN,),
            target_shape=(2,),
            class_names=list(CLASS_NAMES),
            # texts_val: the validation sentences, for hover in the projector and try-it.
            meta={
                "vocab_size": len(VOCAB),
                "input_dtype": "int64",
                "vocab": list(VOCAB),
                "texts_val": val_text,
                "max_len": MAX_LEN,
            },
        )

    def picture(self, data: Data, params: SentimentParams) -> dict[str, Any]:
        idx = per_class(data.y_train, 8)
        return {
            "kind": "tokens",
            "sequences": ints(data.x_train[idx]),
            "labels": ints(data.y_train[idx]),
            "vocab_size": len(VOCAB),
            "vocab": list(VOCAB),
            "texts": [" ".join(VOCAB[i] for i in row if i) for row in ints(data.x_train[idx])],
        }
