"""Integers in a query string far past any real value (2**70, past SQLite's and PostgreSQL's
64-bit integers) are answered, never a 500: a 422 naming the parameter, or a plain answer where
the value only caps a count. Found by the schema fuzz: `GET /api/datasets/uploads?offset=4.9e21`
was a 500 (SQLite: "Python int too large to convert to SQLite INTEGER")."""

from __future__ import annotations

import pytest
from live_server import Live, spiral

HUGE = str(2**70)
OWNER = {"X-Owner-Token": "huge-numbers-owner-token-0001"}


@pytest.fixture(scope="module")
def ended_run(live: Live) -> dict:
    run = live.start(spiral(epochs=3))
    live.stream(run["id"]).read_to_end()
    return run


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/datasets/uploads", "offset"),
        ("/api/datasets/uploads", "limit"),
        ("/api/designs", "offset"),
        ("/api/sweeps", "offset"),
        ("/api/runs", "offset"),
        ("/api/runs", "limit"),
        ("/api/runs/{id}", "history_limit"),
        ("/api/runs/{id}/history", "after"),
        ("/api/runs/{id}/history", "limit"),
    ],
)
def test_a_huge_number_in_a_query_is_answered_not_a_500(live: Live, ended_run, path, param):
    url = path.format(id=ended_run["id"])
    response = live.http.get(url, params={param: HUGE}, headers=OWNER)
    assert response.status_code < 500, (url, param, response.status_code, response.text)
    if response.status_code == 422:
        assert param in response.text, response.text
