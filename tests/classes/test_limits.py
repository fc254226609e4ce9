"""ClassLimits on its own: classes open per address and on the server, in a 24-hour window."""

from __future__ import annotations

import pytest

from server.classes.errors import ClassRefused
from server.classes.limits import OPEN_WINDOW_S, ClassLimits
from server.classes.registry import Classroom
from server.config import Settings

NOW = 1_000_000.0


def room(code: str, client: str | None, age_s: float = 60, closed: bool = False) -> Classroom:
    made = Classroom(code, code, "hash", NOW - age_s, closed=NOW if closed else None)
    made.client = client
    return made


def test_open_classes_per_address_and_on_the_server():
    limits = ClassLimits(Settings(max_classes_per_client=2, max_open_classes=4))
    rooms = [room("A", "10.0.0.1", 3600), room("B", "10.0.0.1", 60)]
    with pytest.raises(ClassRefused) as full:
        limits.check_open("10.0.0.1", rooms, NOW)
    assert full.value.status == 429 and "LAYERLAB_MAX_CLASSES_PER_CLIENT" in full.value.message
    assert full.value.retry_after == OPEN_WINDOW_S - 3600  # when the oldest leaves the window
    assert full.value.headers == {"Retry-After": str(int(OPEN_WINDOW_S - 3600))}
    limits.check_open("10.0.0.2", rooms, NOW)  # another address
    # Closed classes and those older than the window do not count.
    limits.check_open("10.0.0.1", [rooms[0], room("B", "10.0.0.1", closed=True)], NOW)
    limits.check_open("10.0.0.1", [rooms[1], room("C", "10.0.0.1", OPEN_WINDOW_S + 1)], NOW)
    # The server as a whole, whoever opened them (classes from before a restart included).
    everyone = [*rooms, room("C", None), room("D", "10.0.0.3")]
    with pytest.raises(ClassRefused) as server_full:
        limits.check_open("10.0.0.9", everyone, NOW)
    assert "LAYERLAB_MAX_OPEN_CLASSES" in server_full.value.message


def test_run_budgets_name_their_setting():
    limits = ClassLimits(Settings(max_runs=20, max_runs_per_class=10, class_runs_reserved=4))
    small = room("A", "10.0.0.1")
    small.max_runs = 3
    assert limits.class_budget(small) == 3
    small.max_runs = 50
    assert limits.class_budget(small) == 10, "never past LAYERLAB_MAX_RUNS_PER_CLASS"
    quotas = limits.run_quotas(small, "s1")
    assert [q.count for q in quotas] == [
        "student:A:s1",
        "class:A",
        "class-address:10.0.0.1",
        "classes",
    ], "the counts replicas take in Redis (server/cluster/admission.py)"
    assert [q.limit for q in quotas] == [2, 10, 60, 16]
    cases = [
        ((2, 1, 1, 1), "LAYERLAB_MAX_RUNS_PER_STUDENT"),
        ((1, 10, 10, 10), "LAYERLAB_MAX_RUNS_PER_CLASS"),
        ((1, 1, 60, 10), "LAYERLAB_MAX_CLASS_RUNS_PER_CLIENT"),
        ((1, 1, 1, 16), "LAYERLAB_CLASS_RUNS_RESERVED"),
    ]
    for counts, setting in cases:
        with pytest.raises(ClassRefused) as refused:
            limits.check_runs(quotas, list(counts))
        assert refused.value.status == 429 and setting in refused.value.message
        assert refused.value.retry_after
    limits.check_runs(quotas, [1, 9, 59, 15])
    restored = room("B", None)  # from before a restart: no address to count against
    kept = limits.run_quotas(restored, "s1")
    assert [q.count for q in kept] == ["student:B:s1", "class:B", "classes"]
    limits.check_runs(kept, [0, 0, 0])
