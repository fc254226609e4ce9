"""Clients of the live server from other loopback addresses (127.0.0.0/8 is all this host's):
each test of a per-address limit gets addresses of its own, so it neither spends nor depends on
the budgets of the address every other test uses (127.0.0.1)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
from live_server import Live, Stream
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect


@contextlib.contextmanager
def http_from(live: Live, address: str) -> Iterator[httpx.Client]:
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(
        base_url=live.base, timeout=30, trust_env=False, transport=transport
    ) as client:
        yield client


class StreamFrom(Stream):
    """A WebSocket viewer connected from `address`, with optional handshake headers and
    subprotocols."""

    def __init__(self, url: str, address: str, headers=None, subprotocols=None):
        self._stack = contextlib.ExitStack()
        self.conn = self._stack.enter_context(
            connect(
                url,
                proxy=None,
                open_timeout=10,
                source_address=(address, 0),
                additional_headers=headers,
                subprotocols=subprotocols,
            )
        )
        self.messages = []


def refused_status(url: str, address: str, **kwargs) -> tuple[int, str]:
    """The HTTP status and body a refused WebSocket handshake got."""
    try:
        StreamFrom(url, address, **kwargs).close()
    except InvalidStatus as err:
        return err.response.status_code, err.response.body.decode()
    raise AssertionError(f"{url} was accepted")
