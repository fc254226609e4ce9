"""Many same-shape tiny runs trained as one stacked computation: one epoch each, in one call.

A spiral run's fast-path epoch is 25 batches of a 1.2k-parameter network: each NumPy call does
a few hundred multiply-adds and costs its per-call overhead. R runs whose shapes match (same
layers, activations, loss, optimiser kind and slots, batch bounds, features and targets: `key`)
train together: their flat buffers are gathered into an arena (R, P), each batch is
`np.matmul` over (R, B, in) x (R, in, out), and every run's hyper-parameters are (R, 1) arrays,
so one call does what R calls did. Each run keeps its own shuffled order, data, learning rate,
momentum or betas, weight decay, L1 and step count. At the end the arena is scattered back
into each run's `FlatState` (its parameters, gradients and optimiser state stay the tensors
probes, export and eager steps read): gathering and scattering copy a few KB per run, 5-10% of
its epoch (bench/stacked.py prints it), cheaper and far simpler than moving every run's
buffers into a shared arena that changes as runs come and go. Large stacks train as chunks of
at most `CHUNK` runs; the validation forward goes `VAL_CHUNK` runs at a time (its activations
are N_val / B times a batch's: all 200 runs' at once spilled from the cache, a sixth of the
epoch), and classification's hits are counted for all runs in NumPy.

    key(trainer) -> tuple | None            runs with equal keys stack (None: never)
    train_epochs(trainers) -> [record | error]   one whole epoch each, records kept as
                                                  `Trainer.train_steps` keeps them

Numerics: the same float32 element operations as the per-run NumPy path (dense.py, optim.py),
batched; results agree with it to float32 rounding (tests/engine/test_fastpath_stacked.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from . import compiler
from .fused_codes import ACTIVATION_CODES
from .kernels import ACTIVATIONS
from .stacked_kernels import LOSSES, UPDATES, Arena, Hyper, compiled_adam

_ACTIVATION_NAMES = {code: name for name, code in ACTIVATION_CODES.items()}


def key(trainer) -> tuple | None:
    """What must match for runs to train as one stack; None when `trainer` cannot stack
    (eager, or mid-epoch: a stacked call trains whole epochs)."""
    fast = getattr(trainer, "_fast", None)  # None too for other trainers (tests' fakes)
    if fast is None or trainer._batch != 0:
        return None
    s = fast.state
    return (
        fast.layout.tobytes(),  # layer sizes, activations, offsets of every tensor
        trainer.plan.loss,
        trainer.plan.task,
        type(trainer.optimizer).__name__,
        tuple(s.slots),  # SGD/RMSprop keep a momentum buffer only with momentum
        s.n_weights,
        s.data.numel(),
        tuple(trainer._bounds),  # same samples per epoch and batch sizes
        fast.x.shape[1:],
        fast.y.shape[1:],
        str(fast.y.dtype),
        tuple(trainer.x_val.shape),  # validated together too
    )


def _hyper(trainers: list) -> Hyper:
    groups = [t.optimizer.param_groups[0] for t in trainers]  # lr read now: set_lr applies

    def col(values: list[float]) -> np.ndarray:
        # float32 of each double, as the per-run path's np.float32(python float)
        return np.array(values, np.float64).astype(np.float32)[:, None]

    lr = [g["lr"] for g in groups]
    wd = [g["weight_decay"] for g in groups]
    betas = [g.get("betas", (0.0, 0.0)) for g in groups]
    alpha = [g.get("alpha", 0.0) for g in groups]
    momentum = [g.get("momentum", 0.0) for g in groups]
    l1 = col([t._l1 for t in trainers])
    return Hyper(
        lr=col(lr),
        wd=col(wd),
        momentum=col(momentum),
        beta1=col([b[0] for b in betas]),
        beta2=col([b[1] for b in betas]),
        eps=col([g.get("eps", 0.0) for g in groups]),
        alpha=col(alpha),
        l1=l1,
        one_minus_beta1=col([1 - b[0] for b in betas]),
        one_minus_beta2=col([1 - b[1] for b in betas]),
        one_minus_alpha=col([1 - a for a in alpha]),
        decay_factor=col([1 - r * w for r, w in zip(lr, wd, strict=True)]),
        lr64=np.array(lr, np.float64),
        beta1_64=np.array([b[0] for b in betas], np.float64),
        beta2_64=np.array([b[1] for b in betas], np.float64),
        any_wd=any(w != 0 for w in wd),
        any_momentum=any(m != 0 for m in momentum),
        any_l1=bool((l1 != 0).any()),
    )


class _Net:
    """Views of the arena per layer: W (R, out, in), b (R, out), and their gradients."""

    def __init__(self, layout: np.ndarray, arena: Arena):
        r = arena.data.shape[0]
        self.layers = []
        for nin, nout, woff, boff, act, _, _ in layout.tolist():
            w = arena.data[:, woff : woff + nout * nin].reshape(r, nout, nin)
            gw = arena.grad[:, woff : woff + nout * nin].reshape(r, nout, nin)
            b = gb = None
            if boff >= 0:
                b, gb = arena.data[:, boff : boff + nout], arena.grad[:, boff : boff + nout]
            name = _ACTIVATION_NAMES[act]
            f, df = ACTIVATIONS[name]
            if name == "linear":
                f = df = None
            self.layers.append((w, b, gw, gb, f, df))
        # What forward reads, viewed once: W^T (R, in, out) and b (R, 1, out).
        self._forward = [
            (w.transpose(0, 2, 1), None if b is None else b[:, None, :], f)
            for w, b, _, _, f, _ in self.layers
        ]

    def forward(self, x: np.ndarray, rows: slice | None = None) -> tuple[np.ndarray, list, list]:
        """x (R, B, F) -> outputs (R, B, D), layer inputs and pre-activations; `rows`: those
        runs of the arena alone (x then has their rows)."""
        inputs, pre = [], []
        a = x
        for wt, b, f in self._forward:
            if rows is not None:
                wt, b = wt[rows], None if b is None else b[rows]
            inputs.append(a)
            z = np.matmul(a, wt)
            if b is not None:
                z += b
            pre.append(z)
            a = z if f is None else f(z)
        return a, inputs, pre

    def backward(self, d_out: np.ndarray, out: np.ndarray, inputs: list, pre: list) -> None:
        g, a = d_out, out
        for layer in range(len(self.layers) - 1, -1, -1):
            w, _, gw, gb, _, df = self.layers[layer]
            dz = g if df is None else df(g, pre[layer], a)  # (R, B, out)
            np.matmul(dz.transpose(0, 2, 1), inputs[layer], out=gw)
            if gb is not None:
                np.sum(dz, axis=1, out=gb)
            if layer:
                g = np.matmul(dz, w)  # (R, B, in)
                a = inputs[layer]


def _gather(trainers: list) -> Arena:
    states = [t._fast.state for t in trainers]
    for s in states:
        s.bind()  # parameters assigned new data (a load) are adopted; .grad pointed back
        s.read_steps()
    first = states[0]
    return Arena(
        data=np.stack([s.np_data for s in states]),
        grad=np.stack([s.np_grad for s in states]),
        slots={name: np.stack([s.np_slots[name] for s in states]) for name in first.np_slots},
        steps=np.array([s.step_count for s in states], np.int64),
        n_weights=first.n_weights,
        scratch=np.empty((len(states), first.np_data.size), np.float32),
        tmp=np.empty((len(states), first.np_data.size), np.float32),
    )


def _scatter(arena: Arena, trainer, r: int) -> None:
    """Row r of the arena back into the run's own buffers (the model's tensors)."""
    s = trainer._fast.state
    s.np_data[:] = arena.data[r]
    s.np_grad[:] = arena.grad[r]
    for name, buf in s.np_slots.items():
        buf[:] = arena.slots[name][r]
    s.step_count = int(arena.steps[r])
    s.sync_steps()


# Runs per stacked computation, at most: a chunk's arena (R, P) and activations stay near the
# core for larger networks too, while each NumPy call still serves dozens of runs. For the
# spiral starter (P = 1.2k) chunks of 50 to 200 cost the same per run, 16 ~20% more. Per run a
# chunk computes exactly what one stack of all R would; R = 200 trains as four chunks of 50.
CHUNK = 64
# Runs per validation forward: its (R, N_val, units) activations are N_val / B times a batch's.
VAL_CHUNK = 8


def train_epochs(trainers: list) -> list:
    """Train one whole epoch of each trainer (all at an epoch's start, all with one `key`)
    as one stacked computation. -> per trainer, its epoch record (kept in its history, as
    `train_steps` keeps it) or the exception that ended it (Diverged at the bad batch, with
    its parameters as they were before that batch's update, as the per-run path leaves them)."""
    start = time.perf_counter()
    r_count = len(trainers)
    for t in trainers:
        if not t.model.training:  # probes restore it (covered nets compute the same)
            t.model.train()
        t._begin_epoch()  # each run's own shuffled order
    hyper = _hyper(trainers)  # whole-stack switches (L1, L2, momentum) for every chunk
    results: list = [None] * r_count
    size = -(-r_count // -(-r_count // CHUNK))  # chunks of equal size, at most CHUNK
    parts = [
        _train_chunk(trainers[lo : lo + size], hyper.rows(lo, lo + size), results, lo)
        for lo in range(0, r_count, size)
    ]
    live = np.concatenate([p.live for p in parts]).tolist()
    loss_sum = np.concatenate([p.loss_sum for p in parts]).tolist()
    val_out = [torch.from_numpy(row) for p in parts for row in p.val_out]
    counted = parts[0].hits is not None
    if counted:
        hits = np.concatenate([p.hits for p in parts]).tolist()
        val_hits = np.concatenate([p.val_hits for p in parts]).tolist()
        val_classes = [row for p in parts for row in p.val_classes]
    elif parts[0].outs is not None:
        outs = [row for p in parts for row in p.outs]
    else:
        abs_err = np.concatenate([p.abs_err for p in parts]).tolist()
    share = (time.perf_counter() - start) / r_count  # each run's part of the call
    for r, t in enumerate(trainers):
        t._elapsed += share
        if not live[r]:
            continue
        t._loss_sum = loss_sum[r]
        t._batch = t.batches_per_epoch
        try:
            if counted:
                record = t._end_epoch(
                    val_out[r], hits[r], torch.from_numpy(val_classes[r]), val_hits[r]
                )
            else:
                if parts[0].outs is not None:
                    t._outputs_kept = [torch.from_numpy(outs[r])]
                else:
                    t._abs_err += abs_err[r]
                record = t._end_epoch(val_out[r])
            t._record(record)
            results[r] = record
        except Exception as err:  # noqa: BLE001 - one run's end (a NaN val loss) is its own
            results[r] = err
    return results


@dataclass(slots=True)
class _Part:
    """What a chunk of runs' stacked epoch leaves for their records."""

    live: np.ndarray  # (c,) bool: not diverged
    loss_sum: np.ndarray  # (c,) float64: the batch losses' sum
    val_out: np.ndarray  # (c, N_val, D)
    abs_err: np.ndarray | None = None  # (c,) float64 (regression)
    outs: np.ndarray | None = None  # (c, N, classes) training outputs in perm order
    hits: np.ndarray | None = None  # (c,) correct training predictions
    val_classes: np.ndarray | None = None  # (c, N_val) int64
    val_hits: np.ndarray | None = None  # (c,)


def _train_chunk(trainers: list, hyper: Hyper, results: list, first: int) -> _Part:
    """One epoch of `trainers` (a chunk of the stack, each at its epoch's start, shuffled) as
    one stacked computation; a run that diverges gets its error in `results[first + r]`."""
    fast0 = trainers[0]._fast
    r_count = len(trainers)
    n = fast0.x.shape[0]
    x = np.empty((r_count, n, *fast0.x.shape[1:]), np.float32)  # (R, N, F) in perm order
    y = np.empty((r_count, n, *fast0.y.shape[1:]), fast0.y.dtype)  # (R, N) | (R, N, D)
    for r, t in enumerate(trainers):
        perm = t._perm.numpy()
        np.take(t._fast.x, perm, axis=0, out=x[r])
        np.take(t._fast.y, perm, axis=0, out=y[r])
    arena = _gather(trainers)
    net = _Net(fast0.layout, arena)
    loss_fn = LOSSES[trainers[0].plan.loss]
    optimizer = type(trainers[0].optimizer).__name__.lower()  # sgd, adam, adamw, rmsprop
    update = UPDATES[optimizer]
    adam_rows = compiler.stacked_adam() if all(t._fast.compiled for t in trainers) else None
    if adam_rows is not None and optimizer in ("adam", "adamw"):  # Adam was ~25% of the epoch
        update = compiled_adam(adam_rows, hyper, decoupled=optimizer == "adamw")
    classification = fast0.classification
    outs = None
    if classification:  # (R, N, classes): each run's outputs for its training accuracy
        classes = trainers[0].plan.shapes.target_shape[0]
        outs = np.empty((r_count, n, classes), np.float32)
    abs_err = np.zeros(r_count, np.float64)
    loss_sum = np.zeros(r_count, np.float64)
    live = np.ones(r_count, bool)
    use_l1 = hyper.any_l1
    nw = arena.n_weights
    bounds = trainers[0]._bounds
    with np.errstate(all="ignore"):  # overflow to inf/NaN is what the divergence check reads
        for k in range(len(bounds) - 1):
            lo, hi = bounds[k], bounds[k + 1]
            xb, yb = x[:, lo:hi], y[:, lo:hi]
            out, inputs, pre = net.forward(xb)
            value, d_out = loss_fn(out, yb)
            total = value
            if use_l1:
                total = value + hyper.l1[:, 0] * np.abs(arena.data[:, :nw]).sum(axis=1)
            finite = np.isfinite(value)
            if use_l1:
                finite &= np.isfinite(total)
            if not finite.all():
                for r in np.flatnonzero(live & ~finite):  # stops before this batch's update
                    t = trainers[r]
                    _scatter(arena, t, r)
                    t._batch = k
                    results[first + r] = t.diverged(float(value[r]), float(total[r]))
                    live[r] = False
                if not live.any():
                    break
            net.backward(d_out, out, inputs, pre)
            if use_l1:
                arena.grad[:, :nw] += hyper.l1 * np.sign(arena.data[:, :nw])
            update(arena, hyper)
            loss_sum += value  # float32 -> float64, in batch order as eager adds them
            if classification:
                outs[:, lo:hi] = out
            else:
                pred = 1 / (1 + np.exp(-out)) if fast0.sigmoid_outputs else out
                abs_err += np.abs(pred - yb).mean(axis=2).sum(axis=1, dtype=np.float64)
    for r, t in enumerate(trainers):
        if live[r]:
            _scatter(arena, t, r)
    val_out = _validation_outputs(trainers, net)
    if not classification or y.ndim != 2:  # per-position labels: the trainer counts them
        return _Part(live, loss_sum, val_out, abs_err=abs_err, outs=outs)
    # One label per sample: the accuracies' counts for all runs at once (argmax: the first
    # of equal maxima and NaN as the largest, as torch's).
    hits = (outs.argmax(axis=2) == y).sum(axis=1)
    y_val = np.stack([t.y_val.numpy() for t in trainers])  # (R, N_val)
    val_classes = val_out.argmax(axis=2)
    val_hits = (val_classes == y_val).sum(axis=1)
    return _Part(live, loss_sum, val_out, hits=hits, val_classes=val_classes, val_hits=val_hits)


def _validation_outputs(trainers: list, net: _Net) -> np.ndarray:
    """Every run's raw outputs on its validation set, (R, N_val, D), a few runs per forward
    (the per-run eager forward was a third of a stacked spiral epoch)."""
    x = np.stack([t.x_val.reshape(t.x_val.shape[0], -1).numpy() for t in trainers])
    out = None
    with np.errstate(all="ignore"):  # a diverged run's NaN: its record says so
        for lo in range(0, len(trainers), VAL_CHUNK):
            part = net.forward(x[lo : lo + VAL_CHUNK], rows=slice(lo, lo + VAL_CHUNK))[0]
            if out is None:
                out = np.empty((len(trainers), *part.shape[1:]), part.dtype)
            out[lo : lo + VAL_CHUNK] = part
    return out


__all__ = ["key", "train_epochs"]
