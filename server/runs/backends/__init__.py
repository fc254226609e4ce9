"""Where workers live, behind one interface (`base.Backend`): `local` processes or `ray` actors.

`make_backend(settings, on_message, on_exit)` builds the one `settings.backend` names
(`LAYERLAB_BACKEND=local|ray`); the Ray one is imported only when chosen (an optional extra).
"""

from __future__ import annotations

from ...config import Settings
from .base import Backend, ExitHandler, MessageHandler, WorkerHandle


def make_backend(
    settings: Settings, on_message: MessageHandler, on_exit: ExitHandler, **options
) -> Backend:
    """The backend `settings.backend` names, not started yet."""
    if settings.backend == "ray":
        from .ray import RayBackend

        return RayBackend(settings, on_message, on_exit, **options)
    from .local import LocalBackend

    return LocalBackend(settings, on_message, on_exit, **options)


__all__ = ["Backend", "WorkerHandle", "make_backend"]
