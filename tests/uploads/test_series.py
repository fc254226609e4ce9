"""A forecasting CSV: one series cut into windows; its gaps filled or refused, in words."""

from __future__ import annotations

import io

import numpy as np
import pytest

from server.config import Settings
from server.uploads.csv_table import CsvOptions, parse_csv
from server.uploads.errors import UploadError

SETTINGS = Settings()
FILL = CsvOptions(task="forecasting", missing="fill", window=3, horizon=1)


def parse(text: str, options: CsvOptions = FILL):
    return parse_csv(io.BytesIO(text.encode()), "series.csv", options, SETTINGS)


@pytest.mark.parametrize(
    "text",
    [
        "value\n" + "\n".join(["NA"] * 12) + "\n",  # one column, every cell missing
        "t,value\n" + "\n".join(f"{i}," for i in range(12)) + "\n",
        "t,value\n" + "\n".join(f"{i},NA" for i in range(12)) + "\n",
    ],
)
def test_a_series_with_no_value_at_all_is_refused_by_name_not_an_index_error(text):
    with pytest.raises(UploadError) as caught:
        parse(text)
    err = caught.value
    assert err.status == 422 and err.where.get("column") == "value"
    assert "no value" in err.msg


def test_gaps_are_filled_with_the_value_before_them_and_the_first_with_the_next():
    text = "t,value\n" + "\n".join(f"{i},{'' if i in (0, 4) else i}" for i in range(10)) + "\n"
    processed = parse(text)
    series = np.concatenate([processed.x[0, :, 0], processed.x[1:, -1, 0]])
    assert series[:6].tolist() == [1, 1, 2, 3, 3, 5]


def test_gaps_are_refused_unless_filled():
    text = "value\n" + "\n".join(["1", "NA", *map(str, range(10))]) + "\n"
    with pytest.raises(UploadError, match="row 2, column 'value': the cell is empty"):
        parse(text, CsvOptions(task="forecasting", window=3))
