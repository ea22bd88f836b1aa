"""Moderation over HTTP: flags and their weights, auto-hide, the queue, moderator actions, the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from forum.models import Notification, Post, Role
from moderation.models import AuditEntry, Case, CaseStatus, Flag, FlagStatus, UserRecord
from moderation.standing import member_weight
from tests.conftest import new_reply, new_topic


@pytest.fixture(autouse=True)
async def _queue_of_this_test(app):
    """Files before this one leave cases open (posts held by the attachment, composer and detector tests); the
    queue shows its first 50 by score, so each test here starts with no case of theirs in front of its own."""
    await Case.filter(status=CaseStatus.OPEN).update(status=CaseStatus.CLOSED)


FUTURE = (datetime.now(UTC) + timedelta(days=7)).isoformat()


async def _post(author, category, body="Et helt vanlig innlegg om fakturering.") -> dict:
    topic = await new_topic(author, category.slug, body="Spørsmål om eksport av data fra systemet.")
    reply = await new_reply(author, topic["id"], body)
    return {"topic_id": topic["id"], "post_id": reply["id"], "first_post_id": topic["first_post_id"]}


async def _flag(client, post_id, reason="spam", note=None):
    body = {"reason": reason} if note is None else {"reason": reason, "note": note}
    return await client.api("POST", f"/api/v1/posts/{post_id}/flags", body)


async def established(client, category) -> None:
    """A member whose flags weigh: consented (make_user's default), a week old, three posts of their own."""
    from forum.models import User

    await User.filter(id=client.user["id"]).update(created_at=datetime.now(UTC) - timedelta(days=8))
    topic = await new_topic(client, category.slug, body="Mitt første innlegg her, om fakturaer.")
    await new_reply(client, topic["id"], "Mitt andre innlegg, om lisenser.")
    await new_reply(client, topic["id"], "Mitt tredje innlegg, om eksport.")


async def _act(client, post_id, action, reason="Brudd på retningslinjene", **extra):
    return await client.api("POST", f"/api/v1/mod/posts/{post_id}/actions",
                            {"action": action, "reason": reason, **extra})


async def _audit_rows() -> list[tuple]:
    return [tuple(r) for r in await AuditEntry.all().order_by("id").values_list(
        "id", "actor_id", "action", "target_kind", "target_id", "detail", "reason", "created_at")]


async def _topic_post(client, topic_id, post_id) -> dict:
    posts = (await client.get(f"/api/v1/topics/{topic_id}")).json()["posts"]
    return next(p for p in posts if p["id"] == post_id)


async def test_member_flags_a_post_and_it_enters_the_queue(participant, member, moderator, category):
    ids = await _post(participant, category)
    response = await _flag(member, ids["post_id"], "spam")
    assert response.status_code == 201, response.text
    assert response.json()["post_hidden"] is False
    flag = await Flag.get(id=response.json()["id"])
    # a new member's flag weighs nothing towards a hide (moderation/standing.py), but it reaches the queue
    assert flag.reporter_id == member.user["id"] and flag.weight == 0.0 and flag.status == FlagStatus.OPEN
    queue = (await moderator.get("/api/v1/mod/queue")).json()["items"]
    item = next(i for i in queue if i["post_id"] == ids["post_id"])
    assert item["score"] == 0.0 and item["reasons"] == {"spam": 1} and item["hidden"] is False
    assert item["context"]["number"] == 1 and item["author"] == participant.user["username"]


async def test_one_open_flag_per_member_and_post(participant, member, category):
    ids = await _post(participant, category)
    assert (await _flag(member, ids["post_id"])).status_code == 201
    again = await _flag(member, ids["post_id"], "abuse")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_flagged"
    assert await Flag.filter(post_id=ids["post_id"]).count() == 1


async def test_bad_flags_are_refused(participant, member, anon, category):
    ids = await _post(participant, category)
    assert (await _flag(member, ids["post_id"], "nonsense")).status_code == 400
    other = await _flag(member, ids["post_id"], "other")
    assert other.status_code == 400 and "note" in other.json()["error"]["fields"]
    assert (await _flag(member, ids["post_id"], "other", "x" * 1001)).status_code == 400
    own = await _flag(participant, ids["post_id"])
    assert own.status_code == 403 and own.json()["error"]["code"] == "own_post"
    assert (await anon.api("POST", f"/api/v1/posts/{ids['post_id']}/flags", {"reason": "spam"})).status_code == 401
    assert (await _flag(member, 999_999_999)).status_code == 404
    assert await Flag.filter(post_id=ids["post_id"]).count() == 0
    assert (await _flag(member, ids["post_id"], "other", "Dette er reklame for et annet produkt")).status_code == 201


async def test_flags_from_members_reach_the_threshold_and_hide_the_post(participant, make_user, anon, category):
    ids = await _post(participant, category)
    flaggers = [await make_user() for _ in range(3)]
    for flagger in flaggers:
        await established(flagger, category)
    assert (await _flag(flaggers[0], ids["post_id"], "abuse")).json()["post_hidden"] is False
    assert (await _flag(flaggers[1], ids["post_id"], "abuse")).json()["post_hidden"] is False
    third = await _flag(flaggers[2], ids["post_id"], "spam")
    assert third.json()["post_hidden"] is True
    post = await Post.get(id=ids["post_id"])
    assert post.hidden_at is not None and post.hidden_reason == "flags"
    seen = await _topic_post(anon, ids["topic_id"], ids["post_id"])
    assert seen["hidden"] is True and seen["cooked"] is None
    page = await anon.get(f"/t/{ids['topic_id']}", follow_redirects=True)
    assert page.status_code == 200 and "Et helt vanlig innlegg" not in page.text
    notice = await Notification.filter(user_id=participant.user["id"], kind="moderation").first()
    assert notice is not None and notice.post_id == ids["post_id"] and notice.actor_id is None
    # the author is told the reason, never who flagged
    for flagger in flaggers:
        assert flagger.user["username"] not in notice.message
    search = (await anon.get("/api/v1/search", params={"q": "fakturering"})).json()["hits"]
    assert ids["post_id"] not in [h["post_id"] for h in search]


async def test_three_fresh_accounts_cannot_hide_the_admins_announcement(admin, make_user, anon, category):
    """Registering is free: a crowd of new accounts that never consented adds nothing towards a hide."""
    ids = await _post(admin, category, "Kunngjøring: vedlikehold av tjenesten på søndag.")
    for _ in range(3):
        response = await _flag(await make_user(consented=False), ids["post_id"], "spam")
        assert response.status_code == 201 and response.json()["post_hidden"] is False
        assert (await Flag.get(id=response.json()["id"])).weight == 0.0
    post = await Post.get(id=ids["post_id"])
    assert post.hidden_at is None and not (await _topic_post(anon, ids["topic_id"], ids["post_id"]))["hidden"]
    case = await Case.get(post_id=ids["post_id"])  # the moderators still see it in the queue
    assert case.status.value == "open"


async def test_fresh_consented_accounts_cannot_hide_a_members_post_either(participant, make_user, category):
    ids = await _post(participant, category)
    for _ in range(6):
        assert (await _flag(await make_user(), ids["post_id"], "abuse")).json()["post_hidden"] is False
    assert (await Post.get(id=ids["post_id"])).hidden_at is None


async def test_a_week_old_account_without_posts_has_no_weight_yet(participant, make_user, category):
    from forum.models import User

    ids = await _post(participant, category)
    flagger = await make_user()
    await User.filter(id=flagger.user["id"]).update(created_at=datetime.now(UTC) - timedelta(days=30))
    flag = (await _flag(flagger, ids["post_id"])).json()
    assert (await Flag.get(id=flag["id"])).weight == 0.0


async def test_established_members_cannot_hide_a_staff_post_it_goes_to_the_queue(staff, make_user, anon,
                                                                                  category):
    ids = await _post(staff, category, "Svar fra kundestøtte: slik eksporterer du fakturaer.")
    for _ in range(4):
        flagger = await make_user()
        await established(flagger, category)
        assert (await _flag(flagger, ids["post_id"], "spam")).json()["post_hidden"] is False
    assert (await Post.get(id=ids["post_id"])).hidden_at is None
    case = await Case.get(post_id=ids["post_id"])
    assert case.status.value == "open" and case.score >= 4.0  # first in the queue


async def test_a_staff_flag_hides_at_once(participant, staff, category):
    ids = await _post(participant, category)
    response = await _flag(staff, ids["post_id"], "security")
    assert response.json()["post_hidden"] is True
    assert (await Flag.get(id=response.json()["id"])).weight == 3.0


async def test_weight_grows_with_upheld_flags_and_shrinks_with_rejected(participant, make_user, moderator,
                                                                       category):
    assert member_weight(0, 0) == 1.0
    assert member_weight(3, 0) > 1.5 and member_weight(0, 3) < 0.5
    member = await make_user()
    await established(member, category)
    first = await _post(participant, category)
    await _flag(member, first["post_id"], "spam")
    assert (await _act(moderator, first["post_id"], "hide")).status_code == 200
    record = await UserRecord.get(user_id=member.user["id"])
    assert record.flags_upheld == 1 and record.flags_rejected == 0
    second = await _post(participant, category, "Et annet innlegg om lisenser.")
    flag = (await _flag(member, second["post_id"], "spam")).json()
    assert (await Flag.get(id=flag["id"])).weight == member_weight(1, 0) > 1.0
    assert (await _act(moderator, second["post_id"], "restore", "Ikke spam")).status_code == 200
    third = await _post(participant, category, "Et tredje innlegg om rapporter.")
    flag = (await _flag(member, third["post_id"], "spam")).json()
    assert (await Flag.get(id=flag["id"])).weight == member_weight(1, 1) == 1.0
    author = await UserRecord.get(user_id=participant.user["id"])
    assert author.posts_upheld == 1


async def test_agree_and_hide_tells_author_and_flagger(participant, member, moderator, anon, category):
    ids = await _post(participant, category)
    await _flag(member, ids["post_id"], "abuse", "Stygg tone")
    response = await _act(moderator, ids["post_id"], "hide", "Personangrep")
    assert response.status_code == 200 and response.json()["hidden"] is True
    post = await Post.get(id=ids["post_id"])
    assert post.hidden_reason == "moderator"
    assert (await Flag.get(post_id=ids["post_id"])).status == FlagStatus.UPHELD
    assert (await Case.get(post_id=ids["post_id"])).status == "closed"
    assert (await _topic_post(anon, ids["topic_id"], ids["post_id"]))["hidden"] is True
    to_author = await Notification.filter(user_id=participant.user["id"], kind="moderation").first()
    assert "Personangrep" in to_author.message
    to_flagger = await Notification.filter(user_id=member.user["id"], kind="moderation").first()
    assert to_flagger is not None and to_flagger.post_id == ids["post_id"]
    queue = (await moderator.get("/api/v1/mod/queue")).json()["items"]
    assert ids["post_id"] not in [i["post_id"] for i in queue]


async def test_agree_and_delete(participant, member, moderator, anon, category):
    ids = await _post(participant, category)
    await _flag(member, ids["post_id"], "spam")
    response = await _act(moderator, ids["post_id"], "delete", "Reklame")
    assert response.status_code == 200 and response.json()["deleted"] is True
    post = await Post.get(id=ids["post_id"])
    assert post.deleted_at is not None and post.deleted_by_moderator
    assert (await _topic_post(anon, ids["topic_id"], ids["post_id"]))["deleted"] is True
    assert (await Flag.get(post_id=ids["post_id"])).status == FlagStatus.UPHELD


async def test_disagree_and_restore_brings_the_post_back(participant, staff, moderator, anon, category):
    ids = await _post(participant, category)
    await _flag(staff, ids["post_id"], "spam")
    assert (await Post.get(id=ids["post_id"])).hidden_at is not None
    response = await _act(moderator, ids["post_id"], "restore", "Ikke spam")
    assert response.status_code == 200 and response.json()["hidden"] is False
    post = await Post.get(id=ids["post_id"])
    assert post.hidden_at is None and post.hidden_reason is None
    seen = await _topic_post(anon, ids["topic_id"], ids["post_id"])
    assert seen["hidden"] is False and "fakturering" in seen["cooked"]
    hits = (await anon.get("/api/v1/search", params={"q": "fakturering"})).json()["hits"]
    assert ids["post_id"] in [h["post_id"] for h in hits]
    assert (await Flag.get(post_id=ids["post_id"])).status == FlagStatus.REJECTED
    assert (await UserRecord.get(user_id=staff.user["id"])).flags_rejected == 1


async def test_dismiss_closes_without_judging(participant, member, moderator, category):
    ids = await _post(participant, category)
    await _flag(member, ids["post_id"], "off_topic")
    assert (await _act(moderator, ids["post_id"], "dismiss_flags", "Uklart")).status_code == 200
    assert (await Flag.get(post_id=ids["post_id"])).status == FlagStatus.DISMISSED
    assert not await UserRecord.filter(user_id=member.user["id"], flags_rejected__gt=0).exists()
    # a new flag opens the case again
    assert (await _flag(member, ids["post_id"], "spam")).status_code == 201
    assert (await Case.get(post_id=ids["post_id"])).status == "open"


async def test_edit_keeps_a_revision_and_lock_locks_the_topic(participant, member, moderator, category):
    ids = await _post(participant, category)
    response = await _act(moderator, ids["post_id"], "edit", "Fjernet lenke", body="Redigert av moderator.")
    assert response.status_code == 200
    post = await Post.get(id=ids["post_id"])
    assert post.source == "Redigert av moderator."
    revisions = (await moderator.get(f"/api/v1/posts/{ids['post_id']}/revisions")).json()["revisions"]
    assert [r["number"] for r in revisions] == [1, 2]
    assert (await _act(moderator, ids["post_id"], "lock", "Avsporet")).status_code == 200
    refused = await participant.api("POST", f"/api/v1/topics/{ids['topic_id']}/posts", {"body": "Et svar til"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "topic_locked"


async def test_warn_sends_a_private_notice(participant, moderator, category):
    ids = await _post(participant, category)
    response = await _act(moderator, ids["post_id"], "warn", "Hold en vennlig tone")
    assert response.status_code == 200
    notice = await Notification.filter(user_id=participant.user["id"], kind="moderation").first()
    assert "Hold en vennlig tone" in notice.message
    assert (await UserRecord.get(user_id=participant.user["id"])).warnings == 1


async def test_bad_actions_are_refused(participant, moderator, category):
    ids = await _post(participant, category)
    before = await _audit_rows()
    assert (await _act(moderator, ids["post_id"], "explode")).status_code == 400
    assert (await _act(moderator, ids["post_id"], "hide", "")).status_code == 400
    assert (await _act(moderator, ids["post_id"], "edit")).status_code == 400
    assert (await _act(moderator, ids["post_id"], "silence", until="not a date")).status_code == 400
    assert (await _act(moderator, ids["post_id"], "silence", until="2020-01-01T00:00:00+00:00")).status_code == 400
    assert (await _act(moderator, 999_999_999, "hide")).status_code == 404
    assert await _audit_rows() == before
    assert (await Post.get(id=ids["post_id"])).hidden_at is None


async def test_every_action_is_audited_and_the_log_is_append_only(participant, member, moderator, admin,
                                                                   category):
    ids = await _post(participant, category)
    await _flag(member, ids["post_id"], "spam")
    seen: list[tuple] = []
    for action, extra in (("warn", {}), ("hide", {}), ("restore", {}), ("edit", {"body": "Ny tekst her."}),
                          ("lock", {}), ("silence", {"until": FUTURE})):
        before = await _audit_rows()
        assert before[: len(seen)] == seen
        response = await _act(moderator, ids["post_id"], action, f"grunn {action}", **extra)
        assert response.status_code == 200, response.text
        after = await _audit_rows()
        assert after[: len(before)] == before and len(after) == len(before) + 1  # earlier rows untouched
        row = await AuditEntry.get(id=after[-1][0])
        assert row.actor_id == moderator.user["id"] and row.action == action and row.reason == f"grunn {action}"
        seen = after
    assert (await moderator.api("DELETE", f"/api/v1/mod/users/{participant.user['id']}/suspensions",
                                {"reason": "ok"})).status_code == 200
    log = (await moderator.get("/api/v1/mod/audit")).json()["entries"]
    assert [e["action"] for e in log[:7]] == ["lift", "silence", "lock", "edit", "restore", "hide", "warn"]
    assert all(participant.user["username"] not in (e["reason"] + e["detail"]) for e in log)
    page = await admin.get("/mod/audit")
    assert page.status_code == 200 and "grunn warn" in page.text


async def test_audit_reason_never_keeps_the_targets_name(participant, moderator, category):
    ids = await _post(participant, category)
    name = participant.user["username"]
    await _act(moderator, ids["post_id"], "warn", f"{name} skriver stygt, @{name}!")
    row = await AuditEntry.filter(action="warn", target_id=participant.user["id"]).order_by("-id").first()
    assert name not in row.reason and "[member]" in row.reason


async def test_members_and_staff_get_not_found_for_moderation(member, participant, staff, anon, category):
    ids = await _post(participant, category)
    for client in (member, staff):
        assert (await client.get("/mod")).status_code == 404
        assert (await client.get("/mod/audit")).status_code == 404
        assert (await client.get("/api/v1/mod/queue")).status_code == 404
        assert (await client.get("/api/v1/mod/audit")).status_code == 404
        assert (await client.get("/api/v1/mod/watched-words")).status_code == 404
        assert (await _act(client, ids["post_id"], "hide")).status_code == 404
        assert (await client.api("POST", f"/api/v1/mod/users/{participant.user['id']}/suspensions",
                                 {"until": FUTURE, "reason": "x"})).status_code == 404
        assert (await client.api("POST", "/api/v1/mod/watched-words",
                                 {"word": "x", "action": "block"})).status_code == 404
    assert (await anon.get("/api/v1/mod/queue")).status_code == 401
    assert (await anon.get("/mod")).status_code == 303
    assert (await Post.get(id=ids["post_id"])).hidden_at is None


async def test_moderators_cannot_escalate(moderator, make_user, participant):
    other_moderator = await make_user(Role.MODERATOR)
    admin_user = await make_user(Role.ADMIN)
    for target in (other_moderator, admin_user, moderator):
        response = await moderator.api("POST", f"/api/v1/mod/users/{target.user['id']}/suspensions",
                                       {"until": FUTURE, "reason": "Test"})
        assert response.status_code == 403
    token = await moderator.form_token("/settings")
    response = await moderator.post("/admin/roles", data={"csrf_token": token, "username": moderator.user["username"],
                                                          "role": "admin"})
    assert response.status_code == 404
    from forum.models import User

    assert (await User.get(id=moderator.user["id"])).role == Role.MODERATOR
    assert (await moderator.api("PATCH", "/api/v1/categories/x", {"name": "Nytt navn"})).status_code in (403, 404)


async def test_every_moderation_route_is_in_the_openapi_document(anon):
    paths = (await anon.get("/api/openapi.json")).json()["paths"]
    for path in ("/api/v1/posts/{post_id}/flags", "/api/v1/posts/{post_id}/appeal", "/api/v1/mod/queue",
                 "/api/v1/mod/posts/{post_id}/actions", "/api/v1/mod/users/{user_id}/suspensions",
                 "/api/v1/mod/audit", "/api/v1/mod/watched-words", "/api/v1/mod/watched-words/{word_id}"):
        assert path in paths, path
    assert set(paths["/api/v1/mod/users/{user_id}/suspensions"]) == {"post", "delete"}


async def test_staff_actions_through_the_forum_are_audited_too(participant, staff, moderator, admin, category):
    ids = await _post(participant, category)
    before = await _audit_rows()
    assert (await staff.api("PATCH", f"/api/v1/topics/{ids['topic_id']}", {"pinned": True})).status_code == 200
    assert (await moderator.api("PATCH", f"/api/v1/posts/{ids['post_id']}", {"body": "Rettet av moderator"})
            ).status_code == 200
    assert (await moderator.api("DELETE", f"/api/v1/posts/{ids['post_id']}")).status_code == 200
    token = await admin.form_token("/admin")
    response = await admin.post("/admin/roles", data={"csrf_token": token, "username": participant.user["username"],
                                                      "role": "staff"})
    assert response.status_code == 303
    after = await _audit_rows()
    assert after[: len(before)] == before
    added = [(r[1], r[2], r[3], r[4], r[5]) for r in after[len(before):]]
    assert added == [
        (staff.user["id"], "update_topic", "topic", ids["topic_id"], "pinned=True"),
        (moderator.user["id"], "edit_post", "post", ids["post_id"], ""),
        (moderator.user["id"], "delete_post", "post", ids["post_id"], ""),
        (admin.user["id"], "set_role", "user", participant.user["id"], "staff"),
    ]
    # the author editing and deleting their own post is not a staff action
    own = await _post(staff, category)
    before = await _audit_rows()
    await staff.api("PATCH", f"/api/v1/posts/{own['post_id']}", {"body": "Min egen rettelse"})
    await staff.api("DELETE", f"/api/v1/posts/{own['post_id']}")
    assert await _audit_rows() == before


async def test_concurrent_flags_all_count_and_hide_the_post_once(participant, make_user, category):
    import asyncio

    ids = await _post(participant, category)
    flaggers = [await make_user() for _ in range(4)]
    for flagger in flaggers:
        await established(flagger, category)
    results = await asyncio.gather(*[_flag(f, ids["post_id"]) for f in flaggers])
    assert [r.status_code for r in results] == [201] * 4, [r.text for r in results]
    assert [r.json()["post_hidden"] for r in results].count(True) == 1
    assert await Flag.filter(post_id=ids["post_id"]).count() == 4
    assert await AuditEntry.filter(action="auto_hide", target_id=ids["post_id"]).count() == 1
    assert await Notification.filter(user_id=participant.user["id"], kind="moderation").count() == 1
