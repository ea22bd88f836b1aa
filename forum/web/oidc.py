"""OpenID Connect pages: to the provider and back, linking from settings, and the provider's back-channel logout.

Routes exist whether or not the provider is configured; without FORUM_OIDC_ISSUER they answer 404.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from forum.errors import N_, BadRequest, NotFound
from forum.security import ANON_COOKIE, SESSION_COOKIE, new_token
from forum.services import oidc
from forum.services.oidc_provider import Provider, ProviderUnavailable
from forum.services.oidc_tokens import OidcRefused, validate_logout_token
from forum.viewer import SESSION_LIFETIME
from forum.web.common import path_for, read_form, require_viewer, safe_next, set_cookie

ANON_MAX_AGE = 60 * 60 * 24 * 30


def registration_open(request: Request) -> bool:
    """For templates: whether to offer registration (FORUM_OIDC_ONLY closes it)."""
    oidc_settings = request.app.state.settings.oidc
    return oidc_settings is None or not oidc_settings.only


def provider_of(request: Request) -> Provider:
    provider = getattr(request.app.state, "oidc", None)
    if provider is None:
        raise NotFound()
    return provider


def _binding(request: Request) -> tuple[str, bool]:
    """The pre-sign-in session (forum_anon, made here if the browser has none yet), or the forum session of a
    signed-in member. Returns (binding, whether the anonymous cookie must be set)."""
    viewer = request.state.viewer
    if viewer is not None:
        return viewer.session_token, False
    anon = request.state.cookies.get(ANON_COOKIE)
    if anon and len(anon) <= 128:
        return anon, False
    return new_token(), True


async def start(request: Request) -> Response:
    provider = provider_of(request)
    raw_next = request.query_params.get("next")
    next_path = safe_next(raw_next) or ""
    if raw_next and not next_path:
        raise BadRequest(N_("That return address is not on this site."), code="unsafe_next")
    binding, new_anon = _binding(request)
    try:
        url = await oidc.begin_sign_in(provider, binding=binding, public_url=request.app.state.settings.public_url,
                                       next_path=next_path, reauthenticate=request.query_params.get("reauth") == "1")
    except ProviderUnavailable:
        return RedirectResponse(path_for(request, "login", {"oidc": "unavailable", "next": next_path}),
                                status_code=303)
    response = RedirectResponse(url, status_code=303)
    if new_anon:
        set_cookie(request, response, ANON_COOKIE, binding, max_age=ANON_MAX_AGE)
    return response


async def callback(request: Request) -> Response:
    provider = provider_of(request)
    params = request.query_params
    if params.get("error"):
        raise OidcRefused(N_("Sign-in with the identity provider was cancelled or refused."), code="provider_error")
    binding, _ = _binding(request)
    result = await oidc.complete_sign_in(provider, binding=binding, state=params.get("state") or "",
                                         code=params.get("code") or "",
                                         public_url=request.app.state.settings.public_url,
                                         replacing=request.state.cookies.get(SESSION_COOKIE),
                                         locale=request.state.locale)
    if not result.token:  # a member linked their account from settings
        return RedirectResponse(path_for(request, "settings") + "?saved=oidc_linked", status_code=303)
    if result.created:
        target = path_for(request, "consent", {"next": result.next_path} if result.next_path else None)
    else:
        target = safe_next(result.next_path) or path_for(request, "home")
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, SESSION_COOKIE, result.token, max_age=int(SESSION_LIFETIME.total_seconds()))
    return response


async def link(request: Request) -> Response:
    provider = provider_of(request)
    viewer = require_viewer(request)
    await read_form(request)
    try:
        url = await oidc.begin_sign_in(provider, binding=viewer.session_token, link_user_id=viewer.id,
                                       public_url=request.app.state.settings.public_url)
    except ProviderUnavailable:
        return RedirectResponse(path_for(request, "settings") + "?saved=oidc_unavailable", status_code=303)
    return RedirectResponse(url, status_code=303)


async def unlink(request: Request) -> Response:
    provider = provider_of(request)
    viewer = require_viewer(request)
    await read_form(request)
    await oidc.unlink(viewer, provider.settings.issuer)
    return RedirectResponse(path_for(request, "settings") + "?saved=oidc_unlinked", status_code=303)


async def backchannel_logout(request: Request) -> Response:
    """OpenID Connect Back-Channel Logout 1.0: the provider posts a signed logout token (no cookie, no CSRF)."""
    provider = provider_of(request)
    headers = {"cache-control": "no-store"}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        form = await request.form(max_files=0, max_fields=5) if content_type == "application/x-www-form-urlencoded" \
            else None
    except Exception:
        form = None
    token = form.get("logout_token") if form is not None else None
    try:
        claims = await validate_logout_token(provider, token)
    except (OidcRefused, ProviderUnavailable):
        return JSONResponse({"error": "invalid_request"}, status_code=400, headers=headers)
    await oidc.back_channel_logout(provider.settings.issuer, claims)
    return Response(status_code=200, headers=headers)


routes = [
    Route("/auth/oidc/login", start, methods=["GET"], name="oidc_login"),
    Route("/auth/oidc/callback", callback, methods=["GET"], name="oidc_callback"),
    Route("/auth/oidc/backchannel-logout", backchannel_logout, methods=["POST"], name="oidc_backchannel_logout"),
    Route("/settings/oidc/link", link, methods=["POST"], name="oidc_link"),
    Route("/settings/oidc/unlink", unlink, methods=["POST"], name="oidc_unlink"),
]
