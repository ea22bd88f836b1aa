"""Names that cannot pass for someone else's: handles and display names compared by look-alike skeleton.

Every member claims the skeleton (forum.lookalike: UTS #39 through ICU, case and invisible characters folded,
spaces and punctuation left out) of their handle, and of their display name when it differs from the handle's.
The claims share one unique index (`name_claim.skeleton`), so a handle or display name that equals or looks like
another member's handle or display name is refused, even when two members register or rename at the same moment:
"rօօtadmin" (Armenian օ), "rootadmın" (dotless ı) and a display name "Root Admin" all meet "rootadmin". A display
name may not be, or contain as a word, a staff role's name either.
"""

from __future__ import annotations

import unicodedata

from tortoise.exceptions import IntegrityError

from forum.errors import N_, ValidationFailed
from forum.lookalike import skeleton
from forum.models import NameClaim, Role

HANDLE, DISPLAY = "handle", "display"
MAX_SKELETON = 255
LOOKS_TAKEN = N_("That name is taken or looks too much like another member's name.")
# staff roles by every name the forum shows them under (en, nb), and the forum's own voices
ROLE_WORDS = {*(r.value for r in Role if r != Role.MEMBER), "administrator", "admin", "mod", "moderator",
              "moderatorer", "administrasjon", "ansatt", "ansatte", "stab", "staff", "system", "forum", "support"}


def name_skeleton(name: str) -> str:
    """What a name looks like: its skeleton without spaces and punctuation ("root.admin" looks like "rootadmin")."""
    return "".join(ch for ch in skeleton(name) if unicodedata.category(ch)[0] not in "ZP")


_ROLE_SKELETONS = {name_skeleton(word) for word in ROLE_WORDS}


def _reserved() -> set[str]:
    from forum.services.usernames import RESERVED

    return {name_skeleton(word) for word in RESERVED} | _ROLE_SKELETONS


RESERVED_SKELETONS = _reserved()


async def handle_claimed(handle: str, conn=None) -> bool:
    return await NameClaim.filter(skeleton=name_skeleton(handle)).using_db(conn).exists()


async def claim_handle(conn, profile_id: int, handle: str) -> None:
    """Inside the registration's transaction; an IntegrityError there means someone took a look-alike meanwhile."""
    await NameClaim.create(profile_id=profile_id, kind=HANDLE, skeleton=name_skeleton(handle)[:MAX_SKELETON],
                           using_db=conn)


def check_display_name(display_name: str) -> None:
    words = {name_skeleton(w) for w in display_name.replace("-", " ").replace("_", " ").replace(".", " ").split()}
    if name_skeleton(display_name) in _ROLE_SKELETONS or words & _ROLE_SKELETONS:
        raise ValidationFailed(fields={"display_name": N_("A display name may not name a staff role.")})
    if len(name_skeleton(display_name)) > MAX_SKELETON:
        raise ValidationFailed(fields={"display_name": N_("Too long.")})


async def claim_display_name(conn, profile, display_name: str) -> None:
    """Replaces the profile's display-name claim, inside the profile write's transaction. Raises
    ValidationFailed on `display_name` when the name is, or looks like, another member's handle or display name."""
    await NameClaim.filter(profile_id=profile.id, kind=DISPLAY).using_db(conn).delete()
    wanted = name_skeleton(display_name)
    if not wanted or wanted == name_skeleton(profile.username):
        return  # no display name, or the member's own handle written another way
    if await NameClaim.filter(skeleton=wanted).exclude(profile_id=profile.id).using_db(conn).exists():
        raise ValidationFailed(fields={"display_name": LOOKS_TAKEN})
    try:
        await NameClaim.create(profile_id=profile.id, kind=DISPLAY, skeleton=wanted, using_db=conn)
    except IntegrityError:  # claimed between the check and the insert
        raise ValidationFailed(fields={"display_name": LOOKS_TAKEN}) from None
