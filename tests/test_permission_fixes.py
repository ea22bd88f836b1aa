"""Where the copies of a rule disagreed (issue 17), over HTTP: the page offers what the save allows, a moderator
does not change a peer's or an admin's post, a silenced member does not mark answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from forum.models import Post, Role, Topic
from tests.conftest import new_reply, new_topic


async def _lock(staff, topic_id: int) -> None:
    response = await staff.api("PATCH", f"/api/v1/topics/{topic_id}", {"locked": True})
    assert response.status_code == 200, response.text


async def test_edit_form_and_save_agree_in_a_locked_topic(participant, staff, moderator, category):
    topic = await new_topic(participant, category.slug)
    reply = await new_reply(participant, topic["id"], "Mitt svar")
    await _lock(staff, topic["id"])
    page = await participant.get(f"/t/{topic['id']}/{topic['slug']}")
    assert page.status_code == 200 and f'/p/{reply["id"]}/edit' not in page.text  # no edit link offered
    assert (await participant.get(f"/p/{reply['id']}/edit")).status_code == 403  # and no form either
    saved = await participant.api("PATCH", f"/api/v1/posts/{reply['id']}", {"body": "Endret"})
    assert saved.status_code == 403 and saved.json()["error"]["code"] == "topic_locked"
    assert (await Post.get(id=reply["id"])).source == "Mitt svar"
    # a moderator still edits in a locked topic: link, form and save agree
    page = await moderator.get(f"/t/{topic['id']}/{topic['slug']}")
    assert f'/p/{reply["id"]}/edit' in page.text
    assert (await moderator.get(f"/p/{reply['id']}/edit")).status_code == 200
    saved = await moderator.api("PATCH", f"/api/v1/posts/{reply['id']}", {"body": "Endret av moderator"})
    assert saved.status_code == 200, saved.text


async def test_moderator_cannot_edit_hide_or_delete_an_admins_or_peers_post_but_flags_it(
        participant, moderator, make_user, category):
    topic = await new_topic(participant, category.slug)
    for role in (Role.ADMIN, Role.MODERATOR):
        author = await make_user(role)
        reply = await new_reply(author, topic["id"], "Et svar fra ledelsen")
        page = await moderator.get(f"/t/{topic['id']}/{topic['slug']}")
        assert f'/p/{reply["id"]}/edit' not in page.text and f'/p/{reply["id"]}/delete' not in page.text
        assert (await moderator.get(f"/p/{reply['id']}/edit")).status_code == 403
        for method, path, body in [
                ("PATCH", f"/api/v1/posts/{reply['id']}", {"body": "Endret av moderator"}),
                ("DELETE", f"/api/v1/posts/{reply['id']}", None),
                ("POST", f"/api/v1/mod/posts/{reply['id']}/actions", {"action": "hide", "reason": "Test"}),
                ("POST", f"/api/v1/mod/posts/{reply['id']}/actions", {"action": "delete", "reason": "Test"}),
                ("POST", f"/api/v1/mod/posts/{reply['id']}/actions", {"action": "edit", "reason": "Test",
                                                                      "body": "Endret"})]:
            refused = await moderator.api(method, path, body)
            assert refused.status_code == 403, (role, method, path, refused.text)
            assert refused.json()["error"]["code"] == "outranked"
        post = await Post.get(id=reply["id"])
        assert (post.source, post.hidden_at, post.deleted_at) == ("Et svar fra ledelsen", None, None)
        flagged = await moderator.api("POST", f"/api/v1/posts/{reply['id']}/flags", {"reason": "other",
                                                                                    "note": "For en admin"})
        assert flagged.status_code == 201, flagged.text


async def test_admin_and_moderator_still_act_on_whom_they_outrank(participant, moderator, admin, make_user,
                                                                   category):
    topic = await new_topic(participant, category.slug)
    mine = await new_reply(participant, topic["id"], "Et svar")
    edited = await moderator.api("PATCH", f"/api/v1/posts/{mine['id']}", {"body": "Endret av moderator"})
    assert edited.status_code == 200, edited.text
    peer = await make_user(Role.MODERATOR)
    theirs = await new_reply(peer, topic["id"], "Moderatorens svar")
    hidden = await admin.api("POST", f"/api/v1/mod/posts/{theirs['id']}/actions", {"action": "hide",
                                                                                  "reason": "Test"})
    assert hidden.status_code == 200, hidden.text
    assert (await Post.get(id=theirs["id"])).hidden_at is not None


async def test_silenced_member_cannot_accept_an_answer(participant, make_user, moderator, category):
    topic = await new_topic(participant, category.slug, kind="question")
    answer = await new_reply(await make_user(), topic["id"], "Slik gjør du det")
    until = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    silenced = await moderator.api("POST", f"/api/v1/mod/users/{participant.user['id']}/suspensions",
                                   {"kind": "silence", "until": until, "reason": "Test"})
    assert silenced.status_code == 201, silenced.text
    refused = await participant.api("POST", f"/api/v1/posts/{answer['id']}/accept")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "silenced"
    token = await participant.form_token(f"/t/{topic['id']}/{topic['slug']}")
    page = await participant.post(f"/p/{answer['id']}/accept", data={"csrf_token": token, "accept": "1"})
    assert page.status_code == 403
    assert (await Topic.get(id=topic["id"])).accepted_post_id is None
    listed = (await participant.get(f"/api/v1/topics/{topic['id']}")).json()["topic"]
    assert listed["solved"] is False


async def test_participant_still_accepts_an_answer(participant, make_user, category):
    topic = await new_topic(participant, category.slug, kind="question")
    answer = await new_reply(await make_user(), topic["id"], "Slik gjør du det")
    accepted = await participant.api("POST", f"/api/v1/posts/{answer['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["accepted_post_id"] == answer["id"]
    assert (await participant.get(f"/api/v1/topics/{topic['id']}")).json()["topic"]["solved"] is True
