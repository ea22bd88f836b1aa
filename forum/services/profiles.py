"""Changing the public forum profile (display name, bio). A participating write, behind the same gate."""

from __future__ import annotations

import unicodedata

from forum.db import write_transaction
from forum.errors import N_, ValidationFailed
from forum.models import Profile
from forum.services import name_claims
from forum.services.participation import check_can_participate
from forum.services.text import text_is_clean
from forum.viewer import Viewer

MAX_DISPLAY_NAME, MAX_BIO = 64, 2000


def _clean(value: str, limit: int, field: str, *, single_line: bool) -> str:
    value = unicodedata.normalize("NFC", value if isinstance(value, str) else "").strip()
    if single_line:
        value = " ".join(value.split())
    bad = {"Cc", "Cf"} if single_line else {"Cf"}
    if not text_is_clean(value) or any(unicodedata.category(c) in bad and c not in "\n\t" for c in value):
        raise ValidationFailed(fields={field: N_("Contains characters that are not allowed.")})
    if len(value) > limit:
        raise ValidationFailed(fields={field: N_("Too long.")})
    return value


async def update_profile(viewer: Viewer | None, *, display_name: str | None = None, bio: str | None = None,
                         public_profile: bool | None = None) -> Profile:
    """`public_profile`: the member lets search engines index their profile page (noindex otherwise)."""
    changes: dict = {}
    if public_profile is not None:
        changes["public_profile"] = bool(public_profile)
    if display_name is not None:
        changes["display_name"] = _clean(display_name, MAX_DISPLAY_NAME, "display_name", single_line=True)
        name_claims.check_display_name(changes["display_name"])
    if bio is not None:
        changes["bio"] = _clean(bio, MAX_BIO, "bio", single_line=False)
    async with write_transaction() as conn:
        await check_can_participate(viewer, conn, action="profile")
        if "display_name" in changes:
            profile = await Profile.get(user_id=viewer.id).using_db(conn)
            await name_claims.claim_display_name(conn, profile, changes["display_name"])
        if changes:
            await Profile.filter(user_id=viewer.id).using_db(conn).update(**changes)
        return await Profile.get(user_id=viewer.id).using_db(conn)

