"""The page: templates/index.html, rendered with Jinja2."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from jinja2 import TemplateNotFound

from .. import __version__

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def get_index(request: Request) -> Response:
    """The playground page."""
    templates = request.app.state.templates
    try:
        return templates.TemplateResponse(request, "index.html", {"version": __version__})
    except TemplateNotFound:
        return PlainTextResponse("the front end is not installed (templates/index.html)", 503)
