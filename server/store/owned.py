"""One repository for the things people own (designs, uploads, sweeps): rows of a table with
an `id` and an `owner` (the SHA-256 of an X-Owner-Token), read, paged, counted and deleted the
same way, and refused the same way.

`find` raises `NotFound` (404 at the API) and `owned` raises `NotOwner` (403); the messages
name the thing and, for 403, what only its owner may do. Calls are blocking (the API runs them
in its thread pool through `Store.read`); a row that does not parse is skipped when listing
and absent by id, and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Column, Engine, Table, delete, func, select

from ..core.tokens import same_token

log = logging.getLogger("layerlab.store")


class OwnedRow(Protocol):
    id: str
    owner: str


T = TypeVar("T", bound=OwnedRow)


class NotFound(LookupError):
    """No such thing (HTTP 404)."""

    def __init__(self, noun: str, item_id: str):
        super().__init__(f"no {noun} with id {item_id!r}")


class NotOwner(PermissionError):
    """It exists, but the request's owner token is not its owner's (HTTP 403)."""

    def __init__(self, noun: str, verb: str):
        super().__init__(f"only the owner of this {noun} may {verb} it (X-Owner-Token)")


class OwnedRepository(Generic[T]):
    """Rows of `table` owned by an owner hash; `parse` turns a row into `T` (None: unreadable).

    `order` sorts a listing (newest first); `hidden` columns (large blobs) are never read here.
    """

    def __init__(
        self,
        table: Table,
        noun: str,
        parse: Callable[[Any], T],
        order: Sequence[Any],
        hidden: Sequence[str] = (),
    ):
        self.table = table
        self.noun = noun
        self._parse = parse
        self.order = order
        self.columns: list[Column] = [c for c in table.c if c.name not in hidden]

    def parse(self, row: Any) -> T | None:
        try:
            return self._parse(row)
        except (ValueError, TypeError, KeyError) as err:  # pydantic's ValidationError too
            log.warning("skipping the unreadable %s %r: %s", self.noun, row._mapping.get("id"), err)
            return None

    def get(self, engine: Engine, item_id: str) -> T | None:
        with engine.connect() as conn:
            row = conn.execute(select(*self.columns).where(self.table.c.id == item_id)).first()
        item = self.parse(row) if row is not None else None
        done = self.complete(engine, [item]) if item is not None else []
        return done[0] if done else None

    def find(self, engine: Engine, item_id: str) -> T:
        """The thing, to anyone with its id (NotFound)."""
        item = self.get(engine, item_id)
        if item is None:
            raise NotFound(self.noun, item_id)
        return item

    def owned(self, engine: Engine, item_id: str, owner: str, verb: str) -> T:
        """The thing, when `owner` (a hash) owns it (NotFound, NotOwner: "may <verb> it")."""
        item = self.find(engine, item_id)
        if not same_token(item.owner, owner):
            raise NotOwner(self.noun, verb)
        return item

    def page(self, engine: Engine, owner: str, limit: int, offset: int) -> tuple[list[T], int]:
        """The owner's things in `order`, one page, and how many there are (readable ones)."""
        t = self.table
        with engine.connect() as conn:
            rows = conn.execute(
                select(*self.columns)
                .where(t.c.owner == owner)
                .order_by(*self.order, t.c.id)
                .limit(limit)
                .offset(offset)
            ).all()
            total = conn.execute(select(func.count()).where(t.c.owner == owner)).scalar_one()
        found = self.complete(engine, [x for x in map(self.parse, rows) if x is not None])
        return found, total - (len(rows) - len(found))  # unreadable ones are not counted

    def complete(self, engine: Engine, items: list[T]) -> list[T]:
        """What a subclass adds to rows read (a sweep's variants); as they are here."""
        return items

    def count(self, engine: Engine, owner: str) -> int:
        with engine.connect() as conn:
            return conn.execute(
                select(func.count()).where(self.table.c.owner == owner)
            ).scalar_one()

    def remove(self, engine: Engine, item_id: str) -> None:
        with engine.begin() as conn:
            conn.execute(delete(self.table).where(self.table.c.id == item_id))
