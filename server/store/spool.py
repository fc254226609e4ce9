"""Export files on their way into the database: the worker process writes them here, the
store's writer moves them into the `exports` table (and deletes them) on its next flush.

`<state_dir>/exports/<run id>/<name>`, generic by file name ("model.py",
"weights.safetensors", "model.onnx"...). No database code here: the worker imports it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # a file name, never a path


class ExportSpool:
    """One folder per run under `root`."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def write(self, run_id: str, files: dict[str, bytes]) -> None:
        """Write a run's export atomically (a temporary folder renamed into place): whoever
        finds the folder finds every file. Raises OSError (the worker logs it)."""
        for name in files:
            if not NAME.match(name) or not NAME.match(run_id):
                raise ValueError(f"not a file name: {name!r}")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{run_id}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name, content in files.items():
            (tmp / name).write_bytes(content)
        shutil.rmtree(self.root / run_id, ignore_errors=True)
        os.replace(tmp, self.root / run_id)

    def path(self, run_id: str, name: str) -> Path | None:
        """The spooled file, if it is (still) there."""
        if not NAME.match(name) or not NAME.match(run_id):
            return None
        path = self.root / run_id / name
        return path if path.is_file() else None

    def names(self, run_id: str) -> list[str]:
        folder = self.root / run_id
        if not NAME.match(run_id) or not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_file())

    def read(self, run_id: str) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for name in self.names(run_id):
            with contextlib.suppress(OSError):
                out[name] = (self.root / run_id / name).read_bytes()
        return out

    def remove(self, run_ids: list[str]) -> None:
        for run_id in run_ids:
            shutil.rmtree(self.root / run_id, ignore_errors=True)
