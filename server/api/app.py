"""The application factory: routers, the page, static files, and the run machinery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from .. import __version__
from ..classes.service import Classes
from ..cluster import Cluster
from ..config import Settings, asset_dir, get_settings
from ..designs import routes as routes_designs
from ..runs.manager import RunManager
from ..runs.offline import OfflineJobs
from ..store.store import Store
from ..sweeps import routes as routes_sweeps
from ..uploads import routes as routes_uploads
from ..uploads import routes_shares as routes_upload_shares
from ..uploads.access import check_use
from ..uploads.restore import restore_upload_files
from . import (
    routes_check,
    routes_class_experiment,
    routes_class_roster,
    routes_classes,
    routes_inspect,
    routes_onnx,
    routes_pages,
    routes_presence,
    routes_projection,
    routes_recommend,
    routes_registry,
    routes_runs,
    routes_system,
    routes_tryit,
    stream,
)
from .errors import install_error_handlers
from .frames import FrameCache
from .limits import BodyLimitMiddleware
from .loop_watch import LoopWatch
from .openapi import install_openapi
from .routes_docs import install_docs
from .security import RequestGuardMiddleware
from .stream import TransportMiddleware

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
        app.state.loop_watch = loop_watch = LoopWatch(settings.loop_stall_s)
        loop_watch.start()  # first: a stall while starting is seen too
        # The database first: every part that keeps something gets it from here.
        store = Store(settings)
        await asyncio.to_thread(store.open)
        # Replicas (LAYERLAB_REDIS_URL): the manager's streams also go through Redis.
        cluster = Cluster(settings, store) if settings.redis_url else None
        manager = RunManager(settings, store, bus=cluster.bus if cluster else None)
        manager.dataset_guard = partial(
            check_use, store, settings.state_dir
        )  # uploads: their owner's only
        await manager.start()
        if cluster is not None:
            await cluster.start(manager)
        app.state.cluster = cluster
        app.state.store = store
        app.state.manager = manager
        app.state.offline = OfflineJobs(settings)
        app.state.frame_cache = FrameCache()  # the streams' frames, built once (frames.py)
        app.state.classes = Classes(
            settings, manager, store, cluster
        )  # classes, students, spotlight
        await app.state.classes.start()
        if cluster is not None:  # after the classes: a class run taken over keeps its class
            cluster.watch_lapsed()
        await restore_upload_files(store, settings)
        try:
            yield
        finally:
            await app.state.classes.stop()
            if cluster is not None:  # replicas: the active runs go on elsewhere, not interrupted
                await cluster.hand_over(manager)
            app.state.offline.close()
            if getattr(app.state, "upload_parsers", None) is not None:
                app.state.upload_parsers.close()  # made by the first upload
            await manager.stop()
            if cluster is not None:
                await cluster.stop()
            await asyncio.to_thread(store.close)
            loop_watch.stop()

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
        routes_projection,
        routes_recommend,
        routes_onnx,
        routes_tryit,
        routes_presence,
        routes_system,
        routes_uploads,
        routes_upload_shares,
        routes_sweeps,
        stream,
        routes_classes,
        routes_class_roster,
        routes_class_experiment,
    )
    for module in (*routers, routes_pages):
        app.include_router(module.router)
    static = asset_dir("static")
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")
    install_docs(app)
    install_openapi(app)
    return app
