"""Uploads through the JSON API (issue 22): upload a file, then attach it by id when starting a topic or replying.
The same pipeline and limits as the composer's form; each upload is its uploader's, attached once, and expires.
Real app, real database (both), over HTTP."""

from __future__ import annotations

import struct
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from forum import db
from tests import attachment_images as imgs
from tests.attachment_images import files_of
from tests.conftest import new_topic

PNG = "image/png"


async def upload(client, name: str, data: bytes, media_type: str = PNG, alt: str = "Et bilde"):
    headers = {"X-CSRF-Token": client.csrf} if client.csrf else {}
    return await client.post("/api/v1/uploads", headers=headers, data={"alt": alt},
                             files={"file": (name, data, media_type)})


async def pending_rows(user_id: int) -> list[dict]:
    """The member's live pending uploads (a removed one stays, expired and without its bytes, until the purge)."""
    return await db.fetch_all("SELECT * FROM pending_upload WHERE user_id = ? AND expires_at > ? ORDER BY id",
                              [user_id, db.time_param(datetime.now(UTC))])


@pytest.fixture
async def topic(participant, category):
    return await new_topic(participant, category.slug)


async def test_an_uploaded_photo_loses_its_metadata_and_is_attached_to_a_reply_once(participant, topic, anon,
                                                                                   make_user):
    answer = await upload(participant, "IMG_0001.JPG", imgs.phone_photo(), "image/jpeg", "Skjermen")
    assert answer.status_code == 201, answer.text
    kept = answer.json()
    assert set(kept) >= {"id", "url", "markdown"} and kept["markdown"] == f"![Skjermen]({kept['url']})"
    assert datetime.fromisoformat(kept["expires_at"]) > datetime.now(UTC) + timedelta(hours=23)
    [row] = await pending_rows(participant.user["id"])
    stored = bytes(row["data"])
    for secret in (struct.pack("<II", *imgs.GPS_LAT[2]), imgs.MAKER_NOTE, imgs.THUMB_MARK, b"COMMENT-SECRET"):
        assert secret not in stored
    own = await participant.get(kept["url"])  # the uploader sees it before it is attached; nobody else
    assert own.status_code == 200 and own.content == stored and own.headers["cache-control"] == "private, no-store"
    other = await make_user()
    assert (await other.get(kept["url"])).status_code == 404
    assert (await anon.get(kept["url"])).status_code == 404

    taken = await other.api("POST", f"/api/v1/topics/{topic['id']}/posts", {"body": "Stjålet", "attachments":
                                                                            [kept["id"]]})
    assert taken.status_code == 400 and await pending_rows(participant.user["id"])  # not theirs to attach
    assert not await db.fetch_one("SELECT id FROM post WHERE source = 'Stjålet'")

    reply = await participant.api("POST", f"/api/v1/topics/{topic['id']}/posts",
                                  {"body": f"Se her {kept['markdown']}", "attachments": [kept["id"]]})
    assert reply.status_code == 201, reply.text
    [attached] = await files_of(reply.json()["id"])
    assert bytes(attached["data"]) == stored and attached["alt"] == "Skjermen" and attached["ocr_state"] == "pending"
    assert kept["url"].endswith(attached["token"])  # the link in the text names the attached file
    assert await pending_rows(participant.user["id"]) == []
    assert (await anon.get(kept["url"])).status_code == 200  # now with the access of its (public) post

    again = await participant.api("POST", f"/api/v1/topics/{topic['id']}/posts",
                                  {"body": "Igjen med samme opplasting", "attachments": [kept["id"]]})
    assert again.status_code == 400 and again.json()["error"]["code"] == "upload_not_pending"
    assert not await db.fetch_one("SELECT id FROM post WHERE source = 'Igjen med samme opplasting'")


async def test_a_topic_starts_with_uploaded_files(participant, category):
    ids = []
    for name, data, kind, alt in (("a.png", imgs.text_image(["Emne"]), PNG, "Bilde"),
                                  ("logg.log", b"linje 1\nlinje 2\n", "text/plain", "")):
        answer = await upload(participant, name, data, kind, alt)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    started = await participant.api("POST", "/api/v1/topics", {"category": category.slug, "title": "Med vedlegg",
                                                               "body": "Se vedleggene", "attachments": ids})
    assert started.status_code == 201, started.text
    rows = await files_of(started.json()["first_post_id"])
    assert [r["kind"] for r in rows] == ["image", "text"]


async def test_uploads_are_refused_like_the_composers_files(participant, member, anon):
    before = await db.fetch_one("SELECT count(*) AS n FROM pending_upload")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert (await upload(participant, "a.svg", svg, "image/svg+xml")).status_code == 415
    assert (await upload(participant, "shot.png", b"<!doctype html><script>x</script>")).status_code == 415
    assert (await upload(participant, "bomb.png", imgs.png_bomb())).status_code == 413
    assert (await upload(participant, "a.png", imgs.text_image(["Hei"]), alt="")).status_code == 400  # no alt
    assert (await upload(participant, "a.png", imgs.text_image(["Hei"]), alt="x" * 501)).status_code == 400
    # consent first: a bomb from a member without consent is refused 403, before any of it is decoded
    refused = await upload(member, "bomb.png", imgs.png_bomb())
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "consent_required"
    assert (await upload(anon, "a.png", imgs.text_image(["Hei"]))).status_code in (401, 403)
    no_csrf = await participant.post("/api/v1/uploads", files={"file": ("a.png", imgs.text_image(["Hei"]), PNG)},
                                     data={"alt": "x"})
    assert no_csrf.status_code == 403
    as_json = await participant.api("POST", "/api/v1/uploads", {"file": "aGVp"})
    assert as_json.status_code == 400
    assert await db.fetch_one("SELECT count(*) AS n FROM pending_upload") == before


async def test_uploads_count_in_the_per_post_and_hourly_limits(participant, topic, monkeypatch, app):
    from forum.services import attachments

    photo = imgs.text_image(["Grense"])
    per_post = attachments.LIMITS.per_post
    monkeypatch.setattr(attachments.LIMITS, "per_post", 2)
    ids = [(await upload(participant, "a.png", photo)).json()["id"] for _ in range(2)]
    third = await upload(participant, "a.png", photo)
    assert third.status_code == 400 and third.json()["error"]["code"] == "too_many_files"
    assert (await participant.api("DELETE", f"/api/v1/uploads/{ids[1]}")).status_code == 200
    assert [r["id"] for r in await pending_rows(participant.user["id"])] == [ids[0]]
    [removed] = await db.fetch_all("SELECT data, alt FROM pending_upload WHERE id = ?", [ids[1]])
    assert bytes(removed["data"]) == b"" and removed["alt"] == ""
    assert (await participant.api("DELETE", f"/api/v1/uploads/{ids[1]}")).status_code == 404
    monkeypatch.setattr(attachments.LIMITS, "per_post", per_post)

    mine = (await db.fetch_one("SELECT count(*) AS n FROM attachment WHERE author_id = ?",
                               [participant.user["id"]]))["n"]
    monkeypatch.setattr(attachments.LIMITS, "per_hour", mine + 4)  # the two kept (one removed since) and two more
    saved = app.state.settings
    app.state.settings = replace(saved, rate_limits=True)
    try:
        again = await upload(participant, "a.png", photo)
        assert again.status_code == 201
        assert (await participant.api("DELETE", f"/api/v1/uploads/{again.json()['id']}")).status_code == 200
        assert (await upload(participant, "a.png", photo)).status_code == 201
        limited = await upload(participant, "a.png", photo)
        assert limited.status_code == 429  # removing an upload does not give its place back
        # attaching what was counted when it was kept is not counted again
        reply = await participant.api("POST", f"/api/v1/topics/{topic['id']}/posts",
                                      {"body": "Innenfor", "attachments": [r["id"] for r in
                                                                           await pending_rows(participant.user["id"])]})
        assert reply.status_code == 201, reply.text
    finally:
        app.state.settings = saved
    assert len(await files_of(reply.json()["id"])) == 2


async def test_an_expired_upload_is_not_attached_and_the_purge_takes_it(participant, topic, settings):
    from forum.services.retention import purge

    kept = (await upload(participant, "a.png", imgs.text_image(["Gammel"]))).json()
    past = db.time_param(datetime.now(UTC) - timedelta(minutes=1))
    await db.execute("UPDATE pending_upload SET expires_at = ? WHERE id = ?", [past, kept["id"]])
    late = await participant.api("POST", f"/api/v1/topics/{topic['id']}/posts", {"body": "For sent",
                                                                                 "attachments": [kept["id"]]})
    assert late.status_code == 400
    assert (await participant.get(kept["url"])).status_code == 404
    counts = await purge(settings.retention)
    assert counts["pending_uploads"] >= 1
    assert not await db.fetch_one("SELECT id FROM pending_upload WHERE id = ?", [kept["id"]])


async def test_withdrawal_and_erasure_take_pending_uploads(make_user):
    leaver = await make_user()
    assert (await upload(leaver, "a.png", imgs.text_image(["Min"]))).status_code == 201
    export = await leaver.get("/settings/export")
    assert export.json()["pending_uploads"]
    assert (await leaver.api("DELETE", "/api/v1/consent")).status_code == 200
    assert await pending_rows(leaver.user["id"]) == []
    eraser = await make_user()
    assert (await upload(eraser, "a.png", imgs.text_image(["Min"]))).status_code == 201
    erased = await eraser.api("DELETE", "/api/v1/me", {"password": eraser.user["password"]})
    assert erased.status_code == 200, erased.text
    assert await pending_rows(eraser.user["id"]) == []


async def test_the_openapi_document_describes_the_upload_and_the_attachments_field(anon):
    document = (await anon.get("/api/openapi.json")).json()
    post = document["paths"]["/api/v1/uploads"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert {"201", "403", "413", "415", "429"} <= set(post["responses"])
    for path in ("/api/v1/topics", "/api/v1/topics/{topic_id}/posts"):
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert body["properties"]["attachments"]["type"] == "array"
