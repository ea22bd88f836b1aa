"""Consent to forum participation (GDPR art. 6(1)(a), art. 7): policy versions, the ledger, status, giving it.

The ledger is append-only: every decision is a new `ConsentEvent`; nothing here updates or deletes one.
Status is derived from the latest event and the policy versions published since it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from forum import db
from forum.db import write_transaction
from forum.errors import N_, NotAuthenticated, NotFound, ValidationFailed
from forum.models import ConsentAction, ConsentEvent, ConsentSubject, PolicyVersion
from forum.settings import LOCALES
from forum.viewer import Viewer

CHANNELS = ("page", "api")


class ConsentStatus(StrEnum):
    NONE = "none"
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"
    OUTDATED = "outdated"


@dataclass(frozen=True)
class ShownPolicy:
    version: str
    locale: str
    text: str
    sha256: str
    published_at: object


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def current_policy(conn=None) -> PolicyVersion | None:
    return await PolicyVersion.all().using_db(conn).order_by("-published_at", "-id").first()


def shown(policy: PolicyVersion, locale: str) -> ShownPolicy:
    locale = locale if locale in LOCALES else "nb"
    text = policy.text_nb if locale == "nb" else policy.text_en
    digest = policy.sha256_nb if locale == "nb" else policy.sha256_en
    return ShownPolicy(policy.version, locale, text, digest, policy.published_at)


async def publish_policy(*, version: str, text_nb: str, text_en: str, reconsent: bool = False) -> PolicyVersion:
    version = (version or "").strip()
    if not version or len(version) > 32:
        raise ValidationFailed(fields={"version": N_("Give a version of 1 to 32 characters.")})
    if not text_nb.strip() or not text_en.strip():
        raise ValidationFailed(fields={"text": N_("The policy needs a Norwegian and an English text.")})
    if await PolicyVersion.filter(version=version).exists():
        raise ValidationFailed(fields={"version": N_("That version is published already.")})
    return await PolicyVersion.create(version=version, text_nb=text_nb, text_en=text_en, sha256_nb=sha256(text_nb),
                                      sha256_en=sha256(text_en), requires_reconsent=reconsent)


async def _subject_id(user_id: int, conn, *, create: bool) -> int | None:
    subject = await ConsentSubject.filter(user_id=user_id).using_db(conn).first()
    if subject is None and create:
        subject = await ConsentSubject.create(user_id=user_id, using_db=conn)
    return subject.id if subject else None


STATUS_SQL = """
SELECT e.action,
       (SELECT COUNT(*) FROM policy_version n WHERE n.requires_reconsent = ?
          AND (pv.published_at IS NULL OR n.published_at > pv.published_at)) AS newer
FROM consent_subject s
JOIN consent_event e ON e.subject_id = s.id
LEFT JOIN policy_version pv ON pv.version = e.policy_version
WHERE s.user_id = ?
ORDER BY e.id DESC LIMIT 1
"""


async def consent_status(user_id: int, conn=None) -> ConsentStatus:
    """One query: the latest decision, and whether a policy needing fresh consent came out after it."""
    row = await db.fetch_one(STATUS_SQL, [True, user_id], conn)
    if row is None:
        return ConsentStatus.NONE
    if row["action"] == ConsentAction.WITHDRAWN.value:
        return ConsentStatus.WITHDRAWN
    return ConsentStatus.OUTDATED if row["newer"] else ConsentStatus.GRANTED


async def _ensure_profile(user_id: int, username: str | None, conn) -> None:
    """Someone who withdrew has no forum profile: consenting again starts a new identity with a handle of their
    choosing (which may be the old one, if still free: the old posts stay "former member" either way)."""
    from tortoise.exceptions import IntegrityError

    from forum.models import Profile
    from forum.services import names
    from forum.services.accounts import USERNAME_TAKEN, handle_available
    from forum.services.usernames import username_key, validate_username

    if await Profile.filter(user_id=user_id).using_db(conn).exists():
        return
    if not (username or "").strip():
        raise ValidationFailed(fields={"username": N_("Choose a username to take part.")})
    name = validate_username(username)
    if not await handle_available(name, conn):
        raise ValidationFailed(fields={"username": USERNAME_TAKEN})
    try:
        profile = await Profile.create(user_id=user_id, username=name, username_key=username_key(name),
                                       display_name="", using_db=conn)
        await names.claim_handle(conn, profile.id, name)
    except IntegrityError:
        raise ValidationFailed(fields={"username": USERNAME_TAKEN}) from None


async def grant_consent(viewer: Viewer | None, *, policy_version: str, locale: str, channel: str,
                        username: str | None = None) -> ConsentEvent:
    """Records consent to the current policy text exactly as shown in `locale`."""
    if viewer is None:
        raise NotAuthenticated()
    if channel not in CHANNELS:
        raise ValidationFailed(fields={"channel": N_("Not one of the allowed values.")})
    async with write_transaction() as conn:
        policy = await current_policy(conn)
        if policy is None:
            raise NotFound(N_("No forum policy has been published yet."))
        if policy_version != policy.version:
            raise ValidationFailed(N_("That is not the current version of the policy. Read the current one first."),
                                   code="policy_outdated", fields={"policy_version": N_("Not the current version.")})
        text = shown(policy, locale)
        await _ensure_profile(viewer.id, username, conn)
        subject_id = await _subject_id(viewer.id, conn, create=True)
        return await ConsentEvent.create(subject_id=subject_id, policy_version=policy.version,
                                         text_sha256=text.sha256, locale=text.locale,
                                         action=ConsentAction.GRANTED, channel=channel, using_db=conn)


async def consent_history(user_id: int) -> list[dict]:
    subject_id = await _subject_id(user_id, None, create=False)
    if subject_id is None:
        return []
    return await (ConsentEvent.filter(subject_id=subject_id).order_by("id")
                  .values("policy_version", "text_sha256", "locale", "action", "channel", "created_at"))


async def consent_statistics() -> dict:
    """Counts only: per policy version (events, and where each person's latest decision stands now) and per
    month. No names, emails or ids leave this function."""
    versions = await PolicyVersion.all().order_by("published_at", "id").values(
        "version", "published_at", "requires_reconsent")
    events_by = {(r["policy_version"], r["action"]): r["n"] for r in await db.fetch_all(
        "SELECT policy_version, action, COUNT(*) AS n FROM consent_event GROUP BY policy_version, action")}
    latest = {(r["policy_version"], r["action"]): r["n"] for r in await db.fetch_all(
        "SELECT e.policy_version, e.action, COUNT(*) AS n FROM consent_event e "
        "JOIN (SELECT subject_id, MAX(id) AS id FROM consent_event GROUP BY subject_id) l ON l.id = e.id "
        "GROUP BY e.policy_version, e.action")}
    last_reconsent = max((i for i, v in enumerate(versions) if v["requires_reconsent"]), default=0)
    rows = []
    for index, version in enumerate(versions):
        holding = latest.get((version["version"], ConsentAction.GRANTED.value), 0)
        rows.append({**version,
                     "granted": events_by.get((version["version"], ConsentAction.GRANTED.value), 0),
                     "withdrawn": events_by.get((version["version"], ConsentAction.WITHDRAWN.value), 0),
                     "current": holding if index >= last_reconsent else 0,
                     "outdated": holding if index < last_reconsent else 0})
    month = "substr(created_at, 1, 7)" if db.dialect() == "sqlite" else "to_char(created_at, 'YYYY-MM')"
    months: dict[str, dict] = {}
    for r in await db.fetch_all(f"SELECT {month} AS month, action, COUNT(*) AS n FROM consent_event "
                                f"GROUP BY {month}, action ORDER BY 1"):
        months.setdefault(r["month"], {"month": r["month"], "granted": 0, "withdrawn": 0})[r["action"]] = r["n"]
    return {"versions": rows, "months": list(months.values())}
