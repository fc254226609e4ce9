"""What a browser may ask of the server (issue 7, items 5, 6, 7, 9): Host, Origin and content
type refused with a 4xx that says why; security headers on every answer; 405s that name the
allowed methods; proxy headers believed only from configured proxies; /docs without a CDN."""

from __future__ import annotations

import json
import re

import pytest
from live_server import Live, spiral
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from server.api.server import uvicorn_config
from server.config import Settings

FOREIGN = "http://evil.example"


def _runs(live: Live) -> int:
    return len(live.http.get("/api/runs").json())


def _paused_run(live: Live, **headers) -> dict:
    response = live.http.post("/api/runs?paused=true", json=spiral(epochs=5), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_text_plain_post_cannot_start_a_run(live: Live):
    """A page on any site can send this without a preflight: it started runs (201)."""
    before = _runs(live)
    response = live.http.post(
        "/api/runs", content=json.dumps(spiral()), headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]
    form = live.http.post("/api/check", data={"dataset": "spiral"})  # a cross-site form
    assert form.status_code == 415
    assert _runs(live) == before


def test_a_foreign_origin_cannot_post_but_the_page_and_scripts_can(live: Live):
    before = _runs(live)
    refused = live.http.post("/api/runs", json=spiral(), headers={"origin": FOREIGN})
    assert refused.status_code == 403
    assert "evil.example" in refused.json()["detail"]
    assert "LAYERLAB_ALLOWED_ORIGINS" in refused.json()["detail"]
    assert _runs(live) == before
    own = live.http.post("/api/check", json=spiral(), headers={"origin": live.base})
    assert own.status_code == 200
    scripted = live.http.post("/api/check", json=spiral())  # no Origin: curl, the CLI
    assert scripted.status_code == 200
    # Reading is not guarded: a GET from anywhere changes nothing.
    assert live.http.get("/api/layers", headers={"origin": FOREIGN}).status_code == 200


def test_allowed_origins_may_post(live: Live, monkeypatch):
    guard = _guard(live)
    monkeypatch.setattr(guard, "origins", {"http://lab.example"})
    ok = live.http.post("/api/check", json=spiral(), headers={"origin": "http://lab.example"})
    assert ok.status_code == 200


def test_a_foreign_origin_cannot_open_a_stream(live: Live):
    run = _paused_run(live)
    try:
        url = f"{live.ws_base}/ws/runs/{run['id']}"
        with pytest.raises(InvalidStatus) as err:
            connect(url, origin=FOREIGN, proxy=None, open_timeout=10)
        assert err.value.response.status_code == 403
        with connect(url, origin=live.base, proxy=None, open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
    finally:
        live.control(run, "stop")


def test_unknown_host_names_are_refused_ip_addresses_and_localhost_served(live: Live):
    """DNS rebinding: evil.example resolving to 127.0.0.1 was served."""
    refused = live.http.get("/api/health", headers={"host": "evil.example"})
    assert refused.status_code == 400
    assert "LAYERLAB_ALLOWED_HOSTS" in refused.json()["detail"]
    for host in ("localhost:8000", "10.1.2.3:8000", "[::1]:8000", "192.168.0.7"):
        assert live.http.get("/api/health", headers={"host": host}).status_code == 200, host
    url = f"{live.ws_base}/ws/runs/nope"
    with pytest.raises(InvalidStatus) as err:
        connect(url, proxy=None, open_timeout=10, additional_headers={"Host": "evil.example"})
    assert err.value.response.status_code == 400


@pytest.mark.parametrize(
    "path", ["/", "/api/health", "/static/js/main.js", "/api/runs/nope", "/openapi.json"]
)
def test_every_answer_carries_the_security_headers(live: Live, path: str):
    response = live.http.get(path)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"


def test_the_page_has_no_inline_script(live: Live):
    """The CSP allows scripts from this server only: the page must need nothing else."""
    page = live.http.get("/").text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, flags=re.S)
    assert scripts
    for attributes, body in scripts:
        assert "src=" in attributes and not body.strip(), attributes
    assert not re.search(r"\son[a-z]+\s*=", page), "inline event handler"


@pytest.mark.parametrize(
    "method,path,allow",
    [
        ("PUT", "/api/runs", "GET, POST"),
        ("DELETE", "/api/layers", "GET"),
        ("GET", "/api/check", "POST"),
        ("POST", "/static/js/main.js", "GET, HEAD"),
        ("DELETE", "/api/runs/abc/control", "POST"),
    ],
)
def test_a_405_names_every_allowed_method(live: Live, method, path, allow):
    response = live.http.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert allow in response.json()["detail"]


def test_a_non_json_control_body_is_a_documented_4xx(live: Live):
    run = _paused_run(live)
    try:
        url = f"/api/runs/{run['id']}/control"
        token = {"X-Run-Token": run["token"]}
        plain = live.http.post(url, content="stop", headers={**token, "content-type": "text/plain"})
        assert plain.status_code == 415
        broken = live.http.post(
            url, content="{stop", headers={**token, "content-type": "application/json"}
        )
        assert broken.status_code == 422
        assert broken.json()["detail"][0]["loc"][0] == "body"
        responses = live.http.get("/openapi.json").json()["paths"]["/api/runs/{run_id}/control"]
        assert {"403", "404", "409", "415", "422"} <= set(responses["post"]["responses"])
    finally:
        live.control(run, "stop")


@pytest.mark.parametrize(
    "section,field,value",
    [
        ("training", "seed", False),
        ("training", "epochs", True),
        ("training", "batch_size", True),
        ("dataset", "seed", False),
        ("dataset", "name", ""),
    ],
)
def test_schema_nits_are_refused_at_their_field(live: Live, section, field, value):
    doc = spiral()
    doc[section][field] = value
    response = live.http.post("/api/check", json=doc)
    assert response.status_code == 422, response.text
    assert [section, field] in [e["loc"][:2] for e in response.json()["detail"]]


def test_x_forwarded_for_does_not_pick_a_clients_address(live: Live, limits):
    """From 127.0.0.1 each forged X-Forwarded-For was a new client with its own run limit."""
    limits(max_runs_per_client=1)
    live.wait_idle()
    first = _paused_run(live, **{"X-Forwarded-For": "10.0.0.1"})
    try:
        forged = live.http.post(
            "/api/runs?paused=true", json=spiral(), headers={"X-Forwarded-For": "10.0.0.2"}
        )
        assert forged.status_code == 429, forged.text
    finally:
        live.control(first, "stop")


def test_proxy_headers_are_believed_only_from_the_configured_proxies():
    app = object()
    plain = uvicorn_config(app, Settings())  # type: ignore[arg-type]
    assert plain.proxy_headers is False
    proxied = uvicorn_config(app, Settings(trusted_proxies="10.0.0.1, 10.0.0.2"))  # type: ignore[arg-type]
    assert proxied.proxy_headers is True
    assert proxied.forwarded_allow_ips == "10.0.0.1,10.0.0.2"


def test_docs_are_served_without_a_cdn(live: Live):
    page = live.http.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "cdn" not in page.text.lower()
    for source in sources:
        asset = live.http.get(source)
        assert asset.status_code == 200, source
    assert "SwaggerUIBundle" in live.http.get("/docs/assets/swagger-ui-bundle.js").text[:200_000]
    assert live.http.get("/redoc").status_code == 404


def test_streams_per_client_address_are_bounded(live: Live, limits):
    limits(max_ws_per_client=2)
    run = _paused_run(live)
    url = f"{live.ws_base}/ws/runs/{run['id']}"
    try:
        with connect(url, proxy=None) as a, connect(url, proxy=None) as b:
            assert json.loads(a.recv(timeout=10))["type"] == "hello"
            assert json.loads(b.recv(timeout=10))["type"] == "hello"
            with pytest.raises(InvalidStatus) as err:
                connect(url, proxy=None, open_timeout=10)
            assert err.value.response.status_code == 429
            assert b"LAYERLAB_MAX_WS_PER_CLIENT" in err.value.response.body
        _wait_streams_closed(live)
        with connect(url, proxy=None) as c:
            assert json.loads(c.recv(timeout=10))["type"] == "hello"
    finally:
        live.control(run, "stop")


def _wait_streams_closed(live: Live, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app = live.server.config.loaded_app
        counts = _find_state(app).open_streams
        if not counts:
            return
        time.sleep(0.05)
    raise AssertionError(f"streams still counted: {counts}")


def _find_state(app):
    """The FastAPI app inside uvicorn's loaded app (which may be wrapped in middleware)."""
    while not hasattr(app, "state"):
        app = app.app
    return app.state


def _guard(live: Live):
    from server.api.security import RequestGuardMiddleware

    app = live.server.config.loaded_app
    while not hasattr(app, "middleware_stack"):
        app = app.app
    layer = app.middleware_stack
    while not isinstance(layer, RequestGuardMiddleware):
        layer = layer.app
    return layer
