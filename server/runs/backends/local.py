"""The local backend: spawned worker processes on this machine (`runs/pool.py`)."""

from __future__ import annotations

import socket

from ..pool import WorkerHandle, WorkerPool

NODE = socket.gethostname()


class LocalBackend(WorkerPool):
    """The worker pool, named as a backend; its workers describe their host as their node."""

    name = "local"

    def describe(self) -> list[dict]:
        return [{**w, "backend": self.name, "node": NODE} for w in super().describe()]


__all__ = ["LocalBackend", "WorkerHandle"]
