"""What the sign-in, sign-out, settings and erase pages show of the company's identity provider (OpenID Connect).

Page helpers, not handlers: the account and settings pages call them, and the provider's own routes live in
web/oidc.py. Without FORUM_OIDC_ISSUER each answers as if there were no provider.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request

from forum.services import oidc
from forum.services.oidc_provider import ProviderUnavailable
from forum.viewer import Viewer


async def login_context(request: Request) -> dict:
    """What the sign-in page shows about the provider: the button, or that it is unavailable."""
    provider = getattr(request.app.state, "oidc", None)
    if provider is None:
        return {"oidc": None}
    available = request.query_params.get("oidc") != "unavailable" and await provider.available()
    return {"oidc": {"label": provider.settings.label(request.state.locale), "available": available,
                     "only": provider.settings.only}}


async def provider_logout_url(request: Request, viewer: Viewer | None) -> str | None:
    """RP-initiated logout: where to send the browser after the forum session ends, when this session came from
    the provider and the provider offers an end_session_endpoint. Ask before the session is deleted."""
    provider = getattr(request.app.state, "oidc", None)
    if provider is None or viewer is None or not await oidc.session_from_provider(viewer.session_id):
        return None
    try:
        endpoint = (await provider.metadata()).end_session_endpoint
    except ProviderUnavailable:
        return None
    if not endpoint:
        return None
    query = urlencode({"client_id": provider.settings.client_id,
                       "post_logout_redirect_uri": request.app.state.settings.public_url.rstrip("/") + "/"})
    return endpoint + ("&" if "?" in endpoint else "?") + query


async def erase_context(request: Request, viewer: Viewer) -> dict:
    """The erase page: an account without a password confirms by signing in anew at the provider."""
    provider = getattr(request.app.state, "oidc", None)
    if provider is None or await oidc.has_password_for(viewer.id):
        return {"reauth_label": None}
    return {"reauth_label": provider.settings.label(request.state.locale)}


async def settings_context(request: Request, viewer: Viewer) -> dict:
    provider = getattr(request.app.state, "oidc", None)
    if provider is None:
        return {"oidc": None}
    linked, can_unlink = await oidc.link_status(viewer.id, provider.settings.issuer)
    return {"oidc": {"label": provider.settings.label(request.state.locale), "linked": linked,
                     "can_unlink": can_unlink}}
