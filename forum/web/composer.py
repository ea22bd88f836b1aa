"""The composers' drafts without JavaScript: the "save draft" button, the drafts page, deleting a draft. (With
JavaScript, forum.js saves through /api/v1/drafts as the member types; forum/api/composer.py.)"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from forum.params import id_field
from forum.services.composer_drafts import delete_draft, list_drafts, save_draft
from forum.web.common import field, path_for, read_form, render, require_viewer


async def save_draft_form(request: Request) -> Response:
    """The composer's "save draft" button (its `formaction`): saved, then back to the same composer."""
    viewer = require_viewer(request)
    form = await read_form(request)
    topic_id = id_field(field(form, "topic_id"), "topic_id")
    category = field(form, "category") or None
    saved = await save_draft(viewer, topic_id=topic_id, category=category, title=field(form, "title"),
                             body=field(form, "body"), kind=field(form, "kind"))
    if topic_id is not None:
        back = (path_for(request, "topic", {"draft": "saved"}, topic_id=topic_id, slug=saved.topic_slug)
                if saved else path_for(request, "topic_short", topic_id=topic_id)) + "#composer"
    elif category:
        back = path_for(request, "new_topic", {"draft": "saved"}, slug=category)
    else:
        back = path_for(request, "composer_drafts")
    return RedirectResponse(back, status_code=303)


async def drafts_page(request: Request) -> Response:
    viewer = require_viewer(request)
    return render(request, "composer_drafts.html", {
        "drafts": await list_drafts(viewer), "draft_days": request.app.state.settings.retention.draft_days})


async def delete_draft_form(request: Request) -> Response:
    viewer = require_viewer(request)
    await read_form(request)
    await delete_draft(viewer, request.path_params["draft_id"])
    return RedirectResponse(path_for(request, "composer_drafts"), status_code=303)


routes = [
    Route("/drafts", drafts_page, methods=["GET"], name="composer_drafts"),
    Route("/drafts/save", save_draft_form, methods=["POST"], name="save_draft"),
    Route("/drafts/{draft_id:int}/delete", delete_draft_form, methods=["POST"], name="delete_draft"),
]
