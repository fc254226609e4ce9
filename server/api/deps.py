"""Dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request
from starlette.requests import HTTPConnection

from ..config import Settings
from ..runs.manager import Run, RunManager
from ..runs.offline import OfflineJobs
from ..store.rows import StoredRun
from ..store.store import Store, token_hash
from .class_access import guard_run


def get_app_settings(conn: HTTPConnection) -> Settings:
    return conn.app.state.settings


def get_manager(conn: HTTPConnection) -> RunManager:
    return conn.app.state.manager


def get_store(conn: HTTPConnection) -> Store:
    return conn.app.state.store


def get_offline(conn: HTTPConnection) -> OfflineJobs:
    return conn.app.state.offline


def get_client(conn: HTTPConnection) -> str:
    """Who is asking, for per-client limits: the request's client host."""
    return conn.client.host if conn.client else "unknown"


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ManagerDep = Annotated[RunManager, Depends(get_manager)]
StoreDep = Annotated[Store, Depends(get_store)]  # the database: built by create_app
OfflineDep = Annotated[OfflineJobs, Depends(get_offline)]  # ended runs: ONNX, predictions
ClientDep = Annotated[str, Depends(get_client)]
TokenDep = Annotated[
    str | None,
    Header(alias="X-Run-Token", description="the owner token returned by POST /api/runs"),
]
OwnerDep = Annotated[
    str | None,
    Header(
        alias="X-Owner-Token",
        min_length=16,
        max_length=200,
        description="a random token the browser keeps (localStorage): whose designs and runs",
    ),
]


def owner_hash(token: str | None) -> str | None:
    """What is stored of an owner token: its SHA-256 (the token itself never is)."""
    return token_hash(token) if token else None


def get_run(run_id: str, manager: ManagerDep, request: Request) -> Run | StoredRun:
    """A run in memory or in the database (a sync dependency: it runs in the thread pool);
    a class's run only for those its class lets see it (403 otherwise)."""
    run = manager.find(run_id)
    if run is None:
        raise HTTPException(404, f"no run with id {run_id!r}")
    guard_run(request, manager, run)
    return run


RunDep = Annotated[Run | StoredRun, Depends(get_run)]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON; send null or a finite number")


async def json_body(request: Request) -> Any:
    """The request body as JSON, or a 422 that says what is wrong with it."""
    raw = await request.body()
    if not raw.strip():
        raise HTTPException(422, [_body_error("the request body is empty: send a JSON document")])
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as err:
        raise HTTPException(422, [_body_error(f"malformed JSON: {err}")]) from None


def _body_error(msg: str) -> dict:
    return {"loc": ["body"], "msg": msg, "type": "json_invalid"}


JsonBody = Annotated[Any, Depends(json_body)]
