"""Seeds a benchmark database with bulk inserts that produce the rows the services write, and caches it.

What one post creation writes (forum/services/topics.py, posts.py, likes.py, answers.py, search.py), and what
the seed writes for each post, in the same columns and formats:
- `post` (number = topic.last_number + 1), `post_revision` number 1, `post_mention` per mentioned user (no
  quotes are seeded, so no `post_quote`), `search_index` (rowid = post id; the topic title for a first post,
  else ''; clean_text(searchable_text(cooked)): names of mentioned people stay out of the index; and their stems),
- `topic`: last_number, post_count, last_posted_at, version (+1 per reply, like and accept), accepted_post_id,
- `category`: topic_count, post_count,
- `notification`: the services' recipients and priority (mention > quote > reply > watched topic), the
  topic author and the replied-to author get `reply`, every watcher `watched_topic`; likes batched into one
  `like` row per post with `count`; `accepted` to the answer's author,
- `topic_watch` for every poster (the services watch the topic for whoever posts), `post_like` rows.
Reads: `topic_read` up to the number each poster wrote (what viewing the page after posting records).
Notifications older than a week are marked read (what `mark_read` writes), as active members would have.
Users share one argon2 hash (production profile) of BENCH_PASSWORD; every user has consented to the policy.

Post ids follow global time order (posts of many topics interleave), topic ids follow creation time, so a
topic page reads rows scattered over the table as a real forum's does. No ANALYZE: the app never runs one.

The seeding file is a throwaway: PRAGMA journal_mode=OFF / synchronous=OFF / foreign_keys=OFF while loading,
secondary indexes dropped and rebuilt from their exact migration SQL, then WAL restored and foreign keys,
counters and row counts checked. The result is cached in bench/.cache, keyed by SEED_VERSION, the size and
the migration files, so a changed schema reseeds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import sqlite3
import time
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.corpus import Body, Corpus
from bench.progress import Progress
from forum.services import search
from forum.services.stemming import stems_text

SEED_VERSION = 3  # 3: the stem columns of the search index (issue 25)
ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache"
MIGRATIONS = ROOT / "forum" / "migrations"
BENCH_PASSWORD = "benk-passord-123"
POLICY_VERSION = "bench-1"
END = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
START = END - timedelta(days=730)
READ_BEFORE = END - timedelta(days=7)


@dataclass(frozen=True)
class Size:
    name: str
    posts: int
    users: int
    topics: int
    big_topic_posts: int   # one topic this long (its last page is the "deep page" case)
    heavy_posts: int       # one user with this many posts ...
    heavy_mentions: int    # ... mentioned this many times by others
    categories: int = 20


SIZES = {
    "1k": Size("1k", 1_000, 60, 60, 200, 50, 10),
    "10k": Size("10k", 10_000, 200, 500, 1_000, 500, 50),
    "1M": Size("1M", 1_000_000, 20_000, 50_000, 10_000, 10_000, 1_000),
}

# fixed accounts (ids): 1 admin, 2-11 staff, 12 the signed-in reader, 13-16 writers, 17 the heavy user
ADMIN, STAFF, READER, WRITERS, HEAVY, FIRST_MEMBER = 1, range(2, 12), 12, range(13, 17), 17, 18
CATEGORIES = [
    # (name, read_access, start_topics)
    ("Spørsmål og svar", "public", "participants"), ("Regnskap", "public", "participants"),
    ("Fakturering", "public", "participants"), ("Lønn", "public", "participants"),
    ("Timeføring", "public", "participants"), ("Prosjekt", "public", "participants"),
    ("Lager", "public", "participants"), ("Ordre", "public", "participants"),
    ("Bank og betaling", "public", "participants"), ("Rapporter", "public", "participants"),
    ("Integrasjoner", "public", "participants"), ("API", "public", "participants"),
    ("Mobilapp", "public", "participants"), ("Innstillinger", "public", "participants"),
    ("Tips og triks", "public", "participants"), ("Ønsker", "public", "participants"),
    ("Kunngjøringer", "public", "staff"), ("Opplæring", "public", "staff"),
    ("Betatestere", "members", "participants"), ("Internt", "staff", "participants"),
]
FIRST_NAMES = ["ola", "kari", "nils", "ingrid", "per", "åse", "bjørn", "siri", "øystein", "tone", "lars", "marit",
               "jørgen", "hilde", "knut", "liv", "sverre", "randi", "eirik", "solveig", "håkon", "turid", "arne", "gro"]


def ts(value: datetime) -> str:
    """Tortoise's SQLite datetime text: isoformat with a space (e.g. 2026-11-25 00:45:44.855129+00:00)."""
    return value.isoformat(" ")


def username_for(user_id: int) -> str:
    special = {ADMIN: "Forumadmin", READER: "bench_leser", HEAVY: "hanne_hyppig"}
    if user_id in special:
        return special[user_id]
    if user_id in WRITERS:
        return f"bench_skriver{user_id - WRITERS.start + 1}"
    if user_id in STAFF:
        return f"stab_{FIRST_NAMES[user_id % len(FIRST_NAMES)]}{user_id}"
    return f"{FIRST_NAMES[user_id % len(FIRST_NAMES)]}_{user_id}"


def email_for(user_id: int) -> str:
    return f"user{user_id}@bench.example"


# -- the row builder: what one post creation writes ------------------------------------------------------

@dataclass
class TopicState:
    id: int
    category_id: int
    author_id: int
    title: str
    kind: str
    created_at: datetime
    last_number: int = 0
    post_count: int = 0
    version: int = 1
    last_posted_at: datetime | None = None
    accepted_post_id: int | None = None
    watchers: dict[int, None] = field(default_factory=dict)  # insertion order = watch order
    posts: list[tuple[int, int]] = field(default_factory=list)  # (post id, author id) by number - 1
    new: bool = True


SQL = {
    "post": "INSERT INTO post (id, number, reply_to_id, source, cooked, created_at, edited_at, like_count, deleted_at, "
            "deleted_by_moderator, hidden_at, hidden_reason, author_id, topic_id) "
            "VALUES (?, ?, ?, ?, ?, ?, NULL, ?, NULL, 0, NULL, NULL, ?, ?)",
    "revision": "INSERT INTO post_revision (number, source, created_at, editor_id, post_id) VALUES (1, ?, ?, ?, ?)",
    "mention": "INSERT INTO post_mention (post_id, user_id) VALUES (?, ?)",
    "search": "INSERT INTO search_index (rowid, title, body, title_stems, body_stems) VALUES (?, ?, ?, ?, ?)",
    "search_recent": "INSERT INTO search_recent (rowid, title, body, title_stems, body_stems) VALUES (?, ?, ?, ?, ?)",
    "notification": "INSERT INTO notification (kind, count, message, created_at, read_at, actor_id, post_id, topic_id, "
                    "user_id) VALUES (?, ?, '', ?, ?, ?, ?, ?, ?)",
    "watch": "INSERT INTO topic_watch (created_at, topic_id, user_id) VALUES (?, ?, ?)",
    "like": "INSERT INTO post_like (created_at, post_id, user_id) VALUES (?, ?, ?)",
}


@contextmanager
def transaction(conn: sqlite3.Connection):
    """BEGIN … COMMIT, unless the caller already holds a transaction (then it commits everything at once)."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Builder:
    """Turns post creations into row buffers; `flush` writes them with executemany in one transaction."""

    def __init__(self, conn: sqlite3.Connection, next_post_id: int) -> None:
        self.conn = conn
        self.next_post_id = next_post_id
        self.recent_from = conn.execute("SELECT recent_from FROM search_tier").fetchone()[0]
        self.rows: dict[str, list[tuple]] = {name: [] for name in SQL}
        self.reads: dict[tuple[int, int], int] = {}
        self.category_posts: dict[int, int] = {}
        self.category_topics: dict[int, int] = {}

    def _notify(self, user_id: int, kind: str, actor_id: int, topic_id: int, post_id: int, when: datetime,
                count: int = 1) -> None:
        read_at = ts(when + timedelta(hours=1)) if when < READ_BEFORE else None
        self.rows["notification"].append((kind, count, ts(when), read_at, actor_id, post_id, topic_id, user_id))

    def post(self, topic: TopicState, author: int, when: datetime, body: Body, *, mention: int | None = None,
             reply_to_number: int | None = None, likers: Iterable[int] = ()) -> int:
        post_id = self.next_post_id
        self.next_post_id += 1
        number = topic.last_number + 1
        first = number == 1
        topic.last_number = number
        topic.post_count += 1
        topic.last_posted_at = when
        if not first:
            topic.version += 1
        reply_to = topic.posts[reply_to_number - 1] if reply_to_number else None
        likers = [u for u in likers if u != author]
        created = ts(when)
        self.rows["post"].append((post_id, number, reply_to[0] if reply_to else None, body.source, body.cooked,
                                  created, len(likers), author, topic.id))
        self.rows["revision"].append((body.source, created, author, post_id))
        mentioned = mention if mention is not None and mention != author else None
        if mentioned is not None:
            self.rows["mention"].append((post_id, mentioned))
        self.rows["search_recent" if post_id >= self.recent_from else "search"].append(
            (post_id, topic.title if first else "", body.text, stems_text(topic.title) if first else "", body.stems))
        self.category_posts[topic.category_id] = self.category_posts.get(topic.category_id, 0) + 1
        if first:  # create_topic: watch first, then notify mentions (no category watches are seeded)
            self.category_topics[topic.category_id] = self.category_topics.get(topic.category_id, 0) + 1
            self._watch(topic, author, when)
            if mentioned is not None:
                self._notify(mentioned, "mention", author, topic.id, post_id, when)
        else:  # create_reply: watchers, topic author, replied-to author, mentions; then the poster watches
            reasons: dict[int, set[str]] = {}
            for user_id in topic.watchers:
                reasons.setdefault(user_id, set()).add("watched_topic")
            reasons.setdefault(topic.author_id, set()).add("reply")
            if reply_to is not None:
                reasons.setdefault(reply_to[1], set()).add("reply")
            if mentioned is not None:
                reasons.setdefault(mentioned, set()).add("mention")
            for user_id, kinds in reasons.items():
                if user_id == author:
                    continue
                kind = next(k for k in ("mention", "quote", "reply", "watched_topic") if k in kinds)
                self._notify(user_id, kind, author, topic.id, post_id, when)
            self._watch(topic, author, when)
        topic.posts.append((post_id, author))
        self.reads[(author, topic.id)] = number
        if likers:  # like_post: a post_like each, +1 version each, one batched notification with the count
            for n, liker in enumerate(likers, start=1):
                self.rows["like"].append((ts(when + timedelta(minutes=7 * n)), post_id, liker))
            topic.version += len(likers)
            self._notify(author, "like", likers[-1], topic.id, post_id, when + timedelta(minutes=7 * len(likers)),
                         count=len(likers))
        return post_id

    def _watch(self, topic: TopicState, user_id: int, when: datetime) -> None:
        if user_id not in topic.watchers:
            topic.watchers[user_id] = None
            self.rows["watch"].append((ts(when), topic.id, user_id))

    def accept(self, topic: TopicState, post_id: int, answer_author: int, when: datetime) -> None:
        """accept_answer: accepted_post_id, version + 1, `accepted` to the answer's author."""
        topic.accepted_post_id = post_id
        topic.version += 1
        if answer_author != topic.author_id:
            self._notify(answer_author, "accepted", topic.author_id, topic.id, post_id, when)

    def pending(self) -> int:
        return len(self.rows["post"])

    def flush(self) -> None:
        with transaction(self.conn):
            for name, rows in self.rows.items():
                if rows:
                    self.conn.executemany(SQL[name], rows)
                    rows.clear()

    def write_reads(self) -> None:
        with transaction(self.conn):
            self.conn.executemany(
                "INSERT INTO topic_read (last_read_number, topic_id, user_id) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id, topic_id) DO UPDATE SET last_read_number = excluded.last_read_number "
                "WHERE topic_read.last_read_number < excluded.last_read_number",
                ((number, topic_id, user_id) for (user_id, topic_id), number in self.reads.items()))
        self.reads.clear()


# -- schema and the few rows the services write directly ---------------------------------------------------

def schema_key(size: Size) -> str:
    digest = hashlib.sha256(f"seed-v{SEED_VERSION}|{json.dumps(asdict(size), sort_keys=True)}".encode())
    for path in sorted(MIGRATIONS.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


async def _schema_and_fixed_rows(url: str) -> dict:
    """Migrations, the policy and the categories through the real code (a handful of rows)."""
    from tortoise import Tortoise

    from forum.db.config import tortoise_config
    from forum.migrate import apply_migrations
    from forum.services.categories import create_category_as_system
    from forum.services.consent import publish_policy
    from forum.services.policy_file import DEMO_POLICY, read_policy_file

    await apply_migrations(url, quiet=True)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    try:
        texts = read_policy_file(DEMO_POLICY)
        policy = await publish_policy(version=POLICY_VERSION, text_nb=texts["nb"], text_en=texts["en"])
        for n, (name, read, start) in enumerate(CATEGORIES, start=1):
            await create_category_as_system(slug=f"kategori-{n:02d}", name=name, description=f"Alt om {name.lower()}.",
                                            read=read, start_topics=start)
        return {"policy_sha_nb": policy.sha256_nb}
    finally:
        await Tortoise.close_connections()


def _password_hash() -> str:
    import argon2

    from forum.passwords import PROFILES

    return argon2.PasswordHasher.from_parameters(PROFILES["rfc9106_low_memory"]).hash(BENCH_PASSWORD)


def _insert_users(conn: sqlite3.Connection, ids: Iterable[int], *, password_hash: str, policy_sha: str,
                  created: datetime, names: dict[int, str] | None = None) -> None:
    """register() writes account + profile; grant_consent writes consent_subject + a `granted` event."""
    ids = list(ids)
    roles = {ADMIN: "admin", **{s: "staff" for s in STAFF}}
    with transaction(conn):
        _insert_user_rows(conn, ids, roles, password_hash, policy_sha, created, names)


def _insert_user_rows(conn, ids, roles, password_hash, policy_sha, created, names) -> None:
    from forum.services.usernames import username_key

    conn.executemany("INSERT INTO account (id, email, password_hash, role, locale, created_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     [(u, email_for(u), password_hash, roles.get(u, "member"), None, ts(created)) for u in ids])
    handles = {u: (names or {}).get(u) or username_for(u) for u in ids}
    conn.executemany("INSERT INTO profile (id, username, username_key, display_name, bio, created_at, user_id) "
                     "VALUES (?, ?, ?, '', '', ?, ?)",
                     [(u, handles[u], username_key(handles[u]), ts(created), u) for u in ids])
    conn.executemany("INSERT INTO consent_subject (user_id, pseudonym) VALUES (?, ?)",
                     [(u, str(uuid.uuid4())) for u in ids])
    conn.executemany("INSERT INTO consent_event (subject_id, policy_version, text_sha256, locale, action, channel, "
                     "created_at) VALUES ((SELECT id FROM consent_subject WHERE user_id = ?), ?, ?, 'nb', 'granted', "
                     "'page', ?)",
                     [(u, POLICY_VERSION, policy_sha, ts(created + timedelta(minutes=3))) for u in ids])


BULK_TABLES = ("post", "post_revision", "post_mention", "post_like", "notification", "topic_watch", "topic_read",
               "topic", "consent_event")


def _drop_indexes(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
                        f"({','.join('?' * len(BULK_TABLES))})", BULK_TABLES).fetchall()
    for name, _sql in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [sql for _name, sql in rows]


# -- the plan: topics, then every post in global time order ----------------------------------------------

@dataclass
class Plan:
    topics: list[TopicState]
    events: list[tuple]  # (time, topic index, author, mention user or None, reply-to number or None)
    big: int             # topic indexes
    bench: int


def _plan(size: Size, corpus: Corpus, rng: random.Random) -> Plan:
    span = (END - START).total_seconds()
    members = range(FIRST_MEMBER, size.users + 1)
    weights = [1.0 / (n + 2) for n in range(size.categories)]
    topics: list[tuple] = []  # (t0, category, kind, author, pool, count)
    rest = size.posts - size.big_topic_posts - 20
    others = size.topics - 2
    counts = [rng.randint(1, max(1, 2 * rest // others - 1)) for _ in range(others)]
    diff = rest - sum(counts)
    while diff:
        n = rng.randrange(others)
        step = 1 if diff > 0 else -1
        if counts[n] + step >= 1:
            counts[n] += step
            diff -= step
    for count in counts:
        category = rng.choices(range(1, size.categories + 1), weights=weights)[0]
        staff_led = CATEGORIES[category - 1][2] == "staff"
        author = rng.choice(STAFF) if staff_led else rng.choice(members)
        kind = ("training" if category == 18 else "discussion") if staff_led else (
            "question" if rng.random() < 0.6 else "discussion")
        pool = [author] + rng.sample(members, min(len(members), rng.randint(1, 7)))
        topics.append((rng.uniform(0, span * 0.98), category, kind, author, pool, count))
    big_pool = rng.sample(members, min(len(members), 50))
    topics.append((span * 0.01, 1, "discussion", big_pool[0], big_pool, size.big_topic_posts))
    bench_pool = rng.sample(members, 7)
    topics.append((span * 0.995, 1, "question", bench_pool[0], bench_pool, 20))
    order = sorted(range(len(topics)), key=lambda n: topics[n][0])
    position = {n: i for i, n in enumerate(order)}
    states: list[TopicState] = []
    events: list[tuple] = []
    for new_id, n in enumerate(order, start=1):
        t0, category, kind, author, pool, count = topics[n]
        title = corpus.title()
        states.append(TopicState(new_id, category, author, title, kind, START + timedelta(seconds=t0)))
        index = new_id - 1
        when = t0
        gap = span * 0.99 / count if count > 1000 else 6 * 3600
        for number in range(1, count + 1):
            if number > 1:
                when = min(span - 60, when + rng.expovariate(1 / gap))
            poster = author if number == 1 else rng.choice(pool)
            reply_to = rng.randint(1, number - 1) if number > 2 and rng.random() < 0.15 else None
            events.append((when, index, poster, None, reply_to))
    return Plan(states, events, position[len(topics) - 2], position[len(topics) - 1])


def _assign_heavy_user(plan: Plan, size: Size, rng: random.Random) -> None:
    """The heavy user writes `heavy_posts` replies across ordinary topics and is @mentioned `heavy_mentions` times."""
    skip = {plan.big, plan.bench}
    ordinary = [n for n, e in enumerate(plan.events)
                if e[1] not in skip and e[2] != plan.topics[e[1]].author_id and e[4] is None]
    chosen = rng.sample(ordinary, size.heavy_posts + size.heavy_mentions)
    for n in chosen[: size.heavy_posts]:
        when, topic, _author, mention, reply_to = plan.events[n]
        plan.events[n] = (when, topic, HEAVY, mention, reply_to)
    for n in chosen[size.heavy_posts:]:
        when, topic, author, _mention, reply_to = plan.events[n]
        plan.events[n] = (when, topic, author, HEAVY, reply_to)


def _likers(rng: random.Random, members: range, topic: int, number: int, plan: Plan) -> list[int]:
    if topic == plan.bench and number in (2, 5, 8):
        return [READER, *rng.sample(members, 2)]
    if rng.random() < 0.2:
        return rng.sample(members, rng.randint(1, 4))
    return []


def seed(path: Path, size: Size, corpus: Corpus, *, log=print) -> dict:
    """Builds the database at `path` (a new file) and returns its meta data."""
    rng = random.Random(f"bench-{size.name}")
    started = time.monotonic()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    fixed = asyncio.run(_schema_and_fixed_rows(url))
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF", "cache_size=-1000000",
                   "temp_store=MEMORY", "locking_mode=EXCLUSIVE"):
        conn.execute(f"PRAGMA {pragma}")
    index_sql = _drop_indexes(conn)
    password_hash = _password_hash()
    members = range(FIRST_MEMBER, size.users + 1)
    log(f"  planning {size.posts:,} posts in {size.topics:,} topics by {size.users:,} users")
    _insert_users(conn, range(1, size.users + 1), password_hash=password_hash, policy_sha=fixed["policy_sha_nb"],
                  created=START - timedelta(days=30))
    plan = _plan(size, corpus, rng)
    _assign_heavy_user(plan, size, rng)
    plan.events.sort(key=lambda e: e[0])
    builder = Builder(conn, 1)
    # the search index's tiers as the services leave them once all posts are written (ids 1..posts)
    builder.recent_from = max(1, len(plan.events) - search.RECENT_POSTS + 1)
    conn.execute("UPDATE search_tier SET recent_from = ?", [builder.recent_from])
    heavy_name = username_for(HEAVY)
    mention_bodies = corpus.mention_bodies(heavy_name)
    bodies = corpus.bodies
    with Progress("posts (rows, index, counters)", len(plan.events)) as bar:
        for when, topic_index, author, mention, reply_to in plan.events:
            topic = plan.topics[topic_index]
            body = rng.choice(mention_bodies) if mention is not None else bodies[rng.randrange(len(bodies))]
            number = topic.last_number + 1
            builder.post(topic, author, START + timedelta(seconds=when), body, mention=mention,
                         reply_to_number=reply_to, likers=_likers(rng, members, topic_index, number, plan))
            if builder.pending() >= 20_000:
                bar.advance(builder.pending())
                builder.flush()
        bar.advance(builder.pending())
        builder.flush()
    for n, topic in enumerate(plan.topics):
        if topic.kind == "question" and topic.last_number >= 2 and (n == plan.bench or rng.random() < 0.4):
            number = 3 if n == plan.bench else rng.randint(2, topic.last_number)
            post_id, answer_author = topic.posts[number - 1]
            builder.accept(topic, post_id, answer_author, topic.last_posted_at + timedelta(hours=1))
    builder.reads[(READER, plan.topics[plan.bench].id)] = 10
    builder.flush()
    builder.write_reads()
    _insert_topics(conn, plan.topics)
    for category_id, count in builder.category_posts.items():
        conn.execute("UPDATE category SET post_count = post_count + ?, topic_count = topic_count + ? WHERE id = ?",
                     [count, builder.category_topics.get(category_id, 0), category_id])
    with Progress("secondary indexes", len(index_sql)) as bar:
        for sql in index_sql:
            conn.execute(sql)
            bar.advance()
    with Progress("exotic revisions", 1) as bar:
        _classify_revisions(conn)
        bar.advance()
    meta = _meta(conn, size, plan, started)
    conn.execute("PRAGMA locking_mode=NORMAL")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    check(path)
    meta["seed_seconds"] = round(time.monotonic() - started, 1)
    return meta


def _classify_revisions(conn: sqlite3.Connection) -> None:
    """What `forum purge` (names.classify_revisions) leaves: the revisions a withdrawal must fold in Python."""
    from forum.services import names

    conn.create_function(names.SQLITE_EXOTIC, 1, names.exotic_kind, deterministic=True)
    conn.execute(names.CLASSIFY + ") WHERE kind > 0")
    conn.execute("UPDATE name_scan SET checked_through = (SELECT coalesce(max(id), 0) FROM post_revision)")


def _insert_topics(conn: sqlite3.Connection, topics: list[TopicState]) -> None:
    from forum.services.slugs import slugify

    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO topic (id, title, slug, kind, pinned, pinned_globally, locked, post_count, last_number, "
        "accepted_post_id, created_at, last_posted_at, version, deleted_at, author_id, category_id) "
        "VALUES (?, ?, ?, ?, 0, 0, 0, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
        [(t.id, t.title, slugify(t.title), t.kind, t.post_count, t.last_number, t.accepted_post_id, ts(t.created_at),
          ts(t.last_posted_at), t.version, t.author_id, t.category_id) for t in topics])
    conn.execute("COMMIT")


def _meta(conn: sqlite3.Connection, size: Size, plan: Plan, started: float) -> dict:
    from forum.services.slugs import slugify

    big, bench = plan.topics[plan.big], plan.topics[plan.bench]
    counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
              for table in ("account", "topic", "post", "notification", "post_like", "post_mention", "topic_watch",
                            "topic_read", "category")}
    public = [row[0] for row in conn.execute(
        "SELECT t.id FROM topic t JOIN category c ON c.id = t.category_id WHERE c.read_access = 'public' "
        "AND c.start_topics = 'participants' AND t.id NOT IN (?, ?) ORDER BY t.id", [big.id, bench.id])]
    rng = random.Random(1)
    return {
        "size": asdict(size), "seed_version": SEED_VERSION, "counts": counts, "password": BENCH_PASSWORD,
        "big_topic": {"id": big.id, "slug": slugify(big.title), "last_page": -(-big.last_number // 20)},
        "bench_topic": {"id": bench.id, "slug": slugify(bench.title), "category": f"kategori-{bench.category_id:02d}"},
        "reader": email_for(READER), "writers": [email_for(u) for u in WRITERS],
        "heavy": {"username": username_for(HEAVY), "email": email_for(HEAVY)},
        "write_topics": rng.sample(public, min(200, len(public))),
        "members": [FIRST_MEMBER, size.users],
    }


def check(path: Path) -> None:
    """Foreign keys hold and the counters match the rows, as the services would have left them."""
    conn = sqlite3.connect(path)
    try:
        problems = conn.execute("PRAGMA foreign_key_check").fetchmany(5)
        if problems:
            raise RuntimeError(f"seeded database breaks foreign keys: {problems}")
        checks = {
            "topic.post_count": "SELECT (SELECT sum(post_count) FROM topic) = (SELECT count(*) FROM post)",
            "category.post_count": "SELECT (SELECT sum(post_count) FROM category) = (SELECT count(*) FROM post)",
            "category.topic_count": "SELECT (SELECT sum(topic_count) FROM category) = (SELECT count(*) FROM topic)",
            "search tiers": "SELECT (SELECT count(*) FROM search_index) + (SELECT count(*) FROM search_recent) "
                            "= (SELECT count(*) FROM post) AND (SELECT coalesce(max(rowid), 0) FROM search_index) "
                            "< (SELECT recent_from FROM search_tier) AND (SELECT min(rowid) FROM search_recent) "
                            ">= (SELECT recent_from FROM search_tier)",
            "post.like_count": "SELECT (SELECT sum(like_count) FROM post) = (SELECT count(*) FROM post_like)",
        }
        for name, sql in checks.items():
            if conn.execute(sql).fetchone()[0] != 1:
                raise RuntimeError(f"seeded database: {name} does not match its rows")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            raise RuntimeError("seeded database is not in WAL mode")
    finally:
        conn.close()


def cached_database(size: Size, corpus_factory, *, log=print, cache: Path = CACHE) -> tuple[Path, dict]:
    """The seeded database for `size` from the cache, seeding it first when the key changed."""
    cache.mkdir(parents=True, exist_ok=True)
    key = schema_key(size)
    path = cache / f"forum-{size.name}-{key}.sqlite3"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        log(f"seed {size.name}: cached ({path.name})")
        return path, json.loads(meta_path.read_text())
    for old in cache.glob(f"forum-{size.name}-*"):
        old.unlink()
    log(f"seed {size.name}: building (key {key})")
    tmp = cache / f"seeding-{size.name}-{os.getpid()}.sqlite3"
    meta = seed(tmp, size, corpus_factory(), log=log)
    tmp.rename(path)
    meta_path.write_text(json.dumps(meta, indent=1))
    log(f"seed {size.name}: {meta['counts']['post']:,} posts in {meta['seed_seconds']} s, "
        f"{path.stat().st_size / 1e6:,.0f} MB")
    return path, meta


# -- a withdrawal subject added to a working copy: N posts of their own, M mentions by others --------------

def add_subject(path: Path, corpus: Corpus, meta: dict, *, username: str, posts: int, mentions: int,
                seed_text: str) -> dict:
    """Adds a consented user with `posts` replies spread over ordinary topics and `mentions` posts by others
    that @mention them, as the services would (appended after everything else). Returns email and counts."""
    rng = random.Random(seed_text)
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("BEGIN IMMEDIATE")  # one write transaction: ids read here stay ours until the commit
    try:
        user_id = conn.execute("SELECT max(id) FROM account").fetchone()[0] + 1
        sha = conn.execute("SELECT sha256_nb FROM policy_version WHERE version = ?", [POLICY_VERSION]).fetchone()[0]
        password_hash = conn.execute("SELECT password_hash FROM account WHERE id = ?", [READER]).fetchone()[0]
        when = datetime.fromisoformat(conn.execute("SELECT max(created_at) FROM post").fetchone()[0])
        _insert_users(conn, [user_id], password_hash=password_hash, policy_sha=sha, created=when,
                      names={user_id: username})
        first, last = meta["members"]
        skip = (meta["big_topic"]["id"], meta["bench_topic"]["id"])
        topic_ids = [row[0] for row in conn.execute(
            "SELECT t.id FROM topic t JOIN category c ON c.id = t.category_id WHERE c.read_access = 'public' "
            "AND t.id NOT IN (?, ?) AND t.deleted_at IS NULL", skip)]
        chosen = rng.sample(topic_ids, min(len(topic_ids), max(1, posts // 4)))
        states = _load_topics(conn, chosen)
        next_id = conn.execute("SELECT max(id) FROM post").fetchone()[0] + 1
        builder = Builder(conn, next_id)
        bodies, mention_bodies = corpus.bodies, corpus.mention_bodies(username)
        members = range(first, last + 1)
        jobs = [(user_id, None)] * posts + [(None, user_id)] * mentions
        rng.shuffle(jobs)
        with Progress(f"subject {username}", len(jobs)) as bar:
            for author, mention in jobs:
                when += timedelta(seconds=rng.uniform(1, 30))
                topic = states[rng.choice(chosen)]
                if mention is not None:
                    builder.post(topic, rng.choice(members), when, rng.choice(mention_bodies), mention=mention)
                else:
                    builder.post(topic, author, when, bodies[rng.randrange(len(bodies))],
                                 likers=rng.sample(members, rng.randint(1, 3)) if rng.random() < 0.2 else ())
                if builder.pending() >= 20_000:
                    bar.advance(builder.pending())
                    builder.flush()
            bar.advance(builder.pending())
            builder.flush()
        builder.write_reads()
        _settle_search_tiers(conn)
        conn.executemany(
            "UPDATE topic SET last_number = ?, post_count = ?, version = ?, last_posted_at = ? WHERE id = ?",
            [(t.last_number, t.post_count, t.version, ts(t.last_posted_at), t.id) for t in states.values()])
        conn.executemany("UPDATE category SET post_count = post_count + ? WHERE id = ?",
                         [(n, c) for c, n in builder.category_posts.items()])
        conn.execute("COMMIT")
        return {"user_id": user_id, "email": email_for(user_id), "username": username, "posts": posts,
                "mentions": mentions}
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()


def _settle_search_tiers(conn: sqlite3.Connection) -> None:
    """What search.index_post's moves leave after posts were appended to the recent tier: its newest
    RECENT_POSTS posts, once it has grown past that by more than a step."""
    recent_from = conn.execute("SELECT recent_from FROM search_tier").fetchone()[0]
    newest = conn.execute("SELECT max(id) FROM post").fetchone()[0]
    if newest - recent_from + 1 > search.RECENT_POSTS + search.move_step():
        recent_from = newest - search.RECENT_POSTS + 1
        for sql in search.MOVE_SQL:
            conn.execute(sql, [recent_from])
        conn.execute(search.ADVANCE_SQL, [recent_from] * 2)


def _load_topics(conn: sqlite3.Connection, ids: list[int]) -> dict[int, TopicState]:
    states: dict[int, TopicState] = {}
    marks = ",".join("?" * len(ids))
    for row in conn.execute(
            "SELECT id, category_id, author_id, title, kind, created_at, last_number, post_count, version, "
            f"last_posted_at, accepted_post_id FROM topic WHERE id IN ({marks})", ids):
        states[row[0]] = TopicState(row[0], row[1], row[2], row[3], row[4], datetime.fromisoformat(row[5]),
                                    row[6], row[7], row[8], datetime.fromisoformat(row[9]), row[10], new=False)
    for topic_id, user_id in conn.execute(f"SELECT topic_id, user_id FROM topic_watch WHERE topic_id IN ({marks}) "
                                          "ORDER BY id", ids):
        states[topic_id].watchers[user_id] = None
    for topic_id, post_id, author_id in conn.execute(
            f"SELECT topic_id, id, author_id FROM post WHERE topic_id IN ({marks}) ORDER BY topic_id, number", ids):
        states[topic_id].posts.append((post_id, author_id))
    return states
