"""forum/route_index.py dispatches by the first path segment: for every route and for paths nobody planned, it
must pick the route Starlette's own loop over all routes picks (or leave the request to that loop)."""

from __future__ import annotations

import random
import re

import pytest
from starlette.routing import Match

from forum.route_index import RouteIndex

PARAM = re.compile(r"{([^}:]+)(?::([^}]+))?}")
SAMPLES = {"int": ["1", "42", "0", "٣"], "str": ["abc", "æøå", "1"], "path": ["a/b.css", "forum.css", ""],
           None: ["abc", "x-y", "42"]}


def _paths(route) -> list[str]:
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return []

    def nth(n: int):
        def value(m: re.Match) -> str:
            choices = SAMPLES.get(m.group(2), SAMPLES[None])
            return choices[n % len(choices)]
        return value

    return [PARAM.sub(nth(n), path) for n in range(3)]


def _scope(path: str, method: str) -> dict:
    return {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"", "headers": []}


def _linear(routes, scope):
    return next((r for r in routes if r.matches(scope)[0] is Match.FULL), None)


def _indexed(index: RouteIndex, scope):
    return next((r for r in index.candidates(scope) if r.matches(scope)[0] is Match.FULL), None)


def test_the_index_picks_the_route_the_whole_list_picks(app):
    index = app.router.middleware_stack
    assert isinstance(index, RouteIndex)
    routes = app.router.routes
    rng = random.Random(20)
    paths = {p for route in routes for p in _paths(route)}
    paths |= {p + "/" for p in list(paths)} | {p.rstrip("/") + "/x" for p in list(paths)}
    paths |= {"/", "", "//", "/t", "/t/", "/c//new", "/api", "/api/v1", "/static", "/static/", "/%2e%2e/", "/\u0000"}
    alphabet = "/abc{}.-_%0123456789tcpu" + "".join(chr(rng.randrange(0x80, 0x10FFFF)) for _ in range(40))
    paths |= {"/" + "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 24))) for _ in range(400)}
    checked = 0
    for path in sorted(paths):
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
            scope = _scope(path, method)
            assert _indexed(index, scope) is _linear(routes, scope), (path, method)
            checked += 1
    assert checked > 3000


@pytest.mark.parametrize("path", ["/t/1/x", "/c/general", "/api/v1/topics/1/posts", "/static/forum.css",
                                  "/robots.txt", "/"])
def test_a_common_path_is_tried_against_a_few_routes_only(app, path):
    index = app.router.middleware_stack
    assert len(index.candidates(_scope(path, "GET"))) < len(app.router.routes) / 2


def test_routes_with_a_parameter_first_are_tried_in_their_place_for_every_segment():
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route, Router

    def ok(request):
        return PlainTextResponse("")

    routes = [Route("/t/{id:int}", ok), Route("/{lang}/about", ok), Route("/t/about", ok, methods=["POST"]),
              Mount("/static", routes=[Route("/{path:path}", ok)]), Route("/{anything:path}", ok, methods=["PUT"]),
              Route("/", ok), Mount("", routes=[Route("/deep/{x}", ok)])]
    router = Router(routes)
    index = RouteIndex(router)
    for path in ("/t/1", "/t/about", "/en/about", "/static/a.css", "/deep/1", "/", "/x/y/z", "/t/", "/static"):
        for method in ("GET", "POST", "PUT"):
            scope = _scope(path, method)
            assert _indexed(index, scope) is _linear(routes, scope), (path, method)
