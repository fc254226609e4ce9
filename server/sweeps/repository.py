"""Sweeps in the database, on the shared owned-resource repository: created with their
variants' run ids, read, listed, marked stopped.

Written at once like designs: whoever starts a sweep reads it back next. Blocking calls on
the engine (the API runs them in its thread pool, through the store).
"""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, insert, select, update

from ..core.jsonsafe import dumps
from ..store.owned import OwnedRepository
from .tables import sweep_runs, sweeps


class StoredVariant(BaseModel):
    index: int
    run_id: str
    values: dict[str, Any]


class StoredSweep(BaseModel):
    id: str
    owner: str
    name: str
    experiment: dict[str, Any]  # the base design, normalised
    axes: list[dict[str, Any]]
    created: float
    stopped: float | None
    variants: list[StoredVariant]


def _sweep(row: Any) -> StoredSweep:
    m = row._mapping
    spec = json.loads(m["spec_json"])
    return StoredSweep(
        **{k: m[k] for k in ("id", "owner", "name", "created", "stopped")},
        experiment=spec["experiment"],
        axes=spec["axes"],
        variants=[],
    )


class SweepRepository(OwnedRepository[StoredSweep]):
    def __init__(self) -> None:
        super().__init__(sweeps, "sweep", _sweep, order=(sweeps.c.created.desc(),))

    def create(
        self,
        engine: Engine,
        sweep_id: str,
        owner: str,
        name: str,
        experiment: dict,
        axes: list[dict],
        variants: list[tuple[str, dict]],  # (run id, values) per variant, in order
    ) -> StoredSweep:
        now = time.time()
        with engine.begin() as conn:
            conn.execute(
                insert(sweeps),
                {
                    "id": sweep_id,
                    "owner": owner,
                    "name": name,
                    "spec_json": dumps({"experiment": experiment, "axes": axes}),
                    "created": now,
                    "stopped": None,
                },
            )
            conn.execute(
                insert(sweep_runs),
                [
                    {"sweep_id": sweep_id, "position": i, "run_id": r, "values_json": dumps(v)}
                    for i, (r, v) in enumerate(variants)
                ],
            )
        return StoredSweep(
            id=sweep_id,
            owner=owner,
            name=name,
            experiment=experiment,
            axes=axes,
            created=now,
            stopped=None,
            variants=[
                StoredVariant(index=i, run_id=r, values=v) for i, (r, v) in enumerate(variants)
            ],
        )

    def complete(self, engine: Engine, items: list[StoredSweep]) -> list[StoredSweep]:
        """Each sweep with its variants, in order (a sweep whose variants do not parse is
        skipped, like any unreadable row)."""
        if not items:
            return items
        with engine.connect() as conn:
            rows = conn.execute(
                select(sweep_runs)
                .where(sweep_runs.c.sweep_id.in_([s.id for s in items]))
                .order_by(sweep_runs.c.sweep_id, sweep_runs.c.position)
            ).all()
        by_sweep: dict[str, list[StoredVariant]] = {s.id: [] for s in items}
        bad: set[str] = set()
        for r in rows:
            m = r._mapping
            try:
                variant = StoredVariant(
                    index=m["position"], run_id=m["run_id"], values=json.loads(m["values_json"])
                )
            except (ValueError, TypeError):
                bad.add(m["sweep_id"])
                continue
            by_sweep[m["sweep_id"]].append(variant)
        return [s.model_copy(update={"variants": by_sweep[s.id]}) for s in items if s.id not in bad]

    def mark_stopped(self, engine: Engine, sweep_id: str) -> None:
        with engine.begin() as conn:
            conn.execute(
                update(sweeps)
                .where(sweeps.c.id == sweep_id, sweeps.c.stopped.is_(None))
                .values(stopped=time.time())
            )


SWEEPS = SweepRepository()
