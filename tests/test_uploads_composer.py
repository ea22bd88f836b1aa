"""A composer the forum sends back keeps its files (issue 22): without JavaScript a browser cannot send a file
again, so the files of a refused or to-be-confirmed composer are kept as the member's pending uploads, listed in
the composer (alt text, a remove box) and attached when it is sent again. Real app, real database, over HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from forum import db
from tests import attachment_images as imgs
from tests.attachment_images import files_of, post_id_of
from tests.conftest import new_topic
from tests.test_draft_warnings import ACCOUNT_TEXT

PNG = "image/png"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def topic(participant, category):
    return await new_topic(participant, category.slug, kind="discussion")


async def send_reply(client, topic_id: int, data: dict, files=None):
    page = await client.get(f"/t/{topic_id}", follow_redirects=True)
    token = CSRF.search(page.text).group(1)
    return await client.post(f"/t/{topic_id}/reply", data={"csrf_token": token, **data},
                             files=files or [("attachment", ("", b"", "application/octet-stream"))])


def kept_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'name="pending_upload" value="(\d+)"', page)]


async def pending_of(user_id: int) -> list[dict]:
    """The member's live pending uploads (a removed one stays, expired and without its bytes, until the purge)."""
    return await db.fetch_all("SELECT id, alt, data FROM pending_upload WHERE user_id = ? AND expires_at > ? "
                              "ORDER BY id", [user_id, db.time_param(datetime.now(UTC))])


async def test_an_empty_reply_keeps_its_picture_for_the_next_try(participant, topic, anon):
    photo = imgs.text_image(["Beholdt"])
    refused = await send_reply(participant, topic["id"], {"body": "", "attachment_alt": "Skjermbildet"},
                               [("attachment", ("a.png", photo, PNG))])
    assert refused.status_code == 400
    [kept] = await pending_of(participant.user["id"])
    assert kept_ids(refused.text) == [kept["id"]]
    assert "Skjermbildet" in refused.text and f'name="pending_remove" value="{kept["id"]}"' in refused.text
    posted = await send_reply(participant, topic["id"], {"body": "Nå med tekst", "pending_upload": str(kept["id"])})
    post_id = post_id_of(posted)
    [row] = await files_of(post_id)
    assert bytes(row["data"]) == bytes(kept["data"]) and row["alt"] == "Skjermbildet"
    assert await pending_of(participant.user["id"]) == []
    assert (await anon.get(f"/files/{row['token']}")).status_code == 200


async def test_the_warning_step_keeps_the_files_and_the_confirmed_reply_attaches_them(participant, topic):
    body = ACCOUNT_TEXT
    asked = await send_reply(participant, topic["id"], {"body": body, "attachment_alt": "Slippen"},
                             [("attachment", ("a.png", imgs.text_image(["Slipp"]), PNG))])
    assert asked.status_code == 200 and 'name="confirm_sensitive"' in asked.text
    [kept] = kept_ids(asked.text)
    posted = await send_reply(participant, topic["id"], {"body": body, "confirm_sensitive": "1",
                                                         "pending_upload": str(kept)})
    [row] = await files_of(post_id_of(posted))
    assert row["alt"] == "Slippen"
    assert await pending_of(participant.user["id"]) == []


async def test_a_kept_file_ticked_for_removal_goes(participant, topic):
    refused = await send_reply(participant, topic["id"], {"body": "", "attachment_alt": "Feil bilde"},
                               [("attachment", ("a.png", imgs.text_image(["Feil"]), PNG))])
    [kept] = kept_ids(refused.text)
    again = await send_reply(participant, topic["id"], {"body": "", "pending_upload": str(kept),
                                                        "pending_remove": str(kept)})
    assert again.status_code == 400 and kept_ids(again.text) == []
    assert await pending_of(participant.user["id"]) == []


async def test_a_refused_file_does_not_take_the_good_one_with_it(participant, topic):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'
    refused = await send_reply(participant, topic["id"], {"body": "", "attachment_alt": ["God", "Dårlig"]},
                               [("attachment", ("a.png", imgs.text_image(["God"]), PNG)),
                                ("attachment", ("b.svg", svg, "image/svg+xml"))])
    assert refused.status_code == 400
    assert [r["alt"] for r in await pending_of(participant.user["id"])] == ["God"]
    assert len(kept_ids(refused.text)) == 1 and 'id="attachment-error"' in refused.text


async def test_a_new_topic_sent_back_keeps_its_files(participant, category):
    page = await participant.get(f"/c/{category.slug}/new")
    token = CSRF.search(page.text).group(1)
    form = {"csrf_token": token, "title": "", "body": "", "kind": "discussion", "attachment_alt": "Oppsettet"}
    refused = await participant.post(f"/c/{category.slug}/new", data=form,
                                     files=[("attachment", ("a.png", imgs.text_image(["Oppsett"]), PNG))])
    assert refused.status_code == 400
    [kept] = kept_ids(refused.text)
    created = await participant.post(f"/c/{category.slug}/new", data={
        "csrf_token": token, "title": "Oppsett av lønnsarter", "body": "Slik ser oppsettet ut", "kind": "discussion",
        "confirm_similar": "1", "pending_upload": str(kept)},
        files=[("attachment", ("", b"", "application/octet-stream"))])
    assert created.status_code == 303, created.text[:300]
    topic_id = int(created.headers["location"].split("/")[2])
    first = await db.fetch_one("SELECT id FROM post WHERE topic_id = ? AND number = 1", [topic_id])
    [row] = await files_of(first["id"])
    assert row["alt"] == "Oppsettet"


async def test_nobody_attaches_another_members_kept_file(participant, make_user, topic):
    refused = await send_reply(participant, topic["id"], {"body": "", "attachment_alt": "Mitt"},
                               [("attachment", ("a.png", imgs.text_image(["Mitt"]), PNG))])
    [kept] = kept_ids(refused.text)
    other = await make_user()
    taken = await send_reply(other, topic["id"], {"body": "Tar den", "pending_upload": str(kept)})
    assert taken.status_code == 400
    assert not await db.fetch_one("SELECT id FROM post WHERE source = 'Tar den'")
    assert [r["id"] for r in await pending_of(participant.user["id"])] == [kept]
