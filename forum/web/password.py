"""Pages for a forgotten password: ask for a link by email, then choose a new password from the link."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum.errors import ValidationFailed
from forum.services import password_reset
from forum.web.common import field, read_form, render


async def forgot_page(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "accounts/forgot.html", {"email": "", "errors": {}, "sent": False})
    form = await read_form(request)
    email = field(form, "email")
    try:
        await password_reset.request_reset(email, locale=request.state.locale)
    except ValidationFailed as exc:
        return render(request, "accounts/forgot.html", {"email": email, "errors": exc.fields, "sent": False},
                      status=400)
    return render(request, "accounts/forgot.html", {"email": email, "errors": {}, "sent": True})


async def reset_page(request: Request) -> Response:
    token = request.path_params["token"]
    if request.method == "GET":
        try:
            await password_reset.check_token(token)
        except password_reset.InvalidResetToken as exc:
            return render(request, "accounts/reset.html", {"invalid": exc.message, "errors": {}, "done": False},
                          status=400)
        return render(request, "accounts/reset.html", {"invalid": None, "errors": {}, "done": False})
    form = await read_form(request)
    try:
        await password_reset.reset_password(request.app.state.passwords, token, field(form, "new_password"))
    except password_reset.InvalidResetToken as exc:
        return render(request, "accounts/reset.html", {"invalid": exc.message, "errors": {}, "done": False},
                      status=400)
    except ValidationFailed as exc:
        return render(request, "accounts/reset.html", {"invalid": None, "errors": exc.fields, "done": False},
                      status=400)
    return render(request, "accounts/reset.html", {"invalid": None, "errors": {}, "done": True})


routes = [
    Route("/password/forgot", forgot_page, methods=["GET", "POST"], name="password_forgot"),
    Route("/password/reset/{token}", reset_page, methods=["GET", "POST"], name="password_reset"),
]
