"""Markdown preview for the composer: the same cooking and sanitiser as a saved post, nothing stored; with it, the
warnings of `services.drafts` (personal data or secrets the author should take out before saving)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.api.endpoint import Doc, api_route, json_response, read_json, require_viewer
from forum.api.schema import Arr, Int, Obj, Str
from forum.i18n import gettext
from forum.services.cooking import cook_source
from forum.services.drafts import check_draft

PREVIEW = Obj({"source": Str(max_length=60_000)}, required=("source",))
WARNING = Obj({"kind": Str(), "reason": Str(), "lines": Arr(Int()), "label": Str(), "help": Str()})


async def preview(request: Request) -> Response:
    viewer = require_viewer(request)
    data = await read_json(request, PREVIEW)
    cooked = await cook_source(viewer, data["source"])
    warnings = await check_draft(viewer.id, data["source"])
    return json_response({"html": cooked.html, "warnings": [
        {"kind": w.kind, "reason": w.reason, "lines": list(w.lines), "label": gettext(w.label),
         "help": gettext(w.help)} for w in warnings]})


routes = [
    api_route("/api/v1/preview", preview, methods=["POST"], name="api_preview",
              doc=Doc("Render Markdown as a post would be shown (sanitised HTML), with warnings about personal data "
                      "or secrets in it (kind and lines, never the value); nothing is saved",
                      body=PREVIEW, response=Obj({"html": Str(), "warnings": Arr(WARNING)}), auth=True,
                      errors=(400, 401, 403))),
]
