"""The server itself: health and worker processes."""

from __future__ import annotations

from fastapi import APIRouter

from .. import __version__
from .deps import ManagerDep, SettingsDep
from .models import Health, WorkerInfo

router = APIRouter(prefix="/api", tags=["server"])


@router.get("/health")
def get_health(manager: ManagerDep, settings: SettingsDep) -> Health:
    """Whether the workers are up, and how many runs are active."""
    workers = manager.pool.describe()
    ready = sum(1 for w in workers if w["ready"] and w["alive"] and w["responsive"])
    silent = sum(1 for w in workers if w["ready"] and w["alive"] and not w["responsive"])
    return Health(
        status="ok" if ready >= settings.workers else "degraded",
        version=__version__,
        workers=len(workers),
        workers_ready=ready,
        workers_unresponsive=silent,
        workers_replaced=manager.pool.replaced,
        last_worker_exit=manager.pool.last_exit,
        queued_for_worker=len(manager.pending),
        active_runs=manager.active_count(),
        runs=len(manager.runs),
    )


@router.get("/workers")
def list_workers(manager: ManagerDep) -> list[WorkerInfo]:
    """Worker processes with their pids, state, runs and resident memory."""
    return [WorkerInfo(**w) for w in manager.pool.describe()]
