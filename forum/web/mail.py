"""Pages for mail: confirming an address from its link, one-click unsubscribe, and the mail part of settings."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from forum.db import write_transaction
from forum.errors import ValidationFailed
from forum.services import mail_choices, verification
from forum.web.common import field, read_form, render, require_viewer
from forum.web.settings_context import settings_page_context


async def confirm_email(request: Request) -> Response:
    """GET shows a button (mail scanners fetch links; only a person's POST spends the token)."""
    token = request.path_params["token"]
    try:
        if request.method == "GET":
            purpose = await verification.check_token(token)
            return render(request, "accounts/confirm.html", {"token": token, "purpose": purpose, "done": False,
                                                             "invalid": None})
        await read_form(request)
        purpose = await verification.confirm(token)
    except verification.InvalidEmailToken as exc:
        return render(request, "accounts/confirm.html", {"token": "", "purpose": "", "done": False,
                                                         "invalid": exc.message}, status=400)
    return render(request, "accounts/confirm.html", {"token": "", "purpose": purpose, "done": True, "invalid": None})


async def unsubscribe(request: Request) -> Response:
    """RFC 8058: a mail client POSTs `List-Unsubscribe=One-Click` here, with no session and no CSRF token; the
    signed link is the authority, and all it can do is turn mail off. GET shows a button for people."""
    token = request.path_params["token"]
    secret = request.app.state.settings.secret_key
    found = mail_choices.read_unsubscribe_token(secret, token)
    if found is None:
        return render(request, "mail_unsubscribe.html", {"token": "", "scope": "", "done": False, "invalid": True},
                      status=400)
    if request.method == "GET":
        return render(request, "mail_unsubscribe.html", {"token": token, "scope": found[1], "done": False,
                                                         "invalid": False})
    await request.body()  # the one-click body (List-Unsubscribe=One-Click); its content changes nothing
    scope = await mail_choices.unsubscribe(secret, token)
    return render(request, "mail_unsubscribe.html", {"token": "", "scope": scope, "done": True, "invalid": False})


async def save_mail_settings(request: Request) -> Response:
    viewer = require_viewer(request)
    form = await read_form(request)
    kinds = {kind: field(form, f"mail_{kind}") == "on" for kind in mail_choices.KINDS}
    digest = field(form, "digest", "off")
    async with write_transaction() as conn:
        await mail_choices.set_mail_choice(conn, viewer.id, kinds=kinds, digest=digest, channel="settings",
                                           locale=request.state.locale)
    return RedirectResponse(request.app.url_path_for("settings") + "?saved=mail#mail", status_code=303)


async def reply_mail_offer(request: Request) -> Response:
    """The one-time offer after the first reply to a question: yes turns on mail about replies."""
    viewer = require_viewer(request)
    form = await read_form(request)
    if field(form, "answer") == "yes":
        async with write_transaction() as conn:
            await mail_choices.set_mail_choice(conn, viewer.id, kinds={"reply": True}, channel="offer",
                                               locale=request.state.locale)
    return RedirectResponse(request.app.url_path_for("notifications"), status_code=303)


async def change_email(request: Request) -> Response:
    viewer = require_viewer(request)
    form = await read_form(request)
    try:
        await verification.request_email_change(request.app.state.passwords, viewer.id,
                                                new_email=field(form, "new_email"), password=field(form, "password"),
                                                locale=request.state.locale)
    except ValidationFailed as exc:
        context = await settings_page_context(request, viewer)
        context["email_errors"] = exc.fields
        return render(request, "settings.html", context, status=400)
    return RedirectResponse(request.app.url_path_for("settings") + "?saved=email", status_code=303)


routes = [
    Route("/email/confirm/{token}", confirm_email, methods=["GET", "POST"], name="confirm_email"),
    Route("/mail/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"], name="mail_unsubscribe"),
    Route("/settings/mail", save_mail_settings, methods=["POST"], name="save_mail_settings"),
    Route("/settings/mail/offer", reply_mail_offer, methods=["POST"], name="reply_mail_offer"),
    Route("/settings/email", change_email, methods=["POST"], name="change_email"),
]
