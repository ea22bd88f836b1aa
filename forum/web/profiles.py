"""The profile page: a member's name, bio and newest topics, as far as the viewer may read them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum.errors import NotFound
from forum.services import findable, profile_queries
from forum.web.common import noindex_unless, render


async def profile(request: Request) -> Response:
    viewer = request.state.viewer
    person = await profile_queries.profile_by_username(request.path_params["username"][:64])
    if person is None:
        raise NotFound()
    post_count, topics = await profile_queries.profile_activity(viewer, person["user_id"])
    indexable = findable.indexable_profile(person)
    return noindex_unless(indexable, render(request, "profile.html", {
        "person": person, "post_count": post_count, "topics": topics, "indexable": indexable}))


routes = [
    Route("/u/{username}", profile, methods=["GET"], name="profile"),
]
