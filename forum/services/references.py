"""Which people a post mentions and which posts it quotes, kept as rows beside the cooked HTML.

The rows drive notifications and let a consent withdrawal find every post that names the person or quotes
them without scanning text.
"""

from __future__ import annotations

from forum.models import PostMention, PostQuote
from forum.services.cooking import Cooked


async def record_references(conn, post_id: int, cooked: Cooked, *, replace: bool = False) -> None:
    if replace:
        await PostMention.filter(post_id=post_id).using_db(conn).delete()
        await PostQuote.filter(post_id=post_id).using_db(conn).delete()
    if cooked.mentioned_user_ids:
        await PostMention.bulk_create([PostMention(post_id=post_id, user_id=u) for u in cooked.mentioned_user_ids],
                                      using_db=conn)
    quoted = sorted({post for post, _author in cooked.quoted_posts if post != post_id})
    if quoted:
        await PostQuote.bulk_create([PostQuote(post_id=post_id, quoted_post_id=q) for q in quoted], using_db=conn)
