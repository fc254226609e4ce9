"""The trainer: one experiment's model, data and optimiser, trained in small time slices.

A worker process time-slices many trainers in one thread, so a trainer never loops on its
own: `train_steps(budget_s)` runs batches until its epoch ends or the budget is spent and keeps
its place in the epoch. Determinism survives the interleaving because each trainer owns its
random state: a torch.Generator for shuffling, and the global CPU (and CUDA) RNG state used by
dropout, swapped in around every call and swapped out after.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import Settings
from . import metrics
from .bytegrid import rounded
from .early_stopping import EarlyStopping
from .errors import Diverged, ExperimentError
from .model import Network, Plan, build_model, check, plan
from .probes import GRID_RES, take_snapshot
from .schema import Experiment

# Loss per plan.loss. bce takes logits: build_head leaves out the sigmoid when the loss is bce,
# and binary_cross_entropy_with_logits is the numerically stable form.
LOSSES: dict[str, Callable[..., Tensor]] = {
    "cross_entropy": F.cross_entropy,
    "mse": F.mse_loss,
    "mae": F.l1_loss,
    "huber": F.huber_loss,
    "bce": F.binary_cross_entropy_with_logits,
}

EVAL_CHUNK = 512  # validation samples per forward pass: bounds memory for big conv nets


def resolve_device(requested: str) -> torch.device:
    """auto -> cuda when there is a GPU, else cpu; cuda without a GPU is the user's error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ExperimentError.single(
            ("training", "device"), "this server has no CUDA GPU: choose auto or cpu"
        )
    return torch.device(requested)


def data_subset(n: int, fraction: float, seed: int) -> Tensor:
    """Indices (sorted, int64) of the `fraction` of n training examples a run trains on: the
    first round(n * fraction) of a permutation seeded by `seed` alone, so the subsets of one
    seed are nested (5% is inside 10%) and each variant of a sweep sees the same examples at
    the same fraction. At least two: a batch of one would break batch norm, which the check
    refuses by batch size alone."""
    k = min(n, max(2, round(n * fraction)))
    gen = torch.Generator().manual_seed(seed + 7_000_003)
    return torch.randperm(n, generator=gen)[:k].sort().values


class Trainer:
    """Trains one experiment. See docs/internals.md for the record and snapshot contracts."""

    def __init__(
        self,
        experiment: Experiment,
        settings: Settings,
        device: str | None = None,
        fast_path: bool | None = None,
    ):
        self.experiment = experiment
        self.settings = settings
        t = experiment.training
        self.plan: Plan = plan(experiment, settings)
        check(experiment, settings, self.plan.data)  # parameter limit, before allocating
        self.data = self.plan.data
        if device is None:
            device = t.device if t.device != "auto" else settings.device
        self.device = resolve_device(device)
        self._cuda = self.device.type == "cuda"

        # Initial weights from training.seed, built on the CPU (same weights on every device),
        # without touching the process's global RNG: fork_rng restores it on exit. The state
        # the seed leaves behind becomes this trainer's own stream (dropout draws from it).
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(t.seed)
            model = build_model(self.plan)
            self._cpu_rng = torch.get_rng_state()
        self.model: Network = model.to(self.device)
        self._has_batchnorm = any(
            isinstance(m, nn.modules.batchnorm._NormBase) for m in self.model.modules()
        )
        self._mode_matters = self._has_batchnorm or any(
            isinstance(m, nn.modules.dropout._DropoutNd) for m in self.model.modules()
        )
        self._cuda_rng: Tensor | None = None
        if self._cuda:
            with torch.random.fork_rng(devices=[self.device]):
                torch.cuda.manual_seed(t.seed)
                self._cuda_rng = torch.cuda.get_rng_state(self.device)
        # Shuffling has its own generator (on the CPU: index permutations are tiny).
        self._gen = torch.Generator().manual_seed(t.seed + 1_000_003)

        # The data moves to the device once; batches are gathered by index. On the CPU `.to`
        # returns the same tensors, which are shared with the dataset cache: never mutate them.
        d = self.data
        self.x_train = d.x_train.to(self.device)
        self.y_train = d.y_train.to(self.device)
        if t.data_fraction < 1.0:
            keep = data_subset(self.x_train.shape[0], t.data_fraction, t.seed).to(self.device)
            self.x_train, self.y_train = self.x_train[keep], self.y_train[keep]  # new tensors
        self.x_val = d.x_val.to(self.device)
        self.y_val = d.y_val.to(self.device)
        self.anomaly: Tensor | None = None
        if d.task == "reconstruction" and d.meta.get("val_anomaly") is not None:
            self.anomaly = torch.as_tensor(d.meta["val_anomaly"]).reshape(-1).long()

        # Regularisation: L2 as weight decay (decoupled for adamw) and L1 on weights only,
        # i.e. tensors with dim > 1 (linear, conv, recurrent, embedding matrices), not on
        # biases or batch-norm scales, as is usual.
        self._weights = [p for p in self.model.parameters() if p.dim() > 1]
        others = [p for p in self.model.parameters() if p.dim() <= 1]
        # One group unless L2 must skip biases: each group is a separate optimiser kernel.
        groups = (
            [{"params": self._weights, "weight_decay": t.l2}, {"params": others}]
            if t.l2 > 0 and self._weights and others
            else [{"params": list(self.model.parameters()), "weight_decay": t.l2}]
        )
        lr = t.learning_rate
        # Fused kernels: one op per step for all tensors, ~1/3 faster Adam on a tiny CPU MLP.
        fused = {"fused": True} if self.device.type in ("cpu", "cuda") else {}
        if t.optimizer == "sgd":
            self.optimizer: torch.optim.Optimizer = torch.optim.SGD(
                groups, lr=lr, momentum=t.momentum, **fused
            )
        elif t.optimizer == "adam":
            self.optimizer = torch.optim.Adam(groups, lr=lr, weight_decay=0.0, **fused)
        elif t.optimizer == "adamw":
            self.optimizer = torch.optim.AdamW(groups, lr=lr, weight_decay=0.0, **fused)
        else:
            self.optimizer = torch.optim.RMSprop(groups, lr=lr, momentum=t.momentum)
        self._loss_fn = LOSSES[self.plan.loss]
        self._l1 = t.l1

        # Batch boundaries, fixed for the run. A lone last sample is folded into the batch
        # before it: batch norm cannot normalise a batch of one.
        n = self.x_train.shape[0]
        bs = max(1, min(t.batch_size, n))
        bounds = [*range(0, n, bs), n]
        if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
            del bounds[-2]
        self._bounds = bounds
        self.batches_per_epoch = len(bounds) - 1

        self.history: list[dict] = []
        self._batch = 0  # next batch of the current epoch
        self._perm: Tensor | None = None
        # The epoch's running sums: batch losses, and the outputs behind the training metric.
        # Outputs are kept detached and scored once at the epoch's end (for classification:
        # (B, classes) each, small), since scoring every batch cost ~5% of a tiny MLP's step.
        self._loss_sum = 0.0
        self._outputs_kept: list[Tensor] = []
        self._abs_err = torch.zeros((), device=self.device, dtype=torch.float64)
        self._elapsed = 0.0
        # Validation predicted classes from the last evaluation (probes draw the confusion).
        self.val_predictions: Tensor | None = None
        self.probe_cache: dict = {}  # fixed probe inputs (probes.py)
        # training.early_stopping: the best epoch's weights, restored when the loss stalls.
        patience = t.early_stopping
        self.early_stopping = EarlyStopping(patience) if patience is not None else None
        # Several optimiser steps per call outside autograd, for the runs it covers
        # (fastpath/): on by default (LAYERLAB_FAST_PATH), off to step eagerly.
        self._fast = None
        self.fast_path_reason: str | None = "off"  # why eager, or None when fast
        self.set_fast_path(settings.fast_path if fast_path is None else fast_path)

    # ------------------------------------------------------------ state

    @property
    def epoch(self) -> int:
        """Epochs completed."""
        return len(self.history)

    @property
    def max_epochs(self) -> int:
        """Epochs this run trains at most: its `epochs`, or (null: until paused) the server's
        `max_epochs`."""
        epochs = self.experiment.training.epochs
        return self.settings.max_epochs if epochs is None else epochs

    @property
    def finished(self) -> bool:
        stopped = self.early_stopping is not None and self.early_stopping.stopped
        return stopped or self.epoch >= self.max_epochs

    @property
    def learning_rate(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def set_learning_rate(self, lr: float) -> None:
        """Change the step size from the next batch on; the next record shows it."""
        if not (isinstance(lr, int | float) and math.isfinite(lr) and 0 < lr <= 10):
            raise ExperimentError.single(
                ("training", "learning_rate"), f"learning rate must be in (0, 10], not {lr}"
            )
        for group in self.optimizer.param_groups:
            group["lr"] = float(lr)

    @property
    def fast_path(self) -> bool:
        """Whether batches run on the fast path (fastpath/) rather than eagerly."""
        return self._fast is not None

    def set_fast_path(self, enabled: bool) -> bool:
        """Use the fast path from the next batch on (when it covers this run) or step eagerly;
        either way the model's parameters and optimiser state carry on. -> whether fast."""
        self._fast, self.fast_path_reason = None, "off"
        if enabled:
            from .fastpath import attach

            fast = attach(self)
            if isinstance(fast, str):
                self.fast_path_reason = fast
            else:
                self._fast, self.fast_path_reason = fast, None
        return self._fast is not None

    @contextmanager
    def own_rng(self) -> Iterator[None]:
        """Swap this trainer's RNG state in for the block, and the caller's back after."""
        outer = torch.get_rng_state()
        torch.set_rng_state(self._cpu_rng)
        outer_cuda = None
        if self._cuda:
            outer_cuda = torch.cuda.get_rng_state(self.device)
            torch.cuda.set_rng_state(self._cuda_rng, self.device)
        try:
            yield
        finally:
            self._cpu_rng = torch.get_rng_state()
            torch.set_rng_state(outer)
            if self._cuda:
                self._cuda_rng = torch.cuda.get_rng_state(self.device)
                torch.cuda.set_rng_state(outer_cuda, self.device)

    # ------------------------------------------------------------ training

    def train_epoch(self) -> dict:
        """Finish the current epoch (a whole one when at its start) and return its record."""
        record = None
        while record is None:
            record = self.train_steps(math.inf)
        return record

    def train_steps(self, budget_s: float) -> dict | None:
        """Run batches until the epoch ends (-> its EpochRecord) or `budget_s` seconds have
        passed (-> None; the next call continues where this one stopped). At least one batch
        runs per call, so every call makes progress."""
        start = time.perf_counter()
        record = None
        try:
            with self.own_rng():
                if not self.model.training:  # probes restore it; the walk costs ~0.1 ms
                    self.model.train()
                while True:
                    if self._batch == 0:
                        self._begin_epoch()
                    if self._fast is not None:  # batches until the epoch ends or the budget
                        self._fast.run(self, start + budget_s)
                    else:
                        self._step(self._bounds[self._batch], self._bounds[self._batch + 1])
                        self._batch += 1
                    if self._batch == self.batches_per_epoch:
                        record = self._end_epoch()
                        break
                    if time.perf_counter() - start >= budget_s:
                        break
        finally:
            self._elapsed += time.perf_counter() - start
        if record is not None:
            self._record(record)
        return record

    def _record(self, record: dict) -> None:
        """Keep an ended epoch's record; early stopping sees its validation loss."""
        record["elapsed"] = round(self._elapsed, 3)
        self.history.append(record)
        if self.early_stopping is not None:
            self.early_stopping.update(self.model, record["epoch"], record["val_loss"])

    def _begin_epoch(self) -> None:
        n = self.x_train.shape[0]
        self._perm = torch.randperm(n, generator=self._gen).to(self.device)
        self._loss_sum = 0.0
        self._outputs_kept = []
        self._abs_err.zero_()

    def _outputs_as_targets(self, out: Tensor, y: Tensor) -> Tensor:
        # Regression heads give (N, prod(target)); the targets may be (N,) or (N, H, ...).
        return out if self.plan.task == "classification" else out.reshape(y.shape)

    def predictions(self, out: Tensor) -> Tensor:
        """Model outputs as values comparable with the targets (bce trains on logits)."""
        return torch.sigmoid(out) if self.plan.loss == "bce" else out

    def _step(self, lo: int, hi: int) -> None:
        self._step_on(self._perm[lo:hi])

    def _step_on(self, idx: Tensor, count: bool = True) -> tuple[float, float]:
        """One optimiser step on training samples `idx`; -> (data loss, loss minimised).
        `count`: the step belongs to the epoch (its loss and outputs go into the record)."""
        x, y = self.x_train[idx], self.y_train[idx]  # (B, *input_shape), (B, *target)
        out = self._outputs_as_targets(self.model(x), y)
        loss = self._loss_fn(out, y)
        total = loss
        value = total_value = loss.item()
        if self._l1 > 0:
            total = loss + self._l1 * sum(w.abs().sum() for w in self._weights)
            total_value = total.item()
        if not (math.isfinite(value) and math.isfinite(total_value)):
            raise self.diverged(value, total_value)
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        if not count:
            return value, total_value
        self._loss_sum += value
        if self.plan.task == "classification":
            self._outputs_kept.append(out.detach())  # with the pre-step weights, as the loss
        else:
            with torch.no_grad():
                err = (self.predictions(out) - y).abs().reshape(y.shape[0], -1)
                self._abs_err += err.mean(dim=1).sum(dtype=torch.float64)
        return value, total_value

    def step_batch(self, sample: int | None = None) -> tuple[dict | None, Tensor, dict]:
        """Exactly one optimiser step, for stepping through training: on the epoch's next
        mini-batch (its bookkeeping as in `train_steps`; the record when it was the epoch's
        last), or on training example `sample` alone (a step outside the epoch's
        bookkeeping). -> (record or None, the samples' indices, {"data", "total", "batch"})."""
        n = self.x_train.shape[0]
        if sample is not None and not 0 <= sample < n:
            raise ExperimentError.single(
                ("sample",), f"sample must be a training example, 0 to {n - 1}, not {sample}"
            )
        if sample is not None and self._has_batchnorm:
            raise ExperimentError.single(
                ("sample",),
                "batch norm cannot normalise a single example: step a mini-batch instead",
            )
        start = time.perf_counter()
        record = None
        try:
            with self.own_rng():
                if not self.model.training:
                    self.model.train()
                if sample is not None:
                    idx = torch.tensor([sample], device=self.device)
                    data, total = self._step_on(idx, count=False)
                    return None, idx.cpu(), {"data": data, "total": total, "batch": None}
                if self._batch == 0:
                    self._begin_epoch()
                batch = self._batch
                idx = self._perm[self._bounds[batch] : self._bounds[batch + 1]]
                data, total = self._step_on(idx)
                self._batch += 1
                if self._batch == self.batches_per_epoch:
                    record = self._end_epoch()
        finally:
            self._elapsed += time.perf_counter() - start
        if record is not None:
            self._record(record)
        return record, idx.cpu(), {"data": data, "total": total, "batch": batch + 1}

    def diverged(self, value: float, total_value: float) -> Diverged:
        """The error for a non-finite loss at the current batch (before its update)."""
        what = "NaN" if math.isnan(value) or math.isnan(total_value) else "infinite"
        return Diverged(
            f"loss became {what} at epoch {self.epoch + 1}, batch {self._batch + 1}: "
            "try a smaller learning rate"
        )

    def _end_epoch(
        self,
        val_outputs: Tensor | None = None,
        hits: int | None = None,
        val_classes: Tensor | None = None,
        val_hits: int | None = None,
    ) -> dict:
        """The ended epoch's record; `val_outputs`: the validation outputs when already
        computed (a stacked epoch computes many runs' at once: fastpath/stacked.py), and for
        classification with one label per sample, optionally the counts it made for all its
        runs at once: `hits` correct training predictions (instead of `_outputs_kept`), the
        validation `val_classes` (N_val,) and `val_hits` (see `evaluate`)."""
        n_epoch = self.epoch + 1
        train_loss = self._loss_sum / self.batches_per_epoch
        val = self.evaluate(val_outputs, val_classes, val_hits)
        if val["val_loss"] is None:
            raise Diverged(
                f"validation loss became NaN or infinite at epoch {n_epoch}: "
                "try a smaller learning rate"
            )
        n = self.x_train.shape[0]
        m: dict[str, float | None] = {}
        if self.plan.task == "classification":
            count = n
            if hits is None:
                # (n,) in _perm order; per-position sets (n, T): accuracy per token
                classes = torch.cat(self._outputs_kept).argmax(dim=1)
                hits = (classes == self.y_train[self._perm]).sum().item()
                count = classes.numel()
            m["accuracy"] = rounded(hits / count)
            m["val_accuracy"] = val["val_accuracy"]
            self._outputs_kept = []
        else:
            m["mae"] = rounded(self._abs_err.item() / n)
            m["val_mae"] = val["val_mae"]
            if "val_r2" in val:
                m["val_r2"] = val["val_r2"]
            if "val_roc_auc" in val:
                m["val_roc_auc"] = val["val_roc_auc"]
        self._batch = 0
        return {
            "epoch": n_epoch,
            "loss": rounded(train_loss),
            "val_loss": val["val_loss"],
            "metrics": m,
            "lr": rounded(self.learning_rate),
            "elapsed": 0.0,
        }

    # ------------------------------------------------------------ validation

    @contextmanager
    def eval_mode(self) -> Iterator[None]:
        """Eval mode for the block, then the mode before. A network without dropout or batch
        norm computes the same either way, so its mode is left alone: switching walks every
        module (~0.1 ms each way, a few percent of a tiny MLP's epoch)."""
        was_training = self.model.training
        if self._mode_matters:
            self.model.eval()
        try:
            yield
        finally:
            if self._mode_matters:
                self.model.train(was_training)

    @torch.no_grad()
    def _outputs(self, x: Tensor) -> Tensor:
        """Raw model outputs for `x`, in eval mode, in chunks."""
        with self.eval_mode():
            outs = [self.model(x[i : i + EVAL_CHUNK]) for i in range(0, x.shape[0], EVAL_CHUNK)]
        return torch.cat(outs)

    def val_outputs(self) -> Tensor:
        """Raw model outputs for the whole validation set, in eval mode (the fast path's
        compiled forward where it covers the model)."""
        if self._fast is not None and (out := self._fast.val_outputs()) is not None:
            return out
        return self._outputs(self.x_val)

    def evaluate(
        self,
        outputs: Tensor | None = None,
        classes: Tensor | None = None,
        hits: int | None = None,
    ) -> dict:
        """val_loss and the validation metrics (rounded; None where not finite), from the raw
        validation `outputs` when given, else computed now. Classification with one label per
        sample: `classes` (N,) the outputs' argmax and `hits` how many equal the labels, when
        already counted (the accuracy is float32 hits / N, as torch's mean of the matches)."""
        y = self.y_val
        out = self._outputs_as_targets(self.val_outputs() if outputs is None else outputs, y)
        # Mean reduction over the whole set = the loss the chunks would average to.
        res: dict[str, float | None] = {"val_loss": rounded(self._loss_fn(out, y).item())}
        if self.plan.task == "classification":
            if classes is not None and hits is not None:
                self.val_predictions = classes
                res["val_accuracy"] = rounded(np.float32(hits) / np.float32(y.numel()))
                return res
            pred = out.argmax(dim=1)
            self.val_predictions = pred.cpu()
            res["val_accuracy"] = rounded((pred == y).float().mean().item())
            return res
        p = self.predictions(out)
        res["val_mae"] = rounded((p - y).abs().mean().item())
        if self.plan.task == "reconstruction":
            if self.anomaly is not None:
                scores = metrics.reconstruction_error(p, y)
                res["val_roc_auc"] = rounded(metrics.roc_auc(scores, self.anomaly))
        else:
            res["val_r2"] = rounded(metrics.r2_score(p, y))
        return res

    # ------------------------------------------------------------ probes

    def probe(self, kinds: set[str] | None = None, resolution: int | None = None) -> dict:
        """The live snapshot (docs/internals.md); JSON-safe, leaves training undisturbed;
        `resolution`: the boundary grid's side (None: probes.GRID_RES)."""
        return take_snapshot(self, kinds, resolution or GRID_RES)
