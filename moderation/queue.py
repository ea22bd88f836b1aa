"""The review queue: open cases, highest score first, each with its post, context, reasons and author history.

A fixed number of queries whatever the queue's length: cases with their posts, then flags, the previous
posts (context), the authors' records and their sanctions, each for all items at once.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from forum import db
from forum.services import live
from forum.viewer import Viewer
from moderation.permissions import check_moderator

LIMIT = 50
COUNTER = "mod_queue"  # the forum's live hub announces changes to the queue under this name


async def open_cases() -> int:
    row = await db.fetch_one("SELECT COUNT(*) AS n FROM mod_case WHERE status = 'open'")
    return int(row["n"]) if row else 0


async def queue_changed(conn) -> None:
    """A case opened, was decided, or an appeal came in: inside the transaction that changed it."""
    await live.counter_changed(COUNTER, conn)


async def wait_for_queue_change(known: int, *, within: float) -> int | None:
    """The number of open cases as soon as it differs from `known` or the queue was announced as changed."""
    return await live.wait_for_count_change(COUNTER, open_cases, known, within=within)

CASES_SQL = """
SELECT c.id AS case_id, c.score, c.detector_reason, c.detector_kinds, c.appeal_text, c.appealed_at, c.opened_at,
       p.id AS post_id, p.number, p.source, p.cooked, p.author_id, p.created_at, p.hidden_at, p.hidden_reason,
       p.deleted_at, t.id AS topic_id, t.title AS topic_title, t.slug AS topic_slug, t.locked,
       pr.username AS author, u.role AS author_role
FROM mod_case c JOIN post p ON p.id = c.post_id JOIN topic t ON t.id = p.topic_id
LEFT JOIN profile pr ON pr.user_id = p.author_id LEFT JOIN account u ON u.id = p.author_id
WHERE c.status = 'open'
ORDER BY c.score DESC, c.opened_at ASC, c.id ASC
LIMIT ?
"""


def _in(values: list) -> str:
    return ",".join("?" * len(values))


async def load_queue(viewer: Viewer | None, *, limit: int = LIMIT) -> list[dict]:
    check_moderator(viewer)
    items = await db.fetch_all(CASES_SQL, [limit])
    if not items:
        return []
    post_ids = [i["post_id"] for i in items]
    flags = await db.fetch_all(
        f"SELECT post_id, reason, note, weight, created_at FROM mod_flag WHERE status = 'open' "
        f"AND post_id IN ({_in(post_ids)}) ORDER BY id", post_ids)
    context_keys = [(i["topic_id"], i["number"] - 1) for i in items if i["number"] > 1]
    previous: dict[tuple[int, int], dict] = {}
    if context_keys:
        clause = " OR ".join("(p.topic_id = ? AND p.number = ?)" for _ in context_keys)
        rows = await db.fetch_all(
            "SELECT p.topic_id, p.number, p.cooked, p.deleted_at, p.hidden_at, pr.username FROM post p "
            f"LEFT JOIN profile pr ON pr.user_id = p.author_id WHERE {clause}",
            [v for key in context_keys for v in key])
        previous = {(r["topic_id"], r["number"]): r for r in rows}
    authors = sorted({i["author_id"] for i in items if i["author_id"] is not None})
    records: dict[int, dict] = {}
    sanctions: dict[int, dict] = {}
    if authors:
        for row in await db.fetch_all(
                f"SELECT user_id, posts_upheld, warnings, silences, suspensions FROM mod_user_record "
                f"WHERE user_id IN ({_in(authors)})", authors):
            records[row["user_id"]] = row
        now = datetime.now(UTC)
        for row in await db.fetch_all(
                f"SELECT user_id, kind, ends_at FROM mod_sanction WHERE lifted_at IS NULL AND ends_at > ? "
                f"AND user_id IN ({_in(authors)}) ORDER BY ends_at",
                [db.time_param(now), *authors]):
            sanctions[row["user_id"]] = {"kind": row["kind"], "ends_at": db.as_datetime(row["ends_at"])}
    by_post: dict[int, list[dict]] = {}
    for flag in flags:
        flag["created_at"] = db.as_datetime(flag["created_at"])
        by_post.setdefault(flag["post_id"], []).append(flag)
    for item in items:
        for name in ("appealed_at", "opened_at", "created_at", "hidden_at", "deleted_at"):
            item[name] = db.as_datetime(item[name])
        item["locked"] = db.as_bool(item["locked"])
        item_flags = by_post.get(item["post_id"], [])
        item["flags"] = [{"reason": f["reason"], "note": f["note"], "weight": f["weight"],
                          "created_at": f["created_at"]} for f in item_flags]
        item["reasons"] = dict(Counter(f["reason"] for f in item_flags))
        item["kinds"] = [k for k in (item.pop("detector_kinds") or "").split(",") if k]
        item["context"] = previous.get((item["topic_id"], item["number"] - 1))
        record = records.get(item["author_id"], {})
        item["history"] = {name: record.get(name, 0) for name in ("posts_upheld", "warnings", "silences",
                                                                  "suspensions")}
        item["sanction"] = sanctions.get(item["author_id"])
    return items
