"""The interactive API reference at `/docs`, served entirely by this server.

FastAPI's own `/docs` page loads Swagger UI from a CDN and starts it with an inline script: it
breaks offline, and under the page's Content-Security-Policy. Here the assets come from the
`fastapi-offline` package (Swagger UI 5, which reads OpenAPI 3.1; `swagger-ui-bundle` ships
4.x, which cannot), mounted at `/docs/assets`; only its files are used, not its app factory,
whose page starts Swagger UI inline. Here `/docs/init.js` does. Swagger UI sets inline styles,
so this page alone allows them.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

router = APIRouter(include_in_schema=False)

ASSETS = "/docs/assets"
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>LayerLab API</title>
  <link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
  <link rel="icon" type="image/png" href="{ASSETS}/favicon.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{ASSETS}/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"""
INIT = """window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
"""


@router.get("/docs", response_class=HTMLResponse)
def get_docs() -> HTMLResponse:
    """The Swagger UI page."""
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": DOCS_CSP})


@router.get("/docs/init.js")
def get_docs_init() -> Response:
    """What starts Swagger UI on the page (a file, not an inline script)."""
    return Response(INIT, media_type="text/javascript")


def install_docs(app: FastAPI) -> None:
    """The page, its starter script, and the packaged Swagger UI assets."""
    app.include_router(router)
    assets = files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")
