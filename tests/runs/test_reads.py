"""Listing runs while one is being committed: whichever read the commit falls between, the run
is listed exactly once and counted once (a run committed between the page's read and the
uncommitted check vanished from one listing: test_guard's count, 45 then 46, in CI)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from server.runs.reads import RunReads
from server.store import queries


@dataclass
class Row:
    """A run as the page query or memory gives it: only what the listing reads."""

    id: str
    created: float
    owner: str | None = None
    status: str = "running"

    def summary(self) -> dict:
        return {"id": self.id, "created": self.created}


class CommittingStore:
    """Holds `old` runs; the run `new` is committed just before read number `commit_at`."""

    def __init__(self, old: list[Row], new: Row, commit_at: int):
        self.rows = list(old)
        self.new = new
        self.commit_at = commit_at
        self.reads = 0

    def read(self, fn, *args):
        if self.reads == self.commit_at:
            self.rows.append(self.new)
        self.reads += 1
        if fn is queries.list_runs:
            _where, limit, offset = args
            page = sorted(self.rows, key=lambda r: r.created, reverse=True)
            return page[offset : offset + limit], len(self.rows)
        if fn is queries.stored_ids:
            return {r.id for r in self.rows} & set(args[0])
        raise AssertionError(f"unexpected read {fn.__name__}")


@pytest.mark.parametrize("commit_at", [0, 1, 2, 99])
def test_a_run_committed_during_the_listing_is_listed_once(commit_at):
    old = [Row(f"old{i}", created=float(i), status="finished") for i in range(3)]
    new = Row("new", created=10.0)
    store = CommittingStore(old, new, commit_at)
    reads = RunReads(store, {"new": new})  # the new run is in memory throughout
    page, total = reads.list_page(queries.RunFilter(), limit=100)
    assert [s["id"] for s in page] == ["new", "old2", "old1", "old0"]
    assert total == 4
    assert store.reads == 2


def test_a_later_page_lists_only_stored_runs():
    old = [Row(f"old{i}", created=float(i), status="finished") for i in range(3)]
    new = Row("new", created=10.0)
    store = CommittingStore(old, new, commit_at=99)
    page, total = RunReads(store, {"new": new}).list_page(queries.RunFilter(), 2, offset=2)
    assert [s["id"] for s in page] == ["old0"]
    assert total == 3
