"""Addresses in mail: an address typed into the password-reset form is never stored (only the account's id, or
nothing), and internationalised addresses (æøå in the local part, IDNA domains) go out as they should."""

from __future__ import annotations

import dataclasses
import email
import email.message
import email.policy
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from forum import db
from forum.models import MailOutbox, User
from tests.conftest import unique
from tests.live import free_port
from tests.mail_helpers import deliver, text
from tests.test_withdrawal_names import every_text


def database_bytes(settings) -> bytes:
    """The SQLite file and its write-ahead log, as they are on disk."""
    path = Path(settings.database_url.removeprefix("sqlite://"))
    return b"".join(Path(str(path) + s).read_bytes() for s in ("", "-wal", "-journal") if Path(str(path) + s).exists())


async def test_a_reset_request_keeps_no_address_in_the_database(anon, make_user, smtp, settings):
    user = await make_user()
    stranger = f"{unique('fremmed').lower()}@example.test"  # someone else's address typed into the form
    for typed in (user.user["email"], stranger):
        response = await anon.api("POST", "/api/v1/password/forgot", {"email": typed})
        assert response.status_code == 202 and response.json() == {"sent": True}
    rows = await MailOutbox.filter(kind="reset_request").order_by("-id").limit(2)
    assert sorted((r.user_id is None, r.to_address) for r in rows) == [(False, ""), (True, "")]
    assert await every_text(stranger) == []  # not even while queued
    done = await deliver(smtp.app)
    assert done.get("sent", 0) >= 1 and done.get("dropped", 0) >= 1
    [mail] = [m for m in smtp.to(user.user["email"]) if "/password/reset/" in text(m)]
    assert smtp.to(stranger) == []
    assert await every_text(stranger) == []
    if db.dialect() == "sqlite":  # the bytes on disk (PostgreSQL's files are the server's: the rows are checked)
        assert stranger.encode() not in database_bytes(settings).lower()


# -- internationalised addresses (RFC 6531 SMTPUTF8, IDNA domains) -----------------------------------------------

class Envelopes:
    """Keeps each accepted mail's envelope (what the server was asked to deliver to) and its parsed message."""

    def __init__(self) -> None:
        self.accepted: list[tuple[list[str], list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.SMTPUTF8)
        self.accepted.append((list(envelope.rcpt_tos), list(envelope.mail_options), message))
        return "250 OK"


@contextmanager
def smtp_server(app, *, smtputf8: bool):
    inbox = Envelopes()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=smtputf8)
    controller.start()
    original = app.state.settings
    app.state.settings = dataclasses.replace(original, smtp_url=f"smtp://127.0.0.1:{controller.port}",
                                             public_url="https://forum.example")
    try:
        yield inbox
    finally:
        app.state.settings = original
        controller.stop()


async def _reset_for(anon, make_user, address: str) -> int:
    """A member whose address is `address`, and a reset mail queued for them; returns the member's id."""
    await MailOutbox.filter(status="pending").delete()  # only this test's mail is delivered below
    user = await make_user()
    await User.filter(id=user.user["id"]).update(email=address)
    response = await anon.api("POST", "/api/v1/password/forgot", {"email": address})
    assert response.status_code == 202
    return user.user["id"]


async def test_a_non_ascii_local_part_goes_out_with_smtputf8_when_the_server_offers_it(app, anon, make_user):
    address = f"blåbærsyltetøy.{unique('x').lower()}@eksempel.no"
    user_id = await _reset_for(anon, make_user, address)
    with smtp_server(app, smtputf8=True) as inbox:
        done = await deliver(app)
    assert done.get("sent") == 1, done
    [(rcpt, options, message)] = inbox.accepted
    assert rcpt == [address] and "SMTPUTF8" in [o.upper() for o in options]
    assert message["To"] == address  # the header as typed, in UTF-8 (no RFC 2047 words in an address)
    assert "/password/reset/" in message.get_body(("plain",)).get_content()
    row = await MailOutbox.filter(kind="reset_request", user_id=user_id).first()
    assert row.status == "sent"


async def test_a_non_ascii_local_part_fails_clearly_when_the_server_lacks_smtputf8(app, anon, make_user):
    address = f"ærlig.{unique('x').lower()}@eksempel.no"
    user_id = await _reset_for(anon, make_user, address)
    with smtp_server(app, smtputf8=False) as inbox:
        done = await deliver(app)
    assert done.get("failed") == 1 and inbox.accepted == [], done
    row = await MailOutbox.filter(kind="reset_request", user_id=user_id).first()
    assert row.status == "failed" and row.attempts == 1  # retrying cannot help
    assert "SMTPUTF8" in row.last_error and address not in row.last_error and "ærlig" not in row.last_error
    assert row.to_address == "" and row.body_text is None


@pytest.mark.parametrize("smtputf8", [False, True])
async def test_an_idna_domain_goes_out_as_its_ascii_form_to_any_server(smtputf8, app, anon, make_user):
    local = unique("kari").lower()
    address = f"{local}@blåbær.no"
    await _reset_for(anon, make_user, address)
    with smtp_server(app, smtputf8=smtputf8) as inbox:
        done = await deliver(app)
    assert done.get("sent") == 1, done
    [(rcpt, options, message)] = inbox.accepted
    assert rcpt == [f"{local}@xn--blbr-roah.no"] and "SMTPUTF8" not in [o.upper() for o in options]
    assert message["To"] == f"{local}@xn--blbr-roah.no"


async def test_an_invalid_international_domain_fails_with_the_reason(app, anon, make_user):
    user_id = await _reset_for(anon, make_user, f"{unique('ola').lower()}@bl\u00e5b\u00e6r\u200d-.no")
    with smtp_server(app, smtputf8=True) as inbox:
        done = await deliver(app)
    assert done.get("failed") == 1 and inbox.accepted == []
    row = await MailOutbox.filter(kind="reset_request", user_id=user_id).first()
    assert row.status == "failed" and "domain" in row.last_error


async def test_the_maildir_keeps_an_international_address_readable(app, anon, make_user, tmp_path):
    address = f"søren.{unique('x').lower()}@eksempel.no"
    await _reset_for(anon, make_user, address)
    original = app.state.settings
    app.state.settings = dataclasses.replace(original, smtp_url="", mail_dir=str(tmp_path / "maildir"),
                                             public_url="https://forum.example")
    try:
        done = await deliver(app)
    finally:
        app.state.settings = original
    assert done.get("sent") == 1
    [file] = list((tmp_path / "maildir" / "new").iterdir())
    message = email.message_from_bytes(file.read_bytes(), policy=email.policy.SMTPUTF8)
    assert message["To"] == address


async def test_an_unexpected_error_sending_one_mail_is_a_recorded_retry_not_a_stuck_worker(app, anon, make_user,
                                                                                          monkeypatch):
    from forum import mail

    user_id = await _reset_for(anon, make_user, f"{unique('per').lower()}@example.test")

    async def broken(self, message, ready=None):
        raise ValueError("a bug")

    monkeypatch.setattr(mail.SmtpTransport, "send", broken)
    with smtp_server(app, smtputf8=True):
        done = await deliver(app)
    assert done.get("pending") == 1 and not done.get("sent"), done
    row = await MailOutbox.filter(kind="reset_request", user_id=user_id).first()
    assert row.status == "pending" and row.last_error == "send: ValueError" and row.lease_token is None
    assert row.not_before > row.created_at  # it waits for its next attempt


class SevenBitOnly(Envelopes):
    """A server that does not offer 8BITMIME (RFC 6152) in its EHLO answer; keeps the bytes as they came."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: list[bytes] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname
        return [r for r in responses if "8BITMIME" not in r.upper()]

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.raw.append(bytes(envelope.original_content or envelope.content))
        return await super().handle_DATA(server, session, envelope)


async def test_a_server_without_8bitmime_gets_the_body_quoted_printable(app, anon, make_user):
    """Issue 21: the bodies are 8-bit UTF-8; to a server that does not offer 8BITMIME they went unchanged (it
    may strip the eighth bit). They go re-encoded as quoted-printable, and read the same."""
    address = f"{unique('sju').lower()}@example.test"
    await _reset_for(anon, make_user, address)
    await User.filter(email=address).update(locale="nb")
    inbox = SevenBitOnly()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    original = app.state.settings
    app.state.settings = dataclasses.replace(original, smtp_url=f"smtp://127.0.0.1:{controller.port}",
                                             public_url="https://forum.example")
    try:
        done = await deliver(app)
    finally:
        app.state.settings = original
        controller.stop()
    assert done.get("sent") == 1, done
    [(rcpt, options, message)] = inbox.accepted
    [raw] = inbox.raw
    assert "BODY=8BITMIME" not in [o.upper() for o in options]
    assert max(raw) < 0x80, "an 8-bit byte went to a 7-bit server"
    assert b"quoted-printable" in raw.lower()
    body = message.get_body(("plain",)).get_content()
    assert "/password/reset/" in body and any(ord(c) > 127 for c in body)  # æøå arrive as written
