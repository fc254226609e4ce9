"""Join codes a teacher reads aloud, and the tokens teachers and students keep."""

from __future__ import annotations

import re
import secrets

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: nothing a class mishears or mistypes.
ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
CODE_RE = re.compile(rf"^[{ALPHABET}]{{3}}-[{ALPHABET}]{{3}}$")


def new_code() -> str:
    """`K7Q-4MX`: two groups of three, 25**6 (~244 million) codes."""
    pick = [secrets.choice(ALPHABET) for _ in range(6)]
    return "".join(pick[:3]) + "-" + "".join(pick[3:])


def normalize(code: str) -> str:
    """What a student typed, as the code is stored: upper case, the dash where it belongs."""
    plain = re.sub(r"[^0-9A-Za-z]", "", code).upper()
    return f"{plain[:3]}-{plain[3:]}" if len(plain) == 6 else plain


def is_code(code: str) -> bool:
    return bool(CODE_RE.match(code))


def new_token() -> str:
    """A teacher or student token (the database keeps only its SHA-256)."""
    return secrets.token_urlsafe(24)
