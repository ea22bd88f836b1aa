"""The settings page: profile, language, password, sessions, consent withdrawal, data export, account erasure."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from forum.errors import ValidationFailed
from forum.security import SESSION_COOKIE
from forum.services import accounts, consent, erasure, profiles, withdrawal
from forum.services import export as data_export
from forum.web.common import field, json_download, read_form, render, require_viewer
from forum.web.oidc_context import erase_context
from forum.web.settings_context import settings_page_context


async def save_profile(request: Request) -> Response:
    viewer = require_viewer(request)
    form = await read_form(request)
    values = {"display_name": field(form, "display_name"), "bio": field(form, "bio"),
              "public_profile": field(form, "public_profile") == "yes"}
    try:
        await profiles.update_profile(viewer, **values)
    except ValidationFailed as exc:
        context = await settings_page_context(request, viewer)
        context.update(profile=values, profile_errors=exc.fields)
        return render(request, "settings.html", context, status=400)
    return RedirectResponse(request.app.url_path_for("settings") + "?saved=profile", status_code=303)


async def change_password(request: Request) -> Response:
    viewer = require_viewer(request)
    form = await read_form(request)
    try:
        await accounts.change_password(request.app.state.passwords, viewer.id,
                                       current=field(form, "current_password"), new=field(form, "new_password"),
                                       keep_session=viewer.session_token)
    except ValidationFailed as exc:
        context = await settings_page_context(request, viewer)
        context["password_errors"] = exc.fields
        return render(request, "settings.html", context, status=400)
    return RedirectResponse(request.app.url_path_for("settings") + "?saved=password", status_code=303)


async def settings_page(request: Request) -> Response:
    viewer = require_viewer(request)
    return render(request, "settings.html", await settings_page_context(request, viewer))


async def withdraw_page(request: Request) -> Response:
    """One button, after one confirmation: as easy as giving consent."""
    viewer = require_viewer(request)
    if request.method == "POST":
        await read_form(request)
        counts = await withdrawal.withdraw_consent(viewer, channel="page",
                                                   text_locale=request.app.state.settings.default_locale)
        if counts.get("left_out"):
            # what it left out names the member: shown in this answer, never put in a URL (logs, history) or
            # stored for the page after a redirect
            return render(request, "withdrawn.html", {"anonymised": counts.get("anonymised_posts", 0),
                                                      "left_out": counts["left_out"]})
        target = request.app.url_path_for("settings") + f"?saved=withdrawn&posts={counts.get('anonymised_posts', 0)}"
        return RedirectResponse(target, status_code=303)
    status = await consent.consent_status(viewer.id)
    return render(request, "withdraw.html", {"consent_status": status.value})


async def export_download(request: Request) -> Response:
    chunks = await data_export.export_user(require_viewer(request))
    return json_download(chunks, "forum-export.json")


async def export_zip_download(request: Request) -> Response:
    archive = await data_export.export_zip(require_viewer(request))
    return StreamingResponse(archive, media_type="application/zip", headers={
        "Content-Disposition": 'attachment; filename="forum-export.zip"', "Cache-Control": "no-store"})


async def erase_page(request: Request) -> Response:
    viewer = require_viewer(request)
    errors: dict = {}
    if request.method == "POST":
        form = await read_form(request)
        try:
            await erasure.erase_account(request.app.state.passwords, viewer, password=field(form, "password"),
                                        channel="page", text_locale=request.app.state.settings.default_locale)
        except ValidationFailed as exc:
            errors = exc.fields
        else:
            response = render(request, "erased.html", {"viewer": None})
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
    return render(request, "erase.html", {"errors": errors, **await erase_context(request, viewer)},
                  status=400 if errors else 200)


routes = [
    Route("/settings", settings_page, methods=["GET"], name="settings"),
    Route("/settings/profile", save_profile, methods=["POST"], name="save_profile"),
    Route("/settings/password", change_password, methods=["POST"], name="change_password"),
    Route("/settings/withdraw", withdraw_page, methods=["GET", "POST"], name="withdraw_consent"),
    Route("/settings/export", export_download, methods=["GET"], name="export_data"),
    Route("/settings/export.zip", export_zip_download, methods=["GET"], name="export_zip"),
    Route("/settings/erase", erase_page, methods=["GET", "POST"], name="erase_account"),
]
