"""Where workers live: `local` processes or `ray` actors, one lifecycle (`base.WorkerSet`).

`make_backend(settings, on_message, on_exit)` builds the one `settings.backend` names
(`LAYERLAB_BACKEND=local|ray`); the Ray one is imported only when chosen (an optional extra,
so the import stays inside this function: `ray.py` imports Ray at module level).
"""

from __future__ import annotations

from typing import Any

from ...config import Settings
from .base import COMMAND_QUEUE, ExitHandler, MessageHandler, WorkerBase, WorkerSet
from .local import LocalBackend

Backend = WorkerSet  # what the manager drives
WorkerHandle = WorkerBase  # its view of one worker


def make_backend(
    settings: Settings, on_message: MessageHandler, on_exit: ExitHandler, **options: Any
) -> WorkerSet:
    """The backend `settings.backend` names, not started yet."""
    if settings.backend == "ray":
        from .ray import RayBackend

        return RayBackend(settings, on_message, on_exit, **options)
    return LocalBackend(settings, on_message, on_exit, **options)


__all__ = ["COMMAND_QUEUE", "Backend", "WorkerBase", "WorkerHandle", "WorkerSet", "make_backend"]
