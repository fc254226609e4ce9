"""Exceptions to HTTP answers: every refusal is a 4xx whose detail names the problem."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount

from ..engine.errors import ExperimentError, error_list
from ..runs.manager import BadInput, ControlRefused, LimitReached
from ..store.owned import NotFound, NotOwner
from ..store.store import StoreUnavailable


async def _experiment_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, ExperimentError)
    return JSONResponse({"detail": error_list(err)}, status_code=422)


async def _limit_reached(request: Request, err: Exception) -> JSONResponse:
    retry_after = getattr(err, "retry_after", 5)
    return JSONResponse(
        {"detail": str(err)}, status_code=429, headers={"Retry-After": str(retry_after)}
    )


async def _control_refused(request: Request, err: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(err)}, status_code=409)


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route serves at this path (a path can have several routes, e.g.
    GET and POST /api/runs; static files serve GET and HEAD)."""
    methods: set[str] = set()
    for route in app.router.routes:
        for method in METHODS:
            match, _ = route.matches({**request.scope, "method": method})
            if match == Match.FULL:
                methods |= {"GET", "HEAD"} if isinstance(route, Mount) else {method}
    return sorted(methods)


async def _http_error(request: Request, err: Exception) -> JSONResponse:
    """FastAPI's own answer, and for a 405 an `Allow` header naming every method the path
    takes (Starlette names only the first route's, and static files none)."""
    assert isinstance(err, StarletteHTTPException)
    if err.status_code == 405:
        headers = dict(err.headers or {})
        allow = ", ".join(allowed_methods(request.app, request)) or headers.get("Allow", "")
        if allow:
            err.headers = {**headers, "Allow": allow}
        if err.detail == "Method Not Allowed" and allow:
            err.detail = f"{request.method} is not allowed here; use {allow}"
    return await http_exception_handler(request, err)


async def _store_unavailable(request: Request, err: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(err)}, status_code=503, headers={"Retry-After": "2"})


async def _not_found(request: Request, err: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(err)}, status_code=404)


async def _not_owner(request: Request, err: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(err)}, status_code=403)


async def _bad_input(request: Request, err: Exception) -> JSONResponse:
    detail = [{"loc": ["body", "input"], "msg": str(err), "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ExperimentError, _experiment_error)
    app.add_exception_handler(LimitReached, _limit_reached)
    app.add_exception_handler(ControlRefused, _control_refused)
    app.add_exception_handler(BadInput, _bad_input)
    app.add_exception_handler(NotFound, _not_found)  # designs, uploads, sweeps
    app.add_exception_handler(NotOwner, _not_owner)
