"""What the store does once at start: import the JSON run files of earlier versions, and mark
the runs that were active when the server last stopped (or was killed) `interrupted`."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, insert, select, update

from ..core.jsonsafe import dumps
from ..core.statuses import ACTIVE
from . import leases, tables
from .rows import StoredRun

log = logging.getLogger("layerlab.store")

# Earlier versions kept an ended run as `<state_dir>/runs/<id>.json` and its export beside it.
LEGACY_EXPORTS = {".py": "model.py", ".safetensors": "weights.safetensors"}


def interrupt_active(engine: Engine) -> list[str]:
    """Runs the database still calls active, and no live replica holds a lease on, belong to
    a server that is gone: `interrupted`."""
    r = tables.runs.c
    now = time.time()
    with engine.begin() as conn:
        # A run under another replica's live lease is that replica's, running (server/cluster).
        leased = leases.live(now)
        rows = conn.execute(
            select(r.id, r.status, r.epoch).where(r.status.in_(ACTIVE), r.id.not_in(leased))
        ).all()
        for row in rows:
            message = (
                f"the server stopped while this run was {row.status}; "
                f"its history up to epoch {row.epoch} is kept"
            )
            conn.execute(
                update(tables.runs)
                .where(r.id == row.id)
                .values(status="interrupted", message=message, ended=now)
            )
    return [row.id for row in rows]


def import_legacy(engine: Engine, state_dir: Path) -> int:
    """Import `state_dir/runs/*.json` (runs not in the database yet; the files stay): each
    file in its own transaction, a bad one skipped and logged. Returns how many came in."""
    folder = Path(state_dir) / "runs"
    if not folder.is_dir():
        return 0
    count = 0
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            run = _legacy_run(doc)
        except (OSError, ValueError, TypeError, ValidationError) as err:
            log.warning("not importing %s: %s", path.name, " ".join(str(err).split())[:200])
            continue
        try:
            with engine.begin() as conn:
                if conn.execute(select(tables.runs.c.id).where(tables.runs.c.id == run.id)).first():
                    continue
                _insert(conn, run, doc, folder)
            count += 1
        except Exception as err:  # noqa: BLE001 - one file's trouble is that file's
            log.warning("not importing %s: %s", path.name, " ".join(str(err).split())[:200])
    if count:
        log.warning("imported %d runs from %s into the database", count, folder)
    return count


def _legacy_run(doc: Any) -> StoredRun:
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    history = doc.get("history", [])
    if not isinstance(history, list) or not all(
        isinstance(r, dict) and isinstance(r.get("epoch"), int) for r in history
    ):
        raise ValueError("history is not a list of epoch records")
    status, message = doc.get("status"), doc.get("message")
    if status in ACTIVE:
        status, message = "interrupted", "the server stopped while this run was active"
    experiment = doc.get("experiment")
    return StoredRun(
        id=doc.get("id"),
        status=status,
        message=message,
        client=str(doc.get("client") or ""),
        dataset=(experiment or {}).get("dataset", {}).get("name")
        if isinstance(experiment, dict) and isinstance(experiment.get("dataset"), dict)
        else None,
        experiment=experiment,
        check=doc.get("check"),
        epoch=history[-1]["epoch"] if history else int(doc.get("epoch") or 0),
        epochs=doc.get("epochs"),
        total_params=doc.get("total_params"),
        last=history[-1] if history else None,
        created=doc.get("created") or time.time(),
        ended=doc.get("ended"),
    )


def _insert(conn: Connection, run: StoredRun, doc: dict, folder: Path) -> None:
    conn.execute(
        insert(tables.runs),
        {
            "id": run.id,
            "status": run.status,
            "message": run.message,
            "client": run.client,
            "dataset": run.dataset,
            "experiment_json": dumps(run.experiment),
            "check_json": dumps(run.check),
            "epoch": run.epoch,
            "epochs": run.epochs if isinstance(run.epochs, int) else None,
            "total_params": run.total_params,
            "last_json": dumps(run.last) if run.last is not None else None,
            "created": run.created,
            "ended": run.ended,
        },
    )
    records = [
        {"run_id": run.id, "epoch": r["epoch"], "record_json": dumps(r)} for r in doc["history"]
    ]
    if records:
        conn.execute(insert(tables.epochs), records)
    files = []
    for suffix, name in LEGACY_EXPORTS.items():
        path = folder / f"{run.id}{suffix}"
        if path.is_file():
            files.append({"run_id": run.id, "name": name, "data": path.read_bytes()})
    if len(files) == len(LEGACY_EXPORTS):  # an export is whole or absent
        now = time.time()
        conn.execute(insert(tables.exports), [{**f, "created": now} for f in files])
