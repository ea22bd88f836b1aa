"""Profiles, notifications and search pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from forum.errors import NotFound
from forum.params import id_field
from forum.services import findable, mail_choices, notifications, reads, search
from forum.services.listing import visible_categories
from forum.web.common import field, noindex_unless, path_for, read_form, render, require_viewer


async def profile(request: Request) -> Response:
    viewer = request.state.viewer
    person = await reads.profile_by_username(request.path_params["username"][:64])
    if person is None:
        raise NotFound()
    post_count, topics = await reads.profile_activity(viewer, person["user_id"])
    indexable = findable.indexable_profile(person)
    return noindex_unless(indexable, render(request, "profile.html", {
        "person": person, "post_count": post_count, "topics": topics, "indexable": indexable}))


async def notifications_page(request: Request) -> Response:
    viewer = require_viewer(request)
    items = await notifications.list_notifications(viewer)
    offer = await mail_choices.take_reply_offer(viewer.id)
    return render(request, "notifications.html", {"items": items, "mail_offer": offer})


async def mark_notifications_read(request: Request) -> Response:
    viewer = require_viewer(request)
    form = await read_form(request)
    notification_id = id_field(field(form, "id"), "id")
    await notifications.mark_read(viewer, [notification_id] if notification_id is not None else None)
    return RedirectResponse(path_for(request, "notifications"), status_code=303)


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
    Route("/u/{username}", profile, methods=["GET"], name="profile"),
    Route("/notifications", notifications_page, methods=["GET"], name="notifications"),
    Route("/notifications/read", mark_notifications_read, methods=["POST"], name="mark_notifications_read"),
    Route("/search", search_page, methods=["GET"], name="search"),
]
