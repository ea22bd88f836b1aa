"""The ceiling app: a bare Starlette app that renders the forum's own pages from memory.

It uses the forum's Jinja2 environment (forum.templating.make_templates), the same template and the exact
context the real handler passed for that page (captured in-process by bench/probe.py and pickled), and
is served the same way (uvicorn, 2 workers, httptools + uvloop). No database, no middleware: what is
left is Starlette + Jinja2 + the HTTP server, the practical limit for this stack.

Run by the bench as: uvicorn bench.ceiling:create_app --factory (BENCH_CEILING_PAGES=<pickle>).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, Router

from forum import i18n
from forum.settings import Settings
from forum.templating import make_templates


def create_app() -> Starlette:
    from forum.app import routes as forum_routes
    from forum.web.common import url_path

    pages = pickle.loads(Path(os.environ["BENCH_CEILING_PAGES"]).read_bytes())
    templates = make_templates()
    # the globals the app sets from its settings (forum/app.py), at their defaults, as the bench's server runs
    templates.env.globals["registration_open"] = lambda request: True  # FORUM_OIDC_ONLY off
    templates.env.globals["attachments_per_post"] = Settings.attachments_per_post  # FORUM_ATTACHMENTS_PER_POST
    router = Router(routes=forum_routes())  # only to build the same links, never to serve

    def path_for(name: str, query: dict | None = None, **params) -> str:
        path = url_path(router, name, **params)  # the forum's own link builder
        if query:
            clean = {k: v for k, v in query.items() if v not in (None, "")}
            if clean:
                path += "?" + urlencode(clean)
        return path

    async def page(request: Request) -> Response:
        spec = pages.get(request.path_params["name"])
        if spec is None:
            return PlainTextResponse("no such page", status_code=404)
        i18n.set_locale(spec["locale"])
        context = {**spec["context"], "path_for": path_for}
        return templates.TemplateResponse(request, spec["template"], context)

    return Starlette(routes=[Route("/{name:path}", page, methods=["GET"])])
