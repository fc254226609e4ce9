"""A class refusal: the HTTP status, a message naming the rule, and when to try again."""

from __future__ import annotations


class ClassRefused(Exception):
    """Raised by server/classes; the routes turn it into HTTP (or a WebSocket refusal)."""

    def __init__(self, status: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str] | None:
        return None if self.retry_after is None else {"Retry-After": str(self.retry_after)}
