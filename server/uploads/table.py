"""An uploaded CSV read as a table: the header and rows of stripped cells, under the limits
(rows, columns, cells), each column as text or numbers. `csv_table` makes a table dataset of
it, `series` a forecasting one.

Read with the standard library's `csv` row by row, so the limits stop a file as soon as it
crosses them. Nothing in a cell is ever evaluated.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Literal

from server.config import Settings

from .errors import UploadError, too_large

MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}
MIN_ROWS = 4
PREVIEW_ROWS = 5


@dataclass(frozen=True)
class CsvOptions:
    target: str | None = None  # None: the last column (forecasting: the series)
    task: Literal["classification", "regression", "forecasting"] | None = None  # None: guessed
    missing: Literal["refuse", "fill"] = "refuse"
    # Forecasting: windows of `window` values predict the next `horizon`; rows are ordered by
    # the `time` column when one is named (numbers by value, text such as ISO dates as text).
    window: int = 16
    horizon: int = 1
    time: str | None = None


@dataclass
class Column:
    name: str
    cells: list[str]
    numbers: list[float] | None  # every present cell as a finite number, or None (text)


def read_table(
    file: BinaryIO, settings: Settings, min_columns: int = 2
) -> tuple[list[str], list[list[str]]]:
    """(header, rows of stripped cells); refuses what is not a rectangular UTF-8 CSV."""
    text = io.TextIOWrapper(file, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text)
    header: list[str] | None = None
    rows: list[list[str]] = []
    try:
        for raw in _rows(reader):
            cells = [c.strip() for c in raw]
            if header is None:
                header = _check_header(cells, settings, min_columns)
                continue
            if len(cells) != len(header):
                raise UploadError(
                    f"row {len(rows) + 1} (line {reader.line_num}) has {len(cells)} cells but "
                    f"the header has {len(header)} columns",
                    kind="ragged_row",
                    row=len(rows) + 1,
                    line=reader.line_num,
                )
            if len(rows) >= settings.upload_max_rows:
                raise too_large(
                    f"the CSV has more than {settings.upload_max_rows:,} rows "
                    f"(LAYERLAB_UPLOAD_MAX_ROWS); stopped at line {reader.line_num}",
                    row=len(rows) + 1,
                )
            if (len(rows) + 1) * len(header) > settings.upload_max_cells:
                raise too_large(
                    f"the CSV has more than {settings.upload_max_cells:,} cells "
                    f"(LAYERLAB_UPLOAD_MAX_CELLS); stopped at line {reader.line_num}",
                    row=len(rows) + 1,
                )
            rows.append(cells)
    except UnicodeDecodeError as err:
        raise UploadError(
            f"this is not a text CSV (UTF-8): undecodable bytes after line {reader.line_num} "
            f"(byte {err.start} of that read); binary files cannot be tables",
            kind="not_text",
            line=reader.line_num + 1,
        ) from None
    except csv.Error as err:
        what = "binary data (NUL bytes)" if "NUL" in str(err) else str(err)
        raise UploadError(
            f"line {reader.line_num + 1} is not CSV: {what}",
            kind="not_csv",
            line=reader.line_num + 1,
        ) from None
    finally:
        text.detach()  # the upload's own file stays open for its owner to close
    if header is None:
        raise UploadError(
            "the file is empty: a CSV needs a header row and rows of data", kind="empty"
        )
    if len(rows) < MIN_ROWS:
        raise UploadError(
            f"the CSV has {len(rows)} data row(s); at least {MIN_ROWS} are needed",
            kind="too_few_rows",
        )
    return header, rows


def _rows(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    for raw in reader:
        if raw and any(c.strip() for c in raw):  # blank lines are skipped
            yield raw


def _check_header(cells: list[str], settings: Settings, min_columns: int) -> list[str]:
    if len(cells) > settings.upload_max_columns:
        raise too_large(
            f"the header has {len(cells)} columns; at most {settings.upload_max_columns} "
            "(LAYERLAB_UPLOAD_MAX_COLUMNS)"
        )
    if len(cells) < min_columns:
        raise UploadError(
            "the header has one column: a table needs a target column and at least one feature",
            kind="too_few_columns",
        )
    for i, name in enumerate(cells, start=1):
        if not name:
            raise UploadError(f"column {i} of the header has no name", kind="bad_header", column=i)
    seen: set[str] = set()
    for name in cells:
        if name in seen:
            raise UploadError(
                f"the header names column {name!r} twice", kind="bad_header", column=name
            )
        seen.add(name)
    return cells


def number(cell: str) -> float | None:
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def columns_of(header: list[str], rows: list[list[str]]) -> list[Column]:
    columns = []
    for j, name in enumerate(header):
        cells = [r[j] for r in rows]
        numbers: list[float] | None = []
        for c in cells:
            if c.lower() in MISSING:
                numbers.append(math.nan)
                continue
            value = number(c)
            if value is None:  # text (a formula-like "=..." included): never evaluated
                numbers = None
                break
            numbers.append(value)
        columns.append(Column(name, cells, numbers))
    return columns


def missing_rows(col: Column) -> list[int]:
    return [i for i, c in enumerate(col.cells) if c.lower() in MISSING]
