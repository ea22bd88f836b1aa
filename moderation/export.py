"""What moderation holds about a user, for their data export (GDPR art. 15): the EXPORTING event."""

from __future__ import annotations

from forum import events
from moderation.models import Case, Flag, Sanction, UserRecord


async def on_exporting(export: events.Export) -> None:
    user_id = export.user_id
    flags = await (Flag.filter(reporter_id=user_id).order_by("id")
                   .values("post_id", "reason", "note", "status", "created_at", "resolved_at"))
    sanctions = await (Sanction.filter(user_id=user_id).order_by("id")
                       .values("kind", "reason", "starts_at", "ends_at", "lifted_at"))
    appeals = await (Case.filter(post__author_id=user_id, appeal_text__isnull=False).order_by("id")
                     .values("post_id", "appeal_text", "appealed_at", "status", "resolution"))
    record = await UserRecord.filter(user_id=user_id).values(
        "flags_upheld", "flags_rejected", "posts_upheld", "warnings", "silences", "suspensions")
    export.sections["flags_filed"] = [{**f, "reason": str(f["reason"]), "status": str(f["status"])} for f in flags]
    export.sections["sanctions"] = [{**s, "kind": str(s["kind"])} for s in sanctions]
    export.sections["appeals"] = [{**a, "status": str(a["status"])} for a in appeals]
    export.sections["moderation_record"] = record[0] if record else None
