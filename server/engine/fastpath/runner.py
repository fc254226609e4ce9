"""The trainer's fast loop: many optimiser steps per call, in NumPy, on the model's tensors.

`FastPath.run(trainer, deadline)` continues the trainer's epoch exactly where eager stepping
would: the same batches of the same permutation, the same loss, L1/L2 and optimiser rules, the
divergence check on every batch's loss (before that batch's update, as eager), and the same
training metric (outputs with the pre-step weights). It returns when the epoch ends or the
deadline passes, after at least one batch. Two forms: NumPy kernels (dense.py, kernels.py,
optim.py; ~3-4x eager for a tiny MLP: a few dozen NumPy calls per batch instead of ~40
PyTorch ops through autograd) and, once loaded, one compiled call for many batches (fused.py;
~20-300x eager). The form is chosen at each epoch's start.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from . import compiler
from .coverage import COMPILED_MAX_WORK, Coverage
from .dense import DenseStack
from .flat import FlatState
from .fused_codes import ACTIVATION_CODES, LOSS_CODES, OPTIMIZER_CODES
from .kernels import LOSSES
from .optim import UPDATES

FIRST_CHUNK = 1  # batches in the first compiled call (measured); each call may double it


class FastPath:
    """Fused training steps for one covered trainer (see coverage.py)."""

    def __init__(self, trainer, coverage: Coverage, compiled: bool = True):
        # Use the compiled kernel (fused.py) once it is loaded, for steps small enough.
        self.compiled = compiled and coverage.work <= COMPILED_MAX_WORK
        self.fused = False  # this epoch runs on it (decided at each epoch's start)
        self.state = FlatState(trainer.model, trainer.optimizer, coverage.optimizer)
        self.stack = DenseStack(coverage, self.state)
        self.update = UPDATES[coverage.optimizer]
        self.loss = LOSSES[trainer.plan.loss]
        self.classification = trainer.plan.task == "classification"
        self.sigmoid_outputs = trainer.plan.loss == "bce"  # predictions from logits
        n = trainer.x_train.shape[0]
        # NumPy views of the trainer's data (shared memory, never written).
        self.x = trainer.x_train.reshape(n, -1).numpy()  # (N, F)
        y = trainer.y_train
        self.y = y.numpy() if self.classification else y.reshape(n, -1).numpy()  # (N,) | (N, D)
        total = self.state.data.numel()
        self.scratch = np.empty(total, np.float32)  # grad + L2, per step
        self.tmp = np.empty(total, np.float32)
        self.epoch_outputs: np.ndarray | None = None  # (N, classes) for the training accuracy
        self.layout = _layout(coverage, self.state)
        self.codes = _codes(coverage, trainer.plan.loss)
        self.step_s = 0.0  # measured seconds per batch of the compiled kernel
        self.chunk = FIRST_CHUNK  # most batches the next compiled call may take
        if trainer.plan.task == "classification":
            self.y_cls, self.y_reg = self.y.astype(np.int64), np.zeros((1, 1), np.float32)
        else:
            self.y_cls, self.y_reg = np.zeros(1, np.int64), np.ascontiguousarray(self.y)
        self.x = np.ascontiguousarray(self.x)
        n_val = trainer.x_val.shape[0]
        self.x_val = np.ascontiguousarray(trainer.x_val.reshape(n_val, -1).numpy())

    def run(self, trainer, deadline: float) -> None:
        """Train batches from `trainer._batch` until its epoch ends or `deadline` passes."""
        if trainer._batch == 0:  # a whole epoch on one form: the records do not depend on
            # when the kernel finished loading, only on whether it had at the epoch's start
            self.fused = self.compiled and compiler.kernel() is not None
        if self.fused:
            self._run_fused(trainer, deadline)
        else:
            # Overflow to inf/NaN is what the divergence check looks for, not a warning.
            with np.errstate(all="ignore"):
                self._run_numpy(trainer, deadline)

    def val_outputs(self) -> torch.Tensor | None:
        """The raw validation outputs from the compiled forward (0.05 ms for the spiral's 250
        samples, against 0.09 ms for the model's own forward: bench/kernel.py), or None where
        it is not used: the kernel still loading, or a step too large for it."""
        predict = compiler.predictor() if self.compiled else None
        if predict is None:
            return None
        self.state.bind()  # parameters assigned new data (a load) are adopted
        out = np.empty((self.x_val.shape[0], int(self.layout[-1, 1])), np.float32)
        predict(self.x_val, self.layout, self.state.np_data, out)
        return torch.from_numpy(out)

    def _epoch_outputs(self, trainer) -> None:
        if self.classification and (trainer._batch == 0 or self.epoch_outputs is None):
            classes = trainer.plan.shapes.target_shape[0]
            self.epoch_outputs = np.empty((self.x.shape[0], classes), np.float32)

    def _run_fused(self, trainer, deadline: float) -> None:
        """Batches in compiled calls sized to the time left (the kernel cannot read a clock)."""
        kernel = compiler.kernel()
        s = self.state
        s.bind()
        s.read_steps()
        self._epoch_outputs(trainer)
        outs = self.epoch_outputs if self.classification else np.zeros((1, 1), np.float32)
        group = trainer.optimizer.param_groups[0]
        hyper = np.array(
            [
                group["lr"], group["weight_decay"], group.get("momentum", 0.0),
                *group.get("betas", (0.0, 0.0)), group.get("eps", 0.0), group.get("alpha", 0.0),
                trainer._l1,
            ],
            np.float64,
        )  # fmt: skip
        perm = trainer._perm.numpy()
        bounds = np.asarray(trainer._bounds, np.int64)
        slots = list(s.np_slots.values()) + [np.zeros(1, np.float32)] * 2
        first_row = bounds[trainer._batch]
        abs_err = 0.0
        try:
            while True:
                left = trainer.batches_per_epoch - trainer._batch
                now = time.perf_counter()
                count = min(left, self.chunk)  # grows only as fast as it is measured
                if deadline != math.inf and self.step_s > 0:
                    count = min(count, int((deadline - now) / self.step_s))
                count = max(1, count)
                losses = np.empty((count, 2))
                done, stopped, s.step_count, err = kernel(
                    self.x, self.y_cls, self.y_reg, perm, bounds, trainer._batch, count,
                    self.layout, s.np_data, s.np_grad, slots[0], slots[1], s.n_weights,
                    self.codes[0], self.codes[1], hyper, s.step_count, outs, losses,
                )  # fmt: skip
                for k in range(done):  # in order, as eager adds them
                    trainer._loss_sum += float(losses[k, 0])
                abs_err += err
                trainer._batch += done
                if stopped:
                    raise trainer.diverged(float(losses[done, 0]), float(losses[done, 1]))
                per_batch = (time.perf_counter() - now) / max(1, done)
                self.step_s = per_batch if not self.step_s else 0.5 * (self.step_s + per_batch)
                self.chunk = max(self.chunk, 2 * done)
                if trainer._batch == trainer.batches_per_epoch or time.perf_counter() >= deadline:
                    break
        finally:
            s.sync_steps()
            self._keep(trainer, first_row, abs_err)

    def _keep(self, trainer, first_row: int, abs_err: float) -> None:
        """Hand the call's training-metric material to the trainer, as eager steps keep it."""
        rows = trainer._bounds[trainer._batch]
        if self.classification and rows > first_row:
            trainer._outputs_kept.append(torch.from_numpy(self.epoch_outputs[first_row:rows]))
        elif abs_err:
            trainer._abs_err += abs_err

    def _run_numpy(self, trainer, deadline: float) -> None:
        s = self.state
        s.bind()
        s.read_steps()
        group = trainer.optimizer.param_groups[0]  # lr read now: set_lr lands between calls
        perm = trainer._perm.numpy()
        bounds = trainer._bounds
        l1 = np.float32(trainer._l1)
        nw = s.n_weights
        weights, grad = s.np_data[:nw], s.np_grad[:nw]
        stack, loss_fn, update = self.stack, self.loss, self.update
        x_all, y_all = self.x, self.y
        self._epoch_outputs(trainer)
        first_row = bounds[trainer._batch]
        abs_err = 0.0
        batch = trainer._batch
        last = trainer.batches_per_epoch
        try:
            while True:
                lo, hi = bounds[batch], bounds[batch + 1]
                idx = perm[lo:hi]
                x, y = x_all[idx], y_all[idx]
                out, inputs, pre = stack.forward(x)
                value, d_out = loss_fn(out, y)
                total_value = value
                if l1:
                    total_value = value + float(l1 * np.abs(weights).sum())
                if not (math.isfinite(value) and math.isfinite(total_value)):
                    trainer._batch = batch
                    raise trainer.diverged(value, total_value)
                stack.backward(d_out, out, inputs, pre)
                if l1:
                    grad += l1 * np.sign(weights)
                update(s, group, self.scratch, self.tmp)
                trainer._loss_sum += value
                if self.classification:
                    self.epoch_outputs[lo:hi] = out
                else:
                    pred = 1 / (1 + np.exp(-out)) if self.sigmoid_outputs else out
                    abs_err += float(np.abs(pred - y).mean(axis=1).sum(dtype=np.float64))
                batch += 1
                if batch == last or time.perf_counter() >= deadline:
                    break
        finally:
            s.sync_steps()
            trainer._batch = batch
            self._keep(trainer, first_row, abs_err)


def _layout(coverage: Coverage, state: FlatState) -> np.ndarray:
    """The kernel's description of the stack: one row per linear layer (fused.py)."""
    rows, offset, inputs = [], 0, -1
    for i, spec in enumerate(coverage.layers):
        lin = spec.linear
        w = state.offsets[state.index(lin.weight)]
        b = state.offsets[state.index(lin.bias)] if lin.bias is not None else -1
        act = spec.activation
        if i == len(coverage.layers) - 1 and coverage.head_sigmoid:
            act = "sigmoid"
        rows.append(
            [lin.in_features, lin.out_features, w, b, ACTIVATION_CODES[act], offset, inputs]
        )
        inputs, offset = offset, offset + lin.out_features
    return np.array(rows, np.int64)


def _codes(coverage: Coverage, loss: str) -> tuple[int, int]:
    return OPTIMIZER_CODES[coverage.optimizer], LOSS_CODES[loss]
