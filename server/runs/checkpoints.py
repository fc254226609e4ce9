"""Weights checkpoints of active runs, so an interrupted run can be resumed by its owner.

The worker writes `<state_dir>/checkpoints/<run id>.safetensors` (the model's state_dict,
no pickle; metadata `epoch` = epochs completed and `history`, the trainer's records as JSON:
the database may lag the checkpoint by a flush after a kill -9) at most every `checkpoint_interval_s` of a
run's training, atomically, and deletes it when the run ends on its own terms. A run the
server lost (kill -9, shutdown) keeps its last one: `resume` rebuilds the trainer from the
experiment, loads these weights, the optimiser's state (Adam's moments, step counts: tensors
`optimizer.<i>.<name>`, the rest in metadata `optimizer`) and the stored history up to that
epoch, and trains on. Replicas copy the file into the database (server/cluster), so another
replica can take the run over. No database code here: the worker imports it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import Settings
from .messages import dumps


def path_for(settings: Settings, run_id: str) -> Path:
    return Path(settings.state_dir) / "checkpoints" / f"{run_id}.safetensors"


def read_checkpoint(settings: Settings, run_id: str) -> tuple[int, list[dict]] | None:
    """The epoch a run's checkpoint was taken at and the records up to it, or None without a
    readable one."""
    from safetensors import safe_open

    path = path_for(settings, run_id)
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        epoch, history = int(meta["epoch"]), json.loads(meta["history"])
        if [r["epoch"] for r in history] != list(range(1, epoch + 1)):
            return None
        return epoch, history
    except Exception:  # noqa: BLE001 - a damaged checkpoint is no checkpoint
        return None


OPTIMIZER = "optimizer"  # metadata: the optimiser's non-tensor state, {"<i>.<name>": value}
SLOT = "optimizer."  # tensors "optimizer.<i>.<name>": parameter i's state (Adam's moments...)


def _flat(trainer: Any) -> Any:
    """The fast path's flat buffers (server/engine/fastpath/flat.py), or None when eager."""
    return getattr(getattr(trainer, "_fast", None), "state", None)


def _params(optimizer: Any) -> list:
    return [p for group in optimizer.param_groups for p in group["params"]]


def _optimizer_state(trainer: Any, tensors: dict) -> str:
    """Put the optimiser's per-parameter tensors into `tensors` (cloned); its other values
    as JSON. A taken-over run (server/cluster) goes on with the same moments."""
    optimizer = getattr(trainer, "optimizer", None)
    if optimizer is None:
        return "{}"
    sync = getattr(_flat(trainer), "sync_steps", None)
    if sync is not None:  # the fast path counts its steps apart from the optimiser
        sync()
    scalars: dict[str, Any] = {}
    for i, p in enumerate(_params(optimizer)):
        for name, value in optimizer.state.get(p, {}).items():
            if hasattr(value, "detach"):
                tensors[f"{SLOT}{i}.{name}"] = value.detach().cpu().clone()
            else:
                scalars[f"{i}.{name}"] = value
    return json.dumps(scalars)


def _restore_optimizer(trainer: Any, tensors: dict, scalars: dict) -> None:
    """Load the optimiser's state in place (the fast path's buffers are views of it)."""
    optimizer = getattr(trainer, "optimizer", None)
    if optimizer is None or not (tensors or scalars):
        return
    params = _params(optimizer)
    for key, value in [*tensors.items(), *scalars.items()]:
        index, name = key.removeprefix(SLOT).split(".", 1)
        p = params[int(index)]
        state = optimizer.state[p]
        old = state.get(name)
        if hasattr(old, "copy_") and hasattr(value, "shape") and old.shape == value.shape:
            old.copy_(value)
        else:
            state[name] = value.to(p.device) if hasattr(value, "to") else value
    read = getattr(_flat(trainer), "read_steps", None)
    if read is not None:
        read()


class Checkpointer:
    """Per job in a worker: save now and then, restore on resume, forget at the end."""

    def __init__(
        self, settings: Settings, on_change: Callable[[str, Path | None], None] | None = None
    ):
        self.settings = settings
        # Told of every checkpoint written (its path) or forgotten (None): a worker with a
        # folder of its own sends it to the server (runs/files.py).
        self.on_change = on_change
        self.enabled = settings.persist_runs
        self.interval = settings.checkpoint_interval_s
        self._last: dict[str, float] = {}

    def maybe_save(self, run_id: str, trainer: Any) -> None:
        """After an epoch: save when the last checkpoint is older than the interval. A failure
        (a full disk) costs only the checkpoint."""
        if not self.enabled:
            return
        now = time.monotonic()
        last = self._last.setdefault(run_id, now)
        if now - last < self.interval:
            return
        self._last[run_id] = now
        self.save(run_id, trainer)

    def save(self, run_id: str, trainer: Any) -> None:
        if not self.enabled or trainer is None:
            return
        from safetensors.torch import save_file

        path = path_for(self.settings, run_id)
        tmp = path.with_suffix(".tmp")
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            # Cloned: the fast path keeps every parameter in one buffer (safetensors refuses
            # tensors that share memory).
            state = {k: v.detach().cpu().clone() for k, v in trainer.model.state_dict().items()}
            meta = {"epoch": str(trainer.epoch), "history": dumps(trainer.history)}
            meta[OPTIMIZER] = _optimizer_state(trainer, state)
            save_file(state, str(tmp), metadata=meta)
            os.replace(tmp, path)
            if self.on_change is not None:
                self.on_change(run_id, path)

    def restore(self, trainer: Any, resume: dict) -> None:
        """Load a checkpoint's weights and the history up to it into a fresh trainer."""
        from safetensors import safe_open
        from safetensors.torch import load_file

        state = load_file(resume["path"], device=str(trainer.device))
        moments = {k: state.pop(k) for k in [k for k in state if k.startswith(SLOT)]}
        trainer.model.load_state_dict(state)
        trainer.history[:] = resume["history"]
        with safe_open(resume["path"], framework="pt") as f:
            scalars = json.loads((f.metadata() or {}).get(OPTIMIZER, "{}"))
        _restore_optimizer(trainer, moments, scalars)

    def forget(self, run_id: str) -> None:
        self._last.pop(run_id, None)
        with contextlib.suppress(OSError):
            path_for(self.settings, run_id).unlink(missing_ok=True)
        if self.enabled and self.on_change is not None:
            self.on_change(run_id, None)
