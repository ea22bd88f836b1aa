"""The gate in front of every participating write (post, reply, edit, like, profile change).

It runs inside the write's transaction, so whatever it reads is consistent with what the write stores.
"""

from __future__ import annotations

from forum import db, events
from forum.errors import N_, ConsentRequired, NotAuthenticated
from forum.viewer import Viewer


async def check_can_participate(viewer: Viewer | None, conn, *, action: str) -> None:
    """`action` tells PARTICIPATING's handlers what is about to happen (moderation refuses silenced members)."""
    from forum.services.consent import ConsentStatus, participation_status

    if viewer is None:
        raise NotAuthenticated()
    if db.dialect(conn) != "sqlite":
        # the lock a withdrawal takes FOR UPDATE: a post racing it is anonymised with the rest or refused
        await db.fetch_one("SELECT id FROM account WHERE id = ? FOR SHARE", [viewer.id], conn)
    status = await participation_status(viewer, conn)  # staff on the employment basis need no consent
    if status == ConsentStatus.OUTDATED:
        raise ConsentRequired(N_("The forum policy has changed. Read it and give your consent again to take part."))
    if status != ConsentStatus.GRANTED:
        raise ConsentRequired()
    if await db.fetch_one("SELECT 1 AS one FROM profile WHERE user_id = ?", [viewer.id], conn) is None:
        raise ConsentRequired(N_("Choose a username and give your consent to take part."))
    await events.emit(events.PARTICIPATING, events.Participation(viewer.id, action, conn))
