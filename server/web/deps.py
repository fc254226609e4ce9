"""The app's parts as `Annotated` dependencies: settings, the run manager, the store, the
client's address, and a JSON body read with errors that say what is wrong."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from starlette.requests import HTTPConnection

from ..config import Settings
from ..runs.manager import RunManager
from ..store.store import Store


def get_app_settings(conn: HTTPConnection) -> Settings:
    return conn.app.state.settings


def get_manager(conn: HTTPConnection) -> RunManager:
    return conn.app.state.manager


def get_store(conn: HTTPConnection) -> Store:
    """The database: the one `create_app` built (or, until it builds one, the manager's)."""
    store = getattr(conn.app.state, "store", None)
    return store if store is not None else conn.app.state.manager.store


def get_client(conn: HTTPConnection) -> str:
    """Who is asking, for per-client limits: the request's client host."""
    return conn.client.host if conn.client else "unknown"


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ManagerDep = Annotated[RunManager, Depends(get_manager)]
StoreDep = Annotated[Store, Depends(get_store)]
ClientDep = Annotated[str, Depends(get_client)]


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
