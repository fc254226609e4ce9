"""Sweeps on the shared owned-resource repository, without HTTP: stored with their variants in
order, found by anyone, stopped by their owner only, listed per owner a page at a time."""

from __future__ import annotations

import pytest

from server.core.ids import new_id
from server.store.owned import NotFound, NotOwner
from server.store.store import Store
from server.sweeps.repository import SWEEPS

BASE = {"dataset": {"name": "circle"}, "model": {"layers": []}, "training": {"epochs": 3}}
AXES = [{"setting": "learning_rate", "values": [0.1, 0.01], "layer": None}]


def make(store: Store, owner: str, name: str = "s"):
    variants = [(f"run{new_id()}", {"learning_rate": lr}) for lr in (0.1, 0.01)]
    return store.read(SWEEPS.create, new_id(), owner, name, BASE, AXES, variants)


def test_a_sweep_comes_back_with_its_variants_in_order(fresh_store: Store):
    sweep = make(fresh_store, "owner-a")
    found = fresh_store.read(SWEEPS.find, sweep.id)
    assert found == sweep
    assert [v.values["learning_rate"] for v in found.variants] == [0.1, 0.01]
    with pytest.raises(NotFound, match="no sweep with id 'nope'"):
        fresh_store.read(SWEEPS.find, "nope")


def test_only_its_owner_may_stop_it_and_stopping_is_kept(fresh_store: Store):
    sweep = make(fresh_store, "owner-a")
    with pytest.raises(NotOwner, match="only the owner of this sweep may stop it"):
        fresh_store.read(SWEEPS.owned, sweep.id, "owner-b", "stop")
    fresh_store.read(SWEEPS.mark_stopped, sweep.id)
    stopped = fresh_store.read(SWEEPS.find, sweep.id).stopped
    fresh_store.read(SWEEPS.mark_stopped, sweep.id)  # a second stop keeps the first time
    assert stopped is not None and fresh_store.read(SWEEPS.find, sweep.id).stopped == stopped


def test_sweeps_are_listed_per_owner_with_their_variants_and_bad_ones_skipped(
    fresh_store: Store,
):
    mine = [make(fresh_store, "owner-a", f"s{i}") for i in range(3)]
    make(fresh_store, "owner-b")
    page, total = fresh_store.read(SWEEPS.page, "owner-a", 2, 0)
    assert total == 3 and len(page) == 2 and all(len(s.variants) == 2 for s in page)
    with fresh_store.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE sweep_runs SET values_json = 'not json' WHERE sweep_id = ?", (mine[0].id,)
        )
    assert fresh_store.read(SWEEPS.get, mine[0].id) is None
    rest, total = fresh_store.read(SWEEPS.page, "owner-a", 10, 0)
    assert {s.id for s in rest} == {mine[1].id, mine[2].id} and total == 2
