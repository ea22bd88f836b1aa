"""Withdrawing consent to forum participation (GDPR art. 7(3)): as easy as giving it, and it anonymises for real.

One transaction, so a fault anywhere leaves everything as it was, and (with the participation gate taking the
same lock) a post racing the withdrawal is either anonymised with the rest or refused:
- the user's posts and topics lose their author; their revisions shrink to the current text, and they are
  removed as editor of anyone else's posts;
- every handle and display name they have had is replaced, in any spelling (forum.services.names), in post
  sources, cooked HTML, revisions, topic titles and slugs, profiles, notification texts, category names and
  descriptions and the search index, by the scope rules of forum.services.withdrawal_scope (their own text: every
  name and part; others' text: full names and handles, parts too in topics about them; an ordinary word of the
  forum never in unrelated text, and the answer's `left_out` lists it); mentions and quotes of them are
  re-cooked, so no link or attribution is left;
- their likes, watches, read markers, mentions, the notifications they received and the notices of their likes
  go, and so does the forum profile (what they caused in others' inboxes stays there, without an actor); the
  account (email, password) stays, and a later consent starts a new forum identity;
- moderation detaches its records through the CONSENT_WITHDRAWN event;
- the ledger records the withdrawal.
Afterwards forum.services.byte_purge removes the old bytes (SQLite: search tiers merged, WAL truncated, retried
while a reader holds a snapshot; PostgreSQL: VACUUM); the answer's `byte_purge` says "done" or "pending".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass

from forum import db, events
from forum.db import write_transaction
from forum.errors import N_, Conflict, NotAuthenticated
from forum.models import ConsentAction, NotificationKind
from forum.services import byte_purge, composer_drafts, names, search
from forum.services.consent import ConsentStatus, consent_status, current_policy, record_event
from forum.services.cooking import cook_stored, recook_many, resolve_recook
from forum.services.names import Matcher
from forum.services.purposes import FORUM
from forum.services.slugs import slugify
from forum.services.withdrawal_scope import Scope, build_scope, load_identity, sign_off
from forum.viewer import Viewer

FORMER_MEMBER = {"nb": "Tidligere medlem", "en": "Former member"}


@dataclass
class Rewriter:
    """Which matcher rewrites which text (the rules are forum.services.withdrawal_scope's), and the wording."""

    scope: Scope
    replacement: str
    own_posts: set[int]
    own_topics: set[int]

    def __post_init__(self) -> None:
        self.own, self.related = self.scope.own_text(), self.scope.related_topic_text()
        self.anywhere, self.direct = self.scope.others_text(), self.scope.direct_references()
        self.signed = self.scope.own_sign_offs()

    def _apply(self, matcher: Matcher, text: str) -> str:
        return self.direct.rewrite(matcher.rewrite(text, self.replacement), self.replacement) if text else text

    def post(self, text: str, post_id: int, topic_id: int) -> str:
        if post_id in self.own_posts:
            return sign_off(self.signed, self._apply(self.own, text), self.replacement)
        return self._apply(self.related if topic_id in self.scope.related else self.anywhere, text)

    def title(self, text: str, topic_id: int) -> str:
        if topic_id in self.own_topics:
            return self._apply(self.own, text)
        return self._apply(self.related if topic_id in self.scope.related else self.anywhere, text)

    def others(self, text: str) -> str:
        return self._apply(self.anywhere, text)

    def matcher(self, *, related: bool = False) -> Matcher:
        """Every name the candidate rows are chosen by: others' text (`related`: in topics about the member too)
        and the direct references."""
        return Matcher(list((self.related if related else self.anywhere).names) + list(self.direct.names))

    def candidates(self, conn, column: str, *, related: bool = False) -> tuple[str, list]:
        return names.sql_candidates(conn.capabilities.dialect, column, self.matcher(related=related))


async def _ids(query: str, params: list, conn) -> list[int]:
    return [row["id"] for row in await db.fetch_all(query, params, conn)]


async def lock_account(user_id: int, conn) -> None:
    """PostgreSQL: the participation gate takes the same row lock (FOR SHARE), so a post racing the withdrawal
    commits before it (and is anonymised with the rest) or waits and is refused. SQLite writers are serial."""
    if conn.capabilities.dialect != "sqlite":
        await db.fetch_one("SELECT id FROM account WHERE id = ? FOR UPDATE", [user_id], conn)


async def _candidate_revisions(conn, rw: Rewriter) -> list[dict]:
    """Every revision whose text may hold a name: one scan with the widest set (the parts of the display name
    too), each candidate then judged in Python by the rule for its post. Own posts' revisions are left to
    `_reduce_revisions`.

    The one read of the whole of the largest table (about 1 s at 1,000,000 posts, most of it reading 470 MB
    of text), so on SQLite it runs on a connection of its own (`db.read_beside`) while the transaction goes on
    with the rest: nothing before the rewrite of revisions changes others' revisions. That connection sees the
    exotic list as committed, so the revisions written since the list was last brought up to date are folded
    too."""
    if conn.capabilities.dialect == "sqlite":
        ids, params = names.sqlite_candidate_ids(
            "post_revision r", "r.id", "r.source", rw.matcher(related=True),
            marks_only="SELECT revision_id FROM exotic_revision WHERE marks_only = 1",
            exotic="SELECT revision_id FROM exotic_revision WHERE marks_only = 0 UNION ALL SELECT id FROM "
                   "post_revision WHERE id > (SELECT checked_through FROM name_scan WHERE id = 1)")
        where = f"r.id IN ({ids})"
    else:
        where, params = rw.candidates(conn, "r.source", related=True)
    # beside the transaction the member is still the author of their posts: their revisions (all replaced by
    # `_reduce_revisions`) are left out before any text is tested, 10,000 foldings fewer for 10,000 posts
    rows = await db.read_beside(conn, "SELECT r.id, r.post_id, r.source, p.topic_id FROM post_revision r "
                                "JOIN post p ON p.id = r.post_id WHERE (p.author_id IS NULL OR p.author_id <> ?) AND "
                                f"{where}", [rw.scope.identity.user_id, *params], names.sqlite_functions())
    return [r for r in rows if r["post_id"] not in rw.own_posts]


async def _own_candidates(conn, rw: Rewriter) -> set[int]:
    """The member's own posts whose current text may hold one of their names or its parts (a sign-off): the
    candidate test in SQL, on SQLite with the exotic list of the posts' latest revisions."""
    matcher = Matcher(list(rw.own.names) + list(rw.direct.names) + list(rw.signed.names))
    exotic = None
    if conn.capabilities.dialect == "sqlite":
        exotic = ("p.id IN (SELECT r.post_id FROM exotic_revision e JOIN post_revision r ON r.id = e.revision_id "
                  "WHERE r.post_id = p.id)")
    where, params = names.sql_candidates(conn.capabilities.dialect, "p.source", matcher, exotic=exotic)
    found: set[int] = set()
    for chunk in db.chunks(sorted(rw.own_posts)):
        found |= set(await _ids(f"SELECT p.id FROM post p WHERE p.id IN ({db.marks(len(chunk))}) AND {where}",
                                [*chunk, *params], conn))
    return found


async def _rewritten(conn, rw: Rewriter, ids: set[int], refer: set[int], held: set[int]) -> list[dict]:
    """The rows of these posts whose text the rules change, or that refer to the member (`refer`: they re-cook
    without the link or attribution), with their rewritten sources; adds to `held` the posts whose text held a
    name."""
    rows = await db.fetch_in("SELECT id, topic_id, number, author_id, source, deleted_at, hidden_at "
                             "FROM post WHERE id IN ({in})", sorted(ids), conn)
    changed = []
    for row in rows:
        text = rw.post(row["source"], row["id"], row["topic_id"])
        if text != row["source"] or row["id"] in refer:
            if text != row["source"]:
                held.add(row["id"])
            changed.append({**row, "source": text})
    return changed


async def _candidate_titles(conn, rw: Rewriter) -> list[dict]:
    """Every title that may hold a name (the widest set, each judged by `rw.title`): a read of the whole topic
    table with the Python function on its exotic titles (0.1-0.2 s at 50,000 topics). Titles change only in
    `_rewrite_titles`, so it runs beside the transaction too."""
    where, params = rw.candidates(conn, "title", related=True)
    return await db.read_beside(conn, f"SELECT id, title FROM topic WHERE {where}", params, names.sqlite_functions())


@dataclass
class Reads:
    """The two reads of whole tables (every revision, every title): on SQLite started before anything else, to
    run beside the rest of the transaction; elsewhere run when awaited (one connection runs one statement at a
    time)."""
    revisions: Awaitable[list[dict]]
    titles: Awaitable[list[dict]]

    @classmethod
    def start(cls, conn, rw: Rewriter) -> Reads:
        revisions, titles = _candidate_revisions(conn, rw), _candidate_titles(conn, rw)
        if db.reads_beside(conn):
            return cls(asyncio.ensure_future(revisions), asyncio.ensure_future(titles))
        return cls(revisions, titles)

    def drop(self) -> None:
        """A transaction that failed before it needed them: stopped (or never started)."""
        for read in (self.revisions, self.titles):
            if isinstance(read, asyncio.Future):
                read.cancel()
            else:
                read.close()


@dataclass
class EarlyCook:
    """The posts that mention or quote the member, rewritten, and their re-cooking, started first (`start_early`)."""
    refer: set[int]
    rows: list[dict]
    cook: asyncio.Future

    def drop(self) -> None:
        if not self.cook.done():  # a failed statement: the transaction rolls back, the cook is not wanted
            self.cook.cancel()


async def _start_early(conn, rw: Rewriter, refer: set[int], held: set[int]) -> EarlyCook:
    """The posts that mention or quote the member are known before anything is scanned, so their re-cooking
    (CPU only, the withdrawal's largest part: 1,000 posts took 2.2 s in one cooking process on a slow machine)
    starts before everything else and runs while the transaction classifies, scans and removes the rest."""
    rows = await _rewritten(conn, rw, refer, refer, held)
    return EarlyCook(refer, rows, asyncio.ensure_future(cook_stored(await resolve_recook(rows, conn))))


async def _rewrite_posts(conn, rw: Rewriter, early: EarlyCook, mentioned: set[int], quoting: set[int],
                         counts: dict, held: set[int], reads: Reads) -> set[int]:
    """Sources, revisions, cooked HTML and the index of every post that holds a name or refers to the member.
    Returns the topics touched; adds to `held` the ids of posts whose text ever held a name.

    The `early` posts (mentioning or quoting the member) are cooking already (CPU only: in the cooking pool's
    processes, else a thread); the posts the scan of every revision (`reads`) finds are cooked after it."""
    refer, early_cook = early.refer, early.cook
    try:
        revisions = await reads.revisions
        updates = []
        for r in revisions:
            text = rw.post(r["source"], r["post_id"], r["topic_id"])
            if text != r["source"]:
                updates.append([text, r["id"]])
                held.add(r["post_id"])
        await db.execute_many("UPDATE post_revision SET source = ? WHERE id = ?", updates, conn)
        counts["rewritten_revisions"] = len(updates)
        rest = (held | await _own_candidates(conn, rw)) - refer
        late = await _rewritten(conn, rw, rest, refer, held)
        cooked = await recook_many(late, conn)
        cooked.update(await early_cook)
    finally:
        early.drop()
    changed = early.rows + late
    await db.execute_many("UPDATE post SET source = ?, cooked = ? WHERE id = ?",
                          [[r["source"], cooked[r["id"]], r["id"]] for r in changed], conn)
    retitled = await _rewrite_titles(conn, rw, counts, await reads.titles)
    # one index write per post; a first post carries its topic's title in the index, so first posts are read
    # back (post and topic rows are rewritten by now) for the rewritten topics and posts
    firsts = await db.fetch_in("SELECT p.id, p.cooked, t.title FROM post p JOIN topic t ON t.id = p.topic_id "
                               "WHERE p.number = 1 AND p.deleted_at IS NULL AND p.hidden_at IS NULL AND t.id IN ({in})",
                               sorted({r["topic_id"] for r in changed if r["number"] == 1} | set(retitled)), conn)
    held |= {f["id"] for f in firsts}  # their index entries held the old title
    entries = [(r["id"], "", cooked[r["id"]]) for r in changed
               if r["number"] != 1 and r["deleted_at"] is None and r["hidden_at"] is None]
    await search.index_posts(entries + [(f["id"], f["title"], f["cooked"]) for f in firsts], conn=conn)
    counts["rewritten_posts"] = len(changed)
    counts["rewritten_mentions"] = len(mentioned)
    counts["rewritten_quotes"] = len(quoting)
    return {r["topic_id"] for r in changed} | set(retitled)


async def _rewrite_titles(conn, rw: Rewriter, counts: dict, rows: list[dict]) -> dict[int, str]:
    changed = {}
    for row in rows:
        title = rw.title(row["title"], row["id"])
        if title != row["title"]:
            changed[row["id"]] = title
    await db.execute_many("UPDATE topic SET title = ?, slug = ? WHERE id = ?",
                          [[title, slugify(title), topic_id] for topic_id, title in changed.items()], conn)
    counts["rewritten_titles"] = len(changed)
    return changed


async def _reduce_revisions(conn, post_ids: list[int], user_id: int, counts: dict) -> None:
    """Their own posts keep one revision, the current (rewritten) text, with no editor; they stop being anyone's
    editor."""
    counts["removed_revisions"] = 0
    for chunk in db.chunks(post_ids):
        marks = db.marks(len(chunk))
        counts["removed_revisions"] += await db.execute(
            f"DELETE FROM post_revision WHERE post_id IN ({marks})", chunk, conn)
        await db.execute("INSERT INTO post_revision (post_id, number, editor_id, source, created_at) "
                         f"SELECT id, 1, NULL, source, created_at FROM post WHERE id IN ({marks})", chunk, conn)
    await db.execute("UPDATE post_revision SET editor_id = NULL WHERE editor_id = ?", [user_id], conn)


async def _scrub_column(conn, table: str, column: str, rw: Rewriter, *, only: str = "") -> int:
    """Rewrites the names out of others' free text in `column` wherever the candidate test finds one; returns how
    many rows changed."""
    where, params = rw.candidates(conn, column)
    if only:  # matches a partial index, so only the rows that can hold text are read
        where = f"{only} AND {where}"
    rows = await db.fetch_all(f"SELECT id, {column} AS text FROM {table} WHERE {where}", params, conn)
    updates = [[rw.others(r["text"]), r["id"]] for r in rows]
    updates = [u for u, r in zip(updates, rows, strict=True) if u[0] != r["text"]]
    await db.execute_many(f"UPDATE {table} SET {column} = ? WHERE id = ?", updates, conn)
    return len(updates)


async def _anonymise_own(conn, user_id: int, counts: dict) -> None:
    counts["anonymised_posts"] = await db.execute(
        "UPDATE post SET author_id = NULL, edited_at = NULL WHERE author_id = ?", [user_id], conn)
    # counted from RETURNING: on SQLite an UPDATE's count includes the rows its triggers wrote (page_version)
    counts["anonymised_topics"] = len(await db.fetch_all(
        "UPDATE topic SET author_id = NULL WHERE author_id = ? RETURNING id", [user_id], conn))


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
    counts["removed_drafts"] = await composer_drafts.delete_all_in(conn, user_id)
    counts["removed_notifications"] = (  # two statements, each on its own index
        await db.execute("DELETE FROM notification WHERE user_id = ?", [user_id], conn)
        + await db.execute("DELETE FROM notification WHERE actor_id = ? AND kind = ?",
                           [user_id, NotificationKind.LIKE.value], conn))
    counts["anonymised_notifications"] = await _anonymise_caused_notifications(conn, user_id)
    return liked_topics


async def _anonymise_caused_notifications(conn, user_id: int) -> int:
    """What the member caused in others' inboxes (a reply, mention, quote, an accepted answer, activity in a
    watched topic) is the recipients' and stays, with no actor: it points at a post that is anonymised by now
    and reads "Someone replied" (the page) or "Former member" (mail). Their likes are gone, so the notices of
    them go too (above). Setting one column also touches one index, where deleting the rows touched all seven
    of the table's: 40,000 notices took 0.5–1.2 s to delete and 0.2 s to update at 1,000,000 posts."""
    return await db.execute("UPDATE notification SET actor_id = NULL WHERE actor_id = ?", [user_id], conn)


async def _older_tier_held(conn, post_ids: set[int]) -> bool:
    """Whether any of these posts (whose text ever held a name) was indexed in the older search tier: ids only
    grow past the tier boundary, so a post before it was moved there or written there."""
    if conn.capabilities.dialect != "sqlite" or not post_ids:
        return False
    recent_from = (await db.fetch_one("SELECT recent_from FROM search_tier", [], conn))["recent_from"]
    return min(post_ids) < recent_from


async def anonymise_in(conn, user_id: int, *, text_locale: str, counts: dict) -> int | None:
    """Everything a withdrawal changes except the ledger, inside the caller's transaction (erasure reuses it).
    Returns the id of the byte purge it recorded (to run after the commit)."""
    if conn.capabilities.dialect == "sqlite":
        await names.register_sqlite_function(conn)
    identity = await load_identity(conn, user_id)
    scope = await build_scope(conn, identity) if identity is not None else None
    post_ids = await _ids("SELECT id FROM post WHERE author_id = ?", [user_id], conn)
    quoting = set(await _ids("SELECT q.post_id AS id FROM post_quote q JOIN post p ON p.id = q.quoted_post_id "
                             "WHERE p.author_id = ?", [user_id], conn))
    mentioned = set(await _ids("SELECT post_id AS id FROM post_mention WHERE user_id = ?", [user_id], conn))
    topics = set(await _ids("SELECT DISTINCT topic_id AS id FROM post WHERE author_id = ?", [user_id], conn))
    own_topics = set(await _ids("SELECT id FROM topic WHERE author_id = ?", [user_id], conn))
    held: set[int] = set()
    rw = reads = early = None
    if scope is not None:
        rw = Rewriter(scope, FORMER_MEMBER.get(text_locale, FORMER_MEMBER["nb"]), set(post_ids), own_topics)
        reads = Reads.start(conn, rw)  # first: the scan of every revision is the transaction's longest part
    try:
        await _anonymise_own(conn, user_id, counts)
        if rw is not None:
            # with no author and no profile left, mentions and quotes of them re-cook as plain text / "former
            # member"
            early = await _start_early(conn, rw, quoting | mentioned, held)
        if conn.capabilities.dialect == "sqlite":
            # for the next scan (this one reads the list as committed); their own revisions go below
            await names.classify_revisions(conn, going=post_ids)
        await db.execute("DELETE FROM profile WHERE user_id = ?", [user_id], conn)
        await db.execute("DELETE FROM name_history WHERE user_id = ?", [user_id], conn)
        topics |= await _remove_personal(conn, user_id, counts)  # while the scan runs
        if rw is not None:
            topics |= await _rewrite_posts(conn, rw, early, mentioned, quoting, counts, held, reads)
    except BaseException:
        if reads is not None:
            reads.drop()
        if early is not None:
            early.drop()
        raise
    counts["deleted_profile"] = int(identity is not None)
    if rw is not None:
        counts["rewritten_profiles"] = (await _scrub_column(conn, "profile", "bio", rw)
                                        + await _scrub_column(conn, "profile", "display_name", rw))
        counts["rewritten_notifications"] = await _scrub_column(conn, "notification", "message", rw,
                                                                only="message <> ''")
        counts["rewritten_categories"] = (await _scrub_column(conn, "category", "name", rw)
                                          + await _scrub_column(conn, "category", "description", rw))
        counts["left_out"] = scope.left_out()
    await db.execute("DELETE FROM post_mention WHERE user_id = ?", [user_id], conn)
    await _reduce_revisions(conn, post_ids, user_id, counts)
    await events.emit(events.CONSENT_WITHDRAWN, events.Withdrawal(
        user_id, post_ids, rw.others if rw else (lambda text: text), counts, conn))
    for chunk in db.chunks(sorted(topics)):
        await db.execute(f"UPDATE topic SET version = version + 1 WHERE id IN ({db.marks(len(chunk))})", chunk, conn)
    tiers = [search.RECENT, search.OLDER] if await _older_tier_held(conn, held | set(post_ids)) else [search.RECENT]
    return await byte_purge.record(conn, tiers)


async def record_withdrawal(conn, user_id: int, *, locale: str, channel: str) -> None:
    await record_event(conn, user_id=user_id, purpose=FORUM, policy=await current_policy(conn), locale=locale,
                       action=ConsentAction.WITHDRAWN, channel=channel)


async def withdraw_consent(viewer: Viewer | None, *, channel: str, text_locale: str = "nb") -> dict[str, int]:
    """`text_locale` picks the wording that replaces the user's name in other people's text."""
    if viewer is None:
        raise NotAuthenticated()
    counts: dict[str, int] = {}
    async with write_transaction(large=True) as conn:  # thousands of pages: no checkpoint in its COMMIT
        await lock_account(viewer.id, conn)
        status = await consent_status(viewer.id, conn)
        if status not in (ConsentStatus.GRANTED, ConsentStatus.OUTDATED):
            raise Conflict(N_("You have not given consent, so there is nothing to withdraw."), code="not_consented")
        purge_id = await anonymise_in(conn, viewer.id, text_locale=text_locale, counts=counts)
        await record_withdrawal(conn, viewer.id, locale=viewer.locale or text_locale, channel=channel)
    counts["byte_purge"] = await byte_purge.run(purge_id)
    return counts
