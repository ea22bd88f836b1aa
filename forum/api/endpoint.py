"""Declaring a JSON route: its schema for the OpenAPI document and a uniform way to read bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from forum.api.schema import Int, Str
from forum.errors import N_, BadRequest, CsrfFailed, NotFound, ValidationFailed
from forum.params import MAX_ID, parse_int
from forum.security import ANON_COOKIE, csrf_matches
from forum.services.text import text_is_clean
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
    media: str = "application/json"  # the body's type (an upload's is multipart/form-data)


# ids are 32-bit integers on PostgreSQL; a larger one in a path names nothing (404), it must not overflow (500)
ID = Int(minimum=1, maximum=MAX_ID)
SLUG = Str(min_length=1, max_length=64)


def api_route(path: str, endpoint: Callable, *, methods: list[str], doc: Doc | dict[str, Doc], name: str) -> Route:
    docs = doc if isinstance(doc, dict) else {methods[0]: doc}

    async def checked(request: Request) -> Response:
        check_parameters(request, docs.get("GET" if request.method == "HEAD" else request.method))
        return await endpoint(request)

    route = Route(path, checked, methods=methods, name=name)
    route.openapi = docs  # read by forum.api.openapi
    return route


def check_parameters(request: Request, doc: Doc | None) -> None:
    """Path ids and documented query parameters are checked against the same schema the document shows."""
    for value in request.path_params.values():
        if isinstance(value, int) and not 1 <= value <= MAX_ID:
            raise NotFound()
        if isinstance(value, str) and (len(value) > SLUG.max_length or not text_is_clean(value)):
            raise NotFound()
    if doc is None:
        return
    errors: dict[str, str] = {}
    for name, where, schema in doc.params:
        if where != "query" or name not in request.query_params:
            continue
        raw = request.query_params[name]
        try:
            if isinstance(schema, Int):
                value = parse_int(raw, low=-(10**18), high=10**18)
                if value is None:
                    raise TypeError(N_("Must be a whole number."))
                schema.check(value)
            else:
                schema.check(raw)
        except (TypeError, ValueError) as exc:
            errors[name] = str(exc)
    if errors:
        raise ValidationFailed(fields=errors)


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
    raw = await request.body()
    # an empty body needs no type (a like or a sign-out has none); the CSRF check above already ran
    if content_type != "application/json" and (raw or (content_type and request.state.viewer is None)):
        raise BadRequest(N_("Send the body as application/json."), code="unsupported_media_type")
    try:
        data = json.loads(raw.decode("utf-8")) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadRequest(N_("The body is not valid JSON."), code="invalid_json") from None
    if schema is not None:
        return schema.check(data)
    return data


def json_response(data: object, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status)
