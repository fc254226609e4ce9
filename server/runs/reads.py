"""Reading runs: memory first (every active run, and the ended ones still cached), then the
database. All of it blocks on the database: call it from a thread, never the event loop.

A run is read from where its data is, decided by its id, not by the type of the object a
caller holds: a run that was stored and has been resumed since is read from memory.
"""

from __future__ import annotations

import json

from ..store import queries
from ..store.rows import StoredRun
from ..store.store import Store
from .model import Run, RunView


class RunReads:
    """Reads over the manager's runs in memory and the store."""

    def __init__(self, store: Store, runs: dict[str, Run]):
        self.store = store
        self.runs = runs  # the manager's own dict: always current

    def find(self, run_id: str) -> Run | StoredRun | None:
        """A run from memory or, once it has left memory, from the database."""
        return self.runs.get(run_id) or self.store.get_run(run_id)

    def list_page(
        self, where: queries.RunFilter, limit: int, offset: int = 0
    ) -> tuple[list[dict], int]:
        """One page of run summaries, newest first, and how many match: the database's rows,
        with live figures for runs in memory, and runs too new to be committed yet."""
        # Memory is read before the page: a run committed between the two reads is then in
        # the page or among the uncommitted, never in neither (it vanished from one listing).
        fresh = [r for r in dict(self.runs).values() if matches(r, where)] if offset == 0 else []
        uncommitted = {r.id for r in fresh} - self.store.read(
            queries.stored_ids, [r.id for r in fresh]
        )
        stored, total = self.store.read(queries.list_runs, where, limit, offset)
        live = dict(self.runs)
        out = [live.get(r.id, r).summary() for r in stored]
        paged = {r.id for r in stored}
        extra = [r.summary() for r in fresh if r.id in uncommitted and r.id not in paged]
        if extra:
            total += len(extra)
            out = sorted(out + extra, key=lambda d: d["created"], reverse=True)[:limit]
        return out, total

    def history(self, run: RunView, after: int, limit: int) -> list[str]:
        """A run's epoch records (JSON text) after epoch `after`, at most `limit`."""
        live = self.runs.get(run.id)
        if live is None:
            return self.store.read(queries.history, run.id, after, limit)
        return live.channel.history.texts_after(after)[:limit]

    def detail(self, run: RunView, limit: int) -> dict:
        """Its summary, experiment, check and first `limit` records."""
        live = self.runs.get(run.id)
        if live is not None:
            return live.detail(limit)
        records = [json.loads(t) for t in self.history(run, 0, limit)]
        return {
            **run.summary(),
            "experiment": run.experiment,
            "check": run.check,
            "history": records,
        }


def matches(run: Run, where: queries.RunFilter) -> bool:
    """Whether a run in memory passes a listing's filter (as the database would judge it)."""
    if where.keep is not None and not where.keep(run.id):
        return False
    if where.owner is not None and run.owner != where.owner:
        return False
    if where.status is not None and run.status != where.status:
        return False
    if where.dataset is not None and run.experiment.get("dataset", {}).get("name") != where.dataset:
        return False
    if where.design is not None and run.design_id != where.design:
        return False
    if where.text:
        needle = where.text.lower()
        hay = (run.id, str(run.channel.message or ""), json.dumps(run.experiment))
        if not any(needle in h.lower() for h in hay):
            return False
    return True
