"""Exceptions to HTTP answers: every refusal is a 4xx whose detail names the problem."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..engine.errors import ExperimentError
from ..runs.manager import ControlRefused, LimitReached
from ..store.store import StoreUnavailable


def experiment_errors(err: ExperimentError) -> list[dict]:
    """The engine's errors as JSON: `loc` as a list, as FastAPI's own 422s have it."""
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in err.errors]


async def _experiment_error(request: Request, err: Exception) -> JSONResponse:
    assert isinstance(err, ExperimentError)
    return JSONResponse({"detail": experiment_errors(err)}, status_code=422)


async def _limit_reached(request: Request, err: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(err)}, status_code=429, headers={"Retry-After": "5"})


async def _control_refused(request: Request, err: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(err)}, status_code=409)


async def _store_unavailable(request: Request, err: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(err)}, status_code=503, headers={"Retry-After": "2"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.add_exception_handler(ExperimentError, _experiment_error)
    app.add_exception_handler(LimitReached, _limit_reached)
    app.add_exception_handler(ControlRefused, _control_refused)
