"""Saved designs on the shared owned-resource repository, without HTTP: created, found by
anyone, changed and deleted only as their owner, listed per owner a page at a time."""

from __future__ import annotations

import pytest

from server.designs.repository import DESIGNS
from server.store.owned import NotFound, NotOwner
from server.store.store import Store

DOC = {"dataset": {"name": "circle"}, "model": {"layers": []}, "training": {}}


def test_a_design_is_found_by_anyone_and_changed_by_its_owner_only(fresh_store: Store):
    store = fresh_store
    design = store.read(DESIGNS.create, "owner-a", "mine", "a note", DOC)
    assert len(design.id) == 12 and store.read(DESIGNS.find, design.id) == design
    with pytest.raises(NotOwner, match="only the owner of this design may change it"):
        store.read(DESIGNS.owned, design.id, "owner-b", "change")
    assert store.read(DESIGNS.owned, design.id, "owner-a", "change") == design
    changed = store.read(DESIGNS.change, design.id, {"name": "renamed", "owner": "owner-b"})
    assert (changed.name, changed.owner, changed.note) == ("renamed", "owner-a", "a note")
    assert changed.updated >= design.updated
    store.read(DESIGNS.remove, design.id)
    with pytest.raises(NotFound, match=f"no design with id '{design.id}'"):
        store.read(DESIGNS.find, design.id)
    assert store.read(DESIGNS.get, design.id) is None


def test_designs_are_listed_per_owner_newest_change_first_a_page_at_a_time(fresh_store: Store):
    store = fresh_store
    made = [store.read(DESIGNS.create, "owner-a", f"d{i}", "", DOC) for i in range(5)]
    store.read(DESIGNS.create, "owner-b", "theirs", "", DOC)
    store.read(DESIGNS.change, made[0].id, {"note": "touched last"})
    first, total = store.read(DESIGNS.page, "owner-a", 2, 0)
    rest, _ = store.read(DESIGNS.page, "owner-a", 10, 2)
    assert total == 5 and store.read(DESIGNS.count, "owner-a") == 5
    assert first[0].id == made[0].id  # the most recently changed
    assert {d.id for d in first + rest} == {d.id for d in made}
    assert store.read(DESIGNS.page, "nobody", 10, 0) == ([], 0)


def test_an_unreadable_row_is_skipped_and_not_counted(fresh_store: Store):
    store = fresh_store
    good = store.read(DESIGNS.create, "owner-a", "good", "", DOC)
    bad = store.read(DESIGNS.create, "owner-a", "bad", "", DOC)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE designs SET experiment_json = 'not json' WHERE id = ?", (bad.id,)
        )
    assert store.read(DESIGNS.page, "owner-a", 10, 0) == ([good], 1)
    assert store.read(DESIGNS.get, bad.id) is None
