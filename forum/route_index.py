"""Dispatch by the path's first segment, with the answer Starlette's router gives.

Starlette's router tries every route in order until one matches in full: the topic page is the 38th of the
forum's routes, and matching the 37 before it (a regular expression each) was 29 % of the CPU of a 304 and of a
cached visitor's page (issue 20, measured in-process). Here each first segment ("t", "c", "api", "static", …) has
the routes that can match a path beginning with it, in their original order, together with every route whose
first segment is a parameter; the first full match among them is the one the whole list would have found, since
no other route can match that path. Anything else (no full match: a 405, a slash redirect, a 404; lifespan)
goes to Starlette's own loop, unchanged.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Match, Router, get_route_path
from starlette.types import Receive, Scope, Send

ANY = None  # a route whose first segment is not fixed text (a parameter, a root mount, a host)


def first_segment(path: str) -> str:
    return path[1:].split("/", 1)[0] if path.startswith("/") else ""


def segment_of(route: BaseRoute) -> str | None:
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path.startswith("/"):
        return ANY
    segment = first_segment(path)
    if "{" in segment or (segment == "" and hasattr(route, "routes")):  # a parameter; a Mount at "/"
        return ANY
    return segment


class RouteIndex:
    def __init__(self, router: Router) -> None:
        self.router = router
        self.fallback = router.middleware_stack  # Starlette's loop
        keys = [segment_of(route) for route in router.routes]
        self.any = [route for route, key in zip(router.routes, keys, strict=True) if key is ANY]
        self.buckets = {key: [route for route, k in zip(router.routes, keys, strict=True) if k in (key, ANY)]
                        for key in set(keys) if key is not ANY}

    def candidates(self, scope: Scope) -> list[BaseRoute]:
        return self.buckets.get(first_segment(get_route_path(scope)), self.any)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            for route in self.candidates(scope):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self.router)
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await self.fallback(scope, receive, send)


def index_routes(router: Router) -> None:
    """Puts the index in front of the router's own dispatch (its middleware stack is the loop itself)."""
    router.middleware_stack = RouteIndex(router)
