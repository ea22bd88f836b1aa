"""Consent: the policy, the append-only ledger, status, and the gate in front of every participating write."""

from __future__ import annotations

import pytest

from forum.models import ConsentEvent, Post, PostLike, Profile, Topic
from forum.services.consent import publish_policy
from forum.services.policy_file import DEMO_POLICY, read_policy_file
from tests.conftest import new_topic, unique


async def test_consent_page_asks_in_its_own_step_with_an_unticked_box(member, anon):
    page = await member.get("/consent")
    assert page.status_code == 200
    assert 'type="checkbox" id="agree" name="agree" value="yes">' in page.text   # never pre-ticked
    assert "checked" not in page.text.split('id="agree"')[1].split(">")[0]
    assert "Samtykke til å delta i forumet" in page.text
    english = await anon.get("/consent", headers={"Accept-Language": "en"})
    assert "Consent to take part in the forum" in english.text and "agree" not in english.text


async def test_registration_leads_to_consent_and_nothing_is_preconsented(anon):
    name = unique("ny")
    response = await anon.post_form("/register", {"username": name, "email": f"{name}@example.test",
                                                  "password": "correct horse battery"})
    assert response.headers["location"] == "/consent"
    status = (await anon.get("/api/v1/consent")).json()["status"]
    assert status == "none"


async def test_giving_consent_on_the_page_needs_the_box_ticked(member):
    policy = (await member.get("/api/v1/consent")).json()["policy"]
    token = await member.form_token("/consent")
    unticked = await member.post("/consent", data={"csrf_token": token, "policy_version": policy["version"],
                                                   "locale": "nb"})
    assert unticked.status_code == 400
    assert (await member.get("/api/v1/consent")).json()["status"] == "none"
    ticked = await member.post("/consent", data={"csrf_token": token, "policy_version": policy["version"],
                                                 "locale": "nb", "agree": "yes"})
    assert ticked.status_code == 303
    assert (await member.get("/api/v1/consent")).json()["status"] == "granted"
    event = await ConsentEvent.all().order_by("-id").first()
    assert event.channel == "page" and event.locale == "nb" and event.text_sha256 == policy["sha256"]


async def test_ledger_records_locale_and_hash_of_the_text_shown(member):
    english = (await member.get("/api/v1/consent?locale=en")).json()["policy"]
    assert english["locale"] == "en"
    response = await member.api("POST", "/api/v1/consent", {"policy_version": english["version"], "locale": "en"})
    assert response.status_code == 201 and response.json()["sha256"] == english["sha256"]
    event = await ConsentEvent.all().order_by("-id").first()
    assert (event.locale, event.channel, event.action) == ("en", "api", "granted")


async def test_consent_to_an_old_version_is_refused(member):
    response = await member.api("POST", "/api/v1/consent", {"policy_version": "0-not-current"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "policy_outdated"
    assert (await member.get("/api/v1/consent")).json()["status"] == "none"


async def test_reading_needs_no_consent(member, participant, category):
    created = await new_topic(participant, category.slug)
    assert (await member.get(f"/api/v1/topics/{created['id']}")).status_code == 200
    page = await member.get(f"/t/{created['id']}/{created['slug']}")
    assert page.status_code == 200 and 'id="consent-needed"' in page.text and "/consent?next=" in page.text


async def test_gate_on_every_participating_write_in_the_api(member, participant, category):
    created = await new_topic(participant, category.slug)
    post_id = created["first_post_id"]
    attempts = [
        ("POST", "/api/v1/topics", {"category": category.slug, "title": "Uten samtykke", "body": "x",
                                    "kind": "question"}),
        ("POST", f"/api/v1/topics/{created['id']}/posts", {"body": "Svar uten samtykke"}),
        ("POST", f"/api/v1/posts/{post_id}/like", None),
        ("PATCH", "/api/v1/me/profile", {"display_name": "Uten samtykke"}),
    ]
    for method, path, body in attempts:
        response = await member.api(method, path, body)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["error"]["code"] == "consent_required"
    assert not await Topic.filter(title="Uten samtykke").exists()
    assert await Post.filter(topic_id=created["id"]).count() == 1
    assert not await PostLike.filter(post_id=post_id).exists()
    assert (await Profile.get(user_id=member.user["id"])).display_name == ""


async def test_gate_on_edit_for_a_user_whose_policy_became_outdated(make_user, category):
    author = await make_user()
    created = await new_topic(author, category.slug, body="Før endringen")
    texts = read_policy_file(DEMO_POLICY)
    await publish_policy(version=unique("v"), text_nb=texts["nb"] + "\n\nNy regel.", text_en=texts["en"],
                         reconsent=True)
    try:
        assert (await author.get("/api/v1/consent")).json()["status"] == "outdated"
        edit = await author.api("PATCH", f"/api/v1/posts/{created['first_post_id']}", {"body": "Etter endringen"})
        assert edit.status_code == 403 and edit.json()["error"]["code"] == "consent_required"
        assert (await Post.get(id=created["first_post_id"])).source == "Før endringen"
        policy = (await author.get("/api/v1/consent")).json()["policy"]
        assert (await author.api("POST", "/api/v1/consent", {"policy_version": policy["version"]})).status_code == 201
        assert (await author.api("PATCH", f"/api/v1/posts/{created['first_post_id']}",
                                 {"body": "Etter endringen"})).status_code == 200
    finally:
        # later tests' users consent to whatever is current; nothing else depends on the version
        pass


async def test_gate_on_page_forms(member, participant, category):
    created = await new_topic(participant, category.slug)
    token = await member.form_token(f"/c/{category.slug}/new")
    topic = await member.post(f"/c/{category.slug}/new", data={"csrf_token": token, "title": "Skjema uten samtykke",
                                                                "body": "x", "kind": "question"})
    assert topic.status_code == 403
    reply = await member.post(f"/t/{created['id']}/reply", data={"csrf_token": token, "body": "x"})
    assert reply.status_code == 403
    like = await member.post(f"/p/{created['first_post_id']}/like", data={"csrf_token": token, "like": "1"})
    assert like.status_code == 403
    assert not await Topic.filter(title="Skjema uten samtykke").exists()


@pytest.mark.parametrize("forbidden", ["update", "delete"])
def test_ledger_is_never_updated_or_deleted_by_the_app(forbidden):
    """Every code path: no module of the app updates or deletes ConsentEvent rows."""
    import re
    from pathlib import Path

    root = Path(__file__).parent.parent
    pattern = re.compile(r"ConsentEvent[^\n]*\.(update|delete|save)\(|(UPDATE|DELETE FROM)\s+consent_event", re.I)
    offenders = [str(p) for folder in ("forum", "moderation") for p in (root / folder).rglob("*.py")
                 if "migrations" not in p.parts and pattern.search(p.read_text())]
    assert offenders == [], forbidden
