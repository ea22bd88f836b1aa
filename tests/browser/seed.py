"""Seeds the browser suite's forum through the services (run in its own process: `python seed.py DATABASE_URL`).

Prints the accounts as JSON. Everything else the journeys need, they create through the browser.
"""

from __future__ import annotations

import asyncio
import json
import sys

from tortoise import Tortoise

from forum.db.config import tortoise_config
from forum.migrate import apply_migrations
from forum.models import Role
from forum.passwords import Passwords
from forum.services import accounts, consent
from forum.services.categories import create_category_as_system
from forum.services.posts import create_reply
from forum.services.topics import create_topic
from forum.settings import load_settings
from forum.viewer import viewer_for_user

PASSWORD = "correct horse battery staple"
CATEGORIES = {
    "questions": dict(slug="sporsmal-og-svar", name="Spørsmål og svar", read="public", start_topics="participants",
                      description="Still spørsmål om produktene og merk svaret som løste det."),
    "training": dict(slug="opplaering", name="Opplæring", read="public", start_topics="staff",
                     description="Opplæringstråder ledet av våre ansatte. Ansatte starter emner, alle kan svare."),
}
USERS = {  # key: (username, role)
    "helper": ("Kari_Hjelper", Role.MEMBER),
    "member": ("Per_Deltaker", Role.MEMBER),
    "staff": ("Ingrid_Ansatt", Role.STAFF),
    "moderator": ("Mona_Moderator", Role.MODERATOR),
    "admin": ("Anne_Admin", Role.ADMIN),
    "author": ("Arne_Forfatter", Role.MEMBER),
    "flagger1": ("Flagger_En", Role.MEMBER),
    "flagger2": ("Flagger_To", Role.MEMBER),
    "flagger3": ("Flagger_Tre", Role.MEMBER),
}


async def _establish(flaggers) -> None:
    """Members whose flags weigh (moderation/standing.py): a month old, with three posts of their own."""
    from datetime import UTC, datetime, timedelta

    from forum.models import User

    topic, _ = await create_topic(flaggers[0], category=CATEGORIES["questions"]["slug"], kind="discussion",
                                  title="Erfaringer med årsoppgjøret", body="Hvordan gikk årsoppgjøret for dere?")
    for n, flagger in enumerate(flaggers):
        for k in range(3 if n else 2):
            await create_reply(flagger, topic.id, body=f"Erfaring {k + 1} fra {flagger.username}: det gikk greit.")
        await User.filter(id=flagger.id).update(created_at=datetime.now(UTC) - timedelta(days=30))


async def seed(database_url: str) -> dict:
    await apply_migrations(database_url, quiet=True)
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    try:
        consent.configure(load_settings(database_url=database_url))
        await consent.publish_missing_policies()
        policy = await consent.current_policy()
        for spec in CATEGORIES.values():
            await create_category_as_system(**spec)
        passwords = Passwords("cheapest")
        people, viewers = {}, {}
        for key, (username, role) in USERS.items():
            email = f"{username.lower()}@example.test"
            user = await accounts.register(passwords, username=username, email=email, password=PASSWORD,
                                           role=role, locale="nb")
            if consent.on_employment_basis(role):  # staff take part on the employment basis, unasked
                await consent.record_role_change(None, user.id, Role.MEMBER, role)
            else:
                await consent.grant_consent(await viewer_for_user(user.id), policy_version=policy.version,
                                            locale="nb", channel="page")
            people[key] = {"username": username, "email": email, "password": PASSWORD}
            viewers[key] = await viewer_for_user(user.id)
        topic, _ = await create_topic(viewers["member"], category=CATEGORIES["questions"]["slug"], kind="question",
                                      title="Hvordan eksporterer jeg fakturaer?",
                                      body="Jeg vil eksportere fakturaene for **oktober**. Finnes det en CSV-eksport?")
        await create_reply(viewers["helper"], topic.id,
                           body="Ja: *Rapporter → Eksport*, velg «Fakturaer» og format CSV.")
        await _establish([viewers[k] for k in ("flagger1", "flagger2", "flagger3")])
        return {"users": people, "categories": {k: v["slug"] for k, v in CATEGORIES.items()},
                "topic": {"id": topic.id, "slug": topic.slug, "title": topic.title}}
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(seed(sys.argv[1]))))
