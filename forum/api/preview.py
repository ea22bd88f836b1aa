"""Markdown preview for the composer: the same cooking, sanitiser and gate as a saved post, nothing stored."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.api.endpoint import Doc, api_route, json_response, read_json, require_viewer
from forum.api.schema import Obj, Str
from forum.services.preview import preview_source

PREVIEW = Obj({"source": Str(max_length=60_000)}, required=("source",))


async def preview(request: Request) -> Response:
    viewer = require_viewer(request)
    data = await read_json(request, PREVIEW)
    return json_response({"html": await preview_source(viewer, data["source"])})


routes = [
    api_route("/api/v1/preview", preview, methods=["POST"], name="api_preview",
              doc=Doc("Render Markdown as a post would be shown (sanitised HTML); nothing is saved",
                      body=PREVIEW, response=Obj({"html": Str()}), auth=True, errors=(400, 401, 403, 429))),
]
