"""A run's epoch records in server memory, each kept once: as the JSON text viewers are sent.

The hub kept every record twice, as a dict and as its text: 0.55 KB an epoch for the
spiral starter (a 175-byte text), 5.6 MB for a run that reaches `max_epochs` (10,000), 1.1 GB
for a class of 200 left training. Kept once it is 0.32 KB an epoch, 0.57x
(`python -m bench.history_memory` measures both in one run). What is read often is kept decoded
besides: the newest `RECENT` records (the dashboard's last row, the help flags' window, a
summary's `last`) and every record's validation loss and epoch as 8-byte numbers (the
dashboard's sparkline reads the whole run every second for every student; a page of history
filters by epoch). Older records are decoded when asked for (`history[:limit]`: a run's detail).
"""

from __future__ import annotations

import json
import math
from array import array
from collections import deque
from collections.abc import Iterator, Sequence
from typing import overload

RECENT = 64  # decoded records kept: at least diagnosis.WINDOW (60) and the first


class History(Sequence[dict]):
    """The records of one run, oldest first; reads like the list of dicts it replaces."""

    def __init__(self) -> None:
        self.texts: list[str] = []  # what viewers are sent, in order
        self.epochs = array("q")  # each record's epoch
        self._val_losses = array("d")  # each record's val_loss (NaN: none)
        self._first: dict | None = None
        self._recent: deque[dict] = deque(maxlen=RECENT)

    def append(self, record: dict, text: str) -> None:
        """One record and its JSON text (`record` already JSON-safe)."""
        self.texts.append(text)
        self.epochs.append(int(record.get("epoch", len(self.texts))))
        loss = record.get("val_loss")
        self._val_losses.append(float(loss) if isinstance(loss, int | float) else math.nan)
        if self._first is None:
            self._first = record
        self._recent.append(record)

    def val_losses(self, points: int | None = None) -> list[float | None]:
        """The records' validation losses (None where a record has none), oldest first: all
        of them, or at most `points` evenly spaced over the whole run (first and last kept)."""
        values = self._val_losses
        n = len(values)
        if points is not None and n > points > 1:
            step = (n - 1) / (points - 1)
            values = [values[round(i * step)] for i in range(points)]
        return [None if math.isnan(v) else v for v in values]

    def texts_after(self, epoch: int) -> list[str]:
        """The texts of records with an epoch after `epoch`."""
        return [t for t, e in zip(self.texts, self.epochs, strict=True) if e > epoch]

    def __len__(self) -> int:
        return len(self.texts)

    @overload
    def __getitem__(self, index: int) -> dict: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict]: ...
    def __getitem__(self, index: int | slice) -> dict | list[dict]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        n = len(self)
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError("history index out of range")
        if i == 0 and self._first is not None:
            return self._first
        recent_from = n - len(self._recent)
        if i >= recent_from:
            return self._recent[i - recent_from]
        return json.loads(self.texts[i])

    def __iter__(self) -> Iterator[dict]:
        for i in range(len(self)):
            yield self[i]
