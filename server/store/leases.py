"""Run leases (table `run_leases`): each active run of a replica set is owned by one replica.

The owner takes a lease when it starts a run and renews all of its leases every third of
`LAYERLAB_LEASE_S`; the run's end releases it. A replica killed with -9 renews nothing, so its
leases lapse: `lapsed` finds those runs for the others. Every function takes an Engine and
blocks: call them from a thread (Store.read / Store.write), never from the event loop.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert, select, update

from ..core.statuses import ACTIVE
from . import tables

L = tables.run_leases.c


def take(engine: Engine, run_id: str, replica: str, expires: float) -> None:
    """Own `run_id` until `expires` (a new run: no lease yet; a taken-over one: replaced)."""
    with engine.begin() as conn:
        conn.execute(delete(tables.run_leases).where(L.run_id == run_id))
        conn.execute(
            insert(tables.run_leases).values(run_id=run_id, replica=replica, expires=expires)
        )


def renew(engine: Engine, replica: str, run_ids: list[str], expires: float) -> int:
    """Push the leases `replica` still holds on `run_ids` to `expires`; how many it holds."""
    if not run_ids:
        return 0
    with engine.begin() as conn:
        done = conn.execute(
            update(tables.run_leases)
            .where(L.replica == replica, L.run_id.in_(run_ids))
            .values(expires=expires)
        )
    return done.rowcount


def release(engine: Engine, run_id: str, replica: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(tables.run_leases).where(L.run_id == run_id, L.replica == replica))


def lapse(engine: Engine, replica: str, run_ids: list[str]) -> None:
    """`replica` hands these runs over (a graceful stop): their leases lapse now, so another
    replica claims them at its next look instead of a lease later."""
    if not run_ids:
        return
    with engine.begin() as conn:
        conn.execute(
            update(tables.run_leases)
            .where(L.replica == replica, L.run_id.in_(run_ids))
            .values(expires=0.0)
        )


def owner(engine: Engine, run_id: str, now: float) -> str | None:
    """The replica whose lease on `run_id` is live at `now`, or None."""
    with engine.connect() as conn:
        return conn.execute(
            select(L.replica).where(L.run_id == run_id, L.expires > now)
        ).scalar_one_or_none()


def live(now: float):
    """A subquery of the run ids under a live lease (startup leaves those runs alone)."""
    return select(L.run_id).where(L.expires > now)


def claim_lapsed(engine: Engine, replica: str, now: float, expires: float) -> list[str]:
    """Take over the active runs whose lease lapsed (their replica died): each claimed by one
    replica only (the update holds where the lease is still lapsed). Their ids."""
    r = tables.runs.c
    claimed: list[str] = []
    with engine.begin() as conn:
        lapsed = conn.execute(
            select(L.run_id)
            .join(tables.runs, r.id == L.run_id)
            .where(L.expires <= now, r.status.in_(ACTIVE))
        ).scalars()
        for run_id in list(lapsed):
            done = conn.execute(
                update(tables.run_leases)
                .where(L.run_id == run_id, L.expires <= now)
                .values(replica=replica, expires=expires)
            )
            if done.rowcount == 1:
                claimed.append(run_id)
    return claimed


def put_checkpoint(engine: Engine, run_id: str, data: bytes, saved: float) -> None:
    """The run's latest checkpoint file (replaces the one before)."""
    c = tables.run_checkpoints.c
    with engine.begin() as conn:
        conn.execute(delete(tables.run_checkpoints).where(c.run_id == run_id))
        conn.execute(insert(tables.run_checkpoints).values(run_id=run_id, data=data, saved=saved))


def get_checkpoint(engine: Engine, run_id: str) -> bytes | None:
    c = tables.run_checkpoints.c
    with engine.connect() as conn:
        return conn.execute(select(c.data).where(c.run_id == run_id)).scalar_one_or_none()


def drop_checkpoint(engine: Engine, run_id: str) -> None:
    c = tables.run_checkpoints.c
    with engine.begin() as conn:
        conn.execute(delete(tables.run_checkpoints).where(c.run_id == run_id))
