"""Addresses in mail: an address typed into the password-reset form is never stored (only the account's id, or
nothing), and internationalised addresses (æøå in the local part, IDNA domains) go out as they should."""

from __future__ import annotations

from pathlib import Path

from forum import db
from forum.models import MailOutbox
from tests.conftest import unique
from tests.mail_helpers import deliver, text
from tests.test_withdrawal_names import every_text


def database_bytes(settings) -> bytes:
    """The SQLite file and its write-ahead log, as they are on disk."""
    path = Path(settings.database_url.removeprefix("sqlite://"))
    return b"".join(Path(str(path) + s).read_bytes() for s in ("", "-wal", "-journal") if Path(str(path) + s).exists())


async def test_a_reset_request_keeps_no_address_in_the_database(anon, make_user, smtp, settings):
    user = await make_user()
    stranger = f"{unique('fremmed').lower()}@example.test"  # someone else's address typed into the form
    for email in (user.user["email"], stranger):
        response = await anon.api("POST", "/api/v1/password/forgot", {"email": email})
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
