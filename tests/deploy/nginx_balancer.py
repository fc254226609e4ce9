"""The deployment's balancer as a process: Debian's nginx, started on a loopback port with a
configuration generated in a temporary folder whose `location` includes the deployment's own
proxy settings (deploy/nginx/proxy.conf, what docker-compose.yml's balancer uses), in front of
the given upstream addresses; stopped (by its pid) after.

Each response carries the replica that served it (`X-LayerLab-Upstream`), so a test can see
the balancer spread requests."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROXY_CONF = ROOT / "deploy" / "nginx" / "proxy.conf"
START_TIMEOUT_S = 30.0
UPSTREAM_HEADER = "X-LayerLab-Upstream"


def find_nginx() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError("nginx is not installed; scripts/test.sh installs Debian's nginx")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def config(port: int, upstreams: Sequence[str], folder: Path) -> str:
    """nginx.conf for a balancer on 127.0.0.1:`port` over `upstreams` ("host:port")."""
    servers = "\n".join(f"        server {address};" for address in upstreams)
    # As root the workers would switch to `nobody`; keep them this user (the temp folder's).
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        '' '';
    }}
    upstream layerlab {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://layerlab;
            include {PROXY_CONF};
            add_header {UPSTREAM_HEADER} $upstream_addr always;
        }}
    }}
}}
"""


class Balancer:
    def __init__(self, upstreams: Sequence[str]):
        binary = find_nginx()
        self.dir = Path(tempfile.mkdtemp(prefix="layerlab-nginx-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_base = f"ws://127.0.0.1:{self.port}"
        conf = self.dir / "nginx.conf"
        conf.write_text(config(self.port, upstreams, self.dir))
        self._log = open(self.dir / "stderr.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [binary, "-p", str(self.dir), "-c", str(conf)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._listens():
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.output()
                self.stop()
                raise RuntimeError(f"nginx did not start: {output}")
            time.sleep(0.05)

    def _listens(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def output(self) -> str:
        parts = []
        for name in ("stderr.log", "error.log"):
            path = self.dir / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-2000:])
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # nginx's fast shutdown; its workers follow
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
