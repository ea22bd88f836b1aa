"""Erasing an account (GDPR art. 17): the withdrawal procedure, then the account and its sessions go.

The consent ledger keeps its events (proof of what was agreed and when, art. 7(1)) but loses the only link to
the person: the consent_subject row. One transaction, like the withdrawal.
"""

from __future__ import annotations

from forum import db, events
from forum.db import write_transaction
from forum.errors import N_, NotAuthenticated, ValidationFailed
from forum.passwords import Passwords
from forum.services import byte_purge, oidc
from forum.services.consent import ConsentStatus, consent_status
from forum.services.withdrawal import anonymise_in, lock_account, record_withdrawal
from forum.viewer import Viewer


async def erase_account(passwords: Passwords, viewer: Viewer | None, *, password: str, channel: str,
                        text_locale: str = "nb") -> dict[str, int]:
    if viewer is None:
        raise NotAuthenticated()
    account = await db.fetch_one("SELECT password_hash FROM account WHERE id = ?", [viewer.id])
    if not oidc.has_password(account["password_hash"]):  # made by the identity provider: a fresh sign-in there
        await oidc.check_fresh_provider_sign_in(viewer.session_id)
    elif not await passwords.verify(account["password_hash"], password if isinstance(password, str) else ""):
        raise ValidationFailed(fields={"password": N_("The password is wrong.")})
    counts: dict[str, int] = {}
    async with write_transaction(large=True) as conn:  # thousands of pages: no checkpoint in its COMMIT
        await lock_account(viewer.id, conn)
        status = await consent_status(viewer.id, conn)
        purge_id = await anonymise_in(conn, viewer.id, text_locale=text_locale, counts=counts)
        if status in (ConsentStatus.GRANTED, ConsentStatus.OUTDATED):
            await record_withdrawal(conn, viewer.id, locale=viewer.locale or text_locale, channel=channel)
        await events.emit(events.ACCOUNT_ERASING, events.Withdrawal(viewer.id, [], lambda text: text, counts, conn))
        await db.execute("DELETE FROM consent_subject WHERE user_id = ?", [viewer.id], conn)
        counts["removed_sessions"] = await db.execute("DELETE FROM session WHERE user_id = ?", [viewer.id], conn)
        await db.execute("DELETE FROM account WHERE id = ?", [viewer.id], conn)
        counts["deleted_account"] = 1
    counts["byte_purge"] = await byte_purge.run(purge_id)
    return counts
