"""Paging a listing: `limit` and `offset` in the query, the total in `X-Total-Count`."""

# No `from __future__ import annotations` here: FastAPI reads the closure's annotations,
# which name its `default` and `most` and so must be evaluated where it is made.

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Query, Response

# Past any real listing, and far inside the databases' 64-bit integers: an unbounded offset of
# 4.9e21 from the schema fuzz was a 500 (SQLite cannot bind it). GET /api/runs has the same cap.
MAX_OFFSET = 10_000_000


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int
    response: Response

    def total(self, count: int) -> None:
        """Say how many there are in all (`X-Total-Count`)."""
        self.response.headers["X-Total-Count"] = str(count)


def paging(default: int, most: int) -> Callable[..., Page]:
    """A dependency: a page of `default` items unless asked, at most `most`."""
    Limit = Annotated[int, Query(ge=1, le=most)]  # noqa: N806 (a type alias)
    Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]  # noqa: N806

    def page(response: Response, limit: Limit = default, offset: Offset = 0) -> Page:
        return Page(limit, offset, response)

    return page
