"""Issue 16 on the HTML pages: the consent form warns about an ordinary-word name as the API does, and the
withdrawal's confirmation says what it left out, as the API's answer does."""

from __future__ import annotations

import html

from forum import db
from tests.conftest import new_topic
from tests.test_withdrawal import register
from tests.test_withdrawal_names import tag


async def ordinary_word(make_user, category) -> str:
    """A word two people write in four unrelated posts: an ordinary word of this forum by the withdrawal's rule."""
    word = f"ord{tag()}"
    writers = [await make_user(), await make_user()]
    for n, writer in enumerate(writers * 2):
        await new_topic(writer, category.slug, title=f"Emne nummer {n}", body=f"Send {word.capitalize()} til oss.")
    return word


async def in_english(client) -> None:
    chosen = await client.post_form("/language", {"locale": "en", "next": "/settings"}, token_from="/settings")
    assert chosen.status_code == 303


async def give_consent_on_the_page(client, **extra):
    policy = (await client.get("/api/v1/consent")).json()["policy"]
    token = await client.form_token("/consent")
    return await client.post("/consent", data={"csrf_token": token, "policy_version": policy["version"],
                                               "locale": "nb", "agree": "yes", "purpose": "forum", **extra})


async def test_the_consent_form_warns_about_a_handle_that_is_an_ordinary_word(client_factory, make_user, category):
    word = await ordinary_word(make_user, category)
    zed = await register(client_factory, word, consent=False)
    given = await give_consent_on_the_page(zed, next="/categories")
    assert given.status_code == 303, given.text
    assert given.headers["location"].startswith("/consent?saved=forum-granted")
    page = (await zed.get(given.headers["location"])).text
    assert 'id="name-warning-username"' in page and f"«{word}» er et vanlig ord" in html.unescape(page)
    assert 'href="/categories"' in page  # the way on, to where the member was going
    assert (await zed.get("/api/v1/consent")).json()["status"] == "granted"  # a warning, never a refusal
    assert (await db.fetch_one("SELECT username FROM profile WHERE username = ?", [word])) is not None
    await in_english(zed)
    english = (await zed.get("/consent")).text
    assert f"“{word}” is a common word in this forum" in html.unescape(english)


async def test_the_consent_form_goes_on_at_once_with_a_distinctive_handle(client_factory):
    zed = await register(client_factory, f"Zqx{tag()}", consent=False)
    given = await give_consent_on_the_page(zed, next="/categories")
    assert given.status_code == 303 and given.headers["location"] == "/categories"
    assert 'id="name-warning-' not in (await zed.get("/consent")).text


async def test_the_withdrawal_page_says_what_it_left_out_after_withdrawing(client_factory, make_user, category):
    word = await ordinary_word(make_user, category)
    zed = await register(client_factory, word)
    token = await zed.form_token("/settings/withdraw")
    done = await zed.post("/settings/withdraw", data={"csrf_token": token})
    assert done.status_code == 200, done.text
    page = html.unescape(done.text)
    assert 'id="left-out"' in page and f"«{word}»" in page and "står fortsatt i 4 innlegg" in page
    assert "Samtykket ditt er trukket tilbake" in page
    assert word not in done.headers.get("location", "") and word not in str(done.url)  # not in any URL
    assert (await zed.get("/api/v1/consent")).json()["status"] == "withdrawn"
    assert (await db.fetch_one("SELECT count(*) AS n FROM post WHERE lower(source) LIKE ?", [f"%{word}%"]))["n"] == 4


async def test_the_withdrawal_page_in_english_says_what_it_left_out(client_factory, make_user, category):
    word = await ordinary_word(make_user, category)
    zed = await register(client_factory, word)
    await in_english(zed)
    token = await zed.form_token("/settings/withdraw")
    done = await zed.post("/settings/withdraw", data={"csrf_token": token})
    assert done.status_code == 200, done.text
    page = html.unescape(done.text)
    assert 'id="left-out"' in page and f"“{word}” is still in 4 posts" in page
