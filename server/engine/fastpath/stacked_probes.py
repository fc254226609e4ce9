"""Snapshots of many same-shape fast-path runs, computed together after a stacked epoch.

A watched spiral run's snapshot (probes.py: the "layers" and "boundary" sections) is two small
hooked forward passes (the 64-sample probe set for each layer's statistics, the 20x20 or 40x40
boundary grid for the output surface and the neurons' thumbnails) and a few dozen small array
reductions: ~1-1.8 ms of per-call overhead around a few hundred thousand multiply-adds. R runs
of one stack (stacked.py) have the same layer sizes and activations and, on one dataset, the
same grid inputs; only the weights and the probe set differ. So the probe set and the grid go
through all R networks as one pass, `np.matmul` over (R, 64 + G, in) x (R, in, out), and the
statistics, histograms, norms, thumbnails and surfaces are each one reduction over the runs'
axis. What stays per run is what makes its snapshot's Python objects (byte grids' base64,
rounded weight lists).

    key(trainer, resolution) -> tuple | None     runs with equal keys are probed together
                                                  (None: its own `trainer.probe` only)
    snapshots(trainers, resolution) -> [dict]    each what `trainer.probe(resolution=...)`
                                                  gives (same keys, values to float32 rounding)

Numerics: the forward pass is NumPy's float32 matmul where the probe used torch's linear, so
values agree to float32 rounding, not bit for bit: a byte-grid level or a histogram bin can
differ where a value sits on a boundary (tests/engine/test_stacked_probes.py). The histogram
repeats torch.histc's float32 binning exactly (probes.histc); the weights and biases are the
runs' own.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import probes
from ..bytegrid import byte_grids, rounded, rounded_list
from .fused_codes import ACTIVATION_CODES
from .kernels import ACTIVATIONS

_ACTIVATION_NAMES = {code: name for name, code in ACTIVATION_CODES.items()}
_SECTIONS = {"layers", "boundary"}  # what a covered 2D run's snapshot holds
# Runs' input rows (probe set and grid) per pass: each layer's (R, rows, out) outputs then stay
# in a core's cache (2 MB here): 50 spiral runs at grid 40 in one pass cost ~2x more per run.
CHUNK_ROWS = 8192


def _bound(state) -> bool:
    """Every parameter and its gradient are views of the run's flat buffers (after a fast
    epoch they are; a load or an untrained run's missing gradients are not: probed alone)."""
    base, gbase = state.data.data_ptr(), state.grad.data_ptr()
    for p, off in zip(state.params, state.offsets, strict=True):
        g = p.grad
        if p.data_ptr() != base + 4 * off or g is None or g.data_ptr() != gbase + 4 * off:
            return False
    return True


def key(trainer, resolution: int = probes.GRID_RES) -> tuple | None:
    """What must match for runs to be probed as one pass: the network (layer sizes,
    activations, offsets), the task and loss, the probe set's shape, the grid (its side, the
    data's extent and feature crosses: the same inputs for every run); None when this run's
    snapshot is not one this module computes (not on the fast path, sections other than the
    layers and the boundary, a leading flatten layer, a head with more than its linear)."""
    fast = getattr(trainer, "_fast", None)
    if fast is None or probes.applicable(trainer) != _SECTIONS:
        return None
    model = trainer.model
    if len(model.body) != len(fast.layout) - 1 or len(model.head) != 1:
        return None
    if not _bound(fast.state):
        return None
    meta = trainer.data.meta
    return (
        fast.layout.tobytes(),
        trainer.plan.task,
        trainer.plan.loss,
        tuple(probes.probe_inputs(trainer)["x"].shape),
        int(resolution),
        tuple(float(v) for v in meta["extent"]),
        tuple(meta.get("crosses") or []),
    )


def _forward(layout: np.ndarray, data: np.ndarray, x: np.ndarray) -> list[np.ndarray]:
    """x (R, N, F) through R networks whose parameters are the rows of data (R, P) -> every
    layer's output (R, N, out), the head's last (its logits)."""
    r = data.shape[0]
    outs, a = [], x
    for nin, nout, woff, boff, act, _, _ in layout.tolist():
        w = data[:, woff : woff + nout * nin].reshape(r, nout, nin)  # (R, out, in)
        z = np.matmul(a, w.transpose(0, 2, 1))  # (R, N, out)
        if boff >= 0:
            z += data[:, None, boff : boff + nout]
        name = _ACTIVATION_NAMES[act]
        a = z if name == "linear" else ACTIVATIONS[name][0](z)
        outs.append(a)
    return outs


def _stats(out: np.ndarray) -> list[dict]:
    """probes.activation_stats of each run's rows (R, N, D) -> one dict per run."""
    a = out.reshape(out.shape[0], -1)  # (R, N*D)
    if not np.isfinite(a).all():  # a diverging run: the per-run rule drops non-finite values
        return [probes.activation_stats(torch.from_numpy(row)) for row in a]
    lo, hi = a.min(axis=1), a.max(axis=1)  # (R,) float32
    mean, std = a.mean(axis=1), a.std(axis=1)
    spread = hi > lo
    counts = np.zeros((a.shape[0], probes.HIST_BINS), np.int64)
    counts[:, 0] = a.shape[1]  # a constant row: every value in the first bin
    if spread.any():
        counts[spread] = probes.histc(a[spread], lo[spread], hi[spread])
    return [
        {
            "mean": rounded(float(m)),
            "std": rounded(float(s)),
            "hist": {"lo": rounded(float(lv)), "hi": rounded(float(hv)), "counts": c},
        }
        for m, s, lv, hv, c in zip(mean, std, lo, hi, counts.tolist(), strict=True)
    ]


def _norm(data: np.ndarray, woff: int, wsize: int, boff: int, bsize: int) -> np.ndarray:
    """(R,) L2 norm of each run's layer parameters (its weight, then its bias), as
    probes._norms: the norm of the parameters' norms."""
    sq = np.square(np.linalg.norm(data[:, woff : woff + wsize], axis=1))
    if boff >= 0:
        sq += np.square(np.linalg.norm(data[:, boff : boff + bsize], axis=1))
    return np.sqrt(sq)


def _thumbnails(act: np.ndarray, res: int) -> np.ndarray:
    """probes.thumbnails for every run: (R, G, n) activations -> (R, n, res/2, res/2)."""
    r, _, n = act.shape
    pooled = probes.pool_grids(act.reshape(r, res, res, n), axis=1)  # (R, side, side, n)
    return pooled.transpose(0, 3, 1, 2)


def _rounded_rows(a: np.ndarray) -> list[list]:
    """rounded_list(a[r], 4) for each run r of a (R, ...)."""
    if not np.isfinite(a).all():
        return [rounded_list(row, 4) for row in a]
    return np.round(a.astype(np.float64), 4).tolist()


def _surface(trainers: list, logits: np.ndarray, res: int) -> list[dict]:
    """The boundary's output surface of each run from its grid logits (R, G, D)."""
    task = trainers[0].plan.task
    r = logits.shape[0]
    if task == "classification":
        e = np.exp(logits - logits.max(axis=2, keepdims=True))
        prob = e / e.sum(axis=2, keepdims=True)  # (R, G, D)
        n = prob.shape[2]
        if n == 2:
            grids = byte_grids(prob[:, :, 1].reshape(r, res, res), 0.0, 1.0)
            return [{"kind": "probability", "output": g} for g in grids]
        cls = prob.argmax(axis=2)
        conf = np.take_along_axis(prob, cls[:, :, None], axis=2)[:, :, 0]
        outs = byte_grids(cls.astype(np.float32).reshape(r, res, res), 0.0, float(n - 1))
        confs = byte_grids(conf.reshape(r, res, res), 0.0, 1.0)
        return [
            {"kind": "class", "classes": n, "output": o, "confidence": c}
            for o, c in zip(outs, confs, strict=True)
        ]
    pred = logits[:, :, 0]
    if trainers[0].plan.loss == "bce":  # trainer.predictions
        pred = 1 / (1 + np.exp(-pred))
    surfaces = []
    for t, p in zip(trainers, pred, strict=True):
        ys = t.y_train.reshape(t.y_train.shape[0], -1)[:, 0].numpy()
        (grid,) = byte_grids(p.reshape(1, res, res), float(ys.min()), float(ys.max()))
        surfaces.append({"kind": "value", "output": grid})
    return surfaces


def snapshots(trainers: list, resolution: int = probes.GRID_RES) -> list[dict]:
    """Each trainer's snapshot at boundary side `resolution`, as `trainer.probe` makes it, for
    runs of one `key` (checked by the caller): one pass for every CHUNK_ROWS rows of inputs."""
    res = int(resolution)
    rows = probes.probe_inputs(trainers[0])["x"].shape[0] + res * res
    size = max(1, CHUNK_ROWS // rows)
    with np.errstate(all="ignore"):  # a diverging run's inf/NaN: stored as its probe stores it
        return [
            s
            for i in range(0, len(trainers), size)
            for s in _snapshots(trainers[i : i + size], res)
        ]


def _snapshots(trainers: list, res: int) -> list[dict]:
    first = trainers[0]
    r = len(trainers)
    layout = first._fast.layout
    body = len(layout) - 1
    types = [pl.kind.name for pl in first.plan.layers]

    # Inputs: each run's probe set (R, S, F), then the grid (G, F), the same for all runs.
    x = np.stack([probes.probe_inputs(t)["x"].reshape(-1, layout[0, 0]).numpy() for t in trainers])
    s_count = x.shape[1]
    _, feats = probes.grid_inputs(first, res)  # (G, F)
    g = feats.shape[0]
    inputs = np.empty((r, s_count + g, x.shape[2]), np.float32)  # (R, S + G, F)
    inputs[:, :s_count] = x
    inputs[:, s_count:] = feats.numpy()
    data = np.stack([t._fast.state.np_data for t in trainers])  # (R, P) parameters
    grad = np.stack([t._fast.state.np_grad for t in trainers])  # (R, P) their gradients

    # One pass: every layer's output on the probe set and the grid, (R, S + G, out) each.
    outs = _forward(layout, data, inputs)

    # "layers": statistics on the probe set, norms of parameters and gradients.
    stats = [_stats(out[:, :s_count]) for out in outs]  # [layer][run]
    norms, grad_norms = [], []
    for nin, nout, woff, boff, *_ in layout.tolist():
        norms.append(_norm(data, woff, nin * nout, boff, nout).tolist())
        grad_norms.append(_norm(grad, woff, nin * nout, boff, nout).tolist())
    names = [*types, "head"]

    # "boundary": the surface from the head's grid logits; the neurons' thumbnails, pooled
    # and quantised for all runs and layers at once (each its own range, as per run).
    surfaces = _surface(trainers, outs[-1][:, s_count:], res)
    thumbs = [_thumbnails(outs[i][:, s_count:, : probes.MAX_NEURONS], res) for i in range(body)]
    counts = [t.shape[1] for t in thumbs]
    side = res // probes.THUMB_POOL
    flat = byte_grids(np.concatenate(thumbs, axis=1).reshape(-1, side, side)) if thumbs else []
    per_run = sum(counts)
    weights, biases = [], []
    for i, (nin, nout, woff, boff, *_) in enumerate(layout.tolist()):
        w = data[:, woff : woff + nout * nin].reshape(r, nout, nin)
        n = nout if i == body else min(nout, probes.MAX_NEURONS)  # the head: all its rows
        weights.append(_rounded_rows(w[:, :n, : probes.MAX_NEURONS]))
        if boff >= 0:
            biases.append(_rounded_rows(data[:, boff : boff + n]))
        else:
            biases.append([[0.0] * n for _ in range(r)])
    dense = [i for i, t in enumerate(types) if t == "dense"]

    snaps = []
    for k, t in enumerate(trainers):
        neurons = [probes.feature_grids(t, res)]
        start = k * per_run
        for c in counts:
            neurons.append(flat[start : start + c])
            start += c
        layers = []
        for i, name in enumerate(names):
            entry = {"index": i, "type": name}
            entry.update(stats[i][k])
            entry.update(weight_norm=rounded(norms[i][k]), grad_norm=rounded(grad_norms[i][k]))
            layers.append(entry)
        section = probes.boundary_section(
            t, res, surfaces[k], neurons, dense, [w[k] for w in weights], [b[k] for b in biases]
        )
        snaps.append({"epoch": t.epoch, "layers": layers, "boundary": section})
    return snaps


__all__ = ["key", "snapshots"]
