"""Help flags: raised hands, and each run's diagnosis (server/engine/diagnosis.py).

`annotate(rows, ...)` adds to every dashboard entry `diagnosis` (a list of `{"code",
"sentence"}`) and `hand` (bool), the contract the dashboard's renderer reads. A run's diagnosis
is cached by (run id, epoch, status, snapshots seen): re-diagnosed only when one changes, so
the once-a-second dashboard costs a dict read per student between epochs.

Hands are one flag per student, in memory (a restart lowers them).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ..engine.diagnosis import Finding, diagnose

MAX_CACHE = 4096  # diagnoses kept; cleared whole past this (runs are bounded by the caps)


class HelpFlags:
    def __init__(self) -> None:
        self.hands: dict[str, set[str]] = {}  # class code -> students with a hand up
        self._cache: dict[str, tuple[tuple, list[Finding]]] = {}
        self._layers: dict[str, tuple[str, list | None]] = {}  # run id -> (its text, parsed)

    def set_hand(self, code: str, student_id: str, up: bool) -> None:
        raised = self.hands.setdefault(code, set())
        if up:
            raised.add(student_id)
        else:
            raised.discard(student_id)

    def hand(self, code: str, student_id: str) -> bool:
        return student_id in self.hands.get(code, ())

    def findings(self, run) -> list[Finding]:
        """The diagnosis of a run in memory (`runs.model.Run`), cached per state."""
        channel = run.channel
        key = (channel.epoch, channel.status, len(channel.layer_history), len(channel.history))
        cached = self._cache.get(run.id)
        if cached is not None and cached[0] == key:
            return cached[1]
        layers = self._latest_layers(run.id, channel.layer_history)
        found = diagnose(run.experiment, channel.history, channel.status, channel.message, layers)
        if len(self._cache) >= MAX_CACHE:
            self._cache.clear()
            self._layers.clear()
        self._cache[run.id] = (key, found)
        return found

    def _latest_layers(self, run_id: str, kept: list[str]) -> list | None:
        """The newest snapshot's layer statistics, parsed once per snapshot (epochs come
        much more often than snapshots)."""
        if not kept:
            return None
        text = kept[-1]
        cached = self._layers.get(run_id)
        if cached is not None and cached[0] is text:
            return cached[1]
        try:
            layers = json.loads(text).get("layers")
        except (ValueError, AttributeError):
            layers = None
        self._layers[run_id] = (text, layers)
        return layers

    def annotate(self, code: str, rows: list[dict], get_run: Callable[[str], object]) -> None:
        """Add `diagnosis` and `hand` to each dashboard entry (`get_run(run_id)`: the run in
        memory, or None for one that left it: then only its status is read)."""
        for row in rows:
            run = get_run(row["run_id"]) if row.get("run_id") else None
            if run is not None:
                findings = self.findings(run)
            else:  # out of memory (ended long ago): what its status alone tells
                findings = diagnose({}, [], row.get("status")) if row.get("status") else []
            row["diagnosis"] = [f.flag() for f in findings]
            row["hand"] = self.hand(code, row["student"])
