"""A CSV upload -> a table dataset: the target column chosen, the task given or guessed,
numeric columns kept (the engine standardises them), text columns one-hot, missing cells
filled or refused.

The table is read by `table.py` (limits checked row by row); nothing in a cell is ever
evaluated: a cell such as `=HYPERLINK(...)` is text like any other (its column becomes
categorical). A forecasting CSV is cut into windows by `series.py`.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np

from server.config import Settings

from .errors import UploadError, too_large
from .processed import Processed
from .series import forecasting_windows
from .table import (
    MISSING,
    PREVIEW_ROWS,
    Column,
    CsvOptions,
    columns_of,
    missing_rows,
    number,
    read_table,
)

__all__ = ["CsvOptions", "parse_csv", "parse_points"]

GUESS_CLASSES = 20  # a numeric target of at most this many whole values is guessed as classes
FILLED = "(missing)"  # the category a missing text cell becomes with missing=fill


def _target(
    col: Column, task: str | None, settings: Settings
) -> tuple[str, np.ndarray, list | None]:
    """(task, y, class names) from the target column."""
    empty = missing_rows(col)
    if empty:
        raise UploadError(
            f"row {empty[0] + 1}: the target {col.name!r} is empty; every row needs a target",
            kind="missing_target",
            row=empty[0] + 1,
            column=col.name,
        )
    if task is None:
        whole = col.numbers is not None and all(v.is_integer() for v in col.numbers)
        few = col.numbers is not None and len(set(col.numbers)) <= GUESS_CLASSES
        task = "classification" if col.numbers is None or (whole and few) else "regression"
    if task == "regression":
        if col.numbers is None:
            i, cell = next((i, c) for i, c in enumerate(col.cells) if number(c) is None)
            raise UploadError(
                f"row {i + 1}, column {col.name!r}: {cell[:40]!r} is not a number, and a "
                "regression target must be numeric (choose classification, or another target)",
                kind="non_numeric_target",
                row=i + 1,
                column=col.name,
            )
        return task, np.asarray(col.numbers, dtype=np.float32), None
    # Classes: numeric ones in numeric order (written as in the data), text ones sorted.
    if col.numbers is not None:
        values = sorted(set(col.numbers))
        names = [str(int(v)) if v.is_integer() else repr(v) for v in values]
        index = {v: i for i, v in enumerate(values)}
        y = np.asarray([index[v] for v in col.numbers], dtype=np.int64)
    else:
        names = sorted(set(col.cells))
        index = {v: i for i, v in enumerate(names)}
        y = np.asarray([index[c] for c in col.cells], dtype=np.int64)
    if len(names) < 2:
        raise UploadError(
            f"the target {col.name!r} has one class only ({names[0]!r}): a classifier needs "
            "at least two",
            kind="one_class",
            column=col.name,
        )
    if len(names) > settings.upload_max_classes:
        raise UploadError(
            f"the target {col.name!r} has {len(names)} classes; at most "
            f"{settings.upload_max_classes} (LAYERLAB_UPLOAD_MAX_CLASSES). A numeric target "
            "with many values is a regression: choose task regression",
            kind="too_many_classes",
            column=col.name,
        )
    return task, y, names


def _feature(col: Column, missing: str, settings: Settings) -> tuple[np.ndarray, list[str], dict]:
    """(values (N, k), names, description) of one feature column."""
    empty = missing_rows(col)
    if empty and missing == "refuse":
        raise UploadError(
            f"row {empty[0] + 1}, column {col.name!r}: the cell is empty ({len(empty)} empty "
            "in this column); fill missing values (missing=fill) or remove those rows",
            kind="missing_value",
            row=empty[0] + 1,
            column=col.name,
        )
    if col.numbers is not None:
        values = np.asarray(col.numbers, dtype=np.float64)
        if empty:
            present = values[~np.isnan(values)]
            if not len(present):
                raise UploadError(
                    f"column {col.name!r} has no values at all",
                    kind="empty_column",
                    column=col.name,
                )
            values[np.isnan(values)] = present.mean()  # the column's mean
        return (
            values[:, None],
            [col.name],
            {"name": col.name, "type": "number", "filled": len(empty)},
        )
    cells = [FILLED if c.lower() in MISSING else c for c in col.cells]
    categories = sorted(set(cells))
    if len(categories) > settings.upload_max_classes:
        raise UploadError(
            f"column {col.name!r} has {len(categories)} different text values: too many to "
            f"one-hot encode (at most {settings.upload_max_classes}); remove it, or make it "
            "numeric",
            kind="too_many_categories",
            column=col.name,
        )
    index = {c: i for i, c in enumerate(categories)}
    onehot = np.zeros((len(cells), len(categories)), dtype=np.float64)
    onehot[np.arange(len(cells)), [index[c] for c in cells]] = 1.0
    names = [f"{col.name}={c}" for c in categories]
    return (
        onehot,
        names,
        {"name": col.name, "type": "text", "categories": categories, "filled": len(empty)},
    )


def parse_csv(file: BinaryIO, filename: str, options: CsvOptions, settings: Settings) -> Processed:
    """A CSV upload -> `Processed` (a tabular dataset), or UploadError naming row/column."""
    # A single series (one column) is a table enough for forecasting.
    header, rows = read_table(file, settings, 1 if options.task == "forecasting" else 2)
    target = options.target or header[-1]
    if target not in header:
        raise UploadError(
            f"there is no column {target!r}; the columns are {', '.join(header)}",
            kind="unknown_target",
            column=target,
        )
    columns = columns_of(header, rows)
    by_name = {c.name: c for c in columns}
    if options.task == "forecasting":
        return forecasting_windows(by_name, target, filename, options, header, rows)
    task, y, class_names = _target(by_name[target], options.task, settings)
    parts, names, described = [], [], []
    for col in columns:
        if col.name == target:
            described.append(
                {
                    "name": col.name,
                    "type": "number" if col.numbers is not None else "text",
                    "role": "target",
                }
            )
            continue
        values, col_names, info = _feature(col, options.missing, settings)
        parts.append(values)
        names.extend(col_names)
        described.append({**info, "role": "feature"})
        if len(names) > settings.upload_max_features:
            raise too_large(
                f"the table has more than {settings.upload_max_features} inputs once its text "
                f"columns are one-hot encoded (LAYERLAB_UPLOAD_MAX_FEATURES); column {col.name!r} "
                "crossed it",
                column=col.name,
            )
    x = np.concatenate(parts, axis=1).astype(np.float32)
    return Processed(
        kind="csv",
        family="tabular",
        task=task,
        x=x,
        y=y,
        class_names=class_names,
        feature_names=names,
        name=filename,
        extra={"columns": described, "target": target, "preview": [header, *rows[:PREVIEW_ROWS]]},
    )


def parse_points(
    file: BinaryIO, filename: str, options: CsvOptions, settings: Settings
) -> Processed:
    """Drawn 2D points: a CSV `x1,x2,<target>` -> a 2D dataset (the decision surface)."""
    header, rows = read_table(file, settings)
    target = options.target or header[-1]
    if len(header) != 3 or target not in header:
        raise UploadError(
            "drawn points need exactly three columns: x1, x2 and the target", kind="bad_header"
        )
    columns = {c.name: c for c in columns_of(header, rows)}
    features = [columns[n] for n in header if n != target]
    for col in features:
        bad = next((i for i, c in enumerate(col.cells) if number(c) is None), None)
        if bad is not None:
            raise UploadError(
                f"row {bad + 1}, column {col.name!r}: a point's coordinate must be a number",
                kind="not_a_number",
                row=bad + 1,
                column=col.name,
            )
    task, y, class_names = _target(columns[target], options.task, settings)
    x = np.stack([np.asarray(c.numbers, dtype=np.float32) for c in features], axis=1)
    side = float(max(6.0, np.abs(x).max() * 1.05))
    return Processed(
        kind="points",
        family="2d",
        task=task,
        x=x,
        y=y,
        class_names=class_names,
        feature_names=["x1", "x2"],
        name=filename,
        extra={"extent": [-side, side, -side, side], "target": target},
    )
