"""Declaring a JSON route: its schema for the OpenAPI document and a uniform way to read bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from forum.errors import N_, BadRequest, CsrfFailed
from forum.security import ANON_COOKIE, csrf_matches
from forum.web.common import require_viewer, viewer_of  # noqa: F401 (the API's handlers import them from here)


@dataclass(frozen=True)
class Doc:
    summary: str
    body: object | None = None
    response: object | None = None
    status: int = 200
    auth: bool = False
    params: tuple[tuple[str, str, object], ...] = ()  # (name, "query"|"path", schema)
    errors: tuple[int, ...] = (400,)
    tag: str = "forum"


def api_route(path: str, endpoint: Callable, *, methods: list[str], doc: Doc | dict[str, Doc], name: str) -> Route:
    docs = doc if isinstance(doc, dict) else {methods[0]: doc}
    route = Route(path, endpoint, methods=methods, name=name)
    route.openapi = docs  # read by forum.api.openapi
    return route


def check_csrf_header(request: Request) -> None:
    """Signed-in writes need the header; before sign-in a JSON content type already defeats form-based CSRF."""
    viewer = request.state.viewer
    token = request.headers.get("x-csrf-token")
    if viewer is not None:
        if not csrf_matches(request.app.state.settings.secret_key, viewer.session_token, token):
            raise CsrfFailed()
        return
    if token and not csrf_matches(request.app.state.settings.secret_key,
                                  request.state.cookies.get(ANON_COOKIE), token):
        raise CsrfFailed()
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}":
        raise CsrfFailed()


async def read_json(request: Request, schema=None) -> dict:
    """The only way API handlers read a body: CSRF, content type, size, encoding and shape are checked here."""
    check_csrf_header(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise BadRequest(N_("Send the body as application/json."), code="unsupported_media_type")
    raw = await request.body()
    try:
        data = json.loads(raw.decode("utf-8")) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadRequest(N_("The body is not valid JSON."), code="invalid_json") from None
    if schema is not None:
        return schema.check(data)
    return data


def json_response(data: object, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status)
