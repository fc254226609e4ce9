"""The owner token: one dependency for whoever owns designs, uploads, sweeps and runs.

The page keeps a random token in localStorage and sends it as `X-Owner-Token`; the server
keeps only its SHA-256 (`Owner.hash`). `Owner` requires the header (a 422 naming it when it
is missing or malformed); `MaybeOwner` is None without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header

from ..core.tokens import same_token, token_hash

DESCRIPTION = "your owner token (the page keeps one in localStorage): whose designs and runs"


@dataclass(frozen=True)
class OwnerToken:
    """An owner token as sent, and what the database keeps of it."""

    token: str = field(repr=False)

    @property
    def hash(self) -> str:
        return token_hash(self.token)

    def owns(self, owner_hash: str | None) -> bool:
        """Whether a row stored with `owner_hash` is this owner's."""
        return same_token(owner_hash, self.hash)


def _required(
    token: Annotated[
        str, Header(alias="X-Owner-Token", min_length=16, max_length=200, description=DESCRIPTION)
    ],
) -> OwnerToken:
    return OwnerToken(token)


def _optional(
    token: Annotated[
        str | None,
        Header(alias="X-Owner-Token", min_length=16, max_length=200, description=DESCRIPTION),
    ] = None,
) -> OwnerToken | None:
    return OwnerToken(token) if token else None


Owner = Annotated[OwnerToken, Depends(_required)]
MaybeOwner = Annotated[OwnerToken | None, Depends(_optional)]


def owns(owner: OwnerToken | None, owner_hash: str | None) -> bool:
    """Whether the request's owner (if any) owns a row stored with `owner_hash`."""
    return owner is not None and owner.owns(owner_hash)
