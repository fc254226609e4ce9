"""Serving the app with uvicorn, its WebSocket limits set deliberately."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from ..config import Settings
from ..runs import prefork
from .app import create_app

WS_PING_INTERVAL_S = 20.0  # notice vanished viewers (laptops closed mid-class)
WS_PING_TIMEOUT_S = 20.0


def uvicorn_config(app: FastAPI, settings: Settings, **overrides: object) -> uvicorn.Config:
    """uvicorn settings: small incoming messages, keepalive pings, no per-message deflate.

    Deflate would cost CPU per viewer and per message for payloads (base64 bytes) that hardly
    compress; the sans-I/O websockets protocol gives back-pressure to a slow viewer's sender.
    """
    options: dict = {
        "host": settings.host,
        "port": settings.port,
        "ws": "websockets-sansio",
        "ws_max_size": settings.max_message_bytes,
        "ws_max_queue": 16,
        "ws_ping_interval": WS_PING_INTERVAL_S,
        "ws_ping_timeout": WS_PING_TIMEOUT_S,
        "ws_per_message_deflate": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": 5,
        # X-Forwarded-For/-Proto are believed only from the proxies named in the settings
        # (uvicorn's default trusts 127.0.0.1, so any local client could pick its address).
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": ",".join(settings.trusted_proxies) or "",
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)


def serve(settings: Settings) -> None:
    """Run the server until interrupted."""
    if settings.backend == "local":
        prefork.start()  # before any thread: the workers' forkserver shares this process's pages
    server = uvicorn.Server(uvicorn_config(create_app(settings), settings))
    server.run()
