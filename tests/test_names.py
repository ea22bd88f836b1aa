"""The name matcher: generated spellings of generated names are found, rewritten away, and selected by the SQL
candidate test on the database under test (SQLite's registered function or PostgreSQL's folding)."""

from __future__ import annotations

import html.entities
import unicodedata
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forum import db
from forum.services.names import (
    FOLD,
    MARKS_ONLY,
    Matcher,
    exotic_kind,
    fold,
    register_sqlite_function,
    sql_candidates,
    sqlite_candidate_ids,
)

LETTERS = "abcdefghijklmnopqrstuvwxyzæøåéüöäð"
REPLACEMENT = "Tidligere medlem"
SEPARATORS = [" ", "\u00a0", "\n", "  ", "\t", " \n ", "\u2009", "\u202f"]
CONTEXT = ["", " ", "Hei ", "(", "\n", "mvh ", "– ", "Spør ", "«", "**"]

words = st.text(alphabet=LETTERS, min_size=3, max_size=8)
names = st.lists(words, min_size=1, max_size=3).map(lambda ws: " ".join(w.capitalize() for w in ws))


def _char(draw, c: str) -> str:
    c = draw(st.sampled_from([c, c.upper(), c.lower()]))
    how = draw(st.sampled_from(["plain"] * 6 + ["nfd", "entity", "numeric", "fullwidth"]))
    if how == "nfd":
        return unicodedata.normalize("NFD", c)
    if how == "entity" and ord(c) in html.entities.codepoint2name:
        return f"&{html.entities.codepoint2name[ord(c)]};"
    if how == "numeric":
        return f"&#{ord(c)};"
    if how == "fullwidth" and "a" <= c.lower() <= "z":
        return chr(ord(c) - ord("a" if c.islower() else "A") + (0xFF41 if c.islower() else 0xFF21))
    return c


@st.composite
def spellings(draw, name_strategy=names):
    """A name and one way of writing it."""
    name = draw(name_strategy)
    parts = name.split(" ")
    if draw(st.booleans()) and len(parts) > 1 and draw(st.integers(0, 4)) == 0:  # percent-encoded in a URL
        body = "https://example.test/search?q=" + quote(" ".join(parts))
    else:
        written = []
        for part in parts:
            chars = [_char(draw, c) for c in part]
            text = "".join(chars)
            wrap = draw(st.sampled_from(["", "", "", "**", "_", "*", "~~", "`"]))
            if wrap and draw(st.booleans()):
                cut = draw(st.integers(1, len(chars) - 1))
                text = "".join(chars[:cut]) + wrap + "".join(chars[cut:]) + wrap  # emphasis inside the word
            else:
                text = wrap + text + wrap
            written.append(text)
        body = written[0]
        for part in written[1:]:
            body += draw(st.sampled_from(SEPARATORS + ["-", " - ", "](https://example.test/x) "])) + part
        body += draw(st.sampled_from(["", "", "s", "'s", "'", "’s"]))
    return name, draw(st.sampled_from(CONTEXT)) + body + draw(st.sampled_from(["", " ", ".", " sa", ",", "!\n"]))


@given(spellings())
@settings(max_examples=400, deadline=None)
def test_every_generated_spelling_is_found_and_rewritten_away(example):
    name, text = example
    matcher = Matcher([name])
    assert matcher.finds(text), (name, text)
    rewritten = matcher.rewrite(text, REPLACEMENT)
    assert not matcher.finds(rewritten), (name, text, rewritten)
    assert REPLACEMENT in rewritten or "example.test" in text


@given(spellings(st.sampled_from(["ola", "ærlend"])))
@settings(max_examples=100, deadline=None)
def test_a_handle_in_a_url_or_an_address_leaves_no_broken_link(example):
    name, _text = example
    matcher = Matcher([name])
    for text in (f"se https://forum.test/u/{name} i dag", f"skriv til {name}@example.test",
                 f"[profilen](https://forum.test/u/{name.upper()}) her", f"<https://forum.test/u/{name}>"):
        rewritten = matcher.rewrite(text, REPLACEMENT)
        assert not matcher.finds(rewritten) and "https://forum.test/u/Tidligere" not in rewritten, rewritten
        assert "](" not in rewritten and "@example.test" not in rewritten


def test_words_next_to_the_name_are_not_the_name():
    matcher = Matcher(["Ola Nordmann", "olan"])
    for text in ("Olav Nordmanns", "Kola Nordmann", "olanx", "xolan", "Nordmann Ola", "Ola. Bergen, Nordmann"):
        assert not matcher.finds(text), text
        assert matcher.rewrite(text, REPLACEMENT) == text


def test_folding_keeps_a_map_back_to_the_original():
    text = "&Oslash;stg\u0061\u030ard **x**"
    folded = fold(text)
    assert folded.text == "østgård x"
    assert folded.span(0, 7) == (0, len("&Oslash;stg\u0061\u030ard"))


random_texts = st.text(alphabet=LETTERS + LETTERS.upper() + " \u00a0\n-*_&;%#0123456789æÆ\u0301\u030a", max_size=40)


@given(st.lists(st.tuples(spellings(), random_texts), min_size=1, max_size=8))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
async def test_the_sql_selection_finds_every_row_the_matcher_finds(app, rows):
    """Property: for any texts, the rows the matcher finds a name in are among those the SQL test selects."""
    conn = db.connection()
    dialect = conn.capabilities.dialect
    if dialect == "sqlite":
        await register_sqlite_function(conn)
    await db.execute("CREATE TABLE IF NOT EXISTS names_probe (id INTEGER PRIMARY KEY, body TEXT)")
    try:
        for (name, spelled), noise in rows:
            matcher = Matcher([name, "zq" + name.split(" ")[0].lower()])
            texts = [spelled, noise, noise + spelled, spelled.upper(), unicodedata.normalize("NFD", spelled)]
            await db.execute("DELETE FROM names_probe")
            await db.execute_many("INSERT INTO names_probe (id, body) VALUES (?, ?)",
                                  [[i, t] for i, t in enumerate(texts)])
            where, params = sql_candidates(dialect, "body", matcher)
            selected = {r["id"] for r in await db.fetch_all(f"SELECT id FROM names_probe WHERE {where}", params)}
            found = {i for i, t in enumerate(texts) if matcher.finds(t)}
            assert 0 in found
            assert found <= selected, [(texts[i], name) for i in found - selected]
            if dialect == "sqlite":  # as the withdrawal selects revisions: by the listed kind of each exotic text
                kinds = {i: exotic_kind(t) for i, t in enumerate(texts)}
                listed = {kind: ",".join(str(i) for i, k in kinds.items() if k == kind) or "NULL"
                          for kind in (MARKS_ONLY, FOLD)}
                ids, params = sqlite_candidate_ids(
                    "names_probe n", "n.id", "n.body", matcher,
                    marks_only=f"SELECT id FROM names_probe WHERE id IN ({listed[MARKS_ONLY]})",
                    exotic=f"SELECT id FROM names_probe WHERE id IN ({listed[FOLD]})")
                selected = {r["id"] for r in await db.fetch_all(f"SELECT id FROM names_probe WHERE id IN ({ids})",
                                                                params)}
                assert found <= selected, [(texts[i], kinds[i], name) for i in found - selected]
    finally:
        await db.execute("DROP TABLE IF EXISTS names_probe")
