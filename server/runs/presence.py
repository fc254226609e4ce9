"""Owner presence: the heartbeats an owner's page sends, and the idle policy for its runs.

A page that starts a run sends `POST /api/runs/{id}/presence` (with the run's token) every
few seconds while it shows that run. When those heartbeats stop (the tab was closed, the
laptop went to sleep) for `owner_idle_pause_s`, the run is paused; after `owner_idle_stop_s`
it is stopped, so an abandoned run stops holding a class server's workers and run slots.
Viewers never count: only the owner's token keeps a run alive.

Only runs whose owner sent at least one heartbeat are followed: a script driving the API
(curl, the CLI, the benchmarks) sends none and keeps full control of its runs.

Time the server itself was not listening does not count against an owner. A check that wakes
late (the event loop stalled, or the machine was starved) shifts every owner's last heartbeat
by its lateness (heartbeats sent meanwhile are still queued behind the stall), so an owner's
silence is measured in the time the server was turning. A CI run once paused a run whose page
beat every 0.2 s under a 1 s pause limit on a loaded machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..config import Settings

# apply(run_id, action, reason) -> None; action is "pause" or "stop".
Apply = Callable[[str, str, str], Awaitable[None]]


@dataclass
class _Owner:
    seen: float  # time.monotonic() of the last heartbeat
    paused: bool = False  # already paused for being idle (pause once, then wait for stop)


@dataclass
class OwnerPresence:
    """Last heartbeat per run, and which runs are due a pause or a stop (read from `settings`
    at every check, so a changed setting applies at once)."""

    settings: Settings
    owners: dict[str, _Owner] = field(default_factory=dict)
    # run id -> (status the policy caused, why), for that status message
    reasons: dict[str, tuple[str, str]] = field(default_factory=dict)

    def beat(self, run_id: str, now: float | None = None) -> None:
        """The owner's page is there: a paused-for-idle run may be paused again later."""
        self.owners[run_id] = _Owner(time.monotonic() if now is None else now)

    def excuse(self, seconds: float) -> None:
        """The server was not listening for `seconds`: no owner is blamed for that time."""
        for owner in self.owners.values():
            owner.seen += seconds

    def forget(self, run_id: str) -> None:
        self.owners.pop(run_id, None)

    def due(self, status_of: Callable[[str], str | None], now: float | None = None) -> list:
        """[(run_id, action, reason)] for the followed runs whose owner has been gone too long.

        `status_of(run_id)` is the run's status (None: unknown). A running or queued run is
        paused after `owner_idle_pause_s`; any active run is stopped after `owner_idle_stop_s`."""
        now = time.monotonic() if now is None else now
        pause_s, stop_s = self.settings.owner_idle_pause_s, self.settings.owner_idle_stop_s
        out = []
        for run_id, owner in list(self.owners.items()):
            status = status_of(run_id)
            if status not in ("queued", "running", "paused"):
                self.forget(run_id)
                continue
            gone = f"its owner's page has been gone for {now - owner.seen:.0f} s"
            if now - owner.seen >= stop_s:
                out.append((run_id, "stop", f"Stopped: {gone}."))
                self.forget(run_id)
            elif now - owner.seen >= pause_s and not owner.paused:
                owner.paused = True
                if status != "paused":
                    out.append((run_id, "pause", f"Paused: {gone}; Resume goes on."))
        return out

    def reason(self, run_id: str, status: str) -> str | None:
        """The idle reason for a status the policy caused (once), for the status message."""
        caused = self.reasons.get(run_id)
        if caused is not None and caused[0] == status:
            del self.reasons[run_id]
            return caused[1]
        return None

    async def watch(self, status_of: Callable[[str], str | None], apply: Apply) -> None:
        """Check the followed runs a few times per pause period, forever (cancel to stop)."""
        while True:
            s = self.settings
            period = max(0.05, min(5.0, s.owner_idle_pause_s / 4, s.owner_idle_stop_s / 4))
            asleep = time.monotonic()
            await asyncio.sleep(period)
            late = time.monotonic() - asleep - period
            if late > period:  # the server was stalled: its queued heartbeats have not landed
                self.excuse(late)
            for run_id, action, why in self.due(status_of):
                self.reasons[run_id] = ("paused" if action == "pause" else "stopped", why)
                try:
                    await apply(run_id, action, why)
                except Exception:  # noqa: BLE001 - one run's refusal must not end the policy
                    self.reasons.pop(run_id, None)
