"""The composer's preview: cooked like a post, and limited like one, since cooking is the costly part.

A preview needs what posting needs (signed in, current consent, not silenced), and each account gets at most
PREVIEWS_PER_MINUTE and PREVIEWS_PER_HOUR of them (staff are exempt; FORUM_RATE_LIMITS=off lifts it). The hit is
counted before cooking, atomically (forum/services/rate_limits.py), so a burst of parallel previews cannot all
get through.
"""

from __future__ import annotations

from forum.db import write_transaction
from forum.errors import N_
from forum.services import rate_limits
from forum.services.cooking import check_source, cook_source
from forum.services.participation import check_can_participate
from forum.viewer import Viewer

PREVIEWS_PER_MINUTE = 20
PREVIEWS_PER_HOUR = 200


async def preview_source(viewer: Viewer | None, source: str) -> str:
    """The sanitised HTML `source` would be stored as; nothing of the post is stored."""
    source = check_source(source)
    async with write_transaction() as conn:
        await check_can_participate(viewer, conn, action="preview")
        if rate_limits.enabled() and not viewer.is_staff:
            await rate_limits.count_hit(
                conn, f"preview:{viewer.id}", [(60, PREVIEWS_PER_MINUTE), (3600, PREVIEWS_PER_HOUR)],
                message=N_("You are previewing very often. Please wait a little before previewing again."),
                code="preview_rate_limited")
    return (await cook_source(viewer, source)).html
