"""`layerlab serve` as a real process on the test's database, to kill -9 and start again
(tests/servers.py starts it; this sets the store tests' environment)."""

from __future__ import annotations

from pathlib import Path

import servers

from server.config import Settings


class ServerProcess(servers.ServerProcess):
    """One server process on `settings`' state folder and database, one worker."""

    def __init__(self, settings: Settings, **env: object):
        state = Path(settings.state_dir)
        environ = {
            "LAYERLAB_STATE_DIR": str(state),
            "LAYERLAB_DATABASE_URL": settings.database_url,
            "LAYERLAB_FLUSH_INTERVAL_S": str(settings.flush_interval_s),
            "LAYERLAB_MAX_RUNS_PER_CLIENT": "16",
            # Eager training: these tests need runs that last a while (a kill -9 mid-run, a
            # database locked under one); the fast path would finish them in seconds.
            "LAYERLAB_FAST_PATH": "false",
            **servers.layerlab_env(**env),
        }
        state.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(env=environ, workers=1, log=state.parent / "server.log")
