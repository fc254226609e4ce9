"""Stream timing stamps for bench/lecture.py: where an epoch's seconds go on their way out.

Off by default (`LAYERLAB_STREAM_STAMPS` empty): the hub then asks `stamps.on`, a plain
attribute, and does nothing else. On (a folder): each process appends lines to its own file
`<folder>/stamps-<replica>.txt`, written in its buffer and flushed when a viewer's stream
ends and when the hub stops:

- `p <run> <epoch> <t>`: the hub published the record (the owner's from its worker, a
  mirror's when it read the record back from Redis);
- `s <label> <first epoch> <count> <start> <end>`: one `epoch` message of `count` records
  began and finished its send to the viewer `label` (its client port: the bench matches it
  with its own socket's).

Times are `time.time()` seconds, as the worker's `record.time` is, so the bench can split a
record's whole delay (worker -> hub -> Redis -> mirror -> queue -> send -> client read).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

FLUSH_BYTES = 1 << 20  # a flush at least this often, besides a stream's end


class Stamps:
    """One process's stamp file; `on` false: every method is a no-op."""

    def __init__(self, folder: str, replica: str = ""):
        self.on = bool(folder)
        self._file: TextIO | None = None
        self._written = 0
        if self.on:
            name = f"stamps-{replica or os.getpid()}.txt"
            Path(folder).mkdir(parents=True, exist_ok=True)
            self._file = open(Path(folder) / name, "a", encoding="utf-8")  # noqa: SIM115

    def published(self, run_id: str, epoch: int, at: float) -> None:
        self._write(f"p {run_id} {epoch} {at:.6f}\n")

    def sent(self, label: str, first: int, count: int, start: float, end: float) -> None:
        self._write(f"s {label or '-'} {first} {count} {start:.6f} {end:.6f}\n")

    def _write(self, line: str) -> None:
        if self._file is not None:
            self._file.write(line)
            self._written += len(line)
            if self._written >= FLUSH_BYTES:
                self.flush()

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()
            self._written = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
