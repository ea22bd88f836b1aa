"""`forum demo`: a small, realistic forum to look at: three categories, a few topics, an admin."""

from __future__ import annotations

import secrets

from forum.db import write_transaction
from forum.models import Category, Role
from forum.passwords import Passwords
from forum.services import accounts
from forum.services.answers import accept_answer
from forum.services.categories import create_category_as_system
from forum.services.consent import current_policy, grant_consent, publish_missing_policies, record_role_change
from forum.services.posts import create_reply
from forum.services.topics import create_topic, update_topic
from forum.settings import Settings
from forum.viewer import viewer_for_user

CATEGORIES = [
    dict(slug="sporsmal-og-svar", name="Spørsmål og svar",
         description="Still spørsmål om produktene og merk svaret som løste det.", read="public",
         start_topics="participants"),
    dict(slug="opplaering", name="Opplæring",
         description="Opplæringstråder ledet av våre ansatte. Ansatte starter emner, alle kan svare.",
         read="public", start_topics="staff"),
    dict(slug="kunngjoringer", name="Kunngjøringer", description="Nyheter og endringer fra oss.",
         read="public", start_topics="staff"),
]


async def seed_demo(settings: Settings, *, only_if_empty: bool = False) -> int:
    if await Category.all().exists():
        if only_if_empty:
            return 0
        print("the forum already has categories; demo content is only seeded into an empty forum")
        return 1
    passwords = Passwords(settings.argon2_profile)
    admin_password = secrets.token_urlsafe(18)
    # one transaction: a failure half-way leaves an empty forum that the next `make run` seeds again
    async with write_transaction():
        await publish_missing_policies()
        policy = await current_policy()
        for spec in CATEGORIES:
            await create_category_as_system(**spec)
        admin = await accounts.register(passwords, username="Forumadmin", email="admin@example.com",
                                        password=admin_password, role=Role.ADMIN, locale="nb")
        staff = await accounts.register(passwords, username="Ingrid_Opplaering", email="ingrid@example.com",
                                        password=secrets.token_urlsafe(18), role=Role.STAFF, locale="nb")
        member = await accounts.register(passwords, username="Ola_Nordmann", email="ola@example.com",
                                         password=secrets.token_urlsafe(18), locale="nb")
        await grant_consent(await viewer_for_user(member.id), policy_version=policy.version, locale="nb",
                            channel="page")
        for user in (admin, staff):  # their part rests on their employment, not on consent
            await record_role_change(None, user.id, Role.MEMBER, user.role)
        await _seed_topics(admin.id, staff.id, member.id)
    print("demo forum seeded")
    print(f"admin: admin@example.com  password (shown once): {admin_password}")
    return 0


async def _seed_topics(admin_id: int, staff_id: int, member_id: int) -> None:
    admin, staff, member = (await viewer_for_user(admin_id), await viewer_for_user(staff_id),
                            await viewer_for_user(member_id))
    question, _ = await create_topic(
        member, category="sporsmal-og-svar", kind="question",
        title="Hvordan eksporterer jeg fakturaer til regnskapsprogrammet?",
        body="Jeg vil eksportere alle fakturaer for **oktober** til regnskapet. Finnes det en CSV-eksport?")
    answer = await create_reply(
        staff, question.id,
        body="Ja! Gå til *Rapporter → Eksport* og velg «Fakturaer». Du kan velge periode og format:\n\n"
             "| Format | Passer for |\n|---|---|\n| CSV | Excel og de fleste regnskapsprogram |\n"
             "| SAF-T | Skatteetaten og revisor |\n")
    await create_reply(member, question.id, body=f"Takk @{staff.username}, det fungerte!")
    await accept_answer(member, answer.id)
    training, _ = await create_topic(
        staff, category="opplaering", kind="training",
        title="Opplæring: kom i gang med prosjektmodulen",
        body="Velkommen til opplæringen! I denne tråden går vi gjennom prosjektmodulen steg for steg.\n\n"
             "1. Opprett et prosjekt\n2. Legg til timer\n3. Fakturer\n\nStill spørsmål som svar i tråden.")
    await update_topic(admin, training.id, pinned=True)
    await create_reply(member, training.id, body="Kan vi få et eksempel på timeføring med `ordre-ID`?")
    await create_topic(admin, category="kunngjoringer", kind="discussion",
                       title="Velkommen til forumet",
                       body="Her kan du stille spørsmål, delta i opplæring og diskutere med andre brukere.")
