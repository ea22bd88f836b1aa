"""Which of a withdrawing member's names are rewritten in which text: each rule one function, with its reason.

The names are every handle and display name the account has had (`name_history`, migration 0011), found in any
spelling by forum.services.names. The replacement is the neutral "former member" wording.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from forum import db
from forum.services import search
from forum.services.names import Matcher, name_words

# A name (or part of one) found in at least this many visible posts that have nothing to do with the member
# (not theirs, not in a topic they wrote in or were mentioned, quoted or replied to in) is an ordinary word of
# this forum, like "invoice" or "Hei": rewriting it would change other people's words that are not about the
# person. FORUM_WITHDRAWAL_ORDINARY_POSTS; `configure` at start-up.
ORDINARY_WORD_POSTS = 3
# how many of a word's newest matches in the search index are looked at to count the unrelated ones
ORDINARY_SAMPLE = 200
# display-name parts shorter than this ("Li", "Bo") are used in the member's own text only
MIN_PART_CHARS = 3


def configure(ordinary_posts: int) -> None:
    global ORDINARY_WORD_POSTS
    ORDINARY_WORD_POSTS = max(1, int(ordinary_posts))


@dataclass
class Identity:
    user_id: int
    handles: list[str]
    display_names: list[str]

    @property
    def full_names(self) -> list[str]:
        return list(dict.fromkeys(self.handles + self.display_names))

    @property
    def parts(self) -> list[str]:
        """Each word of each display name ("Ærlend", "Østgård", "Bø" of "Ærlend Østgård-Bø") and the
        hyphenated surname as one ("Østgård-Bø")."""
        out: list[str] = []
        for name in self.display_names:
            for chunk in name.split():
                out.append(chunk)
                out += chunk.split("-")
        return [p for p in dict.fromkeys(out) if name_words(p)]


async def load_identity(conn, user_id: int) -> Identity | None:
    profile = await db.fetch_one("SELECT username, display_name FROM profile WHERE user_id = ?", [user_id], conn)
    if profile is None:
        return None
    handles, displays = [profile["username"]], [profile["display_name"]] if profile["display_name"] else []
    for row in await db.fetch_all("SELECT kind, name FROM name_history WHERE user_id = ? ORDER BY id",
                                  [user_id], conn):
        (handles if row["kind"] == "handle" else displays).append(row["name"])
    return Identity(user_id, list(dict.fromkeys(handles)), list(dict.fromkeys(d for d in displays if d)))


RELATED_TOPICS = (
    "SELECT topic_id AS id FROM post WHERE author_id = ? "
    "UNION SELECT p.topic_id FROM post_mention m JOIN post p ON p.id = m.post_id WHERE m.user_id = ? "
    "UNION SELECT p.topic_id FROM post_quote q JOIN post p ON p.id = q.post_id "
    "JOIN post o ON o.id = q.quoted_post_id WHERE o.author_id = ?")


async def related_topics(conn, user_id: int) -> set[int]:
    """The topics that are about the member: they wrote in them, or were mentioned, quoted or replied to there.
    Read before their posts lose the author, by index only (RELATED_TOPICS).

    Replies to them need no query of their own: a reply is always in the topic of the post it answers
    (`create_reply` refuses any other, and nothing moves a post to another topic), so the topics they wrote in
    hold every reply to them. Asking for them by `reply_to_id`, which has no index, scanned every post (0.7 s
    of the withdrawal at 1,000,000 posts)."""
    rows = await db.fetch_all(RELATED_TOPICS, [user_id] * 3, conn)
    return {r["id"] for r in rows}


async def unrelated_posts_with(conn, name: str, user_id: int, related: set[int]) -> tuple[int, int]:
    """How many of the newest ORDINARY_SAMPLE visible posts holding `name` (the search index's words) are
    neither the member's nor in a topic about them, and by how many authors."""
    words = name_words(name)
    if not words:
        return 0, 0
    if conn.capabilities.dialect == "sqlite":
        ids: list[int] = []
        for table in (search.RECENT, search.OLDER):
            ids += [r["id"] for r in await db.fetch_all(
                f"SELECT rowid AS id FROM {table} WHERE {table} MATCH ? ORDER BY rowid DESC LIMIT {ORDINARY_SAMPLE}",
                ['"' + " ".join(words) + '"'], conn)]
    else:
        ids = [r["id"] for r in await db.fetch_all(
            "SELECT post_id AS id FROM search_index WHERE tsv @@ phraseto_tsquery('simple', ?) "
            f"ORDER BY post_id DESC LIMIT {ORDINARY_SAMPLE}", [" ".join(words)], conn)]
    rows = await db.fetch_in("SELECT author_id, topic_id FROM post WHERE id IN ({in})", sorted(set(ids)), conn)
    unrelated = [r for r in rows if r["author_id"] != user_id and r["topic_id"] not in related]
    return len(unrelated), len({r["author_id"] for r in unrelated})


def is_ordinary_word(unrelated_posts: int, authors: int) -> bool:
    """A name written in ORDINARY_WORD_POSTS or more posts unrelated to the member, by at least two people, is a
    word of the forum, not (only) their name: it is never rewritten in text that is not about them, and the
    answer says so. (The price: a real name that several people write about in unrelated topics stays there;
    the member sees it listed and can ask the moderators.)"""
    return unrelated_posts >= ORDINARY_WORD_POSTS and authors >= 2


@dataclass
class Scope:
    identity: Identity
    related: set[int]
    ordinary: dict[str, int] = field(default_factory=dict)  # name -> unrelated posts holding it

    def _keep(self, names: list[str]) -> list[str]:
        return [n for n in names if n not in self.ordinary]

    def own_text(self) -> Matcher:
        """The member's own posts, titles and revisions: every name and each part of the display names, so a
        sign-off ("– Ærlend", "mvh ærlend Østgård-Bø") cannot tie the anonymous posts to them or each other."""
        return Matcher(self._keep(self.identity.full_names + self.identity.parts))

    def own_sign_offs(self) -> Matcher:
        """The member's names that are ordinary words, which `own_text` leaves in their own posts: an ordinary
        word identifies nobody, and "Send the invoice" must still say so. Where one signs a post (`sign_off`)
        it is rewritten all the same, since a signature ties the anonymous posts to the person and to each
        other."""
        return Matcher([n for n in self.identity.full_names + self.identity.parts if n in self.ordinary])

    def others_text(self) -> Matcher:
        """Others' text anywhere (posts, revisions, titles, profiles, notifications, category texts, moderation's
        free text): the full display names and the handles, in every spelling. A first name alone is too
        likely someone else's there."""
        return Matcher(self._keep(self.identity.full_names))

    def related_topic_text(self) -> Matcher:
        """Others' text in a topic about the member: the parts of the display names too ("Spør Ærlend om dette",
        "Østgård vet mer"), since the context gives the person away."""
        parts = [p for p in self.identity.parts if len(p) >= MIN_PART_CHARS]
        return Matcher(self._keep(self.identity.full_names + parts))

    def direct_references(self) -> Matcher:
        """Mentions of the handle ("@erlendob") are always rewritten, an ordinary word or not: they point at the
        person. (Quote and reply attributions and notifications are re-made without them elsewhere.)"""
        return Matcher(self.identity.handles, mention=True)

    def left_out(self) -> list[dict]:
        return [{"name": name, "reason": "ordinary_word", "unrelated_posts": n}
                for name, n in sorted(self.ordinary.items())]


# what closes a post before the writer's name (Norwegian and English), case-folded
CLOSINGS = ("mvh", "hilsen", "vennlig hilsen", "med vennlig hilsen", "beste hilsen", "hilsen fra", "takk",
            "tusen takk", "på forhånd takk", "regards", "best regards", "kind regards", "thanks", "thank you",
            "cheers", "br", "sincerely", "yours")
_DASHES = "-–—~"


def sign_off(matcher: Matcher, text: str, replacement: str) -> str:
    """`text` with the name that signs it replaced: on its last line with text, the last name found there when
    nothing but punctuation follows it and it stands alone, after a dash ("– Hei", "Takk! — invoice") or after
    a closing word ("mvh The", "Best regards, eksport"). Anywhere else the name is an ordinary word of the post
    and stays."""
    if not matcher or not text:
        return text
    body = text.rstrip()
    start = body.rfind("\n") + 1
    line = body[start:]
    found = matcher.matches(line) if matcher.may_find(line) else []
    if not found:
        return text
    m = found[-1]
    if line[m.end:].strip(" \t*_~`.,!?:;)"):
        return text
    lead = line[:m.start].rstrip(" \t*_~`,:").casefold()
    if lead and lead[-1] not in _DASHES and not any(lead == c or lead.endswith(" " + c) for c in CLOSINGS):
        return text
    return text[:start] + matcher.replace(line, m, replacement) + text[start + len(line):]


async def build_scope(conn, identity: Identity) -> Scope:
    """Reads what the rules need, before anything is changed."""
    related = await related_topics(conn, identity.user_id)
    scope = Scope(identity, related)
    for name in identity.full_names + identity.parts:
        n, authors = await unrelated_posts_with(conn, name, identity.user_id, related)
        if is_ordinary_word(n, authors):
            scope.ordinary[name] = n
    return scope


async def ordinary_name_warnings(user_id: int, names: dict[str, str]) -> list[dict]:
    """Registration and the profile form: which of these names (field -> name: the handle, the display name)
    are ordinary words of this forum by the rule above (`is_ordinary_word`), so that the member knows before
    keeping one. A withdrawal never rewrites others' words that are not about the person, so such a name would
    stay in others' posts in topics the member had nothing to do with, where it may still be read as theirs. A
    warning, never a refusal: the name is the member's to choose (and the forum's words are not theirs to take)."""
    conn = db.connection()
    related = await related_topics(conn, user_id)
    warnings = []
    for field_name, name in names.items():
        if not name:
            continue
        n, authors = await unrelated_posts_with(conn, name, user_id, related)
        if is_ordinary_word(n, authors):
            warnings.append({"field": field_name, "code": "ordinary_word", "name": name, "unrelated_posts": n})
    return warnings


async def name_warnings(user_id: int) -> list[dict]:
    """`ordinary_name_warnings` for the member's handle and display name as they are now (after registration,
    a change of the display name, and on the settings page)."""
    profile = await db.fetch_one("SELECT username, display_name FROM profile WHERE user_id = ?", [user_id])
    if profile is None:
        return []
    return await ordinary_name_warnings(user_id, {"username": profile["username"],
                                                  "display_name": profile["display_name"]})
