"""Everything one page of a topic shows, for the page and the API alike, with the viewer's permissions.

The flags are the answers of forum.permissions' rules for this viewer: the templates only read them.
"""

from __future__ import annotations

from forum import hooks
from forum.errors import NotFound
from forum.models import ReadAccess, StartTopics
from forum.permissions.answers import can_accept
from forum.permissions.attachments import FileFacts, can_replace_file, can_see_file
from forum.permissions.facts import PostFacts, TopicFacts
from forum.permissions.posts import can_delete, can_edit, can_like, can_quote, can_read_history, can_see_text
from forum.permissions.topics import can_manage_topic, can_reply, refuse_see
from forum.services import attachments, topic_queries
from forum.services.categories import visible_categories
from forum.viewer import Viewer


def _post_flags(viewer: Viewer | None, topic: TopicFacts, post: dict, liked: set[int]) -> dict:
    facts = PostFacts.of_row(post, topic.id)
    post["visible"] = facts.visible
    post["accepted"] = topic.accepted_post_id == post["id"]
    post["liked"] = post["id"] in liked
    post["can_like"] = can_like(viewer, facts)
    post["can_edit"] = can_edit(viewer, topic, facts)
    post["can_delete"] = can_delete(viewer, facts)
    post["can_history"] = can_read_history(viewer, facts)
    post["can_accept"] = can_accept(viewer, topic, facts)
    post["can_quote"] = can_quote(viewer, topic, facts)
    post["show_body"] = can_see_text(viewer, facts)
    hooks.post_card(viewer, facts, post)  # moderation adds its links (flag, appeal) and hidden notices
    for file in post.get("files", ()):
        file_facts = FileFacts.of_row(file)
        file["visible"] = can_see_file(viewer, topic, facts, file_facts)
        file["can_replace"] = file_facts.hidden and can_replace_file(viewer, topic, facts, file_facts)
    return post


async def _with_files(posts: list[dict]) -> None:
    """One more query, only when a post on the page has files (the posts query says which)."""
    files = await attachments.of_posts([p["id"] for p in posts if p.get("has_files")])
    for post in posts:
        post["files"] = files.get(post["id"], ())  # a tuple: the post card keeps its key hashable


async def readable_topic_row(viewer: Viewer | None, topic_id: int) -> tuple[dict, TopicFacts]:
    """The topic's row and its facts, or NotFound when the viewer may not see it (forum.permissions.topics)."""
    topic = await topic_queries.topic_row(topic_id)
    if topic is None:
        raise NotFound()
    facts = TopicFacts.of_row(topic)
    if refuse_see(viewer, facts):
        raise NotFound()
    return topic, facts


async def _consent_needed(viewer: Viewer | None) -> str | None:
    """What stands between a signed-in viewer and taking part: "outdated" (consent to an older policy),
    "missing" (no consent, or no username yet), or None."""
    from forum.services.consent import ConsentStatus, participation_status

    if viewer is None:
        return None
    status = await participation_status(viewer)  # staff take part on the employment basis
    if status == ConsentStatus.OUTDATED:
        return "outdated"
    if status != ConsentStatus.GRANTED or not viewer.has_profile:
        return "missing"
    return None


async def load_topic_page(viewer: Viewer | None, topic_id: int, page: int, *, with_first: bool = False) -> dict:
    """`with_first`: `first_post` is the topic's first post on every page (None if gone), at no extra query."""
    topic, facts = await readable_topic_row(viewer, topic_id)
    pages = topic_queries.page_count(topic["last_number"])
    if page < 1 or page > pages:
        raise NotFound()
    posts = await topic_queries.posts_page(topic_id, page, with_first=with_first)
    first_post = posts[0] if posts and posts[0]["number"] == 1 else None
    if page > 1 and first_post is not None:
        posts = posts[1:]
    liked: set[int] = set()
    read_before, watching = 0, False
    if viewer is not None:
        liked, read_before, watching = await topic_queries.viewer_state(viewer, topic_id, [p["id"] for p in posts])
        if posts:
            await topic_queries.mark_read_up_to(viewer, topic_id, posts[-1]["number"], read_before)
    await _with_files(posts)
    for post in posts:
        _post_flags(viewer, facts, post, liked)
        post["unread"] = viewer is not None and post["number"] > read_before and read_before > 0
    accepted = None
    if page == 1 and topic["accepted_post_id"]:
        accepted = await topic_queries.accepted_post(topic["accepted_post_id"])
    topic["solved"] = facts.solved
    topic["staff_category"] = topic["start_topics"] == StartTopics.STAFF.value
    topic["members_only"] = topic["read_access"] != ReadAccess.PUBLIC.value
    consent_needed = await _consent_needed(viewer)
    can_manage = can_manage_topic(viewer)
    move_targets = []
    if can_manage:  # staff only: one more query for the "move to" list
        move_targets = [{"slug": c.slug, "name": c.name} for c in await visible_categories(viewer)]
    return {"topic": topic, "posts": posts, "page": page, "pages": pages, "accepted": accepted,
            "can_reply": can_reply(viewer, facts), "watching": watching, "consent_needed": consent_needed,
            "can_manage_topic": can_manage, "move_targets": move_targets,
            "page_end": page * topic_queries.POSTS_PER_PAGE,  # the last post number this page can hold
            "first_post": first_post}


async def load_posts_after(viewer: Viewer | None, topic_id: int, after: int) -> dict:
    """The posts after number `after` (at most a page), flagged for the viewer like the topic page's: what a
    reply sent without reloading and the live view insert. Reading them marks them read, as the page does."""
    topic, facts = await readable_topic_row(viewer, topic_id)
    posts = await topic_queries.posts_after(topic_id, after)
    liked: set[int] = set()
    if viewer is not None and posts:
        liked, read_before, _watching = await topic_queries.viewer_state(viewer, topic_id, [p["id"] for p in posts])
        await topic_queries.mark_read_up_to(viewer, topic_id, posts[-1]["number"], read_before)
    await _with_files(posts)
    for post in posts:
        _post_flags(viewer, facts, post, liked)
        post["unread"] = False
    return {"topic": topic, "posts": posts, "pages": topic_queries.page_count(topic["last_number"])}
