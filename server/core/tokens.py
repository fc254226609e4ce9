"""Secret tokens (run, owner, class): what is stored of them, and one safe comparison.

A token arrives in a header or a query string and may hold any character (Starlette decodes
headers as Latin-1); `secrets.compare_digest` refuses non-ASCII `str` with a TypeError, so
every comparison goes through `same_token`, which compares UTF-8 bytes in constant time.
"""

from __future__ import annotations

import hashlib
import secrets


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def token_hash(token: str) -> str:
    """What the database keeps of an owner or run token: its SHA-256, never the token."""
    return hashlib.sha256(_bytes(token)).hexdigest()


def same_token(expected: str | None, given: str | None) -> bool:
    """Whether `given` is `expected`, in constant time; False when either is missing."""
    if not expected or not given:
        return False
    return secrets.compare_digest(_bytes(expected), _bytes(given))
