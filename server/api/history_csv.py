"""A run's history as CSV: one row per epoch, a column per field and metric."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

FIRST = ("epoch", "loss", "val_loss")
LAST = ("lr", "elapsed", "time")


def csv_lines(pages: Iterable[list[str]]) -> Iterator[str]:
    """CSV text from pages of epoch records (JSON text). The metric columns are those of the
    first page (a run's metrics do not change as it trains); a missing value is empty."""
    columns: list[str] | None = None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for texts in pages:
        records = [json.loads(t) for t in texts]
        if columns is None:
            metrics = sorted({k for r in records for k in (r.get("metrics") or {})})
            columns = [*FIRST, *metrics, *LAST]
            writer.writerow(columns)
        for r in records:
            m = r.get("metrics") or {}
            writer.writerow(["" if (v := r.get(c, m.get(c))) is None else v for c in columns])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if columns is None:
        yield ",".join((*FIRST, *LAST)) + "\n"
