"""What a browser may ask of the server: which Host, from which Origin, with which body; and the
security headers every answer carries.

One pure ASGI middleware, for HTTP and WebSocket alike (Starlette's `TrustedHostMiddleware`
cannot say "any IP address", which is how a classroom reaches a laptop on its LAN and what DNS
rebinding can never produce; CORS middleware answers preflights but does not refuse simple
requests, which is what a cross-site `text/plain` POST is):

- **Host**: `localhost`, loopback and any IP literal, plus `allowed_hosts` (`*`: any). Anything
  else is a DNS-rebinding attempt or a misconfiguration: 400.
- **Origin**: a request that changes state (POST, PUT, PATCH, DELETE) and every WebSocket
  handshake whose `Origin` is neither the server's own (scheme and Host as asked) nor in
  `allowed_origins`: 403. Clients without an Origin (curl, the CLI, scripts) are not browsers
  on someone else's page, and pass.
- **Body**: a POST/PUT/PATCH to `/api/` with a body must say `application/json`: 415 otherwise
  (a cross-site form or `text/plain` fetch cannot set it without a CORS preflight); uploads
  (`MULTIPART_PATHS`) take `multipart/form-data` with an `X-Owner-Token` header, which a
  cross-site form cannot send either.
- **Logs**: uvicorn's access and handshake lines never print a token (`log_redact.py`, installed
  when the middleware is built, after uvicorn has configured its logging).
- **Headers**: `Content-Security-Policy` (scripts and styles from this server only; no inline
  script; no framing), `X-Content-Type-Options`, `Referrer-Policy`, `X-Frame-Options`,
  `Cross-Origin-Opener-Policy`, on every HTTP answer that has not set its own CSP.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings
from . import log_redact

# The page's inline `style="--swatch: ..."` attributes (legend swatches, set through innerHTML)
# need `style-src-attr 'unsafe-inline'`; style elements and sheets stay 'self' only.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "style-src-attr 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})


class RequestGuardMiddleware:
    """Refuse unknown Hosts (400), foreign Origins (403) and non-JSON API bodies (415); add the
    security headers to every HTTP response."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.hosts = {h.lower() for h in settings.allowed_hosts}
        self.origins = {o.rstrip("/").lower() for o in settings.allowed_origins}
        log_redact.install()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope["headers"])
        host = headers.get("host", "")
        refusal = self.refusal(scope, headers, host)
        if refusal is not None:
            status, detail = refusal
            await _refuse(scope, receive, send, status, detail)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = {name.lower() for name, _ in message.get("headers", [])}
                extra = [h for h in SECURITY_HEADERS if h[0] not in existing]
                if b"content-security-policy" not in existing:
                    extra.append((b"content-security-policy", PAGE_CSP.encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def refusal(self, scope: Scope, headers: dict[str, str], host: str) -> tuple[int, str] | None:
        """(status, detail) when the request is refused, else None."""
        if not self.host_allowed(host):
            return 400, (
                f"this server does not answer to the host {host!r}; add it to "
                "LAYERLAB_ALLOWED_HOSTS if that is its name"
            )
        method = scope.get("method", "GET")
        is_ws = scope["type"] == "websocket"
        origin = headers.get("origin")
        guarded = is_ws or method in STATE_CHANGING
        if guarded and origin is not None and not self.origin_allowed(origin, scope, host):
            what = "open a stream" if is_ws else f"send {method} requests"
            return 403, (
                f"pages from {origin!r} may not {what} here: only this server's own page "
                "(or an origin in LAYERLAB_ALLOWED_ORIGINS)"
            )
        if (
            not is_ws
            and method in JSON_BODY_METHODS
            and scope.get("path", "").startswith("/api/")
            and _has_body(headers)
        ):
            media = headers.get("content-type", "").split(";")[0].strip().lower()
            if media == "multipart/form-data" and scope.get("path", "") in MULTIPART_PATHS:
                if headers.get("x-owner-token"):
                    return None
                return 415, (
                    "an upload is sent as multipart/form-data with an X-Owner-Token header "
                    "(the owner token the page keeps): the header is missing"
                )
            if media != "application/json":
                got = f"{media!r}" if media else "no content type"
                return 415, (
                    f"the request body must be JSON, sent as content-type application/json "
                    f"(got {got})"
                )
        return None

    def host_allowed(self, host: str) -> bool:
        if "*" in self.hosts:
            return True
        name = _hostname(host)
        if not name:
            return False
        if name in LOCAL_NAMES or name in self.hosts:
            return True
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True

    def origin_allowed(self, origin: str, scope: Scope, host: str) -> bool:
        origin = origin.rstrip("/").lower()
        if "*" in self.origins or origin in self.origins:
            return True
        scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope["scheme"])
        return origin == f"{scheme}://{host.lower()}" or _same_default_port(origin, scheme, host)


def _same_default_port(origin: str, scheme: str, host: str) -> bool:
    """http://x and http://x:80 are one origin (browsers drop the default port)."""
    default = {"http": ":80", "https": ":443"}.get(scheme)
    return (
        default is not None
        and host.lower().endswith(default)
        and (origin == f"{scheme}://{host.lower()[: -len(default)]}")
    )


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}


def _hostname(host: str) -> str:
    """The name part of a Host header: `[::1]:8000` -> `::1`, `Example.org:80` -> `example.org`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


# Paths that take a file as multipart/form-data. A cross-site form can send multipart too,
# but not with a custom header: these need X-Owner-Token, which forces a CORS preflight.
MULTIPART_PATHS = frozenset({"/api/datasets/uploads"})


def _has_body(headers: dict[str, str]) -> bool:
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in headers or "content-type" in headers


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *SECURITY_HEADERS,
        (b"content-security-policy", PAGE_CSP.encode()),
    ]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    # A WebSocket handshake: an HTTP answer where the server supports it, else a bare 403.
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
