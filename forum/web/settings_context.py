"""What the settings page shows, for every handler that renders it: its own, and the mail handlers' address
change that re-renders it with the form's errors."""

from __future__ import annotations

from starlette.requests import Request

from forum.models import Profile
from forum.services import consent, mail_choices, withdrawal_scope
from forum.viewer import Viewer
from forum.web.oidc_context import settings_context


async def settings_page_context(request: Request, viewer: Viewer) -> dict:
    profile = await Profile.filter(user_id=viewer.id).first()
    status = await consent.consent_status(viewer.id)
    return {**await settings_context(request, viewer),
            "saved": request.query_params.get("saved"), "password_errors": {}, "profile_errors": {},
            "consent_status": status.value, "anonymised": request.query_params.get("posts", ""),
            "employment": consent.on_employment_basis(viewer.role),
            "profile": {"display_name": profile.display_name, "bio": profile.bio,
                        "public_profile": profile.public_profile} if profile else None,
            "name_warnings": await withdrawal_scope.name_warnings(viewer.id) if profile else [],
            **await mail_settings_context(viewer.id)}


async def mail_settings_context(user_id: int) -> dict:
    choices = await mail_choices.mail_choices(user_id)
    kinds = [{"name": k, "on": choices.kinds[k], "label": mail_choices.LABELS[k],
              "explanation": mail_choices.EXPLANATIONS[k]} for k in mail_choices.KINDS]
    return {"mail_kinds": kinds, "mail_digest": choices.digest, "email_errors": {}}
