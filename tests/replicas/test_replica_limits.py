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

import pytest
from replica_calls import stop_run, until
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from server.api.models import SPIRAL_EXAMPLE
from server.cluster.admission import Admission
from server.cluster.shared_limits import SharedLimits
from server.runs.model import Quota

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


def race(a, b, as_a: dict | None = None, as_b: dict | None = None) -> dict[str, object]:
    """POST /api/runs through a and b at the same moment (with headers `as_a`, `as_b`):
    their answers by replica."""
    gate = threading.Barrier(2)
    answers: dict[str, object] = {}
    headers = {"a": as_a or {}, "b": as_b or {}}

    def start(name: str, server) -> None:
        gate.wait()
        answers[name] = server.http.post("/api/runs", json=spiral(), headers=headers[name])

    threads = [threading.Thread(target=start, args=p) for p in (("a", a), ("b", b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    return answers


def races_go_to_one(
    a, b, setting: str, as_a: dict | None = None, as_b: dict | None = None, retry: str = ""
) -> None:
    """Six races for the last slot of `setting`'s limit through a and b: each won by one."""
    won = 0
    deadline = time.monotonic() + 4 * WAIT_S
    while won < 6:
        assert time.monotonic() < deadline, f"only {won} races decided"
        answers = race(a, b, as_a, as_b)
        codes = sorted(r.status_code for r in answers.values())
        assert codes != [201, 201], f"both replicas admitted a run past {setting}"
        assert set(codes) <= {201, 429}, [r.text for r in answers.values()]
        for refused in (r for r in answers.values() if r.status_code == 429):
            assert setting in refused.text, refused.text
            assert refused.headers.get("Retry-After"), refused.headers
            assert not retry or refused.headers["Retry-After"] == retry, refused.headers
        if codes == [429, 429]:  # the last race's run is still counted somewhere: again
            time.sleep(0.05)
            continue
        won += 1
        name, created = next((n, r) for n, r in answers.items() if r.status_code == 201)
        winner, server = created.json(), {"a": a, "b": b}[name]
        stop_run(server, winner)


def test_the_last_run_slot_asked_for_on_two_replicas_at_once_goes_to_one(pair):
    a, b = pair.servers[:2]
    races_go_to_one(a, b, "LAYERLAB_MAX_RUNS")


@pytest.fixture(scope="module")
def roomy(make_replicas):
    """Two replicas where the server has room and classes are what limits runs."""
    return make_replicas(2, "class-slots", redis_db=6, max_runs_per_student=1)


def students_known(server, code: str, teacher: str, count: int) -> None:
    """Wait until `server` knows `count` students of the class (joins elsewhere included)."""

    def known() -> bool:
        got = server.http.get(f"/api/classes/{code}", headers={"X-Teacher-Token": teacher})
        return got.status_code == 200 and len(got.json()["students_list"]) == count

    until(known, f"{count} students of {code} known on {server.base}")


def test_a_class_runs_last_slot_asked_for_on_two_replicas_at_once_goes_to_one(roomy):
    """The class's budget (two students, one on each replica) and one student's limit (the
    same student on both) hold as the server's does: taken in Redis in one step with it."""
    a, b = roomy.servers[:2]
    opened = a.http.post("/api/classes", json={"name": "Budget 101", "max_runs": 1})
    assert opened.status_code == 201, opened.text
    code, teacher = opened.json()["code"], opened.json()["teacher_token"]
    known_on(b, code, teacher)
    ada, bo = (
        server.http.post(f"/api/classes/{code}/join", json={"name": name}).json()
        for server, name in ((a, "Ada"), (b, "Bo"))
    )
    for server in (a, b):
        students_known(server, code, teacher, 2)
    as_ada = {"X-Student-Token": ada["student_token"]}
    as_bo = {"X-Student-Token": bo["student_token"]}
    races_go_to_one(a, b, "LAYERLAB_MAX_RUNS_PER_CLASS", as_ada, as_bo, retry="10")

    roomier, teacher2 = open_class(b)  # the class's default budget; one student's limit of 1
    known_on(a, roomier, teacher2)
    cy = b.http.post(f"/api/classes/{roomier}/join", json={"name": "Cy"})
    assert cy.status_code == 201, cy.text
    students_known(a, roomier, teacher2, 1)
    as_cy = {"X-Student-Token": cy.json()["student_token"]}
    races_go_to_one(a, b, "LAYERLAB_MAX_RUNS_PER_STUDENT", as_cy, as_cy, retry="10")


def quota(count: str, limit: int) -> Quota:
    return Quota(count, limit, f"{count} is full")


def test_run_slots_count_each_run_once_per_address_and_lapse(redis_url):
    """The admission script alone (server/cluster/admission.py), on a real Redis."""
    import redis
    import redis.asyncio as aioredis

    url = redis_url.rsplit("/", 1)[0] + "/5"

    def counts(client: str | None, most: int = 2, per_address: int = 1) -> list[Quota]:
        everyone = quota("all", most)
        return [everyone] if client is None else [everyone, quota(f"client:{client}", per_address)]

    async def check() -> None:
        sync = redis.Redis.from_url(url, decode_responses=True)
        lasting = aioredis.Redis.from_url(url, decode_responses=True)
        slots = Admission(lasting, 1.0, redis.RedisError)
        try:
            assert await slots.admit("r1", counts("10.0.0.1")) is None
            assert await slots.admit("r1", counts("10.0.0.1")) is None  # the same run (taken over)
            full = await slots.admit("r2", counts("10.0.0.1"))  # the address's one slot is taken
            assert full is not None and full.count == "client:10.0.0.1"
            assert await slots.admit("r2", counts(None)) is None  # a class run: not per address
            full = await slots.admit("r3", counts("10.0.0.2"))  # the LayerLab's two are taken
            assert full is not None and full.count == "all"
            await slots.renew([("r2", None)], [("r1", "10.0.0.1")])  # r1 ended, r2 goes on
            assert await slots.admit("r3", counts("10.0.0.2")) is None
            assert await slots.admit("r4", counts("10.0.0.1", most=3)) is None  # r1's address freed
            # Nobody renews them (their replica died): they lapse a lease (1 s) later.
            deadline = time.monotonic() + WAIT_S
            while await slots.admit("r5", counts("10.0.0.3")) is not None:
                assert time.monotonic() < deadline, "the slots never lapsed"
                await asyncio.sleep(0.05)
        finally:
            sync.close()
            await lasting.aclose()

    asyncio.run(check())


def test_a_class_runs_counts_are_taken_together_renewed_and_freed(redis_url):
    """A class run's quotas (student, class, teacher's address, classes) with the server's: a
    run refused by one count takes a slot in none; renewal keeps every count it was admitted
    to (not only the server's), and its end frees them all."""
    import redis
    import redis.asyncio as aioredis

    url = redis_url.rsplit("/", 1)[0] + "/5"

    def class_run(student: str, budget: int = 2) -> list[Quota]:
        return [
            quota("all", 10),
            quota(f"student:K:{student}", 1),
            quota("class:K", budget),
            quota("classes", 10),
        ]

    async def check() -> None:
        sync = redis.Redis.from_url(url, decode_responses=True)
        lasting = aioredis.Redis.from_url(url, decode_responses=True)
        slots = Admission(lasting, 1.0, redis.RedisError)
        try:
            sync.flushdb()
            assert await slots.admit("c1", class_run("ada")) is None
            full = await slots.admit("c2", class_run("ada"))
            assert full is not None and full.count == "student:K:ada"
            assert sync.zcard("layerlab:slots:class:K") == 1, "a refused run took a slot"
            assert sync.zcard("layerlab:slots:all") == 1
            assert await slots.admit("c2", class_run("bo")) is None
            full = await slots.admit("c3", class_run("cy"))
            assert full is not None and full.count == "class:K"
            # Renewed past the lease (1 s): still counted in every count they were admitted to.
            for _ in range(4):
                await asyncio.sleep(0.5)
                await slots.renew([("c1", None), ("c2", None)], [])
            assert sync.zcard("layerlab:slots:class:K") == 2
            assert sync.zcard("layerlab:slots:student:K:bo") == 1
            full = await slots.admit("c3", class_run("cy"))
            assert full is not None and full.count == "class:K"
            await slots.renew([("c2", None)], [("c1", None)])  # c1 ended: every count freed
            assert sync.zcard("layerlab:slots:student:K:ada") == 0
            assert sync.zcard("layerlab:slots:classes") == 1
            assert await slots.admit("c3", class_run("cy")) is None
            assert set(slots.counts) == {"c2", "c3"}
        finally:
            sync.flushdb()
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
