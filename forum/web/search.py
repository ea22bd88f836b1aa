"""The search page: full-text search over what the viewer may read, with category, author and solved filters."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum.services import search
from forum.services.categories import visible_categories
from forum.web.common import render


async def search_page(request: Request) -> Response:
    viewer = request.state.viewer
    params = request.query_params
    q = (params.get("q") or "")[:200]
    category = params.get("category") or None
    author = params.get("author") or None
    solved = {"yes": True, "no": False}.get(params.get("solved") or "")
    hits = await search.search(viewer, q, category=category, author=author, solved=solved) if q.strip() else []
    return render(request, "search.html", {"q": q, "hits": hits, "category": category or "", "author": author or "",
                                           "solved": params.get("solved") or "",
                                           "categories": await visible_categories(viewer)})


routes = [
    Route("/search", search_page, methods=["GET"], name="search"),
]
