"""The search service against the real database: SQLite FTS5, or PostgreSQL with FORUM_TEST_DATABASE_URL.

The database is shared by the whole session, so every test searches for words made up for it alone.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from tortoise.transactions import in_transaction

from forum import db, markup
from forum.models import Category, Post, Profile, ReadAccess, Role, Topic, TopicKind, User
from forum.services import search
from forum.services.usernames import username_key
from forum.viewer import Viewer
from tests.conftest import migrate_in_a_process

_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def word(prefix: str = "ord") -> str:
    """A word no other test uses, letters only, so both tokenizers see exactly one token."""
    return prefix + uuid.uuid4().hex[:10].translate(_LETTERS)


def viewer(role: Role) -> Viewer:
    return Viewer(id=10_000_000, email="v@example.test", role=role, locale=None, username=None,
                  display_name=None, unread_notifications=0, session_id=0, session_token="x")


MEMBER, STAFF = viewer(Role.MEMBER), viewer(Role.STAFF)


async def make_category(read_access: ReadAccess = ReadAccess.PUBLIC) -> Category:
    slug = word("kat")
    return await Category.create(slug=slug, name=slug, read_access=read_access)


async def make_topic(category: Category, title: str, *, kind: TopicKind = TopicKind.DISCUSSION,
                     **fields) -> Topic:
    return await Topic.create(category=category, title=title, slug=word("t"), kind=kind,
                              last_posted_at=datetime.now(UTC), **fields)


async def make_post(topic: Topic, number: int, source: str, *, author: User | None = None, **fields) -> Post:
    cooked = markup.cook(source)
    post = await Post.create(topic=topic, number=number, source=source, cooked=cooked, author=author,
                             **fields)
    await search.index_post(post.id, title=topic.title if number == 1 else "", cooked=cooked)
    return post


async def make_user(username: str) -> User:
    user = await User.create(email=f"{username}@example.test", password_hash="x")
    await Profile.create(user=user, username=username, username_key=username_key(username))
    return user


async def post_ids(q: str, who: Viewer | None = None, **filters) -> list[int]:
    return [hit.post_id for hit in await search.search(who, q, **filters)]


async def test_a_title_match_ranks_above_a_body_match(app):
    w = word()
    category = await make_category()
    body_topic = await make_topic(category, "Noe helt annet")
    body_post = await make_post(body_topic, 1, f"En lang tekst om mange ting, blant annet {w}, og mer til.")
    title_topic = await make_topic(category, f"Spørsmål om {w}")
    title_post = await make_post(title_topic, 1, "Her står ordet bare i tittelen.")

    hits = await search.search(None, w)

    assert [h.post_id for h in hits] == [title_post.id, body_post.id]
    first = hits[0]
    assert (first.topic_id, first.post_number, first.title) == (title_topic.id, 1, f"Spørsmål om {w}")
    assert first.category_slug == category.slug and first.topic_slug == title_topic.slug
    assert first.author is None and first.created_at.tzinfo is not None
    # no match in the body: the title is the snippet
    assert f"<mark>{w}</mark>" in first.snippet


async def test_the_snippet_marks_matches_and_escapes_everything_else(app):
    w = word()
    topic = await make_topic(await make_category(), "Sikkerhet")
    await make_post(topic, 1, f'Skriv aldri <script>alert("x")</script> & <b>fet</b> i {w} når du poster.')

    [hit] = await search.search(None, w)

    assert f"<mark>{w}</mark>" in hit.snippet
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in hit.snippet
    assert "&amp; &lt;b&gt;fet&lt;/b&gt;" in hit.snippet
    assert hit.snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0


async def test_the_snippet_is_cut_around_the_matches_of_a_long_post(app):
    first, second = word(), word()
    filler = " ".join(["fyll"] * 300)
    topic = await make_topic(await make_category(), "Lang")
    await make_post(topic, 2, f"{filler} {first} midt i {second} og {filler}")

    [hit] = await search.search(None, f"{second} {first}")

    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert f"<mark>{first}</mark> midt i <mark>{second}</mark>" in hit.snippet
    assert len(hit.snippet) < 400


async def test_phrases_from_punctuated_words_are_marked_whole(app):
    w = word()
    topic = await make_topic(await make_category(), "E-post")
    await make_post(topic, 2, f"Send E-post til {w}, ikke post.")

    [hit] = await search.search(None, f"e-post {w}")

    assert hit.snippet == f"Send <mark>E-post</mark> til <mark>{w}</mark>, ikke post."


async def test_norwegian_letters_are_letters_of_their_own(app):
    w = word()
    topic = await make_topic(await make_category(), "Yrker")
    post = await make_post(topic, 1, f"Sjåfør {w} leser Bøker og er ÆRLIG om lønn.")

    for q in (f"sjåfør {w}", f"SJÅFØR {w}", f"bøker {w}", f"BØKER {w}", f"ærlig {w}", f"Ærlig {w}"):
        assert await post_ids(q) == [post.id], q
    for q in (f"sjafor {w}", f"boker {w}", f"aerlig {w}"):
        assert await post_ids(q) == [], q
    [hit] = await search.search(None, f"{w} bøker")
    assert "<mark>Bøker</mark>" in hit.snippet


async def test_the_last_term_also_matches_as_a_prefix(app):
    w = word()
    topic = await make_topic(await make_category(), "Transport")
    post = await make_post(topic, 1, f"Sjåførene i {w}vognlaget kjører om natten.")

    assert await post_ids(f"{w}vogn") == [post.id]
    assert await post_ids(f"sjåførene {w}vogn") == [post.id]
    assert await post_ids(f"{w}vognlaget sjåfør") == [post.id]
    # only the last term is a prefix
    assert await post_ids(f"{w}vogn sjåførene") == []
    [hit] = await search.search(None, f"{w}vognlag")
    assert f"<mark>{w}vognlaget</mark>" in hit.snippet


@pytest.mark.parametrize("q", [
    "", "   ", "!!!", '"', '""', '"""', "***", "*", "(", ")", "-", "+", ":", "'", "\\", "&|!", "<->",
    "^", "NEAR(", "AND", "OR NOT", "a:*", "x' OR '1'='1", "\x00\x02\x03", "_", "__init__", "…", "😀",
    "e-post", "C++", '"e-post"', "title:foo", "foo*bar", "ø" * 500, " ".join(["ord"] * 50),
])
async def test_awkward_queries_do_not_error(app, q):
    hits = await search.search(None, q)
    assert isinstance(hits, list)


async def test_punctuation_only_queries_find_nothing(app):
    for q in ("", "   ", "!!!", '"', "***", "&|!", "<->", "\x02"):
        assert await search.search(None, q) == [], q


async def test_words_with_punctuation_are_found(app):
    w = word()
    topic = await make_topic(await make_category(), "Programmering")
    post = await make_post(topic, 1, f"Send en e-post om C++ til {w}.")

    assert await post_ids(f"e-post {w}") == [post.id]
    assert await post_ids(f"C++ {w}") == [post.id]
    assert await post_ids(f'"{w}" ') == [post.id]
    assert await post_ids(f"{w} OR ingenting") == []


async def test_category_filter(app):
    w = word()
    first, second = await make_category(), await make_category()
    in_first = await make_post(await make_topic(first, "A"), 1, f"{w} her")
    in_second = await make_post(await make_topic(second, "B"), 1, f"{w} der")

    assert sorted(await post_ids(w)) == sorted([in_first.id, in_second.id])
    assert await post_ids(w, category=first.slug) == [in_first.id]
    assert await post_ids(w, category=second.slug) == [in_second.id]
    assert await post_ids(w, category="finnes-ikke") == []


async def test_author_filter_names_the_author_and_ignores_case(app):
    w = word()
    kari, ola = await make_user(word("Kari")), await make_user(word("Ola"))
    topic = await make_topic(await make_category(), "Samtale")
    by_kari = await make_post(topic, 1, f"{w} sier Kari", author=kari)
    by_ola = await make_post(topic, 2, f"{w} svarer Ola", author=ola)
    kari_name = (await Profile.get(user=kari)).username

    assert await post_ids(w, author=kari_name) == [by_kari.id]
    assert await post_ids(w, author=kari_name.upper()) == [by_kari.id]
    assert await post_ids(w, author=(await Profile.get(user=ola)).username) == [by_ola.id]
    assert await post_ids(w, author="ingen-slik") == []
    hit = next(h for h in await search.search(None, w) if h.post_id == by_kari.id)
    assert hit.author == kari_name


async def test_solved_filter(app):
    w = word()
    category = await make_category()
    solved_topic = await make_topic(category, "Løst", kind=TopicKind.QUESTION)
    solved = await make_post(solved_topic, 1, f"{w} spørsmål med svar")
    solved_topic.accepted_post_id = solved.id
    await solved_topic.save()
    open_question = await make_post(await make_topic(category, "Åpent", kind=TopicKind.QUESTION), 1,
                                    f"{w} spørsmål uten svar")
    discussion = await make_post(await make_topic(category, "Prat"), 1, f"{w} bare prat")

    assert sorted(await post_ids(w)) == sorted([solved.id, open_question.id, discussion.id])
    assert await post_ids(w, solved=True) == [solved.id]
    assert await post_ids(w, solved=False) == [open_question.id]


async def test_staff_categories_are_hidden_from_anonymous_users_and_members(app):
    w = word()
    staff_post = await make_post(await make_topic(await make_category(ReadAccess.STAFF), "Internt"), 1,
                                 f"{w} internt")
    members_post = await make_post(await make_topic(await make_category(ReadAccess.MEMBERS), "Medlem"), 1,
                                   f"{w} for medlemmer")

    assert await post_ids(w, None) == []
    assert await post_ids(w, MEMBER) == [members_post.id]
    assert sorted(await post_ids(w, STAFF)) == sorted([staff_post.id, members_post.id])
    assert staff_post.id in await post_ids(w, viewer(Role.MODERATOR))


async def test_deleted_and_hidden_posts_and_deleted_topics_are_not_found(app):
    w = word()
    now = datetime.now(UTC)
    category = await make_category()
    topic = await make_topic(category, "Blandet")
    visible = await make_post(topic, 1, f"{w} synlig")
    await make_post(topic, 2, f"{w} slettet", deleted_at=now)
    await make_post(topic, 3, f"{w} skjult", hidden_at=now, hidden_reason="spam")
    await make_post(await make_topic(category, "Borte", deleted_at=now), 1, f"{w} i slettet tråd")

    assert await post_ids(w, STAFF) == [visible.id]


async def test_remove_post_takes_it_out_of_the_index(app):
    w = word()
    post = await make_post(await make_topic(await make_category(), "Kort"), 1, f"{w} forsvinner")
    assert await post_ids(w) == [post.id]

    await search.remove_post(post.id)

    assert await post_ids(w) == []
    await search.remove_post(post.id)  # removing twice is harmless


async def test_indexing_an_edited_post_replaces_the_old_text(app):
    old, new = word(), word()
    topic = await make_topic(await make_category(), "Redigert")
    post = await make_post(topic, 2, f"Først {old}")

    cooked = markup.cook(f"Så {new}")
    await Post.filter(id=post.id).update(source=f"Så {new}", cooked=cooked)
    await search.index_post(post.id, title="", cooked=cooked)

    assert await post_ids(old) == []
    assert await post_ids(new) == [post.id]
    assert await post_ids(f"redigert {new}") == []  # not the first post: the title is not indexed with it


async def test_index_post_takes_part_in_the_callers_transaction(app):
    kept, rolled_back = word(), word()
    topic = await make_topic(await make_category(), "Transaksjon")

    async with db.write_transaction() as conn:
        post = await Post.create(topic=topic, number=1, source=kept, cooked=markup.cook(kept), using_db=conn)
        await search.index_post(post.id, title=topic.title, cooked=post.cooked, conn=conn)
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            other = await Post.create(topic=topic, number=2, source=rolled_back,
                                      cooked=markup.cook(rolled_back), using_db=conn)
            await search.index_post(other.id, title="", cooked=other.cooked, conn=conn)
            raise RuntimeError("boom")

    assert await post_ids(kept) == [post.id]
    assert await post_ids(rolled_back) == []


async def test_filters_never_hide_matches_beyond_the_candidate_window(app, monkeypatch):
    monkeypatch.setattr(search, "CANDIDATES", 1)
    w = word()
    staff_category = await make_category(ReadAccess.STAFF)
    for n in range(6):  # better-ranked (title) matches the anonymous viewer may not see
        await make_post(await make_topic(staff_category, f"{w} {n}"), 1, f"{w} {w}")
    public = await make_post(await make_topic(await make_category(), "Offentlig"), 1, f"lang tekst med {w}")

    assert await post_ids(w, limit=2) == [public.id]  # the first window holds only staff posts
    assert await post_ids(w) == [public.id]
    assert len(await post_ids(w, STAFF)) == 7


async def test_words_in_very_many_posts_rank_only_the_newest_matches(app, monkeypatch):
    monkeypatch.setattr(search, "RANK_DEPTH", 3)
    w = word()
    topic = await make_topic(await make_category(), "Mange treff")
    old_title_match = await make_post(await make_topic(await make_category(), f"Om {w}"), 1, f"{w}")
    newer = [(await make_post(topic, n, f"{w} nummer {n}")).id for n in range(2, 6)]

    assert old_title_match.id not in await post_ids(w)
    assert sorted(await post_ids(w)) == sorted(newer[-3:])


async def test_paging(app):
    w = word()
    topic = await make_topic(await make_category(), "Mange")
    ids = {(await make_post(topic, n, f"{w} nummer {n}")).id for n in range(1, 8)}

    first = await post_ids(w, limit=3)
    second = await post_ids(w, limit=3, offset=3)
    rest = await post_ids(w, limit=3, offset=6)
    assert len(first) == len(second) == 3 and len(rest) == 1
    assert set(first) | set(second) | set(rest) == ids
    assert await post_ids(w, offset=search.MAX_OFFSET + 1) == []


# a recent tier of 4 posts (moved on one post at a time), so a handful of posts spans both tiers
small_recent_tier = pytest.mark.parametrize("recent_tier", [4], indirect=True)


async def tier_of(post_id: int) -> str:
    """Which tier holds the post's entry: 'recent', 'older' or '' when it has none."""
    if db.dialect() == "sqlite":
        for table, name in (("search_recent", "recent"), ("search_index", "older")):
            if await db.fetch_one(f"SELECT 1 AS x FROM {table} WHERE rowid = ?", [post_id]):
                return name
        return ""
    row = await db.fetch_one("SELECT post_id >= (SELECT recent_from FROM search_tier) AS recent FROM search_index "
                             "WHERE post_id = ?", [post_id])
    return "" if row is None else "recent" if row["recent"] else "older"


@small_recent_tier
async def test_old_posts_move_to_the_older_tier_and_stay_findable(app, recent_tier):
    w = word()
    topic = await make_topic(await make_category(), "Lagdelt")
    ids = [(await make_post(topic, n, f"{w} nummer {n}")).id for n in range(1, 13)]

    tiers = [await tier_of(post_id) for post_id in ids]
    assert tiers[:6] == ["older"] * 6 and tiers[-4:] == ["recent"] * 4
    recent_from = (await db.fetch_one("SELECT recent_from FROM search_tier"))["recent_from"]
    assert ids[-5] <= recent_from <= ids[-4]
    if db.dialect() == "sqlite":
        assert (await db.fetch_one("SELECT count(*) AS n FROM search_recent"))["n"] <= 5
    # every post is found once, the recent tier first, then the older
    found = await post_ids(w, limit=50)
    assert sorted(found) == sorted(ids)
    recent = [post_id for post_id in found if await tier_of(post_id) == "recent"]
    assert found[:len(recent)] == recent
    # pages run on from one tier into the next, also when a page starts beyond the recent tier
    pages = [await post_ids(w, limit=3, offset=offset) for offset in range(0, 12, 3)]
    assert [post_id for page in pages for post_id in page] == found
    assert await post_ids(w, limit=5, offset=7) == found[7:12]


@small_recent_tier
async def test_edits_hides_and_filters_work_in_the_older_tier(app, recent_tier):
    w, edited = word(), word()
    category = await make_category()
    topic = await make_topic(category, "Gammel")
    old = await make_post(topic, 1, f"{w} før endringen")
    gone = await make_post(topic, 2, f"{w} skal bort")
    for n in range(3, 10):
        await make_post(await make_topic(await make_category(), "Ny"), 1, f"fyll {n}")
    assert await tier_of(old.id) == await tier_of(gone.id) == "older"

    await search.index_post(old.id, title=topic.title, cooked=markup.cook(f"{edited} etter endringen"))
    await search.remove_post(gone.id)

    assert await tier_of(old.id) == "older" and await tier_of(gone.id) == ""
    assert await post_ids(w) == []
    assert await post_ids(edited) == [old.id]
    assert await post_ids(edited, category=category.slug) == [old.id]
    assert await post_ids(edited, category="finnes-ikke") == []


@small_recent_tier
async def test_the_recent_tier_ranks_before_the_older_tier(app, recent_tier):
    w = word()
    old_title_match = await make_post(await make_topic(await make_category(), f"Alt om {w}"), 1, f"{w} {w}")
    for n in range(6):
        await make_post(await make_topic(await make_category(), "Fyll"), 1, f"fyll {n}")
    new_body_match = await make_post(await make_topic(await make_category(), "Annet"), 1,
                                     f"En lang tekst som nevner {w} en gang blant mye annet.")

    assert await post_ids(w) == [new_body_match.id, old_title_match.id]


@small_recent_tier
async def test_the_recent_table_is_always_merged_and_the_older_one_when_it_holds_the_name(app, recent_tier):
    old_name, new_name = word("navn"), word("navn")
    topic = await make_topic(await make_category(), "Navn")
    await make_post(topic, 1, f"Hei {old_name}")
    for n in range(2, 9):
        await make_post(topic, n, f"fyll {n}")
    await make_post(topic, 9, f"Hei {new_name}")

    older, recent = await search.tables_to_merge([old_name]), await search.tables_to_merge([new_name])
    if db.dialect() == "sqlite":
        assert older == ["search_recent", "search_index"]
        assert recent == await search.tables_to_merge([word("ingen")]) == ["search_recent"]
        await search.merge_segments(older)
    else:
        assert older == recent == []


def test_the_tier_migration_moves_the_newest_posts_entries_and_back(tmp_path):
    """0008 on a forum that already has an index: the newest 10,000 posts' entries move to the recent tier."""
    import sqlite3

    path = tmp_path / "tiers.sqlite3"
    url = f"sqlite:///{path}"
    migrate_in_a_process(url, "models.0007_withdrawal_indexes")
    conn = sqlite3.connect(path)  # no foreign keys: posts without topics will do here
    columns = [r[1] for r in conn.execute("PRAGMA table_info(post)") if r[3] and r[1] != "id"]
    values = {"like_count": 0, "deleted_by_moderator": 0, "topic_id": 1, "created_at": "2026-01-01"}
    conn.executemany(f"INSERT INTO post (id, {', '.join(columns)}) VALUES (?, {', '.join('?' * len(columns))})",
                     [[n, *[n if c == "number" else values.get(c, "x") for c in columns]] for n in range(1, 12_006)])
    conn.executemany("INSERT INTO search_index (rowid, title, body) VALUES (?, '', ?)",
                     [[n, f"innlegg {n}"] for n in range(1, 12_006)])
    conn.commit()
    conn.close()

    migrate_in_a_process(url, None)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT recent_from FROM search_tier").fetchall() == [(2_006,)]
    assert conn.execute("SELECT count(*), min(rowid) FROM search_recent").fetchone() == (10_000, 2_006)
    assert conn.execute("SELECT count(*), max(rowid) FROM search_index").fetchone() == (2_005, 2_005)
    conn.close()

    migrate_in_a_process(url, "models.0007_withdrawal_indexes")
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM search_index").fetchone() == (12_005,)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name IN ('search_recent', 'search_tier')"
                        ).fetchone() == (0,)
    conn.close()
