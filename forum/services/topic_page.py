"""Everything one page of a topic shows, for the page and the API alike, with the viewer's permissions."""

from __future__ import annotations

from forum.errors import NotFound
from forum.models import ReadAccess, StartTopics, TopicKind
from forum.services import reads
from forum.services.permissions import readable_levels
from forum.viewer import Viewer


def _post_flags(viewer: Viewer | None, topic: dict, post: dict, liked: set[int]) -> dict:
    visible = post["deleted_at"] is None and post["hidden_at"] is None
    own = viewer is not None and post["author_id"] == viewer.id
    moderator = viewer is not None and viewer.is_moderator
    open_topic = not topic["locked"] or (viewer is not None and viewer.is_staff)
    post["visible"] = visible
    post["accepted"] = topic["accepted_post_id"] == post["id"]
    post["liked"] = post["id"] in liked
    post["can_like"] = viewer is not None and visible and not own
    post["can_edit"] = post["deleted_at"] is None and open_topic and (moderator or (own and post["hidden_at"] is None))
    post["can_delete"] = post["deleted_at"] is None and (own or moderator)
    post["can_history"] = post["edited_at"] is not None and (own or moderator)
    post["can_accept"] = (visible and post["number"] > 1 and topic["kind"] == TopicKind.QUESTION.value
                          and viewer is not None and (topic["author_id"] == viewer.id or viewer.is_staff))
    post["can_quote"] = viewer is not None and visible and open_topic
    post["show_body"] = visible or moderator
    post["can_flag"] = viewer is not None and visible and not own  # moderation refuses silenced members itself
    post["can_appeal"] = own and post["hidden_at"] is not None and post["deleted_at"] is None
    return post


async def readable_topic_row(viewer: Viewer | None, topic_id: int) -> dict:
    """The topic's row, or NotFound when it is missing, in a category the viewer cannot read, or deleted
    (moderators still see deleted topics)."""
    topic = await reads.topic_row(topic_id)
    if topic is None or topic["read_access"] not in readable_levels(viewer):
        raise NotFound()
    if topic["deleted_at"] is not None and not (viewer and viewer.is_moderator):
        raise NotFound()
    return topic


async def load_topic_page(viewer: Viewer | None, topic_id: int, page: int) -> dict:
    topic = await readable_topic_row(viewer, topic_id)
    pages = reads.page_count(topic["last_number"])
    if page < 1 or page > pages:
        raise NotFound()
    posts = await reads.posts_page(topic_id, page)
    liked: set[int] = set()
    read_before, watching = 0, False
    if viewer is not None:
        liked, read_before, watching = await reads.viewer_state(viewer, topic_id, [p["id"] for p in posts])
        if posts:
            await reads.mark_read_up_to(viewer, topic_id, posts[-1]["number"], read_before)
    for post in posts:
        _post_flags(viewer, topic, post, liked)
        post["unread"] = viewer is not None and post["number"] > read_before and read_before > 0
    accepted = None
    if page == 1 and topic["accepted_post_id"]:
        accepted = await reads.accepted_post(topic["accepted_post_id"])
    topic["solved"] = topic["kind"] == TopicKind.QUESTION.value and topic["accepted_post_id"] is not None
    topic["staff_category"] = topic["start_topics"] == StartTopics.STAFF.value
    topic["members_only"] = topic["read_access"] != ReadAccess.PUBLIC.value
    consent = None
    if viewer is not None:
        from forum.services.consent import participation_status

        consent = (await participation_status(viewer)).value
    can_reply = viewer is not None and topic["deleted_at"] is None and (not topic["locked"] or viewer.is_staff)
    can_moderate = viewer is not None and viewer.is_staff
    move_targets = []
    if can_moderate:  # staff only: one more query for the "move to" list
        from forum.services.listing import visible_categories

        move_targets = [{"slug": c.slug, "name": c.name} for c in await visible_categories(viewer)]
    return {"topic": topic, "posts": posts, "page": page, "pages": pages, "accepted": accepted,
            "can_reply": can_reply, "watching": watching, "consent": consent,
            "can_moderate": can_moderate, "move_targets": move_targets,
            "page_end": page * reads.POSTS_PER_PAGE}  # the last post number this page can hold


async def load_posts_after(viewer: Viewer | None, topic_id: int, after: int) -> dict:
    """The posts after number `after` (at most a page), flagged for the viewer like the topic page's: what a
    reply sent without reloading and the live view insert. Reading them marks them read, as the page does."""
    topic = await readable_topic_row(viewer, topic_id)
    posts = await reads.posts_after(topic_id, after)
    liked: set[int] = set()
    if viewer is not None and posts:
        liked, read_before, _watching = await reads.viewer_state(viewer, topic_id, [p["id"] for p in posts])
        await reads.mark_read_up_to(viewer, topic_id, posts[-1]["number"], read_before)
    for post in posts:
        _post_flags(viewer, topic, post, liked)
        post["unread"] = False
    return {"topic": topic, "posts": posts, "pages": reads.page_count(topic["last_number"])}
