"""`/consent`: read the forum policy, see your status, give consent in its own step (an unticked box)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from forum import markup
from forum.errors import N_, NotFound, ValidationFailed
from forum.services import consent
from forum.web.common import field, path_for, read_form, render, require_viewer, safe_next


async def consent_page(request: Request, error: str | None = None, status_code: int = 200,
                       field_errors: dict | None = None, username: str = "") -> Response:
    viewer = request.state.viewer
    policy = await consent.current_policy()
    if policy is None:
        raise NotFound(N_("No forum policy has been published yet."))
    text = consent.shown(policy, request.state.locale)
    status = await consent.consent_status(viewer.id) if viewer else None
    return render(request, "consent.html", {
        "policy": text, "policy_html": markup.cook(text.text), "status": status.value if status else None,
        "error": error, "field_errors": field_errors or {}, "username": username,
        "next": safe_next(request.query_params.get("next")) or ""}, status=status_code)


async def give_consent(request: Request) -> Response:
    viewer = require_viewer(request)
    form = await read_form(request)
    if field(form, "agree") != "yes":
        return await consent_page(request, N_("Tick the box if you want to take part."), 400)
    try:
        await consent.grant_consent(viewer, policy_version=field(form, "policy_version"),
                                    locale=field(form, "locale"), channel="page", username=field(form, "username"))
    except ValidationFailed as exc:
        return await consent_page(request, None if exc.fields else exc.message, 400, exc.fields,
                                  field(form, "username"))
    return RedirectResponse(safe_next(field(form, "next")) or path_for(request, "home"), status_code=303)


async def consent_route(request: Request) -> Response:
    if request.method == "POST":
        return await give_consent(request)
    return await consent_page(request)


routes = [Route("/consent", consent_route, methods=["GET", "POST"], name="consent")]
