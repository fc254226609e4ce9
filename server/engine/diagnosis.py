"""Help flags: what is wrong with a run, in words a student can act on.

`diagnose(experiment, history, status, message, layers)` reads only what the server already
holds for a run: its epoch records (`{"epoch", "loss", "val_loss", "metrics"}`), its status and
message (a run whose loss is no longer finite ends `diverged`), and the layer statistics of its
latest snapshot (`[{"index", "type", "mean", "std", "hist": {"lo", "hi", "counts"},
"grad_norm"}]`, present once someone watched it). It is pure and deterministic, and its cost is
bounded: at most WINDOW records and one snapshot's layers are read, whatever the run's length.

Each finding is `Finding(code, sentence, suggestion)`; the codes are DIAGNOSES' keys.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

WINDOW = 60  # the latest epoch records read (plus the first)
MIN_EPOCHS = 20  # a plateau or overfitting is not called before this many epochs
GRAD_EXPLODING = 1e3  # a layer's gradient norm above this: exploding
VANISHING_RATIO = 1e-4  # first layer's gradient over the largest layer's, below this: vanishing
DEAD_SHARE = 0.7  # a ReLU layer with this share of its outputs at zero: mostly dead
SATURATED_SHARE = 0.7  # a sigmoid/tanh layer with this share of outputs at its ends: saturated
STILL_CHANGE = 0.01  # the loss moved less than 1 % since the first epoch: it does not move
OVERFIT_GAP = 0.5  # validation loss over training loss by half of it again, and rising
ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "gelu", "elu", "softmax")


@dataclass(frozen=True)
class Finding:
    code: str
    sentence: str
    suggestion: str

    def public(self) -> dict:
        return asdict(self)

    def flag(self) -> dict:
        """What the teacher's dashboard shows: `{"code", "sentence"}`."""
        return {"code": self.code, "sentence": self.sentence}


DIAGNOSES = {
    "diverged": (
        "The loss became NaN or infinite: training blew up.",
        "Lower the learning rate (try a tenth of it).",
    ),
    "exploding_gradients": (
        "The gradients are huge, so each update throws the weights far away.",
        "Lower the learning rate, or add batch norm.",
    ),
    "vanishing_gradients": (
        "The first layers get almost no gradient, so they hardly learn.",
        "Use ReLU instead of sigmoid/tanh, or use fewer layers.",
    ),
    "dead_relu": (
        "Most ReLU units output zero for every example: they are dead.",
        "Lower the learning rate, or try leaky_relu.",
    ),
    "saturated": (
        "Most sigmoid/tanh units sit at their ends, where the gradient is nearly zero.",
        "Lower the learning rate, or use ReLU.",
    ),
    "loss_flat": (
        "The loss has not moved since the first epoch.",
        "Raise the learning rate, or add units to the network.",
    ),
    "overfitting": (
        "The validation loss is rising while the training loss falls: the network is "
        "memorising the training data.",
        "Add L2 or dropout, use more training data, or stop earlier.",
    ),
}


def finding(code: str) -> Finding:
    sentence, suggestion = DIAGNOSES[code]
    return Finding(code, sentence, suggestion)


def diagnose(
    experiment: dict,
    history: list[dict],
    status: str | None = None,
    message: str | None = None,
    layers: list[dict] | None = None,
) -> list[Finding]:
    """The findings for one run, in DIAGNOSES' order; [] when nothing looks wrong."""
    codes: set[str] = set()
    recent = history[-WINDOW:]
    if _diverged(recent, status, message):
        codes.add("diverged")
    else:
        codes |= _from_losses(history[:1], recent)
    if layers:
        codes |= _from_layers(experiment, layers)
    return [finding(code) for code in DIAGNOSES if code in codes]


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _diverged(recent: list[dict], status: str | None, message: str | None) -> bool:
    if status == "diverged":  # the worker ends a run whose loss is not finite so
        return True
    if status == "failed" and message and ("NaN" in message or "infinite" in message):
        return True
    # A non-finite loss ends the run, so only the newest record can hold one.
    last = recent[-1] if recent else {}
    return any(last.get(k) is not None and not _finite(last[k]) for k in ("loss", "val_loss"))


def _from_losses(first: list[dict], recent: list[dict]) -> set[str]:
    codes: set[str] = set()
    if not first or not recent or recent[-1].get("epoch", 0) < MIN_EPOCHS:
        return codes
    start, last = first[0].get("loss"), recent[-1].get("loss")
    moved = _finite(start) and _finite(last) and abs(last - start) > STILL_CHANGE * start
    if _finite(start) and start > 0 and not moved and not _learned(recent[-1]):
        codes.add("loss_flat")
    val = [r.get("val_loss") for r in recent if _finite(r.get("val_loss"))]
    train = recent[-1].get("loss")
    if len(val) >= MIN_EPOCHS and _finite(train):
        low = min(val)
        rising = val[-1] > low * 1.1 and val.index(low) < len(val) - 5
        if rising and val[-1] > train * (1 + OVERFIT_GAP):
            codes.add("overfitting")
    return codes


def _learned(record: dict) -> bool:
    """A run that is already good has a flat loss because it is done, not stuck."""
    metrics = record.get("metrics") or {}
    acc, r2 = metrics.get("val_accuracy"), metrics.get("val_r2")
    return (_finite(acc) and acc >= 0.9) or (_finite(r2) and r2 >= 0.9)


def _activation(experiment: dict, index: int, kind: str) -> str | None:
    specs = (experiment.get("model") or {}).get("layers") or []
    if kind in ACTIVATIONS:
        return kind
    if index < len(specs) and isinstance(specs[index], dict):
        act = specs[index].get("activation")
        return act if isinstance(act, str) else None
    return None


def _from_layers(experiment: dict, layers: list[dict]) -> set[str]:
    codes: set[str] = set()
    grads = [layer.get("grad_norm") for layer in layers]
    known = [g for g in grads if _finite(g)]
    if any(g > GRAD_EXPLODING for g in known):
        codes.add("exploding_gradients")
    first = next((g for g in grads if _finite(g)), None)
    top = max(known, default=0.0)
    if first is not None and len(known) >= 3 and top > 0 and first / top < VANISHING_RATIO:
        codes.add("vanishing_gradients")
    for layer in layers[:-1]:  # the head's outputs are logits: no activation of ours
        act = _activation(experiment, int(layer.get("index", 0)), str(layer.get("type", "")))
        hist = layer.get("hist") or {}
        counts, lo, hi = hist.get("counts") or [], hist.get("lo"), hist.get("hi")
        total = sum(counts)
        if not total or not _finite(lo) or not _finite(hi):
            continue
        if act == "relu" and lo >= 0 and (hi == lo or counts[0] / total >= DEAD_SHARE):
            codes.add("dead_relu")
        if act in ("sigmoid", "tanh") and _saturated(act, lo, hi, counts, total):
            codes.add("saturated")
    return codes


def _saturated(act: str, lo: float, hi: float, counts: list[int], total: int) -> bool:
    """The share of outputs within 5 % of the activation's ends (0/1 or -1/1)."""
    ends = (0.0, 1.0) if act == "sigmoid" else (-1.0, 1.0)
    span = ends[1] - ends[0]
    width = (hi - lo) / len(counts) if hi > lo else 0.0
    edge = 0
    for i, count in enumerate(counts):
        centre = lo + (i + 0.5) * width
        if min(abs(centre - ends[0]), abs(centre - ends[1])) <= 0.05 * span:
            edge += count
    return edge / total >= SATURATED_SHARE
