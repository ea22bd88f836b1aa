"""Search quality on a fixed Norwegian set (tests/search_quality.py): recall@10 and MRR with and without
stemming, on the real index of the database under test. The numbers are printed (`-s`) and in the README."""

from __future__ import annotations

from datetime import UTC, datetime

from forum import markup
from forum.models import Category, Post, Topic, TopicKind
from forum.services import search
from tests.search_quality import DOCS, QUERIES
from tests.test_search_service import MEMBER, word


async def _index_corpus() -> tuple[str, dict[int, str]]:
    category = await Category.create(slug=word("kvalitet"), name="Kvalitet")
    keys: dict[int, str] = {}
    for key, (title, body) in DOCS.items():
        topic = await Topic.create(category=category, title=title, slug=word("t"), kind=TopicKind.QUESTION,
                                   last_posted_at=datetime.now(UTC))
        cooked = markup.cook(body)
        post = await Post.create(topic=topic, number=1, source=body, cooked=cooked)
        await search.index_post(post.id, title=title, cooked=cooked)
        keys[topic.id] = key
    return category.slug, keys


async def measure(category: str, keys: dict[int, str], stemmed: bool) -> tuple[float, float, list[str]]:
    before = search.STEMMING
    search.STEMMING = stemmed
    try:
        recall = rr = 0.0
        missed = []
        for query, expected in QUERIES:
            hits = await search.search(MEMBER, query, category=category, limit=10)
            found = [keys[h.topic_id] for h in hits]
            recall += len(set(found) & set(expected)) / len(expected)
            rank = next((n for n, key in enumerate(found, 1) if key in expected), None)
            rr += 1 / rank if rank else 0.0
            if set(expected) - set(found):
                missed.append(f"{query}: {sorted(set(expected) - set(found))}")
        return recall / len(QUERIES), rr / len(QUERIES), missed
    finally:
        search.STEMMING = before


def test_the_set_is_large_enough_and_names_only_its_topics():
    assert len(QUERIES) >= 50
    assert all(key in DOCS for _query, expected in QUERIES for key in expected)


async def test_stemming_finds_inflected_forms_and_loses_no_exact_match(app):
    category, keys = await _index_corpus()
    plain = await measure(category, keys, stemmed=False)
    stemmed = await measure(category, keys, stemmed=True)
    print(f"\nwithout stemming: recall@10 {plain[0]:.3f}, MRR {plain[1]:.3f}, missed {len(plain[2])}")
    print(f"with stemming:    recall@10 {stemmed[0]:.3f}, MRR {stemmed[1]:.3f}, missed {len(stemmed[2])}")
    print("still missed:", *stemmed[2], sep="\n  ")
    assert stemmed[0] > plain[0] and stemmed[1] >= plain[1]
    assert stemmed[0] >= 0.9 and stemmed[1] >= 0.9
    # every query stemming misses, the plain search missed as well (nothing found before is lost)
    assert {m.split(":")[0] for m in stemmed[2]} <= {m.split(":")[0] for m in plain[2]}


def test_migration_0019_stems_an_existing_index_and_goes_back(tmp_path):
    """0019 on a forum that already has an index (SQLite: each tier's FTS5 table rebuilt with the stem columns);
    PostgreSQL's path was checked the same way by hand (README, issue 25's report)."""
    import sqlite3

    from tests.conftest import migrate_in_a_process

    path = tmp_path / "stems.sqlite3"
    url = f"sqlite:///{path}"
    migrate_in_a_process(url, "models.0014_page_versions")
    conn = sqlite3.connect(path)
    conn.execute("UPDATE search_tier SET recent_from = 2001")
    conn.executemany("INSERT INTO search_index (rowid, title, body) VALUES (?, ?, ?)",
                     [[n, "Fakturaene" if n % 2 else "", f"sjåførene kjører {n}"] for n in range(1, 2001)])
    conn.executemany("INSERT INTO search_recent (rowid, title, body) VALUES (?, '', ?)",
                     [[n, f"lønna {n}"] for n in range(2001, 4501)])
    conn.commit()
    conn.close()

    migrate_in_a_process(url, None)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM search_index WHERE search_index MATCH '{title_stems} : faktur'"
                        ).fetchone() == (1000,)
    assert conn.execute("SELECT count(*) FROM search_index WHERE search_index MATCH '{body_stems} : sjåfør'"
                        ).fetchone() == (2000,)
    assert conn.execute("SELECT count(*) FROM search_recent WHERE search_recent MATCH '{body_stems} : lønn'"
                        ).fetchone() == (2500,)
    conn.close()

    migrate_in_a_process(url, "models.0014_page_versions")
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM search_index WHERE search_index MATCH 'fakturaene'").fetchone() == (1000,)
    assert conn.execute("SELECT count(*) FROM search_recent").fetchone() == (2500,)
    assert [r[1] for r in conn.execute("PRAGMA table_info(search_index)")] == ["title", "body"]
    conn.close()
