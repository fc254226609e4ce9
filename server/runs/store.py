"""Ended runs kept on disk as JSON (`state_dir/runs/<id>.json`), so they survive a restart."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from .messages import dumps


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
