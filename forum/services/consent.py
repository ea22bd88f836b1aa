"""Consent per purpose (GDPR art. 6(1)(a), art. 7): policy versions, the ledger, status, giving and withdrawing.

The ledger is append-only: every decision is a new `ConsentEvent` with its signed receipt (services/receipts.py);
nothing here updates or deletes one. Status is derived, per purpose, from the latest event and the policy
versions of that purpose published since it. Which purposes exist is services/purposes.py.

Staff whose participation is part of their work cannot consent freely to their employer (EDPB guidelines 05/2020
on consent, 21-22): for the roles named by FORUM_EMPLOYMENT_ROLES taking part rests on the employment instead
(art. 6(1)(b)); the ledger records that basis when the role is given or taken, and the gate asks them no consent.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from enum import StrEnum

from forum import db, events
from forum.db import write_transaction
from forum.errors import N_, Conflict, NotAuthenticated, NotFound, ValidationFailed
from forum.models import ConsentAction, ConsentEvent, ConsentSubject, LegalBasis, PolicyVersion, Role
from forum.services import receipts
from forum.services.purposes import FORUM, PURPOSES, Purpose, purpose_named
from forum.settings import LOCALES
from forum.viewer import Viewer

CHANNELS = ("page", "api")
ROLE_CHANNEL = "role"  # an employment-basis row written when a role is given or taken
_employment_roles: frozenset[str] = frozenset({Role.STAFF.value, Role.ADMIN.value})


def configure(settings) -> None:
    """Which roles take part on the employment basis, who the receipts name as controller and with which keys
    they are signed. Called by the app at start and by the command line, which writes ledger rows too."""
    global _employment_roles
    _employment_roles = frozenset(str(r) for r in settings.employment_roles)
    receipts.configure(secret_key=settings.secret_key, controller=receipts.Controller(
        name=settings.controller_name, email=settings.controller_email, address=settings.controller_address,
        country=settings.jurisdiction, phone=settings.controller_phone, base_url=settings.base_url))


def on_employment_basis(role) -> bool:
    """Whether this role takes part as part of the member's work (no participation consent asked)."""
    return str(getattr(role, "value", role)) in _employment_roles


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


async def current_policy(conn=None, purpose: str = FORUM.name) -> PolicyVersion | None:
    return (await PolicyVersion.filter(purpose=purpose).using_db(conn)
            .order_by("-published_at", "-id").first())


async def policy_version(purpose: str, version: str, conn=None) -> PolicyVersion | None:
    return await PolicyVersion.filter(purpose=purpose, version=version).using_db(conn).first()


def shown(policy: PolicyVersion, locale: str) -> ShownPolicy:
    locale = locale if locale in LOCALES else "nb"
    text = policy.text_nb if locale == "nb" else policy.text_en
    digest = policy.sha256_nb if locale == "nb" else policy.sha256_en
    return ShownPolicy(policy.version, locale, text, digest, policy.published_at)


async def publish_policy(*, version: str, text_nb: str, text_en: str, reconsent: bool = False,
                         purpose: str = FORUM.name) -> PolicyVersion:
    purpose_named(purpose)
    version = (version or "").strip()
    if not version or len(version) > 32:
        raise ValidationFailed(fields={"version": N_("Give a version of 1 to 32 characters.")})
    if not text_nb.strip() or not text_en.strip():
        raise ValidationFailed(fields={"text": N_("The policy needs a Norwegian and an English text.")})
    if await PolicyVersion.filter(purpose=purpose, version=version).exists():
        raise ValidationFailed(fields={"version": N_("That version is published already.")})
    return await PolicyVersion.create(purpose=purpose, version=version, text_nb=text_nb, text_en=text_en,
                                      sha256_nb=sha256(text_nb), sha256_en=sha256(text_en),
                                      requires_reconsent=reconsent)


async def publish_missing_policies(version: str = "1") -> None:
    """Publishes the shipped text of every purpose that has none yet (`forum demo`, the test suites)."""
    from forum.services.policy_file import read_policy_file

    for purpose in PURPOSES.values():
        if await current_policy(purpose=purpose.name) is None:
            texts = read_policy_file(purpose.demo_policy)
            await publish_policy(version=version, text_nb=texts["nb"], text_en=texts["en"], purpose=purpose.name)


async def _subject_id(user_id: int, conn, *, create: bool) -> int | None:
    subject = await ConsentSubject.filter(user_id=user_id).using_db(conn).first()
    if subject is None and create:
        subject = await ConsentSubject.create(user_id=user_id, pseudonym=str(uuid.uuid4()), using_db=conn)
    return subject.id if subject else None


STATUS_SQL = """
SELECT e.action,
       (SELECT COUNT(*) FROM policy_version n WHERE n.purpose = e.purpose AND n.requires_reconsent = ?
          AND (pv.published_at IS NULL OR n.published_at > pv.published_at)) AS newer
FROM consent_subject s
JOIN consent_event e ON e.subject_id = s.id AND e.purpose = ? AND e.basis = 'consent'
LEFT JOIN policy_version pv ON pv.purpose = e.purpose AND pv.version = e.policy_version
WHERE s.user_id = ?
ORDER BY e.id DESC LIMIT 1
"""


async def consent_status(user_id: int, conn=None, purpose: str = FORUM.name) -> ConsentStatus:
    """One query: the latest decision for the purpose, and whether a text of it needing fresh consent came out
    after it. Employment-basis rows are not consent and do not count here."""
    params = [True, purpose, user_id]  # a write checks it in its transaction; a page reads it by key
    row = await (db.fetch_one(STATUS_SQL, params, conn) if conn is not None else db.fetch_point(STATUS_SQL, params))
    return _status_of(row)


STATUSES_SQL = """
SELECT s.user_id, e.action,
       (SELECT COUNT(*) FROM policy_version n WHERE n.purpose = e.purpose AND n.requires_reconsent = ?
          AND (pv.published_at IS NULL OR n.published_at > pv.published_at)) AS newer
FROM consent_subject s
JOIN consent_event e ON e.id = (SELECT MAX(l.id) FROM consent_event l WHERE l.subject_id = s.id AND l.purpose = ?
                                 AND l.basis = 'consent')
LEFT JOIN policy_version pv ON pv.purpose = e.purpose AND pv.version = e.policy_version
WHERE s.user_id IN ({in})
"""


def _status_of(row: dict | None) -> ConsentStatus:
    if row is None:
        return ConsentStatus.NONE
    if row["action"] == ConsentAction.WITHDRAWN.value:
        return ConsentStatus.WITHDRAWN
    return ConsentStatus.OUTDATED if row["newer"] else ConsentStatus.GRANTED


async def consent_statuses(user_ids, conn=None, purpose: str = FORUM.name) -> dict[int, ConsentStatus]:
    """`consent_status` of many members in one query (per 500): a mail batch, a list of mention candidates."""
    ids = sorted({int(u) for u in user_ids})
    found: dict[int, dict] = {}
    for chunk in db.chunks(ids, 500):
        query = STATUSES_SQL.replace("{in}", db.marks(len(chunk)))
        for row in await db.fetch_all(query, [True, purpose, *chunk], conn):
            found[int(row["user_id"])] = row
    return {u: _status_of(found.get(u)) for u in ids}


async def participation_status(viewer: Viewer, conn=None) -> ConsentStatus:
    """Whether the viewer may take part, as the gate sees it: granted for staff on the employment basis."""
    if on_employment_basis(viewer.role):
        return ConsentStatus.GRANTED
    return await consent_status(viewer.id, conn)


async def record_event(conn, *, user_id: int, purpose: Purpose, policy: PolicyVersion, locale: str,
                       action: ConsentAction, channel: str,
                       basis: LegalBasis = LegalBasis.CONSENT) -> ConsentEvent:
    """Appends one decision to the ledger, with its signed receipt, in the caller's transaction."""
    text = shown(policy, locale)
    subject_id = await _subject_id(user_id, conn, create=True)
    event = await ConsentEvent.create(subject_id=subject_id, purpose=purpose.name, basis=basis,
                                      policy_version=policy.version, text_sha256=text.sha256, locale=text.locale,
                                      action=action, channel=channel, using_db=conn)
    await receipts.issue(conn, event, purpose)
    return event


async def _ensure_profile(user_id: int, username: str | None, conn) -> None:
    """Someone who withdrew has no forum profile: consenting again starts a new identity with a handle of their
    choosing (which may be the old one, if still free: the old posts stay "former member" either way)."""
    from tortoise.exceptions import IntegrityError

    from forum.models import Profile
    from forum.services import name_claims
    from forum.services.usernames import USERNAME_TAKEN, handle_available, username_key, validate_username

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
        await name_claims.claim_handle(conn, profile.id, name)
    except IntegrityError:
        raise ValidationFailed(fields={"username": USERNAME_TAKEN}) from None


EMPLOYMENT_BASIS = N_("Your part in the forum rests on your employment, not on consent, so there is no consent "
                      "to give or withdraw for it.")


async def grant_consent(viewer: Viewer | None, *, policy_version: str, locale: str, channel: str,
                        username: str | None = None, purpose: str = FORUM.name) -> ConsentEvent:
    """Records consent to the purpose's current text exactly as shown in `locale`."""
    if viewer is None:
        raise NotAuthenticated()
    if channel not in CHANNELS:
        raise ValidationFailed(fields={"channel": N_("Not one of the allowed values.")})
    chosen = purpose_named(purpose)
    if chosen.gates_participation and on_employment_basis(viewer.role):
        raise Conflict(EMPLOYMENT_BASIS, code="employment_basis")
    async with write_transaction() as conn:
        policy = await current_policy(conn, chosen.name)
        if policy is None:
            raise NotFound(N_("No forum policy has been published yet."))
        if policy_version != policy.version:
            raise ValidationFailed(N_("That is not the current version of the policy. Read the current one first."),
                                   code="policy_outdated", fields={"policy_version": N_("Not the current version.")})
        if chosen.gates_participation:
            await _ensure_profile(viewer.id, username, conn)
        return await record_event(conn, user_id=viewer.id, purpose=chosen, policy=policy, locale=locale,
                                  action=ConsentAction.GRANTED, channel=channel)


async def withdraw_purpose(viewer: Viewer | None, *, purpose: str, channel: str, locale: str) -> ConsentEvent:
    """Withdraws consent to a purpose that does not gate taking part (mail): it only stops that processing.
    Withdrawing participation anonymises, and is services/withdrawal.py."""
    if viewer is None:
        raise NotAuthenticated()
    chosen = purpose_named(purpose)
    if chosen.gates_participation:
        raise ValidationFailed(fields={"purpose": N_("Not one of the allowed values.")})
    async with write_transaction() as conn:
        await db.fetch_one("SELECT id FROM account WHERE id = ?" + ("" if db.dialect() == "sqlite" else
                                                                      " FOR UPDATE"), [viewer.id], conn)
        if await consent_status(viewer.id, conn, chosen.name) not in (ConsentStatus.GRANTED, ConsentStatus.OUTDATED):
            raise Conflict(N_("You have not given consent, so there is nothing to withdraw."), code="not_consented")
        policy = await current_policy(conn, chosen.name)
        event = await record_event(conn, user_id=viewer.id, purpose=chosen, policy=policy, locale=locale,
                                   action=ConsentAction.WITHDRAWN, channel=channel)
        await events.emit(events.PURPOSE_WITHDRAWN, events.PurposeWithdrawn(viewer.id, chosen.name, conn))
        return event


async def record_employment_basis(user_id: int, role) -> None:
    """For an account created with a staff role (`forum create-admin`, the demo)."""
    async with write_transaction() as conn:
        await record_role_change(conn, user_id, Role.MEMBER, role)


async def record_role_change(conn, user_id: int, old_role, new_role) -> None:
    """The ledger records when taking part starts or stops resting on employment (a role given or taken)."""
    before, after = on_employment_basis(old_role), on_employment_basis(new_role)
    if before == after:
        return
    policy = await current_policy(conn)
    if policy is None:
        return
    await record_event(conn, user_id=user_id, purpose=FORUM, policy=policy, locale="nb", channel=ROLE_CHANNEL,
                       action=ConsentAction.GRANTED if after else ConsentAction.WITHDRAWN,
                       basis=LegalBasis.EMPLOYMENT)


async def consent_history(user_id: int) -> list[dict]:
    subject_id = await _subject_id(user_id, None, create=False)
    if subject_id is None:
        return []
    return await (ConsentEvent.filter(subject_id=subject_id).order_by("id")
                  .values("purpose", "basis", "policy_version", "text_sha256", "locale", "action", "channel",
                          "created_at"))


async def dashboard(viewer: Viewer, locale: str) -> list[dict]:
    """Every purpose with the viewer's standing: status, the latest decision (version, date, and the text as it
    was shown then), the current text, and whether taking part rests on employment. Two queries."""
    subject_id = await _subject_id(viewer.id, None, create=False)
    latest: dict[str, dict] = {}
    if subject_id is not None:
        for row in await (ConsentEvent.filter(subject_id=subject_id).order_by("id")
                          .values("purpose", "basis", "policy_version", "locale", "action", "created_at")):
            latest.setdefault(row["purpose"], {})[row["basis"]] = row
    versions = {(p.purpose, p.version): p for p in await PolicyVersion.all().order_by("published_at", "id")}
    current = {purpose: p for (purpose, _v), p in versions.items()}  # the last published per purpose
    rows = []
    for purpose in PURPOSES.values():
        decisions = latest.get(purpose.name, {})
        decision = decisions.get(LegalBasis.CONSENT.value)
        employment = decisions.get(LegalBasis.EMPLOYMENT.value)
        agreed = versions.get((purpose.name, decision["policy_version"])) if decision else None
        policy = current.get(purpose.name)
        rows.append({
            "purpose": purpose, "status": (await consent_status(viewer.id, None, purpose.name)).value,
            "decision": decision, "agreed_text": shown(agreed, decision["locale"]) if agreed else None,
            "policy": shown(policy, locale) if policy else None,
            "employment": purpose.gates_participation and on_employment_basis(viewer.role),
            "employment_since": employment["created_at"] if employment and employment["action"] == "granted" else None,
        })
    return rows


_FORUM_CONSENT = "purpose = 'forum' AND basis = 'consent'"


async def consent_statistics() -> dict:
    """Counts only, of consent to take part: per policy version (events, and where each person's latest decision
    stands now) and per month. No names, emails or ids leave this function."""
    versions = await PolicyVersion.filter(purpose=FORUM.name).order_by("published_at", "id").values(
        "version", "published_at", "requires_reconsent")
    events_by = {(r["policy_version"], r["action"]): r["n"] for r in await db.fetch_all(
        f"SELECT policy_version, action, COUNT(*) AS n FROM consent_event WHERE {_FORUM_CONSENT} "
        "GROUP BY policy_version, action")}
    latest = {(r["policy_version"], r["action"]): r["n"] for r in await db.fetch_all(
        "SELECT e.policy_version, e.action, COUNT(*) AS n FROM consent_event e "
        f"JOIN (SELECT subject_id, MAX(id) AS id FROM consent_event WHERE {_FORUM_CONSENT} GROUP BY subject_id) l "
        "ON l.id = e.id "
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
                                f"WHERE {_FORUM_CONSENT} GROUP BY {month}, action ORDER BY 1"):
        months.setdefault(r["month"], {"month": r["month"], "granted": 0, "withdrawn": 0})[r["action"]] = r["n"]
    return {"versions": rows, "months": list(months.values())}
