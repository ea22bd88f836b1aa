"""The notifications page: the list, marking read, and the one-time offer of mail about replies."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from forum.params import id_field
from forum.services import mail_choices, notifications
from forum.web.common import field, path_for, read_form, render, require_viewer


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


routes = [
    Route("/notifications", notifications_page, methods=["GET"], name="notifications"),
    Route("/notifications/read", mark_notifications_read, methods=["POST"], name="mark_notifications_read"),
]
