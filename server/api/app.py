"""The application factory: routers, the page, static files, and the run machinery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from .. import __version__
from ..classes.service import Classes
from ..config import Settings, asset_dir, get_settings
from ..runs.manager import RunManager
from ..runs.offline import OfflineJobs
from . import (
    routes_check,
    routes_classes,
    routes_designs,
    routes_inspect,
    routes_onnx,
    routes_pages,
    routes_presence,
    routes_registry,
    routes_runs,
    routes_sweeps,
    routes_system,
    routes_uploads,
    stream,
)
from .errors import install_error_handlers
from .limits import BodyLimitMiddleware
from .openapi import install_openapi
from .routes_docs import install_docs
from .security import RequestGuardMiddleware
from .stream import TransportMiddleware
from .upload_files import restore_upload_files

DESCRIPTION = """\
Design a network, train it in PyTorch, and watch it learn live.

Start a run with `POST /api/runs` (an experiment document), keep the returned `token` for
`POST /api/runs/{id}/control`, and open `WS /ws/runs/{id}` for the live stream: `hello`
(run and history), then `epoch`, `snapshot`, `trace`, `pace` and `status` messages. A run
paced with `training.pace` (epochs per second; the control action `pace` changes it live)
trains at a speed a class can follow; `status` carries `best_epoch` when
`training.early_stopping` ended the run with the best epoch's weights.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """A LayerLab app; its lifespan starts the worker processes and stops them after."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        manager = RunManager(settings)
        await manager.start()
        app.state.manager = manager
        app.state.offline = OfflineJobs(settings)
        app.state.classes = Classes(settings, manager)  # classes, students, spotlight
        await app.state.classes.start()
        await restore_upload_files(manager, settings)
        try:
            yield
        finally:
            await app.state.classes.stop()
            app.state.offline.close()
            await manager.stop()

    app = FastAPI(
        title="LayerLab",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by routes_docs from packaged Swagger UI assets, no CDN
        redoc_url=None,  # ReDoc would come from a CDN too
    )
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=str(asset_dir("templates")))
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_message_bytes,
        # An uploaded file, plus room for the multipart form around it.
        overrides={routes_uploads.router.prefix: settings.upload_max_bytes + (64 << 10)},
    )
    app.add_middleware(RequestGuardMiddleware, settings=settings)
    app.add_middleware(TransportMiddleware)  # outermost: it needs the server's own send
    install_error_handlers(app)
    routers = (
        routes_registry,
        routes_check,
        routes_runs,
        routes_designs,
        routes_inspect,
        routes_onnx,
        routes_presence,
        routes_system,
        routes_uploads,
        routes_sweeps,
        stream,
        routes_classes,
    )
    for module in (*routers, routes_pages):
        app.include_router(module.router)
    static = asset_dir("static")
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")
    install_docs(app)
    install_openapi(app)
    return app
