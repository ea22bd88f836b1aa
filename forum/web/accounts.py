"""Pages for registering, signing in and out, and the account part of settings."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from forum import i18n
from forum.errors import Forbidden, NotAuthenticated, ValidationFailed
from forum.security import LANG_COOKIE, SESSION_COOKIE
from forum.services import accounts, oidc, sessions, verification
from forum.services.throttle import SignInThrottled
from forum.settings import LOCALES
from forum.viewer import SESSION_LIFETIME
from forum.web import oidc_context
from forum.web.common import client_address, field, read_form, redirect, render, require_viewer, safe_next, set_cookie


def _signed_in(request: Request, token: str, next_path: str | None) -> Response:
    response = RedirectResponse(safe_next(next_path) or request.app.url_path_for("home"), status_code=303)
    set_cookie(request, response, SESSION_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()))
    return response


async def register_page(request: Request) -> Response:
    oidc.check_registration_open(request.app.state.settings.oidc)
    if request.method == "GET":
        return render(request, "accounts/register.html", {"values": {}, "errors": {}})
    form = await read_form(request)
    values = {"username": field(form, "username"), "email": field(form, "email")}
    try:
        done = await verification.register_member(request.app.state.passwords, username=values["username"],
                                                  email=values["email"], password=field(form, "password"),
                                                  locale=request.state.locale, sign_in=True,
                                                  replacing=request.state.cookies.get(SESSION_COOKIE))
    except ValidationFailed as exc:
        return render(request, "accounts/register.html", {"values": values, "errors": exc.fields}, status=400)
    if done.token:  # a new account, and addresses need no confirmation (imports, scripts, tests)
        return _signed_in(request, done.token, request.app.url_path_for("consent"))
    # the same page whether the address was new or had an account (its owner gets a mail saying so)
    return render(request, "accounts/registered.html", {})


async def login_page(request: Request) -> Response:
    next_path = safe_next(request.query_params.get("next")) or ""
    provider = await oidc_context.login_context(request)
    if request.method == "GET":
        return render(request, "accounts/login.html", {"email": "", "next": next_path, "error": None, **provider})
    form = await read_form(request)
    email, next_path = field(form, "email"), safe_next(field(form, "next")) or ""
    try:
        _user, token = await accounts.sign_in(request.app.state.passwords, email=email,
                                              password=field(form, "password"), client=client_address(request),
                                              admins_only=oidc.password_sign_in_for_admins_only(
                                                  request.app.state.settings.oidc),
                                              replacing=request.state.cookies.get(SESSION_COOKIE))
    except (NotAuthenticated, Forbidden, SignInThrottled) as exc:  # Forbidden: a suspended account
        error = i18n.gettext(exc.message) % exc.params if exc.params else exc.message
        response = render(request, "accounts/login.html", {"email": email, "next": next_path, "error": error,
                                                           **provider}, status=exc.status)
        if isinstance(exc, SignInThrottled):
            response.headers["retry-after"] = str(exc.retry_after)
        return response
    return _signed_in(request, token, next_path)


async def logout(request: Request) -> Response:
    await read_form(request)
    at_provider = await oidc_context.provider_logout_url(request, request.state.viewer)  # RP-initiated logout
    token = request.state.cookies.get(SESSION_COOKIE)
    if token:
        await sessions.end_session(token)
    response = RedirectResponse(at_provider, status_code=303) if at_provider else redirect(request, "home")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def logout_everywhere(request: Request) -> Response:
    viewer = require_viewer(request)
    await read_form(request)
    await sessions.end_all_sessions(viewer.id)
    response = redirect(request, "login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def choose_language(request: Request) -> Response:
    """Works signed in (saved on the account) and signed out (a cookie); signed out it needs no token, so the
    switch on a reading page sets no cookie until it is used."""
    form = await read_form(request, visitor_by_origin=True)
    locale = field(form, "locale")
    if locale not in LOCALES:
        raise ValidationFailed(fields={"locale": "Not one of the allowed values."})
    viewer = request.state.viewer
    if viewer is not None:
        await accounts.set_locale(viewer.id, locale)
    response = RedirectResponse(safe_next(field(form, "next")) or request.app.url_path_for("home"), status_code=303)
    set_cookie(request, response, LANG_COOKIE, locale, max_age=60 * 60 * 24 * 365)
    return response


routes = [
    Route("/register", register_page, methods=["GET", "POST"], name="register"),
    Route("/login", login_page, methods=["GET", "POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/logout/everywhere", logout_everywhere, methods=["POST"], name="logout_everywhere"),
    Route("/language", choose_language, methods=["POST"], name="choose_language"),
]
