"""Probes: the snapshot of a trainer's visual state for the live page (docs/internals.md).

A snapshot is taken 10-20 times a second per watched run, between training slices, so it is
built from a few fixed, small inputs (the first validation samples, a 40x40 grid) in one
hooked forward pass each, and heavy arrays travel as byte grids. It must not disturb training:
no_grad, eval mode (dropout off, batch-norm running stats frozen) restored after, and the
trainer's RNG state swapped in so the caller's RNG is untouched.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from typing import Protocol

import numpy as np
import torch
from torch import Tensor, nn

from . import metrics
from .bytegrid import byte_grid, byte_grids, rounded, rounded_list
from .datasets import Data, cross_features
from .graph_probes import graph_section, wants_graph
from .model import Network, Plan


class Trainer(Protocol):
    """What a snapshot reads of a trainer (engine/trainer.py's `Trainer` has it all); named
    here so that the trainer imports the probes and never the other way round."""

    data: Data
    plan: Plan
    model: Network
    device: torch.device
    epoch: int
    x_val: Tensor
    y_val: Tensor
    y_train: Tensor
    anomaly: Tensor | None
    probe_cache: dict
    val_predictions: Tensor | None

    def own_rng(self) -> AbstractContextManager[None]: ...
    def eval_mode(self) -> AbstractContextManager[None]: ...
    def predictions(self, out: Tensor) -> Tensor: ...
    def val_outputs(self) -> Tensor: ...


KINDS = ("layers", "boundary", "images", "autoencoder", "sequence", "graph")
GRID_RES = 40  # boundary grid side: 1,600 points, ~1 ms through a small MLP
# Neuron thumbnails are pooled down to this side: a snapshot travels to every viewer up to 20
# times a second, and 64 neurons at 40x40 made it ~160 KB; at 20x20 it is a quarter of that.
NEURON_RES = 20
THUMB_POOL = GRID_RES // NEURON_RES  # thumbnails are the grid average-pooled by this
STATS_SAMPLES = 64  # validation samples behind each layer's activation statistics
AE_SAMPLES = 500  # validation samples behind the latent-space picture and anomaly scores
HIST_BINS = 30
MAX_NEURONS = 64  # neurons per dense layer drawn as heatmaps (Playground shows up to 8)
MAX_MAPS = 16  # feature maps per conv/pool layer
MAX_FILTERS = 64
MAX_HIDDEN = 128  # hidden units in the (T, H) hidden-state grid
N_IMAGES = 16
N_RECON = 8
N_RECON_POINTS = 200  # 2D reconstructions are points: more of them make a picture
N_SEQUENCES = 8
RECURRENT = ("rnn", "lstm", "gru")
IMAGE_LAYERS = ("conv2d", "maxpool2d", "avgpool2d", "conv_transpose2d", "upsample")


def applicable(trainer: Trainer) -> set[str]:
    """The snapshot sections that make sense for this experiment."""
    d, task = trainer.data, trainer.plan.task
    kinds = {"layers"}
    if "crosses" in d.meta and "extent" in d.meta and task in ("classification", "regression"):
        kinds.add("boundary")
    is_image = len(d.input_shape) == 3 or "image_shape" in d.meta
    if task == "classification" and is_image:
        kinds.add("images")
    if task == "reconstruction":
        kinds.add("autoencoder")
    is_sequence = len(d.input_shape) == 2 or d.meta.get("input_dtype") == "int64"
    # Per-position sets (reverse, sort, copy) are drawn by the graph section's attention maps.
    if is_sequence and task != "reconstruction" and not d.meta.get("positions"):
        kinds.add("sequence")
    if wants_graph(trainer):
        kinds.add("graph")
    return kinds


def take_snapshot(
    trainer: Trainer, kinds: set[str] | None = None, resolution: int = GRID_RES
) -> dict:
    """The snapshot dict; `kinds` limits it to some sections (None: all that apply);
    `resolution`: the boundary grid's side (its neuron thumbnails are half that)."""
    want = applicable(trainer) if kinds is None else applicable(trainer) & set(kinds)
    with torch.no_grad(), trainer.own_rng(), trainer.eval_mode():
        snap: dict = {"epoch": trainer.epoch}
        _fill(trainer, want, snap, resolution)
    return snap  # every float went through rounded/rounded_list/byte_grid: JSON-safe


def probe_inputs(trainer: Trainer) -> dict:
    """The trainer's probe cache, its fixed probe inputs `x` and `y` filled in: built once
    per trainer (the data never changes during a run); grids are cached beside them."""
    cache = trainer.probe_cache
    if "x" not in cache:
        n = AE_SAMPLES if trainer.plan.task == "reconstruction" else STATS_SAMPLES
        cache["x"] = trainer.x_val[:n]
        cache["y"] = trainer.y_val[:n]
    return cache


def _fill(trainer: Trainer, want: set[str], snap: dict, resolution: int = GRID_RES) -> None:
    model, layers = trainer.model, trainer.plan.layers
    cache = probe_inputs(trainer)
    x, y = cache["x"], cache["y"]
    types = [pl.kind.name for pl in layers]

    # Which layer outputs the sections need from the probe-set pass.
    keep: set[int] = set()
    if "images" in want:
        keep |= {i for i, t in enumerate(types) if t in IMAGE_LAYERS}
    latent = _narrowest(trainer) if "autoencoder" in want else None
    if latent is not None:
        keep.add(latent)
    rnn = next((i for i, t in enumerate(types) if t in RECURRENT), None)
    cell = rnn if "sequence" in want else None

    out, kept, stats = None, {}, []
    if "graph" in want:  # its own hooked pass, on the same probe inputs
        snap["graph"] = graph_section(trainer, x)
    if want - {"boundary", "graph"}:  # the boundary has its own grid pass
        out, kept, stats = _forward(model, x, keep, "layers" in want, cell)

    if "layers" in want:
        snap["layers"] = _layers(trainer, types, stats)
    if "boundary" in want:
        snap["boundary"] = _boundary(trainer, types, resolution)
    if "images" in want:
        snap["images"] = _images(trainer, types, x, y, out, kept)
    if "autoencoder" in want:
        snap["autoencoder"] = _autoencoder(trainer, x, y, out, kept, latent)
    if "sequence" in want:
        snap["sequence"] = _sequence(trainer, x, y, out, kept.get("cell"))


def _forward(
    model: nn.Module, x: Tensor, keep: set[int], stats: bool, cell: int | None
) -> tuple[Tensor, dict, list]:
    """One forward pass with hooks on every body layer and the head (index len(body)).

    Hooks reduce at once (statistics of the first STATS_SAMPLES rows) and keep only the
    outputs asked for in `keep`, so a big probe set does not hold every activation. For the
    recurrent layer `cell`, the wrapped nn.RNN/LSTM/GRU's full output (N, T, H) is kept as
    "cell": the layer itself may return only the last step.
    """
    kept: dict = {}
    layer_stats: list = []
    modules = [*model.body, model.head]
    handles = []

    def make_hook(i: int):
        def hook(_mod, _inp, out):
            if stats:
                layer_stats.append(activation_stats(out[:STATS_SAMPLES]))
            if i in keep:
                kept[i] = out

        return hook

    for i, m in enumerate(modules):
        handles.append(m.register_forward_hook(make_hook(i)))
    if cell is not None:
        handles.append(
            model.body[cell].cell.register_forward_hook(
                lambda _m, _i, out: kept.__setitem__("cell", out[0])
            )
        )
    try:
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    return out, kept, layer_stats


def histc(a: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """torch.histc(a[r], HIST_BINS, lo[r], hi[r]) for every row of a float32 (R, M) whose
    values all lie in [lo, hi] with lo < hi -> counts (R, HIST_BINS), with torch's float32
    arithmetic: bin = int((x - lo) * bins / (hi - lo)), the top edge in the last bin. 3-4x
    faster than torch.histc on the CPU (a digits CNN's conv layer, 64 x 576 values: 148 us
    against 636 us), which took a third of that network's probe."""
    bins = HIST_BINS
    r = a.shape[0]
    pos = (a - lo[:, None]) * np.float32(bins) / (hi - lo)[:, None]  # (R, M) float32
    idx = np.minimum(pos.astype(np.int64), bins - 1) + bins * np.arange(r)[:, None]
    return np.bincount(idx.ravel(), minlength=r * bins).reshape(r, bins)


def activation_stats(t: Tensor) -> dict:
    """Mean, std and a HIST_BINS-bin histogram (torch.histc's binning) of a layer's output
    values, in NumPy: a few small arrays per snapshot, where torch's per-op dispatch cost more
    than the arithmetic."""
    a = t.detach().to("cpu", torch.float32).reshape(-1).numpy()
    if not np.isfinite(a).all():
        a = a[np.isfinite(a)]
    if a.size == 0:
        return {"mean": None, "std": None, "hist": {"lo": None, "hi": None, "counts": [0] * 30}}
    lo, hi = a.min(keepdims=True), a.max(keepdims=True)  # (1,) float32
    lo_v, hi_v = float(lo[0]), float(hi[0])
    mean_v, std_v = float(a.mean()), float(a.std())
    if hi_v > lo_v:
        counts = histc(a[None], lo, hi)[0].tolist()
    else:
        counts = [int(a.size)] + [0] * (HIST_BINS - 1)
    return {
        "mean": rounded(mean_v),
        "std": rounded(std_v),
        "hist": {"lo": rounded(lo_v), "hi": rounded(hi_v), "counts": counts},
    }


def _norms(module: nn.Module) -> tuple[float | None, float | None]:
    """L2 norm of all the module's parameters, and of their gradients from the last step."""
    params = list(module.parameters())
    if not params:
        return None, None
    w = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p) for p in params]))
    grads = [p.grad for p in params if p.grad is not None]
    g = (
        torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(gr) for gr in grads]))
        if grads
        else None
    )
    return rounded(w), (rounded(g) if g is not None else None)


def _layers(trainer: Trainer, types: list[str], stats: list) -> list[dict]:
    modules = [*trainer.model.body, trainer.model.head]
    names = [*types, "head"]
    out = []
    for i, (m, name) in enumerate(zip(modules, names, strict=True)):
        weight_norm, grad_norm = _norms(m)
        entry = {"index": i, "type": name}
        entry.update(stats[i] if i < len(stats) else {})
        entry.update(weight_norm=weight_norm, grad_norm=grad_norm)
        out.append(entry)
    return out


# ---------------------------------------------------------------- 2D data


def grid_inputs(trainer: Trainer, res: int = GRID_RES) -> tuple[Tensor, Tensor]:
    """The boundary grid's raw points (res*res, 2) and the model's features for them.

    Row-major, row 0 at the top (x2 = max) and column 0 at the left (x1 = min), so the page
    can paint it as an image. Raw points go through the dataset's own feature crosses.
    """
    cache = probe_inputs(trainer)
    if ("grid", res) not in cache:
        x1min, x1max, x2min, x2max = (float(v) for v in trainer.data.meta["extent"])
        x1 = torch.linspace(x1min, x1max, res)
        x2 = torch.linspace(x2max, x2min, res)
        g2, g1 = torch.meshgrid(x2, x1, indexing="ij")  # (res, res) each
        points = torch.stack([g1.reshape(-1), g2.reshape(-1)], dim=1)  # (res*res, 2)
        feats = cross_features(points, trainer.data.meta.get("crosses") or [])
        cache["grid", res] = (
            points,
            torch.as_tensor(feats, dtype=torch.float32).to(trainer.device),
        )
    return cache["grid", res]


def thumbnails(act: Tensor, res: int) -> np.ndarray:
    """(res*res, n) activations over the grid -> (n, res/2, res/2), average-pooled (NumPy:
    cheaper than avg_pool2d's dispatch at these sizes; an odd last row/column is dropped as
    avg_pool2d drops it)."""
    grids = act.detach().to("cpu", torch.float32).numpy().T.reshape(-1, res, res)
    return pool_grids(grids)


def pool_grids(grids: np.ndarray, axis: int = -2) -> np.ndarray:
    """Average-pool axes (axis, axis + 1) of `grids`, (res, res) there, to res/THUMB_POOL
    each: every cell the mean of its THUMB_POOL x THUMB_POOL block, summed in row-major
    order (the stacked probes pool many runs' grids, laid out otherwise, with this same
    arithmetic). Strided adds: a third of a 6-D mean's time."""
    p = THUMB_POOL
    ax = axis % grids.ndim
    side = grids.shape[ax] // p

    def block(i: int, j: int) -> np.ndarray:
        index = [slice(None)] * grids.ndim
        index[ax], index[ax + 1] = slice(i, side * p, p), slice(j, side * p, p)
        return grids[tuple(index)]

    out = block(0, 0).astype(np.float32)  # a copy
    for i in range(p):
        for j in range(p):
            if i or j:
                out += block(i, j)
    out /= np.float32(p * p)
    return out


def _dense_weight(m: nn.Module) -> Tensor | None:
    lin = next((c for c in m.modules() if isinstance(c, nn.Linear)), None)
    return lin.weight if lin is not None else None


def _dense_bias(m: nn.Module, n: int) -> list:
    """The layer's bias, cut to `n` neurons (zeros for a layer without one)."""
    lin = next((c for c in m.modules() if isinstance(c, nn.Linear)), None)
    if lin is None or lin.bias is None:
        return [0.0] * min(n, lin.out_features if lin is not None else 0)
    return rounded_list(lin.bias[:n], 4)


def _boundary(trainer: Trainer, types: list[str], res: int = GRID_RES) -> dict:
    model = trainer.model
    _, feats = grid_inputs(trainer, res)
    dense = [i for i, t in enumerate(types) if t == "dense"]
    out, kept, _ = _forward(model, feats, set(dense), False, None)

    # Output surface. Binary: P(class 1). Multi-class: the predicted class index, with the
    # winning probability as "confidence". Regression: the prediction on the targets' scale.
    surface: dict
    if trainer.plan.task == "classification":
        prob = torch.softmax(out.float(), dim=1)
        n = prob.shape[1]
        if n == 2:
            surface = {
                "kind": "probability",
                "output": byte_grid(prob[:, 1].reshape(res, res), 0.0, 1.0),
            }
        else:
            conf, cls = prob.max(dim=1)
            surface = {
                "kind": "class",
                "classes": n,
                "output": byte_grid(cls.float().reshape(res, res), 0.0, float(n - 1)),
                "confidence": byte_grid(conf.reshape(res, res), 0.0, 1.0),
            }
    else:
        pred = trainer.predictions(out).reshape(res * res, -1)[:, 0]
        ys = trainer.y_train.reshape(trainer.y_train.shape[0], -1)[:, 0]
        lo, hi = torch.aminmax(ys)
        surface = {
            "kind": "value",
            "output": byte_grid(pred.reshape(res, res), lo.item(), hi.item()),
        }

    # Neuron heatmaps: the input features first (Playground's input nodes), then each dense
    # layer's neurons (up to MAX_NEURONS), each its own byte grid (res, res).
    neurons = [feature_grids(trainer, res)]  # F grids (NEURON_RES, NEURON_RES)
    for i in dense:
        neurons.append(byte_grids(thumbnails(kept[i][:, :MAX_NEURONS], res)))

    # Weights (out x in) between consecutive neuron columns, the head's last; cut to the
    # neurons shown.
    weights, biases = [], []
    for i in dense:
        w = _dense_weight(model.body[i])
        weights.append(rounded_list(w[:MAX_NEURONS, :MAX_NEURONS], 4))
        biases.append(_dense_bias(model.body[i], MAX_NEURONS))
    w = _dense_weight(model.head)
    if w is not None:
        weights.append(rounded_list(w[:, :MAX_NEURONS], 4))
        biases.append(_dense_bias(model.head, w.shape[0]))
    return boundary_section(trainer, res, surface, neurons, dense, weights, biases)


def feature_grids(trainer: Trainer, res: int) -> list:
    """The input features' heatmaps over the grid, byte grids: made once per run and
    resolution (the features never change during a run)."""
    cache = probe_inputs(trainer)
    if ("feature_grids", res) not in cache:
        cache["feature_grids", res] = byte_grids(thumbnails(grid_inputs(trainer, res)[1], res))
    return cache["feature_grids", res]


def boundary_section(
    trainer: Trainer,
    res: int,
    surface: dict,
    neurons: list,
    dense: list[int],
    weights: list,
    biases: list,
) -> dict:
    """The `boundary` section, its fields in their order: one place for both probe paths
    (this file's, one run; fastpath/stacked_probes.py's, many runs in one pass). `surface`:
    kind, output (and classes, confidence); `biases`: per link matrix, the bias of each of
    its output neurons."""
    section: dict = {"extent": [rounded(v) for v in trainer.data.meta["extent"]], "resolution": res}
    section.update(surface)
    section["neurons"] = neurons
    section["neuron_layers"] = [-1, *dense]
    section["features"] = list(trainer.data.feature_names or [])
    section["weights"] = weights
    section["biases"] = biases
    return section


# ---------------------------------------------------------------- images


def _as_images(x: Tensor, trainer: Trainer) -> Tensor:
    """Samples as grey images (N, H, W): flat inputs use meta image_shape, channels averaged."""
    shape = trainer.data.meta.get("image_shape")
    if x.dim() == 2 and shape is not None:
        x = x.reshape(x.shape[0], *shape)
    if x.dim() == 4:
        x = x[:, 0] if x.shape[1] == 1 else x.mean(dim=1)
    return x


def _images(trainer: Trainer, types, x: Tensor, y: Tensor, out: Tensor, kept: dict) -> dict:
    model = trainer.model
    section: dict = {}
    conv = next((i for i, t in enumerate(types) if t == "conv2d"), None)
    if conv is not None:
        w = model.body[conv][0].weight[:MAX_FILTERS]  # (out, in, kh, kw)
        section["filters"] = byte_grid(w.mean(dim=1))  # (n, kh, kw), channels averaged
    section["feature_maps"] = [
        {"layer": i, "type": types[i], "maps": byte_grid(kept[i][0, :MAX_MAPS])}
        for i in sorted(k for k in kept if isinstance(k, int) and types[k] in IMAGE_LAYERS)
    ]
    imgs = _as_images(x[:N_IMAGES], trainer)
    section["samples"] = byte_grid(imgs)
    prob = torch.softmax(out[:N_IMAGES].float(), dim=1)
    conf, pred = prob.max(dim=1)
    section["labels"] = y[:N_IMAGES].tolist()
    section["predictions"] = pred.tolist()
    section["confidence"] = [rounded(c, 3) for c in conf.tolist()]
    if trainer.val_predictions is None:  # before the first epoch's evaluation
        trainer.val_predictions = trainer.val_outputs().argmax(dim=1).cpu()
    n = trainer.data.target_shape[0]
    section["confusion"] = metrics.confusion_matrix(trainer.val_predictions, trainer.y_val, n)
    section["class_names"] = list(trainer.data.class_names or [str(k) for k in range(n)])
    return section


# ---------------------------------------------------------------- autoencoders


def _narrowest(trainer: Trainer) -> int | None:
    """The body layer with the fewest output values: the bottleneck (first one on ties)."""
    sizes = [math.prod(pl.output_shape) for pl in trainer.plan.layers]
    return min(range(len(sizes)), key=sizes.__getitem__) if sizes else None


def _autoencoder(trainer: Trainer, x, y, out, kept: dict, latent: int | None) -> dict:
    d = trainer.data
    pred = trainer.predictions(out).reshape(y.shape)
    section: dict = {}
    is_image = len(d.input_shape) == 3 or "image_shape" in d.meta
    if is_image:
        orig = _as_images(y[:N_RECON], trainer)
        lo, hi = torch.aminmax(orig)
        section["originals"] = byte_grid(orig, lo.item(), hi.item())
        section["reconstructions"] = byte_grid(
            _as_images(pred[:N_RECON], trainer), lo.item(), hi.item()
        )
    else:
        n = N_RECON_POINTS if tuple(d.input_shape) == (2,) else N_RECON
        if "extent" in d.meta:
            section["extent"] = [rounded(v) for v in d.meta["extent"]]
        section["originals"] = rounded_list(y[:n].reshape(min(n, len(y)), -1), 4)
        section["reconstructions"] = rounded_list(pred[:n].reshape(min(n, len(y)), -1), 4)

    if latent is not None:
        codes = kept[latent].reshape(x.shape[0], -1)
        labels = d.meta.get("labels_val")  # classes of the validation samples, if known
        section["latent"] = {
            "layer": latent,
            "dims": codes.shape[1],
            "projection": "pca" if codes.shape[1] > 2 else "none",
            "points": rounded_list(metrics.pca_2d(codes), 4),
            "labels": torch.as_tensor(labels)[: x.shape[0]].tolist()
            if labels is not None
            else None,
            "label_names": d.meta.get("label_names"),
        }
    if trainer.anomaly is not None:
        scores = metrics.reconstruction_error(pred, y)
        labels = trainer.anomaly[: x.shape[0]]
        section["anomaly"] = {
            "scores": rounded_list(scores, 6),
            "labels": labels.tolist(),
            "roc_auc": rounded(metrics.roc_auc(scores, labels)),
        }
    return section


# ---------------------------------------------------------------- sequences


def _series(t: Tensor) -> list:
    """One sample's sequence for a line chart: (T,) as is, (T, F) -> its first feature."""
    t = t.detach()
    if t.dim() == 2:
        t = t[:, 0]
    if t.dtype == torch.int64:
        return t.reshape(-1).tolist()
    return rounded_list(t.reshape(-1), 4)


def _sequence(trainer: Trainer, x: Tensor, y: Tensor, out: Tensor, cell_out) -> dict:
    section: dict = {"input": _series(x[0])}
    if trainer.plan.task == "classification":
        k = min(N_SEQUENCES, x.shape[0])
        section["probabilities"] = rounded_list(torch.softmax(out[:k].float(), dim=1), 4)
        section["labels"] = y[:k].tolist()
        section["predictions"] = out[:k].argmax(dim=1).tolist()
        n = trainer.data.target_shape[0]
        section["class_names"] = list(trainer.data.class_names or [str(i) for i in range(n)])
        section["inputs"] = [_series(x[i]) for i in range(k)]
    else:
        section["truth"] = rounded_list(y[0].reshape(-1), 4)
        section["prediction"] = rounded_list(trainer.predictions(out[0]).reshape(-1), 4)
    if cell_out is not None:
        section["hidden"] = byte_grid(cell_out[0, :, :MAX_HIDDEN])  # (T, H) of sample 0
    return section
