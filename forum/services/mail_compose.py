"""What each mail says, composed when it is sent, in the recipient's language, from what the recipient may read
on the site at that moment (the same access helpers as the pages): nothing staff-only, hidden or deleted, and no
address but the recipient's own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser

from forum import db, i18n
from forum.errors import N_
from forum.i18n import gettext as _
from forum.models import MailKind
from forum.services.composed_mail import Composed, Drop, MailContext, viewer_of

EXCERPT_CHARS = 600
_ADDRESS = re.compile(r"[^\s@<>()\[\]]+@[^\s@<>()\[\]]+\.[A-Za-z]{2,}")
FORMER_MEMBER = {"nb": "Tidligere medlem", "en": "Former member"}


def text_of(composed: Composed, settings_url: str, unsubscribe_url: str) -> str:
    parts = list(composed.paragraphs)
    if composed.excerpt:
        parts.append("\n".join("> " + line for line in composed.excerpt.splitlines()))
    if composed.action:
        parts.append(f"{composed.action[0]}:\n{composed.action[1]}")
    footer = [composed.why] if composed.why else []
    footer.append(_("Choose what mail you get: %(url)s") % {"url": settings_url})
    if unsubscribe_url:
        footer.append(_("Unsubscribe with one click: %(url)s") % {"url": unsubscribe_url})
    return "\n\n".join(parts) + "\n\n-- \n" + "\n".join(footer) + "\n"


class _Text(HTMLParser):
    """The words of a post as the site shows them, without the quoted posts of others."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("blockquote", "aside", "script", "style"):
            self.skip += 1
        elif tag in ("p", "br", "li", "pre", "h1", "h2", "h3", "h4", "tr") and not self.skip:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in ("blockquote", "aside", "script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def excerpt_of(cooked: str) -> str:
    parser = _Text()
    parser.feed(cooked or "")
    text = "".join(parser.out)
    text = "\n".join(" ".join(line.split()) for line in text.splitlines())
    text = re.sub(r"\n{2,}", "\n", text).strip()
    text = _ADDRESS.sub("[…]", text)   # the recipient's address is the only one a mail carries
    if len(text) > EXCERPT_CHARS:
        text = text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + " …"
    return text


_RECIPIENT_SQL = ("SELECT a.id, a.email, a.role, a.locale, a.email_verified_at, p.username, p.display_name "
                  "FROM account a LEFT JOIN profile p ON p.user_id = a.id")


async def recipient(user_id: int | None, conn=None) -> dict | None:
    if user_id is None:
        return None
    return await db.fetch_one(f"{_RECIPIENT_SQL} WHERE a.id = ?", [user_id], conn)


def locale_of(account: dict | None, row: dict, settings) -> str:
    locale = (account or {}).get("locale") or row.get("detail") or settings.default_locale
    return locale if locale in ("nb", "en") else settings.default_locale


@dataclass
class Facts:
    """What the notification mails of one claim are composed from, read in a few queries for the whole batch
    (`read_facts`) instead of about eight per mail: the recipients, who may get activity mail, their choices,
    the notifications, the posts and topics, and the actors' handles. Read when the batch starts, so a mail
    reflects the site as it was then (a batch takes about a second to send)."""
    accounts: dict[int, dict]
    allowed: set[int]
    choices: dict
    notes: dict[tuple, dict]
    posts: dict[int, dict]
    topics: dict[int, dict]
    actors: dict[int, str]


def _note_key(user_id, kind, post_id, topic_id) -> tuple:
    return (int(user_id), kind, None if post_id is None else int(post_id), None if post_id is not None else
            int(topic_id) if topic_id is not None else None)


async def read_facts(rows: list[dict], conn=None) -> Facts:
    """The facts for the notification rows among `rows` (the others are composed one by one)."""
    from forum.services.mail_choices import mail_allowed_for
    from forum.services.mail_kinds import mail_choices_for

    rows = [r for r in rows if r["kind"] == MailKind.NOTIFICATION.value and r["user_id"] is not None]
    users = sorted({int(r["user_id"]) for r in rows})
    facts = Facts({}, set(), {}, {}, {}, {}, {})
    if not users:
        return facts
    for chunk in db.chunks(users, 500):
        for account in await db.fetch_all(f"{_RECIPIENT_SQL} WHERE a.id IN ({db.marks(len(chunk))})", chunk, conn):
            facts.accounts[int(account["id"])] = account
    facts.allowed = await mail_allowed_for(conn, list(facts.accounts))
    facts.choices = await mail_choices_for(facts.allowed, conn)
    posts = sorted({int(r["post_id"]) for r in rows if r["post_id"] is not None})
    topics = sorted({int(r["topic_id"]) for r in rows if r["post_id"] is None and r["topic_id"] is not None})
    notes = []
    if posts:
        notes += await db.fetch_all(
            f"SELECT id, user_id, kind, post_id, topic_id, read_at, actor_id, message FROM notification "
            f"WHERE user_id IN ({db.marks(len(users))}) AND post_id IN ({db.marks(len(posts))})",
            [*users, *posts], conn)
        for place in await db.fetch_all(f"{_POST_SQL} IN ({db.marks(len(posts))})", posts, conn):
            facts.posts[int(place["id"])] = place
    if topics:
        notes += await db.fetch_all(
            f"SELECT id, user_id, kind, post_id, topic_id, read_at, actor_id, message FROM notification "
            f"WHERE user_id IN ({db.marks(len(users))}) AND post_id IS NULL AND topic_id IN ({db.marks(len(topics))})",
            [*users, *topics], conn)
        for place in await db.fetch_all(f"{_TOPIC_SQL} IN ({db.marks(len(topics))})", topics, conn):
            facts.topics[int(place["topic_id"])] = place
    for note in sorted(notes, key=lambda n: n["id"]):  # the newest of each key wins, as ORDER BY id DESC LIMIT 1
        facts.notes[_note_key(note["user_id"], note["kind"], note["post_id"], note["topic_id"])] = note
    actors = sorted({int(n["actor_id"]) for n in notes if n["actor_id"] is not None})
    if actors:
        for actor in await db.fetch_all(f"SELECT user_id, username FROM profile WHERE user_id IN "
                                        f"({db.marks(len(actors))})", actors, conn):
            facts.actors[int(actor["user_id"])] = actor["username"]
    return facts


async def _facts_for(row: dict, conn) -> Facts:
    """One mail's facts, read as a batch of one (the same queries and rules as a batch)."""
    return await read_facts([row], conn)


async def compose(row: dict, ctx: MailContext, conn, facts: Facts | None = None) -> Composed:
    """Raises Drop when there is nothing to send. Token mails make their token here (inside `conn`). `facts`:
    what `read_facts` read for the batch this row is in (notification mails)."""
    kind = row["kind"]
    if kind == MailKind.NOTIFICATION.value and row["user_id"] is not None:
        facts = facts or await _facts_for(row, conn)
        account = facts.accounts.get(int(row["user_id"]))
        if account is None:
            raise Drop("no account")
        i18n.set_locale(locale_of(account, row, ctx.settings))
        if account["id"] not in facts.allowed:
            raise Drop("activity mail not allowed (no consent or address not confirmed)")
        return _notification(row, account, ctx, facts)
    account = await recipient(row["user_id"], conn)
    if kind == MailKind.RESET_REQUEST.value:
        return await _reset(row, ctx, conn)
    if account is None:
        raise Drop("no account")
    i18n.set_locale(locale_of(account, row, ctx.settings))
    if kind in (MailKind.VERIFY.value, MailKind.REGISTER_EXISTS.value, MailKind.EMAIL_CHANGE.value):
        from forum.services import verification

        return await verification.compose(row, account, ctx, conn)
    from forum.services.mail_choices import mail_allowed

    if not await mail_allowed(conn, account["id"]):
        raise Drop("activity mail not allowed (no consent or address not confirmed)")
    if kind == MailKind.DIGEST.value:
        from forum.services.digests import compose_digest

        return await compose_digest(row, account, ctx, conn)
    raise Drop(f"unknown kind {kind}")


async def _reset(row: dict, ctx: MailContext, conn) -> Composed:
    from forum.services import password_reset

    prepared = await password_reset.prepare_reset(conn, row["user_id"])
    if prepared is None:
        raise Drop("no account for the address, or enough live links")
    account, token = prepared
    i18n.set_locale(locale_of(account, row, ctx.settings))
    return Composed(
        subject=_("Reset your forum password"), user_id=account["id"],
        paragraphs=[_("Someone (hopefully you) asked to reset the password of your forum account."),
                    _("The link works once, within an hour. If you did not ask for this, ignore this mail; your "
                      "password stays as it is.")],
        action=(_("Choose a new password"), ctx.url("password_reset", token=token)))


SUBJECTS = {
    "reply": N_("New reply in “%(title)s”"),
    "mention": N_("%(actor)s mentioned you in “%(title)s”"),
    "quote": N_("%(actor)s quoted you in “%(title)s”"),
    "accepted": N_("Your answer in “%(title)s” was accepted"),
    "watched_topic": N_("New post in “%(title)s”"),
    "watched_category": N_("New topic or post in “%(title)s”"),
    "moderation": N_("A moderator acted on your post in “%(title)s”"),
}
WHY = {
    "reply": N_("You get this mail because you chose mail about replies."),
    "mention": N_("You get this mail because you chose mail about mentions."),
    "quote": N_("You get this mail because you chose mail about quotes."),
    "accepted": N_("You get this mail because you chose mail about accepted answers."),
    "watched_topic": N_("You get this mail because you watch this topic and chose mail about watched topics."),
    "watched_category": N_("You get this mail because you watch this category and chose mail about it."),
    "moderation": N_("You get this mail because you chose mail about moderation of your posts."),
}


_POST_SQL = ("SELECT p.id, p.number, p.cooked, p.deleted_at, p.hidden_at, t.id AS topic_id, t.title, "
             "t.deleted_at AS topic_deleted_at, c.read_access FROM post p JOIN topic t ON t.id = p.topic_id "
             "JOIN category c ON c.id = t.category_id WHERE p.id")
_TOPIC_SQL = ("SELECT t.id AS topic_id, t.title, t.deleted_at AS topic_deleted_at, c.read_access FROM topic t "
              "JOIN category c ON c.id = t.category_id WHERE t.id")


def _notification(row: dict, account: dict, ctx: MailContext, facts: Facts) -> Composed:
    from forum.permissions.roles import readable_levels
    from forum.services.mail_kinds import KIND_OF_NOTIFICATION

    kind = row["detail"]
    choice = KIND_OF_NOTIFICATION.get(kind)
    chosen = facts.choices.get(account["id"])
    if choice is None or chosen is None or not chosen.kinds.get(choice):
        raise Drop("turned off")
    note = facts.notes.get(_note_key(account["id"], kind, row["post_id"], row["topic_id"]))
    if note is None:
        raise Drop("the notification is gone")
    if note["read_at"] is not None:
        raise Drop("read on the site")
    # the site's rule (permissions/categories: the category's read level among the viewer's, the topic not
    # deleted), read in one statement; a mail also leaves out hidden and deleted posts, even for moderators
    place = facts.posts.get(int(row["post_id"])) if row["post_id"] is not None else \
        facts.topics.get(int(row["topic_id"])) if row["topic_id"] is not None else None
    if place is None or place["read_access"] not in readable_levels(viewer_of(account)) \
            or place["topic_deleted_at"] is not None:
        raise Drop("not readable by the recipient")
    excerpt = ""
    if kind != "moderation":
        if row["post_id"] is None or place["deleted_at"] is not None or place["hidden_at"] is not None:
            raise Drop("not readable by the recipient")
        excerpt = excerpt_of(place["cooked"])
    locale = i18n.get_locale()
    actor = facts.actors.get(int(note["actor_id"])) if note["actor_id"] is not None else None
    values = {"title": place["title"], "actor": actor or FORMER_MEMBER[locale]}
    link = ctx.url("topic_short", topic_id=place["topic_id"])
    if place.get("number"):
        link += f"#post-{place['number']}"
    paragraphs = []
    if kind == "moderation":
        if note["message"]:
            paragraphs.append(note["message"])
    else:
        paragraphs.append(_("%(actor)s wrote in “%(title)s”:") % values)
    return Composed(subject=_(SUBJECTS[kind]) % values, paragraphs=paragraphs, user_id=account["id"],
                    action=(_("Read it on the forum"), link), excerpt=excerpt, why=_(WHY[kind]),
                    topic_id=place["topic_id"], unsubscribe_scope=choice)


def now() -> datetime:
    return datetime.now(UTC)
