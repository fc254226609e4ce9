"""Owner and run tokens: only their hashes are stored, compared in constant time."""

from __future__ import annotations

import hashlib
import secrets


def token_hash(token: str) -> str:
    """What the database keeps of an owner or run token: its SHA-256, never the token.
    Any text hashes (a lone surrogate in a header is kept as it came)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_hash(stored: str | None, token: str | None) -> bool:
    """Whether `token` hashes to `stored` (False when either is missing; never raises)."""
    if stored is None or token is None:
        return False
    return secrets.compare_digest(stored.encode("ascii", "replace"), token_hash(token).encode())
