"""Limits that hold across replicas (real Redis, real PostgreSQL, two real replicas): a class's
joins spent through one replica are refused on the other with the same 429, Retry-After and
message; class pages (sockets) opened on one count on the other, and a page closed on one frees
its place on the other; a socket count of a replica that stopped renewing lapses. The server's
run limit of 1, asked for through both replicas at the same moment, admits exactly one run."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import threading
import time
from collections.abc import Callable

import pytest
from replica_calls import stop_run
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from server.api.models import SPIRAL_EXAMPLE
from server.cluster.admission import Admission
from server.cluster.shared_limits import SharedLimits

pytest_plugins = ["replica_fixtures"]

pytestmark = pytest.mark.slow

WAIT_S = 60.0
JOINS = 3  # LAYERLAB_CLASS_JOINS_PER_MINUTE here
PAGES = 2  # LAYERLAB_MAX_CLASS_SOCKETS_PER_MEMBER here


@pytest.fixture(scope="module")
def pair(make_replicas):
    """Two replicas of a LayerLab with small limits, on their own Redis database."""
    return make_replicas(
        2,
        "limits",
        redis_db=3,
        class_joins_per_minute=JOINS,
        max_class_sockets_per_member=PAGES,
        max_runs=1,
        class_runs_reserved=0,
    )


def until(check: Callable[[], object], what: str, timeout: float = WAIT_S) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def open_class(server) -> tuple[str, str]:
    opened = server.http.post("/api/classes", json={"name": "Limits 101"})
    assert opened.status_code == 201, opened.text
    return opened.json()["code"], opened.json()["teacher_token"]


def known_on(server, code: str, teacher: str) -> None:
    """Wait until `server` knows a class opened on another replica (its event comes through
    Redis); asked with the teacher's token, which spends no join."""
    until(
        lambda: (
            server.http.get(
                f"/api/classes/{code}", headers={"X-Teacher-Token": teacher}
            ).status_code
            == 200
        ),
        f"class {code} known on {server.base}",
    )


def refusal_text(response) -> str:
    """A refusal's message without its countdown ("try again in 17 s"), which ticks."""
    return response.json()["detail"].split("; try again in")[0]


def test_joins_spent_on_one_replica_are_refused_on_the_other(pair):
    a, b = pair.servers[:2]
    code, teacher = open_class(a)
    known_on(b, code, teacher)
    for i, server in enumerate((b, a, a)):  # the address's joins this minute, on both
        joined = server.http.post(f"/api/classes/{code}/join", json={"name": f"S{i}"})
        assert joined.status_code == 201, joined.text

    there = b.http.post(f"/api/classes/{code}/join", json={"name": "Late"})
    here = a.http.post(f"/api/classes/{code}/join", json={"name": "Later"})
    for refused in (there, here):
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "LAYERLAB_CLASS_JOINS_PER_MINUTE" in refused.text
        assert f"the limit is {JOINS} a minute" in refused.text
    assert refusal_text(there) == refusal_text(here)


class Page:
    """A teacher's class page (WS /ws/classes/{code}) open until `close`."""

    def __init__(self, server, code: str, teacher: str):
        self.held = contextlib.ExitStack()
        url = f"{server.ws_base}/ws/classes/{code}?teacher={teacher}"
        self.ws = self.held.enter_context(connect(url, proxy=None, max_size=None))
        assert '"hello"' in self.ws.recv(timeout=WAIT_S)

    def close(self) -> None:
        self.held.close()


def refused_page(server, code: str, teacher: str) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as refused:
        Page(server, code, teacher)
    return refused.value


def test_class_pages_count_across_replicas(pair):
    a, b = pair.servers[:2]
    code, teacher = open_class(a)
    known_on(b, code, teacher)
    first, second = Page(a, code, teacher), Page(b, code, teacher)

    for server in (b, a):  # the token's pages: one on each replica, both counted everywhere
        refusal = refused_page(server, code, teacher)
        assert refusal.response.status_code == 429
        body = refusal.response.body.decode()
        assert "LAYERLAB_MAX_CLASS_SOCKETS_PER_MEMBER" in body, body
        assert f"you already have {PAGES} pages of this class open" in body, body

    # A page closed on a frees its place on b.
    first.close()

    def opens_on_b() -> Page | None:
        try:
            return Page(b, code, teacher)
        except InvalidStatus:
            return None

    third = until(opens_on_b, "a place on b once a's page closed")
    assert refused_page(a, code, teacher).response.status_code == 429
    second.close()
    third.close()


def test_sockets_of_a_replica_that_stops_renewing_lapse(redis_url):
    """A replica killed with its pages open: their counts lapse a lease later, and another
    replica may open them again."""
    url = redis_url.rsplit("/", 1)[0] + "/4"
    dead, alive = SharedLimits(url, "dead", 1.0), SharedLimits(url, "alive", 1.0)
    counts, limits = ["class:LAPSE-1", "addr:10.9.8.7"], [2, 100]
    assert dead.open_socket(counts, limits) == -1
    assert dead.open_socket(counts, limits) == -1
    assert alive.open_socket(counts, limits) == 0  # the class is full: counted nowhere
    assert alive.open_socket(counts[1:], limits[1:]) == -1  # the address alone is not
    until(lambda: alive.open_socket(counts, limits) == -1, "the dead replica's sockets lapse")
    alive.close_socket(counts)
    alive.close_socket(counts[1:])
    assert alive.renew() == 0
    # A bucket is one budget for both: spent by one, empty for the other.
    assert dead.take("test_per_minute", "10.9.8.7", 2, 2 / 60, 1) == (True, 1.0)
    taken, level = alive.take("test_per_minute", "10.9.8.7", 2, 2 / 60, 1)
    assert taken and level < 0.1
    assert alive.take("test_per_minute", "10.9.8.7", 2, 2 / 60, 1)[0] is False
    for limits_ in (dead, alive):
        limits_.redis.close()


def spiral() -> dict:
    doc = copy.deepcopy(SPIRAL_EXAMPLE)
    doc["dataset"]["samples"] = 100
    doc["training"].update(epochs=None, batch_size=50, pace=5)  # until stopped
    return doc


def race(a, b) -> dict[str, object]:
    """POST /api/runs through a and b at the same moment: their answers by replica."""
    gate = threading.Barrier(2)
    answers: dict[str, object] = {}

    def start(name: str, server) -> None:
        gate.wait()
        answers[name] = server.http.post("/api/runs", json=spiral())

    threads = [threading.Thread(target=start, args=p) for p in (("a", a), ("b", b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    return answers


def test_the_last_run_slot_asked_for_on_two_replicas_at_once_goes_to_one(pair):
    a, b = pair.servers[:2]
    won = 0
    deadline = time.monotonic() + 4 * WAIT_S
    while won < 6:  # six races, each won by one replica
        assert time.monotonic() < deadline, f"only {won} races decided"
        answers = race(a, b)
        codes = sorted(r.status_code for r in answers.values())
        assert codes != [201, 201], "both replicas admitted a run past LAYERLAB_MAX_RUNS=1"
        assert set(codes) <= {201, 429}, [r.text for r in answers.values()]
        for refused in (r for r in answers.values() if r.status_code == 429):
            assert "LAYERLAB_MAX_RUNS" in refused.text, refused.text
            assert refused.headers.get("Retry-After"), refused.headers
        if codes == [429, 429]:  # the last race's run is still counted somewhere: again
            time.sleep(0.05)
            continue
        won += 1
        name, created = next((n, r) for n, r in answers.items() if r.status_code == 201)
        winner, server = created.json(), {"a": a, "b": b}[name]
        stop_run(server, winner)


def test_run_slots_count_each_run_once_per_address_and_lapse(redis_url):
    """The admission script alone (server/cluster/admission.py), on a real Redis."""
    import redis
    import redis.asyncio as aioredis

    url = redis_url.rsplit("/", 1)[0] + "/5"

    async def check() -> None:
        sync = redis.Redis.from_url(url, decode_responses=True)
        lasting = aioredis.Redis.from_url(url, decode_responses=True)
        slots = Admission(sync, lasting, 1.0, redis.RedisError)
        try:
            assert slots.admit("r1", "10.0.0.1", 2, 1) == 0
            assert slots.admit("r1", "10.0.0.1", 2, 1) == 0  # the same run (taken over): once
            assert slots.admit("r2", "10.0.0.1", 2, 1) == 2  # the address's one slot is taken
            assert slots.admit("r2", None, 2, 1) == 0  # a class run: not counted per address
            assert slots.admit("r3", "10.0.0.2", 2, 1) == 1  # the LayerLab's two are taken
            await slots.renew([("r2", None)], [("r1", "10.0.0.1")])  # r1 ended, r2 goes on
            assert slots.admit("r3", "10.0.0.2", 2, 1) == 0
            assert slots.admit("r4", "10.0.0.1", 3, 1) == 0  # r1's address slot was freed too
            # Nobody renews them (their replica died): they lapse a lease (1 s) later.
            deadline = time.monotonic() + WAIT_S
            while slots.admit("r5", "10.0.0.3", 2, 1) != 0:
                assert time.monotonic() < deadline, "the slots never lapsed"
                await asyncio.sleep(0.05)
        finally:
            sync.close()
            await lasting.aclose()

    asyncio.run(check())


def test_guesses_spent_on_one_replica_are_refused_on_the_other(pair):
    """(Last in this module: it spends the address's guesses for a minute.)"""
    a, b = pair.servers[:2]
    misses = 0
    while True:  # unknown codes guessed on a until a refuses to look
        guess = a.http.post("/api/classes/ZZZ-ZZZ/join", json={"name": "Guess"})
        if guess.status_code == 429:
            break
        assert guess.status_code == 404, guess.text
        misses += 1
        assert misses <= 20, "LAYERLAB_CLASS_MISSES_PER_MINUTE (20) never reached"
    assert misses == 20
    there = b.http.post("/api/classes/ZZZ-ZZZ/join", json={"name": "Guess"})
    assert there.status_code == 429 and there.headers["Retry-After"], there.text
    assert "LAYERLAB_CLASS_MISSES_PER_MINUTE" in there.text
    assert refusal_text(there) == refusal_text(guess)
