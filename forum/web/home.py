"""The front page: the latest topics across the categories the viewer may read."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum.params import cursor_param
from forum.services import page_versions, topic_queries
from forum.services.categories import visible_categories
from forum.web.common import render
from forum.web.page_cache import visitor_page


async def home(request: Request) -> Response:
    return await visitor_page(request, page_versions.home, lambda: _home(request), lists=True)


async def _home(request: Request) -> Response:
    viewer = request.state.viewer
    topics = await topic_queries.latest_topics(viewer, before=cursor_param(request.query_params.get("before")))
    return render(request, "home.html", {"categories": await visible_categories(viewer), "topics": topics,
                                         "next_cursor": topic_queries.next_cursor(topics)})


routes = [Route("/", home, methods=["GET"], name="home")]
