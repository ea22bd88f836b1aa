"""Mail through a real local SMTP server (aiosmtpd): confirmation links, answers that do not tell whether an
address has an account, notification mail per kind, digests, one-click unsubscribe, withdrawal, what a mail
may show, and delivery that retries and then records why it gave up."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from forum.models import EmailToken, MailOutbox, MailPreference, Post, Role, User
from forum.security import hash_token
from forum.services import outbox, verification
from tests.conftest import PASSWORD, QueryCounter, new_category, new_reply, new_topic, unique
from tests.mail_helpers import deliver, html, link, text, visible

LATER = 400  # seconds: past FORUM_MAIL_DELAY_SECONDS (300), when unread notifications are mailed
CSRF = re.compile(r'name="csrf_token" value="[^"]+"')


@pytest.fixture
def verification_on(app):
    """FORUM_EMAIL_VERIFICATION=on (the default) for one test; the suite runs with it off."""
    original = app.state.settings
    app.state.settings = dataclasses.replace(original, email_verification=True)
    verification.CONFIG.required = True
    yield
    verification.CONFIG.required = False
    app.state.settings = original


async def register(client, name: str | None = None, email: str | None = None):
    name = name or unique()
    email = email or f"{name.lower()}@example.test"
    return await client.api("POST", "/api/v1/users", {"username": name, "email": email, "password": PASSWORD})


async def mail_user(make_user, *kinds: str, role: Role = Role.MEMBER, digest: str = "off"):
    """A consented member with a confirmed address who chose these kinds of mail on the settings page."""
    client = await make_user(role)
    await verification.mark_verified(client.user["id"])
    form = {f"mail_{k}": "on" for k in kinds} | {"digest": digest}
    response = await client.post_form("/settings/mail", form, token_from="/settings")
    assert response.status_code == 303, response.text
    return client


# -- confirmation and registration -----------------------------------------------------------------------------------

async def test_registration_mails_a_link_and_sign_in_waits_for_it(anon, client_factory, smtp, verification_on):
    name = unique("Kari")
    email = f"{name.lower()}@example.test"
    assert (await register(anon, name, email)).json() == {"id": None, "username": name}
    refused = await anon.api("POST", "/api/v1/session", {"email": email, "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "email_unconfirmed"
    page = await anon.post_form("/login", {"email": email, "password": PASSWORD})
    assert page.status_code == 403 and "forum_session" not in anon.cookies

    await deliver(smtp.app)
    [message] = smtp.to(email)
    path = link(message, "/email/confirm/")
    token = path.rsplit("/", 1)[1]
    stored = await EmailToken.get(user_id=(await User.get(email=email)).id)
    assert stored.token_hash == hash_token(token) and stored.purpose == "verify"
    assert timedelta(hours=23, minutes=59) < stored.expires_at - stored.created_at <= timedelta(hours=24, seconds=5)

    person = client_factory()
    shown = await person.get(path)   # a mail scanner fetching the link confirms nothing
    assert shown.status_code == 200 and (await User.get(email=email)).email_verified_at is None
    done = await person.post_form(path, token_from=path)
    assert done.status_code == 200 and 'role="status"' in done.text
    assert (await User.get(email=email)).email_verified_at is not None
    again = await person.post_form(path, token_from="/login")
    assert again.status_code == 400  # single use
    signed_in = await anon.api("POST", "/api/v1/session", {"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200


async def test_an_expired_confirmation_link_is_refused(anon, client_factory, smtp, verification_on):
    name = unique("late")
    email = f"{name}@example.test"
    await register(anon, name, email)
    await deliver(smtp.app)
    path = link(smtp.to(email)[0], "/email/confirm/")
    await EmailToken.filter(user_id=(await User.get(email=email)).id).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1))
    person = client_factory()
    assert (await person.get(path)).status_code == 400
    assert (await User.get(email=email)).email_verified_at is None


def _page(response) -> str:
    return CSRF.sub("", response.text)


async def test_registering_a_taken_address_answers_the_same_and_mails_its_owner(make_user, client_factory, smtp,
                                                                                 verification_on):
    owner = await make_user()
    await verification.mark_verified(owner.user["id"])
    fresh_name, taken_name = unique("fresh"), unique("taken")
    api_new = await register(client_factory(), fresh_name)
    api_taken = await register(client_factory(), taken_name, owner.user["email"].upper())
    assert api_new.status_code == api_taken.status_code == 201
    assert api_new.json().keys() == api_taken.json().keys() and api_new.json()["id"] is api_taken.json()["id"] is None
    assert not await User.filter(email=f"{taken_name.lower()}@example.test").exists()

    pages = []
    for email in (f"{unique('page')}@example.test", owner.user["email"]):
        client = client_factory()
        pages.append(await client.post_form("/register", {"username": unique("p"), "email": email,
                                                          "password": PASSWORD}, token_from="/register"))
    assert pages[0].status_code == pages[1].status_code == 200
    assert _page(pages[0]) == _page(pages[1])

    await deliver(smtp.app)
    tried = smtp.to(owner.user["email"])
    assert len(tried) == 2 and all("register" in m["Subject"].lower() or "registrer" in m["Subject"].lower()
                                   for m in tried)
    assert "/email/confirm/" not in text(tried[0])  # a confirmed owner gets a note, no link
    assert await User.filter(email=owner.user["email"]).count() == 1


async def test_reset_requests_do_the_same_work_for_known_and_unknown_addresses(anon, make_user, smtp):
    user = await make_user()
    counts = []
    for email in (user.user["email"], f"{unique('nobody')}@example.test"):
        with QueryCounter() as queries:
            response = await anon.api("POST", "/api/v1/password/forgot", {"email": email})
        assert response.status_code == 202 and response.json() == {"sent": True}
        counts.append([q.split()[0] for q in queries.queries if q.split()[0] in ("SELECT", "INSERT", "UPDATE")])
    assert counts[0] == counts[1]  # the same statements: one look-up, one outbox row; the token comes later
    # the rows hold the account's id or nothing, never the address typed
    assert await MailOutbox.filter(kind="reset_request", status="pending", user_id=user.user["id"]).exists()
    assert not await MailOutbox.filter(kind="reset_request").exclude(to_address="").exists()
    done = await deliver(smtp.app)
    assert done.get("dropped", 0) >= 1  # the unknown address: nothing sent, nothing kept
    assert len([m for m in smtp.to(user.user["email"]) if "/password/reset/" in text(m)]) == 1
    assert not await MailOutbox.filter(kind="reset_request").exclude(to_address="").exclude(status="pending").exists()


async def test_changing_the_address_takes_effect_only_from_the_new_address_link(make_user, client_factory, smtp):
    user = await make_user()
    new = f"{unique('moved')}@example.test"
    wrong = await user.post_form("/settings/email", {"new_email": new, "password": "not it at all"},
                                 token_from="/settings")
    assert wrong.status_code == 400
    asked = await user.post_form("/settings/email", {"new_email": new, "password": PASSWORD}, token_from="/settings")
    assert asked.status_code == 303
    assert (await User.get(id=user.user["id"])).email == user.user["email"]  # not yet
    await deliver(smtp.app)
    [message] = smtp.to(new)
    path = link(message, "/email/confirm/")
    person = client_factory()
    assert (await person.post_form(path, token_from=path)).status_code == 200
    account = await User.get(id=user.user["id"])
    assert account.email == new and account.email_verified_at is not None


# -- the message itself ------------------------------------------------------------------------------------------------

async def test_a_mail_is_multipart_localised_and_has_the_headers_clients_need(make_user, category, smtp):
    asker = await mail_user(make_user, "reply")
    await User.filter(id=asker.user["id"]).update(locale="en")
    answerer = await make_user()
    topic = await new_topic(asker, category.slug, title=unique("Printer question "))
    await new_reply(answerer, topic["id"], "Try turning it off and on again.")
    await new_reply(answerer, topic["id"], "Or replace the toner.")
    await deliver(smtp.app, later=LATER)
    first, second = smtp.to(asker.user["email"])
    for message in (first, second):
        assert message.get_content_type() == "multipart/alternative"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Date"] and re.fullmatch(r"<[^<>@]+@forum\.example>", message["Message-ID"])
        assert message["References"] == message["In-Reply-To"] == f"<topic.{topic['id']}@forum.example>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Unsubscribe"].strip().startswith("<https://forum.example/mail/unsubscribe/")
        assert "New reply in" in message["Subject"]
        assert "https://forum.example/settings#mail" in text(message) and "/settings#mail" in html(message)
    assert first["Message-ID"] != second["Message-ID"]
    assert "turning it off and on" in text(first) and "turning it off and on" in html(first)
    assert answerer.user["username"] in text(first)


async def test_without_an_smtp_url_mail_goes_to_the_maildir_and_the_log_names_the_file(app, make_user, caplog,
                                                                                       tmp_path):
    original = app.state.settings
    app.state.settings = dataclasses.replace(original, smtp_url="", mail_dir=str(tmp_path / "maildir"),
                                             public_url="https://forum.example")
    try:
        user = await make_user()
        await user.api("POST", "/api/v1/password/forgot", {"email": user.user["email"]})
        with caplog.at_level("INFO", logger="forum.mail"):
            await deliver(app)
    finally:
        app.state.settings = original
    files = list((tmp_path / "maildir" / "new").iterdir())
    mine = [f for f in files if user.user["email"] in f.read_text()]
    assert len(mine) == 1 and "/password/reset/" in mine[0].read_text()
    assert any(str(f) in caplog.text for f in mine)


# -- notification mail, per kind -----------------------------------------------------------------------------------

async def _cause(kind: str, *, recipient, other, moderator, category) -> None:
    """Makes `other` (or a moderator) do what notifies `recipient` of `kind`."""
    name = recipient.user["username"]
    if kind == "reply":
        topic = await new_topic(recipient, category.slug)
        await new_reply(other, topic["id"], "Et svar til deg")
    elif kind == "mention":
        topic = await new_topic(other, category.slug)
        await new_reply(other, topic["id"], f"Hei @{name}, se her")
    elif kind == "quote":
        topic = await new_topic(other, category.slug)
        mine = await new_reply(recipient, topic["id"], "Noe klokt")
        await new_reply(other, topic["id"], f"[quote post={mine['id']}]\nNoe klokt\n[/quote]\n\nEnig")
    elif kind == "accepted":
        topic = await new_topic(other, category.slug, kind="question")
        answer = await new_reply(recipient, topic["id"], "Svaret er 42")
        assert (await other.api("POST", f"/api/v1/posts/{answer['id']}/accept")).status_code == 200
    elif kind == "watched":
        topic = await new_topic(other, category.slug)
        token = await recipient.form_token("/settings")
        await recipient.post(f"/t/{topic['id']}/watch", data={"csrf_token": token, "watch": "1"})
        await new_reply(other, topic["id"], "Noe nytt i tråden")
    elif kind == "moderation":
        topic = await new_topic(other, category.slug)
        mine = await new_reply(recipient, topic["id"], "Et innlegg")
        done = await moderator.api("POST", f"/api/v1/mod/posts/{mine['id']}/actions",
                                   {"action": "hide", "reason": "Utenfor emnet"})
        assert done.status_code == 200, done.text


KINDS = ["reply", "mention", "quote", "accepted", "watched", "moderation"]


@pytest.mark.parametrize("kind", KINDS)
async def test_each_kind_is_mailed_only_when_turned_on(kind, make_user, moderator, category, smtp):
    other = await make_user()
    on = await mail_user(make_user, kind)
    others = [k for k in KINDS if k != kind]
    off = await mail_user(make_user, *others)   # every other kind on, this one off
    for recipient in (on, off):
        await _cause(kind, recipient=recipient, other=other, moderator=moderator, category=category)
    assert not smtp.to(on.user["email"])
    await deliver(smtp.app)  # not yet: the member may read it on the site first
    assert not smtp.to(on.user["email"])
    await deliver(smtp.app, later=LATER)
    assert len(smtp.to(on.user["email"])) == 1
    assert smtp.to(off.user["email"]) == []


async def test_a_reply_notifying_nobody_who_takes_mail_writes_no_outbox_row(make_user, category):
    """The fan-out row names only the notified members who take that kind of mail: a reply to watchers who take
    none writes no row at all (and gives the worker no write transaction to make per post)."""
    author, watcher, taker = await make_user(), await make_user(), await make_user()
    topic = await new_topic(author, category.slug)
    for member in (watcher, taker):
        token = await member.form_token("/settings")
        await member.post(f"/t/{topic['id']}/watch", data={"csrf_token": token, "watch": "1"})
    await new_reply(author, topic["id"], "Ingen her tar e-post om dette")
    assert not await MailOutbox.filter(kind="fanout", topic_id=topic["id"]).exists()
    await verification.mark_verified(taker.user["id"])
    chosen = await taker.post_form("/settings/mail", {"mail_watched": "on", "digest": "off"}, token_from="/settings")
    assert chosen.status_code == 303
    await new_reply(watcher, topic["id"], "Men nå tar én av dem e-post")
    rows = await MailOutbox.filter(kind="fanout", topic_id=topic["id"])
    assert len(rows) == 1
    assert {entry[0] for entry in json.loads(rows[0].body_text)} == {taker.user["id"]}  # not the others notified


async def test_mail_is_off_until_turned_on_and_a_read_notification_is_not_mailed(make_user, category, smtp):
    author = await make_user()
    await verification.mark_verified(author.user["id"])
    reader = await mail_user(make_user, "reply")
    other = await make_user()
    await _cause("reply", recipient=author, other=other, moderator=None, category=category)
    await _cause("reply", recipient=reader, other=other, moderator=None, category=category)
    assert (await reader.api("POST", "/api/v1/notifications", {})).status_code == 200  # read on the site
    done = await deliver(smtp.app, later=LATER)
    assert smtp.to(author.user["email"]) == [] and smtp.to(reader.user["email"]) == []
    assert done.get("dropped", 0) >= 1
    row = await MailOutbox.filter(user_id=reader.user["id"], kind="notification").first()
    assert row.status == "dropped" and row.last_error == "read on the site" and row.body_text is None


async def test_the_settings_page_explains_each_kind_and_keeps_the_choice(make_user):
    user = await make_user()
    page = await user.get("/settings")
    assert page.status_code == 200 and 'id="mail"' in page.text
    for kind in KINDS:
        assert f'name="mail_{kind}"' in page.text and f'name="mail_{kind}" value="on" checked' not in page.text
    await user.post_form("/settings/mail", {"mail_mention": "on", "digest": "weekly"}, token_from="/settings")
    page = await user.get("/settings")
    assert 'name="mail_mention" value="on" checked' in page.text and 'value="weekly" checked' in page.text
    pref = await MailPreference.get(user_id=user.user["id"])
    assert pref.mention and not pref.reply and pref.digest == "weekly"
    bad = await user.post_form("/settings/mail", {"digest": "hourly"}, token_from="/settings")
    assert bad.status_code == 400
    assert (await MailPreference.get(user_id=user.user["id"])).digest == "weekly"


# -- digests --------------------------------------------------------------------------------------------------------

async def test_a_daily_digest_lists_unread_watched_activity_and_solved_questions(make_user, category, smtp):
    from forum.services.digests import schedule_digests

    reader = await mail_user(make_user, digest="daily")
    other = await make_user()
    token = await reader.form_token(f"/c/{category.slug}")
    await reader.post(f"/c/{category.slug}/watch", data={"csrf_token": token, "watch": "1"})
    await MailPreference.filter(user_id=reader.user["id"]).update(digest_sent_at=datetime.now(UTC) - timedelta(days=2))
    discussion = await new_topic(other, category.slug, kind="discussion", title=unique("Digest discussion "))
    question = await new_topic(other, category.slug, kind="question", title=unique("Digest question "))
    helper = await make_user()
    answer = await new_reply(helper, question["id"], "Slik gjør du det")
    assert (await other.api("POST", f"/api/v1/posts/{answer['id']}/accept")).status_code == 200
    assert await schedule_digests() >= 1
    assert await schedule_digests() == 0  # once per period, however many workers look
    await deliver(smtp.app)
    [digest] = [m for m in smtp.to(reader.user["email"]) if m["List-Unsubscribe"]
                and "digest" in (m["List-Unsubscribe"] or "")]
    body = text(digest)
    assert discussion["id"] and re.search(r"Digest discussion", body) and "Digest question" in body
    assert f"/t/{question['id']}" in body


async def test_a_digest_lists_a_question_its_asker_solved_with_their_own_answer(make_user, category, smtp):
    """Accepting one's own answer notifies no one, and the digest must still see the question as solved."""
    from forum.services.digests import schedule_digests

    reader = await mail_user(make_user, digest="daily")
    asker = await mail_user(make_user, digest="daily")
    for member in (reader, asker):
        token = await member.form_token(f"/c/{category.slug}")
        await member.post(f"/c/{category.slug}/watch", data={"csrf_token": token, "watch": "1"})
        await MailPreference.filter(user_id=member.user["id"]).update(
            digest_sent_at=datetime.now(UTC) - timedelta(days=2))
    question = await new_topic(asker, category.slug, kind="question", title=unique("Selvløst spørsmål "))
    answer = await new_reply(asker, question["id"], "Fant det ut selv: slå av og på igjen")
    assert (await asker.api("POST", f"/api/v1/posts/{answer['id']}/accept")).status_code == 200
    await reader.api("POST", "/api/v1/notifications", {})  # the reader has read everything: only "solved" is left
    assert await schedule_digests() >= 2
    await deliver(smtp.app)
    for member in (reader, asker):
        [digest] = [m for m in smtp.to(member.user["email"]) if "digest" in (m["List-Unsubscribe"] or "")]
        body = text(digest)
        assert "Selvløst spørsmål" in body and f"/t/{question['id']}" in body, body


# -- one-click unsubscribe ---------------------------------------------------------------------------------------

async def test_one_click_unsubscribe_by_post_without_a_session(make_user, anon, category, smtp):
    asker = await mail_user(make_user, "reply", "mention")
    other = await make_user()
    await _cause("reply", recipient=asker, other=other, moderator=None, category=category)
    await deliver(smtp.app, later=LATER)
    [message] = smtp.to(asker.user["email"])
    url = message["List-Unsubscribe"].strip().strip("<>").removeprefix("https://forum.example")
    bogus = await anon.post(url[:-4] + "AAAA", content=b"List-Unsubscribe=One-Click",
                            headers={"content-type": "application/x-www-form-urlencoded"})
    assert bogus.status_code == 400
    assert (await anon.get(url)).status_code == 200
    assert (await MailPreference.get(user_id=asker.user["id"])).reply  # a GET changes nothing
    done = await anon.post(url, content=b"List-Unsubscribe=One-Click",
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200 and not anon.cookies.get("forum_session")
    pref = await MailPreference.get(user_id=asker.user["id"])
    assert not pref.reply and pref.mention  # the mail's own kind stops; the others stay
    smtp.clear()
    await _cause("reply", recipient=asker, other=other, moderator=None, category=category)
    await deliver(smtp.app, later=LATER)
    assert smtp.to(asker.user["email"]) == []


@pytest.mark.parametrize("where", ["dashboard", "api"])
async def test_withdrawing_the_mail_purpose_switches_mail_off_as_the_settings_page_does(where, make_user, category,
                                                                                         smtp):
    member = await mail_user(make_user, "reply", "mention", digest="weekly")
    other = await make_user()
    await _cause("reply", recipient=member, other=other, moderator=None, category=category)
    await deliver(smtp.app)  # the reply's fan-out becomes one queued mail (sent in 5 minutes)
    assert await MailOutbox.filter(user_id=member.user["id"], status="pending", kind="notification").exists()
    if where == "dashboard":
        token = await member.form_token("/consent")
        response = await member.post("/consent/mail/withdraw", data={"csrf_token": token})
        assert response.status_code == 303, response.text
    else:
        response = await member.api("DELETE", "/api/v1/consent?purpose=mail")
        assert response.status_code == 200, response.text
    pref = await MailPreference.get(user_id=member.user["id"])
    assert not any(getattr(pref, k) for k in KINDS) and pref.digest == "off" and pref.digest_sent_at is None
    assert not await MailOutbox.filter(user_id=member.user["id"], status="pending").exists()
    page = await member.get("/settings")
    assert 'value="on" checked' not in page.text and 'value="off" checked' in page.text
    # giving the purpose again does not bring the old choices back: nothing is mailed until a kind is chosen
    version = (await member.api("GET", "/api/v1/consent?purpose=mail")).json()["policy"]["version"]
    again = await member.api("POST", "/api/v1/consent", {"policy_version": version, "purpose": "mail"})
    assert again.status_code == 201, again.text
    await _cause("reply", recipient=member, other=other, moderator=None, category=category)
    await deliver(smtp.app, later=LATER)
    assert smtp.to(member.user["email"]) == []
    # taking part is untouched
    assert (await new_topic(member, category.slug))["id"]


# -- withdrawal -------------------------------------------------------------------------------------------------

async def test_withdrawal_stops_mail_deletes_the_queue_and_scrubs_names_from_mail_to_others(make_user, category,
                                                                                              smtp):
    leaving = await mail_user(make_user, "reply", "mention")
    staying = await mail_user(make_user, "reply")
    other = await make_user()
    await _cause("reply", recipient=leaving, other=other, moderator=None, category=category)
    topic = await new_topic(staying, category.slug)
    await new_reply(leaving, topic["id"], f"Hilsen {leaving.user['username']}")
    await new_reply(other, topic["id"], f"Enig med @{leaving.user['username']} her")  # about them, by someone else
    await deliver(smtp.app)  # the posts' notifications become one queued mail per recipient (sent in 5 minutes)
    assert await MailOutbox.filter(user_id=leaving.user["id"], status="pending", kind="notification").count() == 2
    response = await leaving.api("DELETE", "/api/v1/consent")
    assert response.status_code == 200, response.text
    assert not await MailOutbox.filter(user_id=leaving.user["id"]).exists()
    assert not await MailPreference.filter(user_id=leaving.user["id"]).exists()
    await deliver(smtp.app, later=LATER)
    assert smtp.to(leaving.user["email"]) == []
    # both replies reach the topic's owner: what the member caused in others' inboxes stays there, without them
    # (their reply's mail names no one; the one by `other` has their mention rewritten)
    to_other = smtp.to(staying.user["email"])
    assert len(to_other) == 2
    assert all("Tidligere medlem" in text(m) and leaving.user["username"] not in visible(m) for m in to_other)
    assert sorted("Enig med" in text(m) for m in to_other) == [False, True]


# -- privacy: what a mail may show --------------------------------------------------------------------------------

@pytest.mark.parametrize("read", ["public", "members", "staff"])
@pytest.mark.parametrize("role", [Role.MEMBER, Role.STAFF, Role.MODERATOR, Role.ADMIN])
async def test_a_mail_shows_only_what_its_recipient_may_read(role, read, make_user, staff, smtp):
    place = await new_category(read=read, start_topics="participants")
    recipient = await mail_user(make_user, "mention", role=role)
    secret = unique("hemmelig")
    topic = await new_topic(staff, place.slug, title=unique("Tittel "))
    await new_reply(staff, topic["id"], f"@{recipient.user['username']} {secret} skriv til ola@example.com")
    await deliver(smtp.app, later=LATER)
    mails = smtp.to(recipient.user["email"])
    may_read = read != "staff" or role != Role.MEMBER
    assert len(mails) == int(may_read)
    for message in mails:
        shown = visible(message)
        assert secret in shown
        assert "ola@example.com" not in shown and staff.user["email"] not in shown
        addresses = set(re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", shown)) - {recipient.user["email"]}
        assert all(a.endswith("@forum.example") or a.startswith("forum@") for a in addresses), addresses


async def test_a_hidden_or_deleted_post_is_not_mailed(make_user, moderator, category, smtp):
    recipient = await mail_user(make_user, "mention")
    other = await make_user()
    topic = await new_topic(other, category.slug)
    hidden = await new_reply(other, topic["id"], f"@{recipient.user['username']} skjult tekst")
    deleted = await new_reply(other, topic["id"], f"@{recipient.user['username']} slettet tekst")
    await moderator.api("POST", f"/api/v1/mod/posts/{hidden['id']}/actions", {"action": "hide", "reason": "Test"})
    assert (await other.api("DELETE", f"/api/v1/posts/{deleted['id']}")).status_code == 200
    await deliver(smtp.app, later=LATER)
    assert smtp.to(recipient.user["email"]) == []
    assert (await Post.get(id=hidden["id"])).hidden_at is not None


# -- delivery: refusals, timeouts, retries -------------------------------------------------------------------------

async def test_a_refusing_server_fails_the_mail_at_once_with_the_reason(anon, make_user, smtp):
    user = await make_user()
    smtp.refuse = "550 5.1.1 mailbox unavailable"
    response = await anon.api("POST", "/api/v1/password/forgot", {"email": user.user["email"]})
    assert response.status_code == 202  # never a 500: the request only wrote the outbox
    await deliver(smtp.app)
    row = await MailOutbox.filter(kind="reset_request", user_id=user.user["id"]).first()
    assert row.status == "failed" and "550" in row.last_error and row.attempts == 1
    assert row.body_text is None and row.to_address == ""


async def test_a_dead_workers_lease_puts_in_doubt_only_the_mail_it_was_sending(make_user, smtp):
    """A worker sends its claim in order and dies: of its lease, only the first unfinished mail may have reached
    the server. The next worker sends them all and records that one as sent again; the rest are plain sends."""
    users = [await make_user() for _ in range(3)]
    await deliver(smtp.app)  # nothing else due
    from forum.db import write_transaction

    async with write_transaction() as conn:
        for user in users:
            await outbox.enqueue(conn, outbox.MailKind.RESET_REQUEST, user_id=user.user["id"], detail="nb")
    ids = [(await MailOutbox.get(kind="reset_request", user_id=u.user["id"], status="pending")).id for u in users]
    token, claimed = await outbox.claim(100)  # the worker that dies: it claims and never records anything
    dead = [row["id"] for row in claimed]
    assert dead == ids
    await deliver(smtp.app, later=outbox.CONFIG.lease + 5)  # its lease has run out
    rows = {row.id: row for row in await MailOutbox.filter(id__in=dead)}
    assert {r.status for r in rows.values()} == {"sent"}
    assert [i for i in dead if rows[i].last_error == outbox.SENT_AGAIN] == dead[:1]  # only the one in flight
    assert all(rows[i].last_error == "" for i in dead[1:])
    assert all(len(smtp.to(u.user["email"])) == 1 for u in users)


async def test_a_server_that_says_later_is_retried_with_growing_waits_then_given_up(anon, make_user, smtp,
                                                                                     monkeypatch):
    monkeypatch.setattr(outbox.CONFIG, "retry_window", 120.0)  # FORUM_MAIL_RETRY_HOURS, shortened
    user = await make_user()
    smtp.refuse = "451 4.3.0 try again later"
    await anon.api("POST", "/api/v1/password/forgot", {"email": user.user["email"]})
    clock = datetime.now(UTC)
    await deliver(smtp.app)
    row = await MailOutbox.filter(kind="reset_request", user_id=user.user["id"]).first()
    assert row.status == "pending" and row.attempts == 1 and "451" in row.last_error
    assert row.body_text is not None  # kept for the next attempt: the link in it must stay the same
    waits = []
    while row.status == "pending" and len(waits) < 20:
        waits.append((row.not_before - clock).total_seconds())
        clock = row.not_before
        await deliver(smtp.app, later=(clock - datetime.now(UTC)).total_seconds() + 0.001)
        row = await MailOutbox.get(id=row.id)
    assert row.status == "failed" and row.last_error.startswith("gave up after") and "451" in row.last_error
    assert row.body_text is None and row.to_address == ""
    assert 3 <= len(waits) < 20 and waits[-1] > 2 * waits[0]  # growing waits, bounded in time
    assert smtp.to(user.user["email"]) == [] or all("/password/reset/" not in text(m)
                                                    for m in smtp.to(user.user["email"]))


async def test_a_send_cut_off_by_the_deadline_leaves_no_broken_connection_for_the_next_mail(make_user, smtp,
                                                                                           monkeypatch):
    """The first mail's server stalls past the claim's deadline: that mail is tried again later, and the next one
    goes out on a fresh connection (the cut-off one was mid-transaction: reusing it answers 503 and, taken as a
    refusal, lost the mail)."""
    import asyncio

    from forum.db import write_transaction

    monkeypatch.setattr(outbox.CONFIG, "lease", 3.0)
    slow, quick = await make_user(), await make_user()
    await deliver(smtp.app)  # nothing else due

    async def handle_RCPT(server, session, envelope, address, rcpt_options):  # noqa: N802
        if address == slow.user["email"]:
            await asyncio.sleep(4)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    smtp.handle_RCPT = handle_RCPT
    async with write_transaction() as conn:
        for user in (slow, quick):
            await outbox.enqueue(conn, outbox.MailKind.RESET_REQUEST, user_id=user.user["id"], detail="nb")
    first, second = [await MailOutbox.get(kind="reset_request", user_id=u.user["id"], status="pending")
                     for u in (slow, quick)]
    await deliver(smtp.app)
    first, second = await MailOutbox.get(id=first.id), await MailOutbox.get(id=second.id)
    assert first.status == "pending" and "timed out" in first.last_error
    assert second.status == "sent", second.last_error
    assert len(smtp.to(quick.user["email"])) == 1


async def test_a_server_that_does_not_answer_is_a_retry_not_an_error(app, anon, make_user, monkeypatch):
    import socket

    from forum import mail

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection and never says hello
    monkeypatch.setattr(mail, "SMTP_TIMEOUT", 1)
    original = app.state.settings
    app.state.settings = dataclasses.replace(original, smtp_url=f"smtp://127.0.0.1:{silent.getsockname()[1]}")
    try:
        user = await make_user()
        response = await anon.api("POST", "/api/v1/password/forgot", {"email": user.user["email"]})
        assert response.status_code == 202
        done = await asyncio.wait_for(deliver(app), timeout=60)
    finally:
        app.state.settings = original
        silent.close()
    assert done.get("pending", 0) >= 1
    row = await MailOutbox.filter(kind="reset_request", user_id=user.user["id"]).first()
    assert row.status == "pending" and row.last_error


async def test_an_idle_worker_sleeps_until_the_next_mail_falls_due_while_notifications_flow(app, make_user,
                                                                                             category, smtp):
    import time

    from forum.services import mail_worker

    worker = mail_worker.MailWorker(app)
    digest_round = time.monotonic() + 60
    await MailOutbox.filter(status="pending").delete()
    assert await worker._idle_seconds(False, digest_round) == mail_worker.POLL_SECONDS  # must poll
    assert await worker._idle_seconds(True, digest_round) == mail_worker.LISTENING_POLL_SECONDS  # nothing queued
    assert 9 < await worker._idle_seconds(True, time.monotonic() + 10) <= 10  # the next digest round first
    asker = await mail_user(make_user, "reply")
    await _cause("reply", recipient=asker, other=await make_user(), moderator=None, category=category)
    assert await worker._idle_seconds(True, digest_round) == mail_worker.MIN_WAIT_SECONDS  # the fan-out is due
    await deliver(smtp.app)  # expanded: one notification mail, due in FORUM_MAIL_DELAY_SECONDS (300)
    assert await worker._idle_seconds(True, digest_round) == mail_worker.LISTENING_POLL_SECONDS
    row = await MailOutbox.get(user_id=asker.user["id"], status="pending")
    await MailOutbox.filter(id=row.id).update(not_before=datetime.now(UTC) + timedelta(seconds=4))
    assert 2 < await worker._idle_seconds(True, digest_round) <= 4
    # a mail another worker holds is due when its lease ends, not at once (an idle worker must not spin)
    await MailOutbox.filter(id=row.id).update(not_before=datetime.now(UTC) - timedelta(seconds=1),
                                              lease_until=datetime.now(UTC) + timedelta(seconds=6), lease_token="x")
    assert 4 < await worker._idle_seconds(True, digest_round) <= 6
    await worker.transport.close()


async def test_a_rolled_back_write_queues_no_mail(make_user):
    from forum.db import write_transaction

    user = await make_user()
    before = await MailOutbox.filter(user_id=user.user["id"]).count()
    with pytest.raises(RuntimeError):
        async with write_transaction() as conn:
            await outbox.enqueue(conn, outbox.MailKind.VERIFY, user_id=user.user["id"])
            assert await MailOutbox.filter(user_id=user.user["id"]).using_db(conn).count() == before + 1
            raise RuntimeError("the event failed")
    assert await MailOutbox.filter(user_id=user.user["id"]).count() == before


async def test_the_first_reply_to_a_question_offers_reply_mail_once(make_user, category):
    asker = await make_user()
    helper = await make_user()
    question = await new_topic(asker, category.slug, kind="question")
    before = await asker.get("/notifications")
    assert 'id="h-mail-offer"' not in before.text  # nothing answered yet
    await new_reply(helper, question["id"], "Prøv dette")
    offered = await asker.get("/notifications")
    assert 'id="h-mail-offer"' in offered.text
    assert 'id="h-mail-offer"' not in (await asker.get("/notifications")).text  # once
    response = await asker.post_form("/settings/mail/offer", {"answer": "yes"}, token_from="/notifications")
    assert response.status_code == 303
    assert (await MailPreference.get(user_id=asker.user["id"])).reply


def test_the_mail_migration_marks_existing_accounts_confirmed_and_goes_back(tmp_path):
    """0015 adds the outbox, the choices, the links and `account.email_verified_at`: accounts made before it
    count as confirmed (they signed in before). Back to 0010 the tables and the column go; forward again works."""
    import sqlite3

    from tests.conftest import migrate_in_a_process

    path = tmp_path / "mail.sqlite3"
    url = f"sqlite:///{path}"
    migrate_in_a_process(url, "models.0010_audit_reason_scrub")
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO account (email, password_hash, role, created_at) "
                 "VALUES ('old@example.test', 'x', 'member', '2026-01-01 00:00:00+00:00')")
    conn.commit()
    conn.close()
    migrate_in_a_process(url, None)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT email_verified_at FROM account").fetchall() == [("2026-01-01 00:00:00+00:00",)]
    tables = "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN " \
             "('mail_outbox', 'mail_preference', 'email_token') ORDER BY name"
    assert conn.execute(tables).fetchall() == [("email_token",), ("mail_outbox",), ("mail_preference",)]
    conn.close()
    migrate_in_a_process(url, "models.0010_audit_reason_scrub")
    conn = sqlite3.connect(path)
    assert conn.execute(tables).fetchall() == []
    assert "email_verified_at" not in [r[1] for r in conn.execute("PRAGMA table_info(account)")]
    conn.close()
    migrate_in_a_process(url, None)


async def test_erasure_deletes_the_members_mail_choices_and_links(make_user, category, smtp):
    leaving = await mail_user(make_user, "reply")
    other = await make_user()
    await _cause("reply", recipient=leaving, other=other, moderator=None, category=category)
    await leaving.post_form("/settings/email", {"new_email": f"{unique('n')}@example.test", "password": PASSWORD},
                            token_from="/settings")
    await deliver(smtp.app)
    assert await EmailToken.filter(user_id=leaving.user["id"]).exists()
    response = await leaving.api("DELETE", "/api/v1/me", {"password": PASSWORD})
    assert response.status_code == 200, response.text
    assert not await MailOutbox.filter(user_id=leaving.user["id"]).exists()
    assert not await MailPreference.filter(user_id=leaving.user["id"]).exists()
    assert not await EmailToken.filter(user_id=leaving.user["id"]).exists()
    smtp.clear()
    await deliver(smtp.app, later=LATER)
    assert smtp.to(leaving.user["email"]) == []


async def test_purge_deletes_finished_mail_records_after_the_retry_window(make_user, smtp):
    from forum.services import retention
    from forum.settings import Retention

    user = await make_user()
    await user.api("POST", "/api/v1/password/forgot", {"email": user.user["email"]})
    await deliver(smtp.app)
    row = await MailOutbox.filter(kind="reset_request", user_id=user.user["id"]).first()
    assert row.status == "sent" and row.body_text is None and row.to_address == ""
    soon = row.done_at + timedelta(hours=1)
    await retention.purge(Retention(), soon)
    assert await MailOutbox.exists(id=row.id)  # kept (no body, no address) within the retry window
    later = row.done_at + timedelta(seconds=outbox.CONFIG.retry_window + 60)
    counts = await retention.purge(Retention(), later)
    assert counts["mail_records"] >= 1 and not await MailOutbox.exists(id=row.id)
    assert (await retention.purge(Retention(), later))["mail_records"] == 0


async def test_a_batch_of_notification_mails_costs_about_one_statement_per_mail(make_user, smtp):
    """Issue 21: each mail took about ten statements (recipient, consent twice, choices, notification, post,
    actor, its outcome); a claim now reads the facts of all its mails at once and records each outcome in the
    statement before the next send."""
    await MailOutbox.filter(status="pending").delete()
    category = await new_category()
    watchers = [await mail_user(make_user, "watched") for _ in range(12)]
    for member in watchers:
        token = await member.form_token(f"/c/{category.slug}")
        await member.post(f"/c/{category.slug}/watch", data={"csrf_token": token, "watch": "1"})
    await new_topic(await make_user(), category.slug, title=unique("Watched by twelve "))
    await deliver(smtp.app)  # the fan-out row becomes twelve mails, due later
    with QueryCounter() as queries:
        done = await deliver(smtp.app, later=LATER)
    assert done == {"sent": 12}
    assert all(len(smtp.to(m.user["email"])) == 1 for m in watchers)
    writes = [q for q in queries.queries if q.lstrip().upper().startswith(("SELECT", "UPDATE", "INSERT", "DELETE"))]
    assert len(writes) <= 12 + 14, "\n".join(writes)
    assert await MailOutbox.filter(kind="notification", status="sent",
                                   user_id__in=[m.user["id"] for m in watchers]).count() == 12


async def test_a_digest_lists_an_old_answer_by_the_asker_accepted_after_the_last_digest(make_user, category, smtp):
    """Issue 21: the digest looked at when the answer was written (or an "accepted" notification, which an asker
    accepting their own answer does not make), so an answer older than the last digest, accepted since, was
    missed. It reads `topic.accepted_at`, set when accepting and cleared when taking it back."""
    from forum.models import Topic
    from forum.services.digests import schedule_digests

    reader = await mail_user(make_user, digest="daily")
    asker = await make_user()
    token = await reader.form_token(f"/c/{category.slug}")
    await reader.post(f"/c/{category.slug}/watch", data={"csrf_token": token, "watch": "1"})
    question = await new_topic(asker, category.slug, kind="question", title=unique("Gammelt svar "))
    answer = await new_reply(asker, question["id"], "Det var innstillingen for språk")
    long_ago = datetime.now(UTC) - timedelta(days=3)
    await Post.filter(topic_id=question["id"]).update(created_at=long_ago)
    await MailPreference.filter(user_id=reader.user["id"]).update(digest_sent_at=datetime.now(UTC) - timedelta(days=2))
    assert (await asker.api("POST", f"/api/v1/posts/{answer['id']}/accept")).status_code == 200
    accepted = (await Topic.get(id=question["id"])).accepted_at
    assert accepted is not None and accepted > datetime.now(UTC) - timedelta(minutes=1)
    await reader.api("POST", "/api/v1/notifications", {})
    assert await schedule_digests() >= 1
    await deliver(smtp.app)
    [digest] = [m for m in smtp.to(reader.user["email"]) if "digest" in (m["List-Unsubscribe"] or "")]
    assert "Gammelt svar" in text(digest) and f"/t/{question['id']}" in text(digest)
    assert (await asker.api("DELETE", f"/api/v1/posts/{answer['id']}/accept")).status_code == 200
    assert (await Topic.get(id=question["id"])).accepted_at is None
