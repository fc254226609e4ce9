"""Early stopping: keep the weights of the epoch with the lowest validation loss, and end the
run once that loss has not improved for `training.early_stopping` epochs.

The best weights are a copy of the model's state (parameters and buffers such as batch-norm
statistics) kept in memory: the playground's models are small (a spiral MLP with two 32-unit
layers is 1,218 floats, ~5 KB; the copy takes a few microseconds), and a copy is taken only on
an epoch that improves. Restoring copies the values in place (`load_state_dict`), so tensors
that alias the model's parameters (the fast path's flat buffers) see the restored weights.
"""

from __future__ import annotations

import math
import re

import torch
from torch import Tensor, nn

MESSAGE = (
    "stopped early at epoch {epoch}: the validation loss was lowest at epoch {best}; "
    "the network keeps that epoch's weights"
)
_BEST = re.compile(r"^stopped early at epoch \d+: the validation loss was lowest at epoch (\d+)")


class EarlyStopping:
    """Follows the validation loss epoch by epoch (`patience`: epochs without improvement)."""

    def __init__(self, patience: int):
        self.patience = patience
        self.best_loss = math.inf
        self.best_epoch = 0  # 0: no finite validation loss seen yet
        self.stopped_at: int | None = None  # the epoch at which it stopped, once it has
        self._best: dict[str, Tensor] | None = None

    @property
    def stopped(self) -> bool:
        return self.stopped_at is not None

    def update(self, model: nn.Module, epoch: int, val_loss: float | None) -> bool:
        """After epoch `epoch`: remember the weights if the loss improved; when it has not for
        `patience` epochs, restore the best ones. -> whether training should stop now."""
        if self.stopped:
            return True
        if val_loss is not None and val_loss < self.best_loss:
            self.best_loss, self.best_epoch = val_loss, epoch
            with torch.no_grad():
                self._best = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        if self._best is None or epoch - self.best_epoch < self.patience:
            return False
        with torch.no_grad():
            model.load_state_dict(self._best)
        self.stopped_at = epoch
        self._best = None  # the model holds them now
        return True

    def message(self) -> str | None:
        """Why the run ended, in words (None while it has not stopped early)."""
        if self.stopped_at is None:
            return None
        return MESSAGE.format(epoch=self.stopped_at, best=self.best_epoch)


def best_epoch_of(message: str | None) -> int | None:
    """The best epoch named in a stored run's message (as `EarlyStopping.message` wrote it),
    so a run read back from the database after a restart still says which epoch it kept."""
    found = _BEST.match(message or "")
    return int(found.group(1)) if found else None
