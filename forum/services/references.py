"""Which people a post mentions and which posts it quotes, kept as rows beside the cooked HTML.

The rows drive notifications and let a consent withdrawal find every post that names the person or quotes
them without scanning text.
"""

from __future__ import annotations

from forum import db
from forum.errors import N_, Conflict
from forum.models import PostMention, PostQuote
from forum.services.cooking import Cooked


async def check_references_current(conn, cooked: Cooked) -> None:
    """Mentions and quotes were resolved before the write's transaction. If a mentioned or quoted person
    withdrew in between, the cooked HTML would carry their name past the withdrawal: refuse, and let the
    author send again (it then cooks without them)."""
    if cooked.mentioned_user_ids:
        ids = list(cooked.mentioned_user_ids)
        marks = ",".join("?" * len(ids))
        row = await db.fetch_one(f"SELECT COUNT(*) AS n FROM profile WHERE user_id IN ({marks})", ids, conn)
        if row["n"] != len(ids):
            raise _stale()
    if cooked.quoted_posts:
        ids = [post for post, _author in cooked.quoted_posts]
        marks = ",".join("?" * len(ids))
        authors = {r["id"]: r["author_id"] for r in
                   await db.fetch_all(f"SELECT id, author_id FROM post WHERE id IN ({marks})", ids, conn)}
        if any(authors.get(post) != author for post, author in cooked.quoted_posts):
            raise _stale()


def _stale() -> Conflict:
    return Conflict(N_("Someone you mention or quote has just left the forum. Send your post again."),
                    code="stale_references")


async def record_references(conn, post_id: int, cooked: Cooked, *, replace: bool = False) -> None:
    await check_references_current(conn, cooked)
    if replace:
        await PostMention.filter(post_id=post_id).using_db(conn).delete()
        await PostQuote.filter(post_id=post_id).using_db(conn).delete()
    if cooked.mentioned_user_ids:
        await PostMention.bulk_create([PostMention(post_id=post_id, user_id=u) for u in cooked.mentioned_user_ids],
                                      using_db=conn)
    quoted = sorted({post for post, _author in cooked.quoted_posts if post != post_id})
    if quoted:
        await PostQuote.bulk_create([PostQuote(post_id=post_id, quoted_post_id=q) for q in quoted], using_db=conn)
