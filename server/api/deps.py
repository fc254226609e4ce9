"""Dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from starlette.requests import HTTPConnection

from ..runs.manager import Run
from ..runs.offline import OfflineJobs
from ..store.rows import StoredRun
from ..web.deps import (
    ClientDep,
    JsonBody,
    ManagerDep,
    SettingsDep,
    StoreDep,
    get_app_settings,
    get_client,
    get_manager,
)
from .class_access import guard_run
from .loop_watch import LoopWatch

__all__ = [
    "ClientDep",
    "JsonBody",
    "LoopWatchDep",
    "ManagerDep",
    "OfflineDep",
    "RunDep",
    "SettingsDep",
    "StoreDep",
    "TokenDep",
    "get_app_settings",
    "get_client",
    "get_manager",
    "get_offline",
]


def get_offline(conn: HTTPConnection) -> OfflineJobs:
    return conn.app.state.offline


OfflineDep = Annotated[OfflineJobs, Depends(get_offline)]  # ended runs: ONNX, predictions


def get_loop_watch(conn: HTTPConnection) -> LoopWatch:
    return conn.app.state.loop_watch


LoopWatchDep = Annotated[LoopWatch, Depends(get_loop_watch)]  # the event loop's own watchdog


TokenDep = Annotated[
    str | None,
    Header(alias="X-Run-Token", description="the owner token returned by POST /api/runs"),
]


def get_run(run_id: str, manager: ManagerDep, request: Request) -> Run | StoredRun:
    """A run in memory or in the database (a sync dependency: it runs in the thread pool);
    a class's run only for those its class lets see it (403 otherwise)."""
    run = manager.find(run_id)
    if run is None:
        raise HTTPException(404, f"no run with id {run_id!r}")
    guard_run(request, manager, run)
    return run


RunDep = Annotated[Run | StoredRun, Depends(get_run)]
