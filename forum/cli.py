"""The `forum` command: serve, migrate, create-admin, demo, policy, receipts, backup, purge, mail-worker,
ocr-worker."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys
from collections.abc import Awaitable, Callable

from tortoise import Tortoise

from forum.db.config import tortoise_config
from forum.services.purposes import PURPOSES
from forum.settings import SettingsError, load_settings


async def _with_orm(database_url: str, work: Callable[[], Awaitable[int]]) -> int:
    from forum.services import consent

    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    consent.configure(load_settings(database_url=database_url))
    try:
        return await work()
    finally:
        await Tortoise.close_connections()


def cmd_serve(args) -> int:
    import uvicorn

    settings = load_settings()
    workers = args.workers or settings.workers
    uvicorn.run("forum.app:create_app", factory=True, host=args.host or settings.host, port=args.port or settings.port,
                workers=workers, proxy_headers=True, access_log=False, timeout_graceful_shutdown=20,
                log_level="info")
    return 0


def cmd_migrate(args) -> int:
    from forum.migrate import apply_migrations

    asyncio.run(apply_migrations(load_settings().database_url))
    return 0


def cmd_create_admin(args) -> int:
    from forum.errors import DomainError
    from forum.i18n import gettext
    from forum.models import Role
    from forum.passwords import Passwords
    from forum.services import accounts
    from forum.services.consent import record_employment_basis

    settings = load_settings()
    password = secrets.token_urlsafe(18)

    async def work() -> int:
        try:
            user = await accounts.register(Passwords(settings.argon2_profile), username=args.username,
                                           email=args.email, password=password, role=Role.ADMIN,
                                           verified=True)
            await record_employment_basis(user.id, Role.ADMIN)
        except DomainError as exc:
            details = "; ".join(gettext(v) for v in exc.fields.values()) or gettext(exc.message)
            print(f"error: {details}", file=sys.stderr)
            return 2
        return 0

    code = asyncio.run(_with_orm(settings.database_url, work))
    if code == 0:
        print(f"admin {args.username} <{args.email}> created; password (shown once): {password}")
    return code


def cmd_rotate_receipt_key(args) -> int:
    from forum.services import receipts

    settings = load_settings()

    async def work() -> int:
        kid = await receipts.rotate_key()
        print(f"receipts are now signed with key {kid}; earlier keys stay published at /.well-known/jwks.json")
        return 0

    return asyncio.run(_with_orm(settings.database_url, work))


def cmd_demo(args) -> int:
    from forum.demo import seed_demo

    settings = load_settings()
    return asyncio.run(_with_orm(settings.database_url, lambda: seed_demo(settings, only_if_empty=args.if_empty)))


def cmd_policy_publish(args) -> int:
    from pathlib import Path

    from forum.errors import DomainError
    from forum.i18n import gettext
    from forum.services.consent import publish_policy
    from forum.services.policy_file import read_policy_file

    settings = load_settings()

    async def work() -> int:
        try:
            texts = read_policy_file(Path(args.file))
            policy = await publish_policy(version=args.version, text_nb=texts["nb"], text_en=texts["en"],
                                          reconsent=args.reconsent, purpose=args.purpose)
        except (DomainError, OSError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            details = "; ".join(gettext(v) for v in getattr(exc, "fields", {}).values()) or gettext(message)
            print(f"error: {details}", file=sys.stderr)
            return 2
        print(f"{policy.purpose} policy {policy.version} published "
              f"(sha256 nb {policy.sha256_nb[:12]}…, en {policy.sha256_en[:12]}…)"
              + ("; everyone must consent again" if policy.requires_reconsent else ""))
        return 0

    return asyncio.run(_with_orm(settings.database_url, work))


def cmd_backup(args) -> int:
    from forum.backup import backup

    return backup(load_settings().database_url, args.path)


def cmd_purge(args) -> int:
    from forum.app import create_app
    from forum.services.retention import purge

    settings = load_settings()
    create_app(settings)  # not served: building it subscribes every package's PURGING handler, as in the app
    logging.getLogger("tortoise").setLevel(logging.WARNING)  # cron mails only what matters

    async def work() -> int:
        counts = await purge(settings.retention)
        for name, count in counts.items():
            print(f"{name.replace('_', ' ')} deleted: {count}")
        return 0

    return asyncio.run(_with_orm(settings.database_url, work))


def cmd_mail_worker(args) -> int:
    """The outbox's worker on its own, for deployments that run `forum serve` with FORUM_MAIL_WORKER=off."""
    import signal

    from forum.app import create_app
    from forum.services import mail_worker

    settings = load_settings()
    app = create_app(settings)  # not served: its routes build the links in mails, its templates the HTML part

    async def work() -> int:
        from forum.hub import hub

        await hub.start(settings.database_url)  # PostgreSQL: woken by NOTIFY when any process queues mail
        try:
            task, stop = mail_worker.start(app)
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await task  # ends after the mail being sent when a signal sets `stop`
        finally:
            await hub.stop()
        return 0

    return asyncio.run(_with_orm(settings.database_url, work))


def cmd_ocr_worker(args) -> int:
    """The OCR worker on its own (issue 22), for deployments that run `forum serve` with FORUM_OCR_WORKER=off."""
    import signal

    from forum.app import create_app
    from forum.services import ocr_worker

    settings = load_settings()
    create_app(settings)  # configures the services and subscribes moderation to what OCR reads

    async def work() -> int:
        if args.once:
            print(await ocr_worker.read_due(limit=1000))
            return 0
        task, stop = ocr_worker.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await task
        return 0

    return asyncio.run(_with_orm(settings.database_url, work))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="forum", description="Community forum")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the forum over HTTP")
    serve.add_argument("--workers", type=int, default=None, help="app processes sharing one port")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    admin = sub.add_parser("create-admin", help="create an admin; prints a generated password once")
    admin.add_argument("--email", required=True)
    admin.add_argument("--username", required=True)
    admin.set_defaults(func=cmd_create_admin)
    demo = sub.add_parser("demo", help="seed demo categories, topics and an admin")
    demo.add_argument("--if-empty", action="store_true", help="do nothing when the forum already has content")
    demo.set_defaults(func=cmd_demo)
    policy = sub.add_parser("policy", help="the texts of the purposes the forum asks consent for")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    publish = policy_sub.add_parser("publish", help="publish a policy version (FILE has nb and en sections)")
    publish.add_argument("file")
    publish.add_argument("--version", required=True)
    publish.add_argument("--reconsent", action="store_true", help="everyone must consent again")
    publish.add_argument("--purpose", default="forum", choices=sorted(PURPOSES),
                         help="the purpose the text is for (default: forum, taking part)")
    publish.set_defaults(func=cmd_policy_publish)
    keys = sub.add_parser("receipts", help="consent receipts")
    keys_sub = keys.add_subparsers(dest="receipts_command", required=True)
    keys_sub.add_parser("rotate-key", help="retire the key that signs consent receipts and make a new one "
                        "(old receipts still verify)").set_defaults(func=cmd_rotate_receipt_key)
    backup = sub.add_parser("backup", help="online backup of the SQLite database to PATH")
    backup.add_argument("path")
    backup.set_defaults(func=cmd_backup)
    sub.add_parser("mail-worker", help="deliver the mail outbox (forum serve does it too, unless "
                   "FORUM_MAIL_WORKER=off)").set_defaults(func=cmd_mail_worker)
    ocr = sub.add_parser("ocr-worker", help="read the text in attached pictures (forum serve does it too, unless "
                         "FORUM_OCR_WORKER=off)")
    ocr.add_argument("--once", action="store_true", help="read what is due now, then stop")
    ocr.set_defaults(func=cmd_ocr_worker)
    sub.add_parser("purge", help="delete expired sessions and records past retention").set_defaults(func=cmd_purge)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
