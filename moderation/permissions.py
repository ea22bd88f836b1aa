"""Who may moderate, and whom. Members (and staff who are not moderators) get "not found" for all of it.

Rank is the forum's (forum.permissions.roles.outranks): a moderator acts on members and staff, an admin on
anyone, nobody on themselves; the forum's own post rules (edit, delete) use the same rank.
"""

from __future__ import annotations

from forum.errors import N_, Forbidden, NotAuthenticated, NotFound
from forum.models import User
from forum.permissions import NOT_FOUND, SIGN_IN, Refusal, enforce
from forum.permissions.facts import PostFacts
from forum.permissions.posts import refuse_use
from forum.permissions.roles import outranks
from forum.viewer import Viewer

# what a moderator does to a post's text: only to posts whose author they outrank (anyone may flag any post)
CHANGES_POST = ("hide", "delete", "edit")


def check_moderator(viewer: Viewer | None) -> Viewer:
    if viewer is None:
        raise NotAuthenticated()
    if not viewer.is_moderator:
        raise NotFound()
    return viewer


def is_moderator(viewer: Viewer | None) -> bool:
    """Who sees the moderation queue in the main navigation: whom check_moderator lets in."""
    return viewer is not None and viewer.is_moderator


def check_can_moderate_post(viewer: Viewer, post: PostFacts, action: str) -> None:
    """Hiding, deleting or editing a peer's or an admin's post is an admin's decision (a moderator flags it)."""
    if action in CHANGES_POST and post.author_id != viewer.id and not outranks(viewer, post.author_role):
        raise Forbidden(N_("Only an admin can change a moderator's or admin's post."), code="outranked")


OWN_POST_FLAG = Refusal(Forbidden, N_("You cannot flag your own post."), "own_post")


def refuse_flag(viewer: Viewer | None, post: PostFacts) -> Refusal | None:
    """Anyone signed in flags a visible post of someone else's (a silenced member is refused in the write)."""
    if viewer is None:
        return SIGN_IN
    if refusal := refuse_use(post):
        return refusal
    if post.author_id == viewer.id:
        return OWN_POST_FLAG
    return None


def refuse_appeal(viewer: Viewer | None, post: PostFacts) -> Refusal | None:
    """Only the author appeals, and only a hidden post that is not deleted; to others there is nothing."""
    if viewer is None:
        return SIGN_IN
    if post.author_id != viewer.id or not post.hidden or post.deleted:
        return NOT_FOUND
    return None


def check_can_flag(viewer: Viewer | None, post: PostFacts) -> None:
    enforce(refuse_flag(viewer, post))


def check_can_appeal(viewer: Viewer | None, post: PostFacts) -> None:
    enforce(refuse_appeal(viewer, post))


HIDDEN_BY_MODERATOR = N_("This post was hidden by a moderator.")
HIDDEN_FOR_REVIEW = N_("This post is hidden pending review.")  # flags, or a detector's hold


def post_card(viewer: Viewer | None, post: PostFacts, row: dict) -> None:
    """What moderation adds to each post card (a forum.hooks post-card hook): its links, from the same rules as
    the pages they lead to, and why a hidden post is hidden."""
    actions = []
    if refuse_appeal(viewer, post) is None:
        actions.append(("appeal_post", N_("Appeal")))
    if refuse_flag(viewer, post) is None:
        actions.append(("flag_post", N_("Flag")))
    row["card_actions"] = tuple(actions)
    if row.get("hidden_at") is not None:
        row["hidden_notice"] = HIDDEN_BY_MODERATOR if row.get("hidden_reason") == "moderator" else HIDDEN_FOR_REVIEW


async def access_user_to_moderate(viewer: Viewer, user_id: int) -> User:
    """Moderators act on members and staff; only admins act on moderators and admins; nobody on themselves.

    This is what keeps a moderator from escalating: they cannot silence or suspend their peers or superiors.
    """
    user = await User.filter(id=user_id).first()
    if user is None:
        raise NotFound()
    if user.id == viewer.id:
        raise Forbidden(N_("You cannot take moderation action against yourself."), code="self_moderation")
    if not outranks(viewer, user.role.value):
        raise Forbidden(N_("Only an admin can take action against a moderator or admin."), code="outranked")
    return user
