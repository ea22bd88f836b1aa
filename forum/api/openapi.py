"""The OpenAPI 3.1 document, generated from the route table so it covers every /api/v1 route."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from forum.api.endpoint import ID, SLUG
from forum.api.schema import ERROR

_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
ERROR_TEXT = {400: "invalid input", 401: "not signed in", 403: "forbidden (incl. csrf_failed, consent_required)",
              404: "not found, or not visible to you", 409: "conflict", 413: "too large",
              415: "not a kind of file the forum takes (sniffed from the bytes)", 429: "rate limited",
              503: "the database stayed busy; nothing was changed, try again (Retry-After)"}


def _operation(route: Route, method: str, doc) -> dict:
    params = []
    for name in _PARAM.findall(route.path):
        params.append({"name": name, "in": "path", "required": True,
                       "schema": (ID if name.endswith("id") else SLUG).json_schema()})
    for name, where, schema in doc.params:
        params.append({"name": name, "in": where, "required": where == "path", "schema": schema.json_schema()})
    op: dict = {"summary": doc.summary, "operationId": f"{route.name}_{method.lower()}", "tags": [doc.tag]}
    if params:
        op["parameters"] = params
    if doc.body is not None:
        # a body whose fields are all optional may be left out altogether (it then changes nothing, or "all")
        op["requestBody"] = {"required": bool(getattr(doc.body, "required", True)),
                             "content": {doc.media: {"schema": doc.body.json_schema()}}}
    responses: dict = {str(doc.status): {"description": "success"}}
    if doc.response is not None:
        responses[str(doc.status)]["content"] = {"application/json": {"schema": doc.response.json_schema()}}
    errors = set(doc.errors) | {503}  # 503: the database stayed busy; nothing was changed
    if doc.body is not None:
        errors |= {413}
    if method != "GET":
        errors |= {400, 403}  # a body that is not JSON; a missing or wrong CSRF token
    if doc.params or any(p["in"] == "path" and "id" in p["name"] for p in params):
        errors |= {400, 404}
    if doc.auth:
        errors |= {401}
    for status in sorted(errors):
        responses[str(status)] = {"description": ERROR_TEXT.get(status, "error"),
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    op["responses"] = responses
    if doc.auth:
        op["security"] = [{"session": [], "csrf": []}] if method != "GET" else [{"session": []}]
    return op


def build_document(routes) -> dict:
    paths: dict = {}
    for route in routes:
        docs = getattr(route, "openapi", None)
        if not docs:
            continue
        path = _PARAM.sub(r"{\1}", route.path)
        for method, doc in docs.items():
            paths.setdefault(path, {})[method.lower()] = _operation(route, method, doc)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Forum API", "version": "1",
                 "description": "JSON API of the forum. Errors are {\"error\": {\"code\", \"message\"}} with 4xx."},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR.json_schema()},
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "forum_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


async def openapi(request: Request) -> Response:
    document = request.app.state.openapi
    if document is None:
        document = request.app.state.openapi = build_document(request.app.routes)
    return JSONResponse(document)


routes = [Route("/api/openapi.json", openapi, methods=["GET"], name="openapi")]
