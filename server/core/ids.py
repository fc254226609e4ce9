"""Ids of the things people own (designs, uploads, sweeps): one length, one alphabet.

An upload's id is part of the experiment document (`{"name": "upload", "id": ...}`, checked
against `ID_PATTERN`), so the length is a public contract: 12 hex digits.
"""

from __future__ import annotations

import secrets

ID_BYTES = 6
ID_PATTERN = r"^[0-9a-f]{12}$"


def new_id() -> str:
    """A fresh random id: 12 hex digits."""
    return secrets.token_hex(ID_BYTES)
