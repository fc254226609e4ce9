"""Ended runs kept on disk as JSON (`state_dir/runs/<id>.json`), so they survive a restart,
with the export of each finished or stopped run beside it (`<id>.py`, `<id>.safetensors`)."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from .messages import dumps

# An export's files: the name a client asks for -> the suffix of the file on disk.
EXPORT_FILES = {"model.py": ".py", "weights.safetensors": ".safetensors"}
# Made on request from the weights, then kept beside them (server/runs/offline.py).
ONNX_FILE = {"model.onnx": ".onnx"}
_SUFFIXES = {**EXPORT_FILES, **ONNX_FILE}


class RunStore:
    """One JSON file per ended run; unreadable files are skipped, never fatal."""

    def __init__(self, state_dir: Path):
        self.dir = Path(state_dir) / "runs"

    def save(self, run_id: str, doc: dict) -> None:
        with contextlib.suppress(OSError):
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp = self.dir / f".{run_id}.tmp"
            tmp.write_text(dumps(doc), encoding="utf-8")
            os.replace(tmp, self.dir / f"{run_id}.json")

    def load(self, limit: int) -> list[dict]:
        """The newest `limit` saved runs, oldest first."""
        if not self.dir.is_dir():
            return []
        files = sorted(self.dir.glob("*.json"), key=lambda p: p.stat().st_mtime)[-limit:]
        docs = []
        for path in files:
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(doc, dict) and {"id", "experiment", "check", "status"} <= doc.keys():
                docs.append(doc)
        return docs

    def save_export(self, run_id: str, files: dict[str, bytes]) -> None:
        """Write a run's export (`EXPORT_FILES` names -> contents), each file atomically, the
        script last: where it exists, the weights do. Raises OSError: the worker logs it, and
        the run simply has no export."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for name in sorted(files, key=lambda n: n == "model.py"):
            content = files[name]
            tmp = self.dir / f".{run_id}{_SUFFIXES[name]}.tmp"
            tmp.write_bytes(content)
            os.replace(tmp, self.export_path(run_id, name))

    def forget(self, run_id: str) -> None:
        """Delete a run's files (its record and export): the disk holds what memory holds."""
        for suffix in (".json", *_SUFFIXES.values()):
            with contextlib.suppress(OSError):
                (self.dir / f"{run_id}{suffix}").unlink(missing_ok=True)

    def export_path(self, run_id: str, name: str) -> Path:
        """Where a run's export file `name` (an EXPORT_FILES or ONNX_FILE name) lives."""
        return self.dir / f"{run_id}{_SUFFIXES[name]}"
