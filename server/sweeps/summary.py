"""A sweep as GET /api/sweeps/{id} shows it: each variant's run, status and final metrics,
the sweep's own status, and the best variant by its main metric.

The main metric follows the task: `val_accuracy` (higher is better) for classification,
`val_loss` (lower is better) otherwise. A variant's `final` is its run's latest epoch record
(its last one once the run has ended); `value` is the main metric in it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from ..core.statuses import ACTIVE
from .repository import StoredSweep
from .spec import TITLES

RunLookup = Callable[[str], Any]  # run id -> Run | StoredRun | None (manager.find)


def main_metric(check: dict) -> tuple[str, bool]:
    """(name, higher_is_better) of the metric a sweep compares its variants by."""
    if check.get("task") == "classification":
        return "val_accuracy", True
    return "val_loss", False


def metric_value(record: dict | None, name: str) -> float | None:
    if not record:
        return None
    value = (
        record.get(name) if name in ("loss", "val_loss") else record.get("metrics", {}).get(name)
    )
    return value if isinstance(value, int | float) else None


def sweep_status(statuses: list[str], stopped: bool) -> str:
    """`running` while any variant is active; then `finished` when every one finished,
    `stopped` when its owner stopped it, else `ended` (some failed, diverged or were
    interrupted)."""
    if any(s in ACTIVE for s in statuses):
        return "running"
    if statuses and all(s == "finished" for s in statuses):
        return "finished"
    return "stopped" if stopped else "ended"


def describe(sweep: StoredSweep, find: RunLookup, mine: bool) -> dict:
    """The sweep with its variants (a blocking read for runs no longer in memory)."""
    runs = {v.run_id: find(v.run_id) for v in sweep.variants}
    check = next((r.check for r in runs.values() if r is not None), {})
    metric, higher = main_metric(check)
    variants = []
    for v in sweep.variants:
        run = runs[v.run_id]
        s = run.summary() if run is not None else {}
        final = s.get("last")
        variants.append(
            {
                "index": v.index,
                "values": v.values,
                "label": ", ".join(f"{k}={x}" for k, x in v.values.items()),
                "run": v.run_id,
                "stream": f"/ws/runs/{v.run_id}",
                "status": s.get("status", "missing"),
                "message": s.get("message")
                if run is not None
                else "this run is not in the database",
                "epoch": s.get("epoch", 0),
                "epochs": s.get("epochs"),
                "final": final,
                "value": metric_value(final, metric),
            }
        )
    statuses = [v["status"] for v in variants]
    scored = [v for v in variants if v["value"] is not None]
    best = None
    if scored:
        top = (max if higher else min)(scored, key=lambda v: v["value"])
        best = {k: top[k] for k in ("index", "values", "label", "run", "value")}
    return {
        "id": sweep.id,
        "name": sweep.name,
        "mine": mine,
        "created": sweep.created,
        "stopped": sweep.stopped,
        "status": sweep_status(statuses, sweep.stopped is not None),
        "counts": dict(Counter(statuses)),
        "experiment": sweep.experiment,
        "axes": [
            {**a, "title": TITLES.get(a.get("setting", ""), a.get("setting"))} for a in sweep.axes
        ],
        "metric": metric,
        "higher_is_better": higher,
        "best": best,
        "variants": variants,
    }
