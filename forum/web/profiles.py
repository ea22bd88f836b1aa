"""The profile page: a member's name, bio and newest topics, as far as the viewer may read them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum.errors import NotFound
from forum.services import findable, profile_queries
from forum.web.common import render


async def profile(request: Request) -> Response:
    viewer = request.state.viewer
    person = await profile_queries.profile_by_username(request.path_params["username"][:64])
    if person is None:
        raise NotFound()
    post_count, topics = await profile_queries.profile_activity(viewer, person["user_id"])
    indexable = findable.indexable_profile(person)
    response = render(request, "profile.html", {"person": person, "post_count": post_count, "topics": topics,
                                                "indexable": indexable})
    if not indexable:
        response.headers["x-robots-tag"] = findable.NOINDEX
    return response


routes = [
    Route("/u/{username}", profile, methods=["GET"], name="profile"),
]
