"""`python -m bench.mail [--quick] [--database-url URL]`: issue 21's two mail figures.

1. What a reply in a topic with 1,000 watchers who all take mail costs the replier, with the outbox write and
   with it left out (the code before issue 21), replies alternating so both arms see the same machine; p50/p99
   of the JSON API's reply request (in-process ASGI, a real database).
   Target: p99 at most 10 % more with mail (the outbox rows are one bulk INSERT … SELECT; sending is elsewhere).
2. Delivery: one worker sends the queued notification mails to a local aiosmtpd server; mails per second.
   Target: at least 50.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

PASSWORD = "correct horse battery"


async def _seed_watchers(topic_id: int, prefix: str, count: int, with_mail: bool) -> None:
    from forum import db
    from forum.db import write_transaction
    from forum.services import accounts

    async with write_transaction() as conn:
        ids = []
        for n in range(count):
            user = await accounts.create_account(conn, username=f"{prefix}{n}", email=f"{prefix}{n}@example.test",
                                                 password_hash="x", verified=True)
            ids.append(user.id)
        now = db.time_param(datetime.now(UTC), conn)
        await db.execute_many("INSERT INTO topic_watch (user_id, topic_id, created_at) VALUES (?, ?, ?)",
                              [[i, topic_id, now] for i in ids], conn)
        if with_mail:
            await db.execute_many("INSERT INTO mail_preference (user_id, reply, mention, quote, accepted, watched, "
                                  "moderation, digest, updated_at) VALUES (?, FALSE, FALSE, FALSE, FALSE, TRUE, "
                                  "FALSE, 'off', ?)", [[i, now] for i in ids], conn)
        # consent to taking part and to the mail purpose (issue 24), so that the mail is allowed when it is sent:
        # one granted event each per purpose, as the settings page records (without a receipt, for speed)
        from forum.models import ConsentAction, ConsentEvent
        from forum.services.consent import _subject_id, current_policy, shown

        policies = [await current_policy(conn)] + ([await current_policy(conn, "mail")] if with_mail else [])
        for i in ids:
            subject = await _subject_id(i, conn, create=True)
            for policy in policies:
                await ConsentEvent.create(subject_id=subject, purpose=policy.purpose, policy_version=policy.version,
                                          text_sha256=shown(policy, "nb").sha256, locale="nb",
                                          action=ConsentAction.GRANTED, channel="page", using_db=conn)


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def main_async(args) -> int:
    import httpx
    from aiosmtpd.controller import Controller
    from asgi_lifespan import LifespanManager

    from forum.app import create_app
    from forum.migrate import apply_migrations, empty_postgres
    from forum.services.consent import publish_policy
    from forum.services.policy_file import DEMO_POLICY, read_policy_file
    from forum.settings import load_settings
    from tests.live import free_port

    folder = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    url = args.database_url or f"sqlite://{folder / 'forum.sqlite3'}"
    if not url.startswith("sqlite"):
        await empty_postgres(url)
    await apply_migrations(url, quiet=True)

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            Sink.count += 1
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    controller.start()
    settings = load_settings(database_url=url, secret_key="bench-mail-" + "x" * 40, argon2_profile="cheapest",
                             rate_limits=False, email_verification=False, mail_worker=False,
                             smtp_url=f"smtp://127.0.0.1:{controller.port}", public_url="https://forum.example")
    app = create_app(settings)
    watchers = 1000
    replies = 60 if args.quick else 200
    async with LifespanManager(app) as manager:
        texts = read_policy_file(DEMO_POLICY)
        await publish_policy(version="bench-1", text_nb=texts["nb"], text_en=texts["en"])
        texts = read_policy_file(DEMO_POLICY.with_name("mail-policy-1.md"))
        await publish_policy(version="bench-mail-1", text_nb=texts["nb"], text_en=texts["en"], purpose="mail")
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://bench")
        await client.post("/api/v1/users", json={"username": "replier", "email": "replier@example.test",
                                                 "password": PASSWORD})
        csrf = (await client.post("/api/v1/session", json={"email": "replier@example.test",
                                                           "password": PASSWORD})).json()["csrf_token"]
        headers = {"X-CSRF-Token": csrf}
        version = (await client.get("/api/v1/consent")).json()["policy"]["version"]
        await client.post("/api/v1/consent", json={"policy_version": version}, headers=headers)
        from forum.services.categories import create_category_as_system

        await create_category_as_system(slug="bench", name="Bench", description="", read="public",
                                        start_topics="participants")
        topics = {}
        for name in ("without", "with"):
            created = await client.post("/api/v1/topics", json={"category": "bench", "title": f"Topic {name} mail",
                                                                 "body": "Opening post", "kind": "discussion"},
                                        headers=headers)
            topics[name] = created.json()["id"]
        started = time.perf_counter()
        await _seed_watchers(topics["without"], "nomail", watchers, False)
        await _seed_watchers(topics["with"], "mail", watchers, True)
        print(f"seeded 2 x {watchers} watchers in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        from forum.services import outbox

        real_hook = outbox.notifications_written

        async def no_outbox(*args, **kwargs) -> int:
            return 0

        hook_ms: list[float] = []

        async def timed_hook(*args, **kwargs) -> int:
            t = time.perf_counter()
            try:
                return await real_hook(*args, **kwargs)
            finally:
                hook_ms.append((time.perf_counter() - t) * 1000)

        # "without": the same reply to the same 1,000 mail-taking watchers with the outbox write left out (the
        # code before issue 21); "with": as shipped. Alternating, so both arms see the same machine.
        timings: dict[str, list[float]] = {"without": [], "with": []}
        for n in range(replies * 2 + 10):
            name = ("without", "with")[n % 2]
            outbox.notifications_written = timed_hook if name == "with" else no_outbox
            t0 = time.perf_counter()
            response = await client.post(f"/api/v1/topics/{topics['with']}/posts", json={"body": f"Reply {n}"},
                                         headers=headers)
            elapsed = time.perf_counter() - t0
            outbox.notifications_written = real_hook
            assert response.status_code == 201, response.text
            if n >= 10:  # warm-up
                timings[name].append(elapsed * 1000)
        from forum.models import MailOutbox

        # issue 18 item 7: a reset request and a registration take the same time for a known and an unknown address
        answer_times: dict[str, list[float]] = {"reset known": [], "reset unknown": [], "register new": [],
                                                "register taken": []}
        anon = httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://bench")
        for n in range(100 if args.quick else 400):
            for label, path, body in (
                    ("reset known", "/api/v1/password/forgot", {"email": "mail1@example.test"}),
                    ("reset unknown", "/api/v1/password/forgot", {"email": f"ghost{n}@example.test"}),
                    ("register new", "/api/v1/users", {"username": f"fresh{n}", "email": f"fresh{n}@example.test",
                                                       "password": PASSWORD}),
                    ("register taken", "/api/v1/users", {"username": f"again{n}", "email": "mail2@example.test",
                                                         "password": PASSWORD})):
                t0 = time.perf_counter()
                response = await anon.post(path, json=body)
                answer_times[label].append((time.perf_counter() - t0) * 1000)
                assert response.status_code in (201, 202), response.text
        await anon.aclose()
        await MailOutbox.filter(kind__in=["reset_request", "verify", "register_exists"]).delete()

        # deliver what one worker can in a fixed slice (notifications wait FORUM_MAIL_DELAY_SECONDS: look ahead)
        from forum.services.mail_worker import MailWorker

        worker = MailWorker(app)
        t0 = time.perf_counter()
        fanouts = await MailOutbox.filter(kind="fanout", status="pending").count()
        from forum.services import outbox

        while True:  # the replies' fan-out rows first: one mail row per recipient who takes mail
            token, rows = await outbox.claim(50)
            if not rows:
                break
            for row in rows:
                if row["kind"] == "fanout":
                    await outbox.expand_fanout(row, token)
            await outbox.release(token)
            if all(r["kind"] != "fanout" for r in rows):
                break
        expansion = time.perf_counter() - t0
        queued = await MailOutbox.filter(kind="notification", status="pending").count()
        target = 500 if args.quick else 2000
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        sent = 0
        outcomes: dict[str, int] = {}
        while sent < target:
            done = await worker.deliver_due(now=datetime(2100, 1, 1, tzinfo=UTC))
            if not done:
                break
            for key, value in done.items():
                outcomes[key] = outcomes.get(key, 0) + value
            sent += done.get("sent", 0)
        delivery = time.perf_counter() - t0
        delivery_cpu = time.process_time() - cpu0
        if not sent:
            raise SystemExit(f"no mail was sent: {outcomes}")
        if args.profile:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        await worker.transport.close()
        await client.aclose()
    controller.stop()
    shutil.rmtree(folder, ignore_errors=True)  # the SQLite file of this run
    print(f"database: {'sqlite' if url.startswith('sqlite') else 'postgres'}; {watchers} watchers per topic; "
          f"{replies} replies each (alternating)")
    for name in ("without", "with"):
        values = timings[name]
        print(f"reply, {name} the outbox write: p50 {statistics.median(values):.1f} ms, p99 {_p(values, 0.99):.1f} ms")
    extra = _p(timings["with"], 0.99) / _p(timings["without"], 0.99) - 1
    print(f"the outbox write itself (one fan-out row for 1,000 recipients): median "
          f"{statistics.median(hook_ms):.2f} ms, p99 {_p(hook_ms, 0.99):.2f} ms")
    p50 = statistics.median(timings["with"]) / statistics.median(timings["without"]) - 1
    print(f"extra for the replier with 1,000 watchers taking mail: p50 {p50 * 100:+.1f} %, p99 {extra * 100:+.1f} % "
          "(target p99 <= +10 %)")
    for label, values in answer_times.items():
        print(f"{label}: median {statistics.median(values):.2f} ms, p90 {_p(values, 0.9):.2f} ms")
    print(f"{fanouts} fan-out rows expanded into {queued} mails in {expansion:.1f} s")
    print(f"queued notification mails: {queued}; delivered {sent} in {delivery:.2f} s by one worker: "
          f"{sent / delivery:.0f} mails/s (target >= 50); the SMTP server accepted {Sink.count}; outcomes {outcomes}; "
          f"CPU {delivery_cpu * 1000 / sent:.2f} ms per mail in this process (the worker and the SMTP server)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mail")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--profile", action="store_true", help="cProfile the delivery")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
