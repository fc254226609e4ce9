"""Access logs never print a token: a logging filter on uvicorn's loggers.

Tokens still travel in query strings where a client puts them there (`?teacher=`, `?student=`,
`?token=`: an old page, a link someone shares), and uvicorn logs every request line and every
WebSocket handshake with its query string, often on a terminal a class sees on the projector.
`RedactTokens` rewrites each record's arguments before it is formatted: the value of every
query parameter whose (decoded) name is a credential becomes `***`.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

LOGGERS = ("uvicorn.access", "uvicorn.error")
MASK = "***"
SECRET_NAMES = re.compile(r"token|teacher|student|owner|secret|password|passwd|key|auth", re.I)
_PAIR = re.compile(r"([?&;])([^=&;#\s\"]*)=([^&;#\s\"]*)")


def redact(text: str) -> str:
    """`/ws/classes/K7Q?teacher=abc&x=1` -> `/ws/classes/K7Q?teacher=***&x=1`."""
    if "?" not in text:
        return text
    head, _, query = text.partition("?")

    def mask(match: re.Match[str]) -> str:
        sep, name, value = match.groups()
        if value and SECRET_NAMES.search(unquote_plus(name)):
            return f"{sep}{name}={MASK}"
        return match.group(0)

    return head + _PAIR.sub(mask, "?" + query)


class RedactTokens(logging.Filter):
    """Mask credential query parameters in a record's message and string arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


def install() -> None:
    """Put the filter on uvicorn's loggers, once (later logging configuration keeps it)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
