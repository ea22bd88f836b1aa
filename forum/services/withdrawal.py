"""Withdrawing consent to forum participation (GDPR art. 7(3)): as easy as giving it, and it anonymises for real.

One transaction, so a fault anywhere leaves everything as it was, and (with the participation gate taking the
same lock) a post racing the withdrawal is either anonymised with the rest or refused:
- the user's posts and topics lose their author; their revisions shrink to the current text, and they are
  removed as editor of anyone else's posts;
- their handle and display name are replaced, as whole words and ignoring case, in everyone's post sources,
  cooked HTML, revisions, topic titles and slugs, profiles and notification texts, and the search index;
  mentions and quotes of them are re-cooked, so no link or attribution is left;
- their likes, watches, read markers, mentions and notifications (caused and received) go, and so does the
  forum profile; the account (email, password) stays, and a later consent starts a new forum identity;
- moderation detaches its records through the CONSENT_WITHDRAWN event;
- the ledger records the withdrawal.
Afterwards, on SQLite (secure_delete is on), the full-text index is merged if it held the name and the WAL is
checkpointed, so the old bytes do not survive in the database file.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool

from forum import db, events
from forum.db import write_transaction
from forum.errors import N_, Conflict, NotAuthenticated
from forum.markup import replace_handle
from forum.models import ConsentAction
from forum.services import search
from forum.services.consent import ConsentStatus, consent_status, current_policy, record_event
from forum.services.cooking import recook_many, resolve_recook
from forum.services.purposes import FORUM
from forum.services.slugs import slugify
from forum.viewer import Viewer

FORMER_MEMBER = {"nb": "Tidligere medlem", "en": "Former member"}
# a display name shorter than this is too likely an ordinary word to be replaced in other people's text
MIN_NAME_CHARS = 3


@dataclass
class Names:
    """The user's names and how to scrub them from text others wrote."""

    handle: str
    display_name: str
    replacement: str
    names: list[str] = field(init=False)

    def __post_init__(self) -> None:
        names = [self.handle]
        if len(self.display_name) >= MIN_NAME_CHARS and self.display_name.casefold() != self.handle.casefold():
            names.append(self.display_name)
        self.names = sorted(names, key=len, reverse=True)  # "Ola Nordmann" before "Ola"

    def scrub(self, text: str) -> str:
        if not text:
            return text
        for name in self.names:
            text = replace_handle(text, "@" + name, self.replacement) if "@" in text else text
            text = replace_handle(text, name, self.replacement)
        return text

    def like_patterns(self, dialect: str) -> list[str]:
        """Candidates for a LIKE scan; the exact whole-word test happens in Python. SQLite's LIKE ignores case for
        ASCII only, so names with other letters also get their case variants; PostgreSQL uses ILIKE."""
        variants = set()
        for name in self.names:
            variants.add(name)
            if dialect == "sqlite" and not name.isascii():
                variants.update({name.casefold(), name.lower(), name.upper(), name.title()})
        return ["%" + re.sub(r"([%_\\])", r"\\\1", v) + "%" for v in sorted(variants)]


def _like_any(conn, column: str, names: Names) -> tuple[str, list[str]]:
    dialect = conn.capabilities.dialect
    patterns = names.like_patterns(dialect)
    op = "LIKE" if dialect == "sqlite" else "ILIKE"
    return "(" + " OR ".join(f"{column} {op} ? ESCAPE '\\'" for _ in patterns) + ")", patterns


async def _ids(query: str, params: list, conn) -> list[int]:
    return [row["id"] for row in await db.fetch_all(query, params, conn)]


async def lock_account(user_id: int, conn) -> None:
    """PostgreSQL: the participation gate takes the same row lock (FOR SHARE), so a post racing the withdrawal
    commits before it (and is anonymised with the rest) or waits and is refused. SQLite writers are serial."""
    if conn.capabilities.dialect != "sqlite":
        await db.fetch_one("SELECT id FROM account WHERE id = ? FOR UPDATE", [user_id], conn)


async def _read_posts(conn, ids, names: Names) -> list[dict]:
    """The posts' rows with the names scrubbed out of `source` (the stored text kept as `old_source`)."""
    rows = await db.fetch_in("SELECT id, topic_id, number, author_id, source, deleted_at, hidden_at "
                             "FROM post WHERE id IN ({in})", sorted(ids), conn)
    for row in rows:
        row["old_source"] = row["source"]
        row["source"] = names.scrub(row["source"])
    return rows


async def _rewrite_posts(conn, user_id: int, names: Names, quoting: set[int],
                         counts: dict) -> tuple[set[int], list[str]]:
    """Mentions, quotes and every whole-word occurrence in posts: sources, cooked HTML and the index.
    Returns the topics touched and whether the full-text index held the name (then it must be merged)."""
    mentioned = set(await _ids("SELECT post_id AS id FROM post_mention WHERE user_id = ?", [user_id], conn))
    # The posts that mention or quote them are known up front: they cook in a worker thread while the
    # database scans the revisions (sqlite3 and asyncpg wait without the GIL), so the two use both cores.
    rows = await _read_posts(conn, mentioned | quoting, names)
    cooking = asyncio.ensure_future(run_in_threadpool((await resolve_recook(rows, conn)).cook))
    try:
        # Every post's current source is also its latest revision (creation writes revision 1, every edit and
        # rewrite another), so one scan of the revisions finds the posts and the revisions to rewrite.
        counts["rewritten_revisions"], revisions = await _scrub_column(conn, "post_revision", "source", names,
                                                                       also="post_id")
    except BaseException:
        await asyncio.gather(cooking, return_exceptions=True)
        raise
    cooked = await cooking
    texts = {r["post_id"] for r in revisions} - {r["id"] for r in rows}
    more = [r for r in await _read_posts(conn, texts, names) if r["source"] != r["old_source"]]
    cooked |= await recook_many(more, conn)
    rows += more
    await db.execute_many("UPDATE post SET source = ?, cooked = ? WHERE id = ?",
                          [[r["source"], cooked[r["id"]], r["id"]] for r in rows], conn)
    in_index = await search.tables_to_merge(names.names, conn)
    retitled = await _rewrite_titles(conn, names, counts)
    # one index write per post; a first post carries its topic's title in the index, so first posts are read
    # back (post and topic rows are rewritten by now) for the rewritten topics and posts
    firsts = await db.fetch_in("SELECT p.id, p.cooked, t.title FROM post p JOIN topic t ON t.id = p.topic_id "
                               "WHERE p.number = 1 AND p.deleted_at IS NULL AND p.hidden_at IS NULL AND t.id IN ({in})",
                               sorted({r["topic_id"] for r in rows if r["number"] == 1} | set(retitled)), conn)
    entries = [(r["id"], "", cooked[r["id"]]) for r in rows
               if r["number"] != 1 and r["deleted_at"] is None and r["hidden_at"] is None]
    await search.index_posts(entries + [(f["id"], f["title"], f["cooked"]) for f in firsts], conn=conn)
    counts["rewritten_posts"] = len(rows)
    counts["rewritten_mentions"] = len(mentioned)
    counts["rewritten_quotes"] = len(quoting)
    await db.execute("DELETE FROM post_mention WHERE user_id = ?", [user_id], conn)
    return {r["topic_id"] for r in rows} | set(retitled), in_index


async def _rewrite_titles(conn, names: Names, counts: dict) -> dict[int, str]:
    where, patterns = _like_any(conn, "title", names)
    rows = await db.fetch_all(f"SELECT id, title FROM topic WHERE {where}", patterns, conn)
    changed = {}
    for row in rows:
        title = names.scrub(row["title"])
        if title != row["title"]:
            changed[row["id"]] = title
    await db.execute_many("UPDATE topic SET title = ?, slug = ? WHERE id = ?",
                          [[title, slugify(title), topic_id] for topic_id, title in changed.items()], conn)
    counts["rewritten_titles"] = len(changed)
    return changed


async def _reduce_revisions(conn, user_id: int, counts: dict) -> None:
    """Their own posts keep one revision, the current text, with no editor; they stop being anyone's editor."""
    counts["removed_revisions"] = await db.execute(
        "DELETE FROM post_revision WHERE post_id IN (SELECT id FROM post WHERE author_id = ?)", [user_id], conn)
    await db.execute("INSERT INTO post_revision (post_id, number, editor_id, source, created_at) "
                     "SELECT id, 1, NULL, source, created_at FROM post WHERE author_id = ?", [user_id], conn)
    await db.execute("UPDATE post_revision SET editor_id = NULL WHERE editor_id = ?", [user_id], conn)


async def _scrub_column(conn, table: str, column: str, names: Names, *, only: str = "", also: str = ""
                        ) -> tuple[int, list[dict]]:
    """Rewrites the names out of `column` wherever a LIKE scan finds a candidate; returns how many rows changed
    and the candidate rows (with the `also` columns)."""
    where, patterns = _like_any(conn, column, names)
    if only:  # matches a partial index, so only the rows that can hold text are read
        where = f"{only} AND {where}"
    rows = await db.fetch_all(f"SELECT id, {column} AS text{', ' + also if also else ''} FROM {table} WHERE {where}",
                              patterns, conn)
    updates = [[names.scrub(r["text"]), r["id"]] for r in rows]
    updates = [u for u, r in zip(updates, rows, strict=True) if u[0] != r["text"]]
    await db.execute_many(f"UPDATE {table} SET {column} = ? WHERE id = ?", updates, conn)
    return len(updates), rows


async def _anonymise_own(conn, user_id: int, counts: dict) -> set[int]:
    topics = set(await _ids("SELECT DISTINCT topic_id AS id FROM post WHERE author_id = ?", [user_id], conn))
    counts["anonymised_posts"] = await db.execute(
        "UPDATE post SET author_id = NULL, edited_at = NULL WHERE author_id = ?", [user_id], conn)
    # counted from RETURNING: on SQLite an UPDATE's count includes the rows its triggers wrote (page_version)
    counts["anonymised_topics"] = len(await db.fetch_all(
        "UPDATE topic SET author_id = NULL WHERE author_id = ? RETURNING id", [user_id], conn))
    return topics


async def _remove_personal(conn, user_id: int, counts: dict) -> set[int]:
    liked_topics = set(await _ids("SELECT DISTINCT p.topic_id AS id FROM post_like l JOIN post p ON p.id = l.post_id "
                                  "WHERE l.user_id = ?", [user_id], conn))
    await db.execute("UPDATE post SET like_count = like_count - 1 WHERE id IN "
                     "(SELECT post_id FROM post_like WHERE user_id = ?)", [user_id], conn)
    counts["removed_likes"] = await db.execute("DELETE FROM post_like WHERE user_id = ?", [user_id], conn)
    counts["removed_watches"] = (
        await db.execute("DELETE FROM topic_watch WHERE user_id = ?", [user_id], conn)
        + await db.execute("DELETE FROM category_watch WHERE user_id = ?", [user_id], conn))
    counts["removed_read_markers"] = await db.execute("DELETE FROM topic_read WHERE user_id = ?", [user_id], conn)
    counts["removed_notifications"] = (  # two statements, each on its own index
        await db.execute("DELETE FROM notification WHERE user_id = ?", [user_id], conn)
        + await db.execute("DELETE FROM notification WHERE actor_id = ?", [user_id], conn))
    return liked_topics


async def anonymise_in(conn, user_id: int, *, text_locale: str, counts: dict[str, int]) -> list[str]:
    """Everything a withdrawal changes except the ledger, inside the caller's transaction (erasure reuses it).
    Returns the full-text index tables that held the name, so they are merged after the commit."""
    profile = await db.fetch_one("SELECT username, display_name FROM profile WHERE user_id = ?", [user_id], conn)
    names = None
    if profile is not None:
        names = Names(profile["username"], profile["display_name"] or "",
                      FORMER_MEMBER.get(text_locale, FORMER_MEMBER["nb"]))
    post_ids = await _ids("SELECT id FROM post WHERE author_id = ?", [user_id], conn)
    quoting = set(await _ids("SELECT q.post_id AS id FROM post_quote q JOIN post p ON p.id = q.quoted_post_id "
                             "WHERE p.author_id = ?", [user_id], conn))
    await _reduce_revisions(conn, user_id, counts)
    topics = await _anonymise_own(conn, user_id, counts)
    await db.execute("DELETE FROM profile WHERE user_id = ?", [user_id], conn)
    counts["deleted_profile"] = int(profile is not None)
    needs_merge: list[str] = []
    if names is not None:
        # with no author and no profile left, mentions and quotes of them re-cook as plain text / "former member"
        rewritten, needs_merge = await _rewrite_posts(conn, user_id, names, quoting, counts)
        topics |= rewritten
        counts["rewritten_profiles"] = ((await _scrub_column(conn, "profile", "bio", names))[0]
                                        + (await _scrub_column(conn, "profile", "display_name", names))[0])
        counts["rewritten_notifications"], _rows = await _scrub_column(conn, "notification", "message", names,
                                                                       only="message <> ''")
    topics |= await _remove_personal(conn, user_id, counts)
    await events.emit(events.CONSENT_WITHDRAWN, events.Withdrawal(
        user_id, post_ids, names.scrub if names else (lambda text: text), counts, conn))
    for chunk in db.chunks(sorted(topics)):
        await db.execute(f"UPDATE topic SET version = version + 1 WHERE id IN ({db.marks(len(chunk))})", chunk, conn)
    return needs_merge


async def record_withdrawal(conn, user_id: int, *, locale: str, channel: str) -> None:
    await record_event(conn, user_id=user_id, purpose=FORUM, policy=await current_policy(conn), locale=locale,
                       action=ConsentAction.WITHDRAWN, channel=channel)


async def withdraw_consent(viewer: Viewer | None, *, channel: str, text_locale: str = "nb") -> dict[str, int]:
    """`text_locale` picks the wording that replaces the user's name in other people's text."""
    if viewer is None:
        raise NotAuthenticated()
    counts: dict[str, int] = {}
    async with write_transaction() as conn:
        await lock_account(viewer.id, conn)
        status = await consent_status(viewer.id, conn)
        if status not in (ConsentStatus.GRANTED, ConsentStatus.OUTDATED):
            raise Conflict(N_("You have not given consent, so there is nothing to withdraw."), code="not_consented")
        needs_merge = await anonymise_in(conn, viewer.id, text_locale=text_locale, counts=counts)
        await record_withdrawal(conn, viewer.id, locale=viewer.locale or text_locale, channel=channel)
    await purge_old_bytes(needs_merge)
    return counts


async def purge_old_bytes(merge_tables: list[str]) -> None:
    """SQLite overwrites deleted rows (secure_delete), but two places keep old bytes: full-text index segments
    (a replaced entry is only marked deleted until its segment is merged) and the WAL (until checkpointed)."""
    if db.dialect() != "sqlite":
        return
    await search.merge_segments(merge_tables)
    await db.fetch_all("PRAGMA wal_checkpoint(TRUNCATE)")
