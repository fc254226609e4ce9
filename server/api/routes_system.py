"""The server itself: health and worker processes."""

from __future__ import annotations

from fastapi import APIRouter

from .. import __version__
from .deps import LoopWatchDep, ManagerDep, SettingsDep, StoreDep
from .models import Health, WorkerInfo

router = APIRouter(prefix="/api", tags=["server"])


@router.get("/health")
def get_health(
    manager: ManagerDep, store: StoreDep, settings: SettingsDep, loop: LoopWatchDep
) -> Health:
    """Whether the workers are up and the database can be written, and how many runs are
    active; `degraded` with `reasons` otherwise."""
    workers = manager.pool.describe()
    ready = sum(1 for w in workers if w["ready"] and w["alive"] and w["responsive"])
    silent = sum(1 for w in workers if w["ready"] and w["alive"] and not w["responsive"])
    database = store.health()
    reasons = []
    if ready < settings.workers:
        reasons.append(f"{ready} of {settings.workers} workers ready")
    if silent:
        reasons.append(f"{silent} worker(s) not answering")
    if not database["ok"]:
        reasons.append(f"the database cannot be written: {database['error']}")
    return Health(
        status="degraded" if reasons else "ok",
        version=__version__,
        backend=manager.pool.name,
        workers=len(workers),
        workers_ready=ready,
        workers_unresponsive=silent,
        workers_replaced=manager.pool.replaced,
        last_worker_exit=manager.pool.last_exit,
        queued_for_worker=len(manager.pending),
        active_runs=manager.active_count(),
        active_elsewhere=manager.bus.active_elsewhere(),
        runs=len(manager.runs),
        database=database,
        loop=loop.describe(),
        reasons=reasons,
    )


@router.get("/workers")
def list_workers(manager: ManagerDep) -> list[WorkerInfo]:
    """The workers with their pids, state, runs, resident memory and the calls waiting on
    them, each naming the backend that serves it (`local` processes or `ray` actors) and its
    node (and Ray actor id)."""
    waiting = manager.calls.waiting()
    return [WorkerInfo(**w, calls_waiting=waiting[w["id"]]) for w in manager.pool.describe()]
