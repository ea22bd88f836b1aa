"""Private notices to members (authors, flaggers, sanctioned users), written in the recipient's language.

A notice names the kind of problem and the moderator's reason, never who flagged and never a detected value.
"""

from __future__ import annotations

from forum import i18n
from forum.errors import N_
from forum.models import NotificationKind, User
from forum.services import notifications
from moderation import config

REASON_LABELS = {
    "spam": N_("spam"),
    "abuse": N_("abuse"),
    "off_topic": N_("off topic"),
    "personal_data": N_("personal data"),
    "security": N_("security (credentials, keys or malware)"),
    "other": N_("other"),
    "watched_word": N_("a watched word"),
    "flags": N_("flags from members"),
    "moderator": N_("a moderator's decision"),
}
KIND_LABELS = {
    "national_id": N_("a national identity number"),
    "card_number": N_("a payment card number"),
    "bank_account": N_("a bank account number"),
    "iban": N_("an IBAN"),
    "email_bulk": N_("a list of email addresses"),
    "phone_bulk": N_("a list of phone numbers"),
    "private_key": N_("a private key"),
    "api_key": N_("an API key, token or password"),
    "name": N_("the name of a member who has left"),
}


def translate(locale: str, message: str, **params) -> str:
    text = i18n.translations(locale).gettext(message)
    return text % params if params else text


def label(locale: str, key: str, labels: dict[str, str] = REASON_LABELS) -> str:
    return translate(locale, labels.get(key, key))


async def notify(conn, user_id: int | None, message: str, *, post_id: int | None = None,
                 topic_id: int | None = None, reason: str | None = None, kinds: list[str] | None = None,
                 text: str = "") -> None:
    """`message` is a msgid with optional %(reason)s, %(kinds)s and %(text)s, filled in the recipient's locale."""
    if user_id is None:
        return
    user = await User.filter(id=user_id).using_db(conn).first()
    if user is None:
        return
    locale = user.locale or config.default_locale()
    params = {}
    if "%(reason)s" in message:
        params["reason"] = label(locale, reason or "other")
    if "%(kinds)s" in message:
        params["kinds"] = ", ".join(label(locale, k, KIND_LABELS) for k in kinds or [])
    if "%(text)s" in message:
        params["text"] = text
    await notifications.notify_user(conn, user_id=user_id, kind=NotificationKind.MODERATION, post_id=post_id,
                                    topic_id=topic_id, message=translate(locale, message, **params))
