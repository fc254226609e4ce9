"""Reads: runs listed (paged, filtered), one run, its history paged, its layer summaries and
its exports. Every row is validated (`rows.py`): a bad one is skipped and logged.

These are blocking calls: the API runs them in its thread pool, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, func, or_, select

from . import tables
from .rows import StoredRun, layers_text, record_text, run_from_row

LAYER_HISTORY = 240  # per-layer summaries a late viewer gets, the older ones thinned


@dataclass
class RunFilter:
    """What `GET /api/runs` may filter on; None means any."""

    owner: str | None = None  # sha256 of an owner token
    status: str | None = None
    dataset: str | None = None
    design: str | None = None
    text: str | None = None  # in the id, dataset, message or experiment, any case
    # More conditions on `runs` from other parts (classes: who may see a class's runs), and
    # the same judgement for a run in memory by its id.
    extra: tuple = ()
    keep: Callable[[str], bool] | None = None

    def conditions(self) -> list:
        c = tables.runs.c
        out = []
        if self.owner is not None:
            out.append(c.owner == self.owner)
        if self.status is not None:
            out.append(c.status == self.status)
        if self.dataset is not None:
            out.append(c.dataset == self.dataset)
        if self.design is not None:
            out.append(c.design_id == self.design)
        if self.text:
            pattern = "%" + _escape(self.text) + "%"
            out.append(
                or_(
                    *(
                        col.ilike(pattern, escape="\\")
                        for col in (c.id, c.dataset, c.message, c.experiment_json)
                    )
                )
            )
        out.extend(self.extra)
        return out


def list_runs(
    engine: Engine, where: RunFilter, limit: int, offset: int = 0
) -> tuple[list[StoredRun], int]:
    """Newest first: one page of runs, and how many match in all."""
    conditions = where.conditions()
    query = (
        select(tables.runs)
        .where(*conditions)
        .order_by(tables.runs.c.created.desc(), tables.runs.c.id)
        .limit(limit)
        .offset(offset)
    )
    count = select(func.count()).select_from(tables.runs).where(*conditions)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        total = conn.execute(count).scalar_one()
    runs = [run for run in map(run_from_row, rows) if run is not None]
    return runs, total - (len(rows) - len(runs))


def get_run(engine: Engine, run_id: str) -> StoredRun | None:
    with engine.connect() as conn:
        row = conn.execute(select(tables.runs).where(tables.runs.c.id == run_id)).first()
    return run_from_row(row) if row is not None else None


def stored_ids(engine: Engine, run_ids: Iterable[str]) -> set[str]:
    """Which of these runs have reached the database."""
    ids = list(run_ids)
    if not ids:
        return set()
    with engine.connect() as conn:
        return set(
            conn.execute(select(tables.runs.c.id).where(tables.runs.c.id.in_(ids))).scalars()
        )


def history(engine: Engine, run_id: str, after: int = 0, limit: int = 1000) -> list[str]:
    """Epoch records (JSON text) with epoch > `after`, in order, at most `limit`."""
    e = tables.epochs.c
    query = (
        select(e.epoch, e.record_json)
        .where(e.run_id == run_id, e.epoch > after)
        .order_by(e.epoch, e.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [t for t in (record_text(run_id, r.record_json) for r in rows) if t is not None]


def layer_history(engine: Engine, run_id: str, keep: int = LAYER_HISTORY) -> list[str]:
    """The run's per-layer summaries, oldest first, evenly thinned to at most `keep`."""
    s = tables.layer_summaries.c
    query = select(s.layers_json).where(s.run_id == run_id).order_by(s.epoch, s.id)
    with engine.connect() as conn:
        texts = list(conn.execute(query).scalars())
    if len(texts) > keep:
        step = len(texts) / keep
        texts = [texts[int(i * step)] for i in range(keep - 1)] + [texts[-1]]
    return [t for t in (layers_text(run_id, x) for x in texts) if t is not None]


def export_names(engine: Engine, run_id: str) -> list[str]:
    x = tables.exports.c
    with engine.connect() as conn:
        return sorted(conn.execute(select(x.name).where(x.run_id == run_id)).scalars())


def export_data(engine: Engine, run_id: str, name: str) -> bytes | None:
    x = tables.exports.c
    with engine.connect() as conn:
        return conn.execute(
            select(x.data).where(x.run_id == run_id, x.name == name)
        ).scalar_one_or_none()


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
