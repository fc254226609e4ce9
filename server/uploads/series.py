"""A CSV for forecasting: one series (the target column; the only column, or ordered by a time
column) cut into sliding windows of `window` values followed by `horizon` values."""

from __future__ import annotations

import numpy as np

from .errors import UploadError
from .processed import Processed
from .table import MIN_ROWS, MISSING, PREVIEW_ROWS, Column, CsvOptions, number


def forecasting_windows(
    by_name: dict[str, Column],
    target: str,
    filename: str,
    options: CsvOptions,
    header: list[str],
    rows: list[list[str]],
) -> Processed:
    """One series (the target column, ordered by the time column) -> sliding windows."""
    col = by_name[target]
    if col.numbers is None:
        i, cell = next(
            (i, c)
            for i, c in enumerate(col.cells)
            if number(c) is None and c.lower() not in MISSING
        )
        raise UploadError(
            f"row {i + 1}, column {col.name!r}: {cell[:40]!r} is not a number; a series to "
            "forecast must be numeric",
            kind="non_numeric_target",
            row=i + 1,
            column=col.name,
        )
    values = np.asarray(col.numbers, dtype=np.float64)
    empty = np.flatnonzero(np.isnan(values))
    if len(empty) == len(values):
        raise UploadError(
            f"column {col.name!r} has no value at all: every cell is empty; a series to "
            "forecast needs numbers",
            kind="missing_value",
            column=col.name,
        )
    if len(empty) and options.missing == "refuse":
        raise UploadError(
            f"row {empty[0] + 1}, column {col.name!r}: the cell is empty; fill missing values "
            "(missing=fill: the value before it) or remove those rows",
            kind="missing_value",
            row=int(empty[0]) + 1,
            column=col.name,
        )
    if options.time:
        if options.time not in by_name or options.time == target:
            raise UploadError(
                f"there is no time column {options.time!r} besides the series",
                kind="unknown_column",
                column=options.time,
            )
        t = by_name[options.time]
        order = (
            np.argsort(np.asarray(t.numbers), kind="stable")
            if t.numbers is not None
            else np.asarray(sorted(range(len(t.cells)), key=lambda i: t.cells[i]))
        )
        values = values[order]
    for i in range(len(values)):  # fill: carry the last value forward (the first: the next)
        if np.isnan(values[i]):
            values[i] = values[i - 1] if i else np.nan
    if np.isnan(values).any():
        values[np.isnan(values)] = values[~np.isnan(values)][0]
    w, hz = options.window, options.horizon
    count = len(values) - w - hz + 1
    if w < 1 or hz < 1 or count < MIN_ROWS:
        raise UploadError(
            f"a series of {len(values)} values makes {max(count, 0)} windows of {w} + {hz}; at "
            f"least {MIN_ROWS} are needed (a shorter window or horizon, or more rows)",
            kind="too_few_rows",
        )
    steps = np.lib.stride_tricks.sliding_window_view(values, w + hz)  # (count, w + hz)
    return Processed(
        kind="series",
        family="sequence",
        task="forecasting",
        x=steps[:, :w, None].astype(np.float32),
        y=steps[:, w:].astype(np.float32),
        class_names=None,
        feature_names=[target],
        name=filename,
        extra={
            "window": w,
            "horizon": hz,
            "target": target,
            "time": options.time,
            "columns": [
                {
                    "name": n,
                    "role": "target"
                    if n == target
                    else ("time" if n == options.time else "unused"),
                }
                for n in header
            ],
            "preview": [header, *rows[:PREVIEW_ROWS]],
        },
    )
