"""A throwaway PostgreSQL cluster for the tests: initdb and pg_ctl in a temporary folder,
listening on a unix socket only (no TCP port to collide with). As root it runs as the
`postgres` user (PostgreSQL refuses to run as root), through runuser."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

PORT = 54329  # only names the socket file; nothing listens on TCP
USER = "layerlab"


def find_bin(name: str) -> str | None:
    """A PostgreSQL server binary: on PATH, or in Debian's /usr/lib/postgresql/<v>/bin."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class Cluster:
    def __init__(self) -> None:
        self.initdb, self.pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if self.initdb is None or self.pg_ctl is None:
            raise FileNotFoundError(
                "PostgreSQL is not installed (initdb, pg_ctl); scripts/test.sh installs Debian's "
                "postgresql when it runs as root"
            )
        self.root = Path(tempfile.mkdtemp(prefix="layerlab-pg-"))
        self.data = self.root / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")  # Debian's package creates it
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run(self.initdb, "-D", str(self.data), "-A", "trust", "-U", USER, "-E", "UTF8")
        options = f"-k {self.root} -p {PORT} -c listen_addresses='' -c fsync=off"
        self._run(
            self.pg_ctl,
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True, text=True)

    def admin_url(self, db: str = "postgres") -> str:
        return f"postgresql://{USER}@/{db}?host={self.root}&port={PORT}"

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url(name)

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)
