"""What one address may take through classes, and how fast it may look for them.

A class lifts the per-address run limit (a school's NAT puts a whole class behind one
address), so a class must not become a way around every other limit. Here:

- classes one address may have open (`max_classes_per_client`: opened in the last 24 hours
  and not closed), and the server in all (`max_open_classes`);
- students per class (`class_max_students`), joins per address per minute
  (`class_joins_per_minute`);
- guesses: unknown codes and refused tokens per address per minute
  (`class_misses_per_minute`); once spent, every class lookup from that address waits, so a
  guess that happens to hit answers no differently from one that misses;
- runs: a class's own budget (its teacher's `max_runs`, within `max_runs_per_class`), the
  runs of every class one address opened (`max_class_runs_per_client`), and the class runs of
  the whole server, which leave `class_runs_reserved` of `max_runs` to everyone else;
- class sockets per address, per token and per class (`max_class_sockets_per_client`,
  `..._per_member`, `class_max_sockets`).

Every refusal is a `ClassRefused` whose message names the setting; the rate limits carry
`retry_after`.

Across a restart: what a class was opened under is stored with it (the address's limits key
and its teacher's budget, `classes.client` / `classes.max_runs`), so classes per address, the
class runs of an address and a class's budget hold as before; active runs are counted from the
runs themselves. The per-minute windows (joins, guesses) and the socket counts are kept in
memory and start afresh: a restart drops every socket anyway, and a window is at most a minute.

Replicas (`shared`, server/cluster/shared_limits.py): the per-minute windows and the socket
counts are kept in Redis instead, so they hold across every replica, refused with the same
status and message; this process's own counts are kept too, and used while Redis is away.
Those calls block (a Redis round trip, at most its short timeout), so a coroutine calls them
in a thread (`run_in_threadpool`), never on the event loop: a Redis that hangs would stall
every request of the replica. Sync routes and dependencies run in threads already. So the
methods here are thread-safe: this process's socket counts are changed under a lock.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Iterable

from ..cluster.shared_limits import SharedLimits, SharedUnavailable
from ..config import Settings
from ..runs.model import Quota
from .errors import ClassRefused
from .registry import Classroom
from .throttle import Throttle, client_key

OPEN_WINDOW_S = 24 * 3600.0  # a class counts against its address this long, or until closed
RUNS_RETRY_S = 10  # Retry-After of a run refused by a budget: runs end, or are paused


class ClassLimits:
    def __init__(self, settings: Settings, shared: SharedLimits | None = None):
        self.settings = settings
        self.shared = shared  # replicas: the windows and socket counts in Redis
        self._throttles: dict[str, Throttle] = {}
        self.sockets: Counter[str] = Counter()  # "addr:<key>" and "member:<key>" -> open
        self._lock = threading.Lock()  # the socket counts: changed from threads

    def throttle(self, setting: str) -> Throttle:
        """The limiter of one `*_per_minute` setting (rebuilt if the setting changes)."""
        per_minute = getattr(self.settings, setting)
        with self._lock:  # threads ask too: one limiter per setting
            found = self._throttles.get(setting)
            if (
                found is None
                or found.capacity != per_minute
                or found.max_clients != self.settings.rate_limit_clients
            ):
                found = Throttle(
                    per_minute, self.settings.rate_limit_clients, shared=self.shared, name=setting
                )
                self._throttles[setting] = found
            return found

    # -- looking classes up --------------------------------------------------------------
    def check_lookup(self, client: str) -> None:
        """429 while the address has spent its guesses (checked before any code is looked
        at, so an exhausted address learns nothing about any code)."""
        throttle = self.throttle("class_misses_per_minute")
        if not throttle.allowed(client):
            wait = throttle.retry_after(client)
            raise ClassRefused(
                429,
                f"too many unknown class codes or refused tokens from your address, the limit "
                f"is {self.settings.class_misses_per_minute} a minute "
                f"(LAYERLAB_CLASS_MISSES_PER_MINUTE); try again in {wait} s",
                wait,
            )

    def miss(self, client: str) -> None:
        """An unknown code or a refused token: one guess spent."""
        self.throttle("class_misses_per_minute").spend(client)

    # -- opening and joining -------------------------------------------------------------
    def check_open(self, client: str, rooms: Iterable[Classroom], now: float | None = None) -> None:
        now = time.time() if now is None else now
        key = client_key(client)
        recent = [r for r in rooms if r.closed is None and now - r.created < OPEN_WINDOW_S]
        if len(recent) >= self.settings.max_open_classes:
            wait = max(1, math.ceil(min(r.created for r in recent) + OPEN_WINDOW_S - now))
            raise ClassRefused(
                429,
                f"the server already has {len(recent)} open classes, its limit "
                "(LAYERLAB_MAX_OPEN_CLASSES): try again later",
                wait,
            )
        mine = sorted(room.created for room in recent if room.client == key)
        limit = self.settings.max_classes_per_client
        if len(mine) >= limit:
            wait = max(1, math.ceil(mine[len(mine) - limit] + OPEN_WINDOW_S - now))
            raise ClassRefused(
                429,
                f"your address already has {len(mine)} open classes, the limit "
                "(LAYERLAB_MAX_CLASSES_PER_CLIENT): close one first",
                wait,
            )

    def check_room(self, room: Classroom) -> None:
        """409 when the class is full (memory only: a coroutine checks it again after it
        awaited `spend_join` in a thread, with no await before the join)."""
        limit = self.settings.class_max_students
        if len(room.students) >= limit:
            raise ClassRefused(
                409,
                f"class {room.code} is full: {limit} students, the limit per class "
                "(LAYERLAB_CLASS_MAX_STUDENTS)",
            )

    def spend_join(self, client: str) -> None:
        """A join from this address this minute, spent here (429 when none is left)."""
        throttle = self.throttle("class_joins_per_minute")
        if not throttle.spend(client):
            wait = throttle.retry_after(client)
            raise ClassRefused(
                429,
                f"too many students joined from your address, the limit is "
                f"{self.settings.class_joins_per_minute} a minute "
                f"(LAYERLAB_CLASS_JOINS_PER_MINUTE); try again in {wait} s",
                wait,
            )

    def class_budget(self, room: Classroom) -> int:
        """The runs a class may have active: its teacher's budget, within the server's."""
        cap = self.settings.max_runs_per_class
        return cap if room.max_runs is None else min(room.max_runs, cap)

    # -- runs ------------------------------------------------------------------------------
    def run_quotas(self, room: Classroom, student_id: str) -> list[Quota]:
        """The counts a new run of `room`'s student must fit, in the order they are checked:
        the student's runs, the class's budget, the runs of every class its teacher's address
        opened, and the class runs of the whole server (which leave `class_runs_reserved` of
        `max_runs` to everyone else). Replicas take them in Redis in one step (server/cluster/
        admission.py); `check_runs` holds them against the counts this process knows."""
        s = self.settings
        quotas = [
            Quota(
                f"student:{room.code}:{student_id}",
                s.max_runs_per_student,
                f"you already have {s.max_runs_per_student} active runs, the limit per student "
                "(LAYERLAB_MAX_RUNS_PER_STUDENT); stop one first",
                RUNS_RETRY_S,
            ),
            Quota(
                f"class:{room.code}",
                self.class_budget(room),
                f"class {room.code} already has {self.class_budget(room)} active runs, its "
                "budget (set by its teacher within LAYERLAB_MAX_RUNS_PER_CLASS); ask the "
                "teacher to pause some",
                RUNS_RETRY_S,
            ),
        ]
        if room.client is not None:
            quotas.append(
                Quota(
                    f"class-address:{room.client}",
                    s.max_class_runs_per_client,
                    "the classes opened from your teacher's address already have "
                    f"{s.max_class_runs_per_client} active runs, the limit "
                    "(LAYERLAB_MAX_CLASS_RUNS_PER_CLIENT); ask the teacher to pause some",
                    RUNS_RETRY_S,
                )
            )
        shared = max(0, s.max_runs - s.class_runs_reserved)
        quotas.append(
            Quota(
                "classes",
                shared,
                f"classes already hold {shared} of the server's {s.max_runs} run slots; "
                f"{s.class_runs_reserved} stay free for everyone else "
                "(LAYERLAB_MAX_RUNS, LAYERLAB_CLASS_RUNS_RESERVED); try again when one ends",
                RUNS_RETRY_S,
            )
        )
        return quotas

    def check_runs(self, quotas: list[Quota], active: list[int]) -> None:
        """Raise the first quota's refusal whose count (`active`, in the same order) is full."""
        for quota, count in zip(quotas, active, strict=True):
            if count >= quota.limit:
                raise ClassRefused(429, quota.refusal, quota.retry_after)

    # -- class sockets ---------------------------------------------------------------------
    def open_socket(self, client: str, member: str, code: str | None = None) -> None:
        """Count one more class socket of this address, token and class (raises when full)."""
        s = self.settings
        counts = self._socket_counts(client, member, code)
        refusals = [
            (
                s.class_max_sockets,
                f"class {code} already has {s.class_max_sockets} pages open, the limit per "
                "class (LAYERLAB_CLASS_MAX_SOCKETS)",
            ),
            (
                s.max_class_sockets_per_client,
                f"your address already has {s.max_class_sockets_per_client} class pages open, "
                "the limit (LAYERLAB_MAX_CLASS_SOCKETS_PER_CLIENT)",
            ),
            (
                s.max_class_sockets_per_member,
                f"you already have {s.max_class_sockets_per_member} pages of this class open, "
                "the limit per token (LAYERLAB_MAX_CLASS_SOCKETS_PER_MEMBER); close one",
            ),
        ][3 - len(counts) :]  # no class: the address and the token only
        limits = [limit for limit, _ in refusals]
        # This process's counts decide alone without Redis; checked and taken in one step,
        # so two threads cannot both take the last place (given back if Redis refuses).
        with self._lock:
            full = next((i for i, c in enumerate(counts) if self.sockets[c] >= limits[i]), -1)
            if full < 0:
                self._count(counts, 1)
        if self.shared is not None:
            try:
                shared = self.shared.open_socket(counts, limits)
            except SharedUnavailable:  # this process's counts decided
                shared = full
            with self._lock:  # this process counts every socket open here, as Redis does
                if full < 0 <= shared:
                    self._count(counts, -1)
                elif shared < 0 <= full:
                    self._count(counts, 1)
            full = shared
        if full >= 0:
            raise ClassRefused(429, refusals[full][1], RUNS_RETRY_S)

    def close_socket(self, client: str, member: str, code: str | None = None) -> None:
        counts = self._socket_counts(client, member, code)
        if self.shared is not None:
            self.shared.close_socket(counts)
        with self._lock:
            self._count(counts, -1)

    def _count(self, counts: list[str], step: int) -> None:
        """Add `step` to each of this process's `counts` (under the lock)."""
        for key in counts:
            self.sockets[key] += step
            if self.sockets[key] <= 0:
                del self.sockets[key]

    @staticmethod
    def _socket_counts(client: str, member: str, code: str | None) -> list[str]:
        """What one class socket counts in: its class (if any), its address, its token."""
        counts = [f"addr:{client_key(client)}", f"member:{member}"]
        return counts if code is None else [f"class:{code}", *counts]
