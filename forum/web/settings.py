"""The settings page: profile, language, password, sessions (and later consent, export, erasure)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum.viewer import Viewer
from forum.web.common import render, require_viewer


async def settings_page_context(request: Request, viewer: Viewer) -> dict:
    return {"saved": request.query_params.get("saved"), "password_errors": {}}


async def settings_page(request: Request) -> Response:
    viewer = require_viewer(request)
    return render(request, "settings.html", await settings_page_context(request, viewer))


routes = [Route("/settings", settings_page, methods=["GET"], name="settings")]
