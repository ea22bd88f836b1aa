"""The settings page: profile, language, password, sessions (and later consent, export, erasure)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from forum.errors import ValidationFailed
from forum.models import Profile
from forum.services import profiles
from forum.viewer import Viewer
from forum.web.common import field, read_form, render, require_viewer


async def settings_page_context(request: Request, viewer: Viewer) -> dict:
    profile = await Profile.filter(user_id=viewer.id).first()
    return {"saved": request.query_params.get("saved"), "password_errors": {}, "profile_errors": {},
            "profile": {"display_name": profile.display_name, "bio": profile.bio} if profile else None}


async def save_profile(request: Request) -> Response:
    viewer = require_viewer(request)
    form = await read_form(request)
    values = {"display_name": field(form, "display_name"), "bio": field(form, "bio")}
    try:
        await profiles.update_profile(viewer, **values)
    except ValidationFailed as exc:
        context = await settings_page_context(request, viewer)
        context.update(profile=values, profile_errors=exc.fields)
        return render(request, "settings.html", context, status=400)
    return RedirectResponse(request.app.url_path_for("settings") + "?saved=profile", status_code=303)


async def settings_page(request: Request) -> Response:
    viewer = require_viewer(request)
    return render(request, "settings.html", await settings_page_context(request, viewer))


routes = [
    Route("/settings", settings_page, methods=["GET"], name="settings"),
    Route("/settings/profile", save_profile, methods=["POST"], name="save_profile"),
]
