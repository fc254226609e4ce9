"""What `ps` and `top` call LayerLab's processes.

A server's forkserver and workers are forks of it (runs/prefork.py), so each showed the
server's own command line: a server with two workers was four `python -m server.cli serve`
lines, and a school's administrator could not tell which to look at. Each now names its role
and its server (`layerlab worker (server 4242)`); the server keeps the command it was started
with.
"""

from __future__ import annotations

from setproctitle import setproctitle


def name_process(role: str, server_pid: int | None = None) -> None:
    """Title this process `layerlab <role>`, with its server's pid where it has one."""
    setproctitle(f"layerlab {role}" + (f" (server {server_pid})" if server_pid else ""))
