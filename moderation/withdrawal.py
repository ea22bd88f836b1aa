"""When a member withdraws consent or is erased: detach them from moderation records, inside the same write.

- Flags they filed stay (the post's review still needs them) but lose the reporter; their one-open-flag key
  and flag rate limit lapse with it.
- Appeals they wrote on their own (now anonymised) posts lose their text; the "appealed once" mark stays.
- Free text others wrote (flag notes, appeal texts, sanction reasons, audit-log reasons) is scrubbed of their
  handle and name.
- Their account record (counters) and sanctions stay with the account, never with post ids; erasure deletes
  the account and, with it, those rows. The audit log's facts (ids, actions, details, times) stay exactly as
  they are; only a reason that names them is rewritten (the triggers allow that column alone, migration 0010).
"""

from __future__ import annotations

from forum import events
from moderation.models import AuditEntry, Case, Flag, Sanction

BATCH = 500


async def _scrub_column(conn, model, column: str, scrub, **filters) -> int:
    changed, after = 0, 0
    while True:
        rows = await (model.filter(id__gt=after, **filters).using_db(conn).order_by("id").limit(BATCH)
                      .values_list("id", column))
        if not rows:
            return changed
        for row_id, text in rows:
            if text:
                clean = scrub(text)
                if clean != text:
                    await model.filter(id=row_id).using_db(conn).update(**{column: clean})
                    changed += 1
        after = rows[-1][0]


async def on_withdrawal(w: events.Withdrawal) -> None:
    conn = w.conn
    unlinked = await Flag.filter(reporter_id=w.user_id).using_db(conn).update(reporter_id=None, open_key=None)
    appeals = 0
    if w.post_ids:
        for start in range(0, len(w.post_ids), BATCH):
            chunk = w.post_ids[start:start + BATCH]
            appeals += await Case.filter(post_id__in=chunk, appeal_text__isnull=False).using_db(conn).update(
                appeal_text="")
    scrubbed = await _scrub_column(conn, Flag, "note", w.scrub)
    scrubbed += await _scrub_column(conn, Case, "appeal_text", w.scrub)
    scrubbed += await _scrub_column(conn, Sanction, "reason", w.scrub)
    scrubbed += await _scrub_column(conn, AuditEntry, "reason", w.scrub, reason__not="")
    for name, count in (("moderation_flags_unlinked", unlinked), ("moderation_appeals_cleared", appeals),
                        ("moderation_texts_scrubbed", scrubbed)):
        if count:
            w.counts[name] = w.counts.get(name, 0) + count
