"""Exceptions to HTTP answers: every refusal is a 4xx whose detail names the problem."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..engine.errors import ExperimentError
from ..runs.manager import BadInput, ControlRefused, LimitReached


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


async def _bad_input(request: Request, err: Exception) -> JSONResponse:
    detail = [{"loc": ["body", "input"], "msg": str(err), "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ExperimentError, _experiment_error)
    app.add_exception_handler(LimitReached, _limit_reached)
    app.add_exception_handler(ControlRefused, _control_refused)
    app.add_exception_handler(BadInput, _bad_input)
