"""Retention (`forum purge`) with fixed clocks: only what is past its period goes, a second run finds nothing,
other packages hook in through events.PURGING, and the command is safe to run from cron."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from forum import db, events
from forum.models import PasswordResetToken, Session
from forum.security import hash_token, new_token
from forum.services import retention
from forum.settings import Retention, SettingsError, load_settings
from tests.test_cli import run

# a fixed clock well before today: the sessions the rest of the suite signs in with stay alive against it
NOW = datetime(2020, 6, 1, 12, 0, tzinfo=UTC)


async def _session(user_id: int, expires_at: datetime) -> int:
    row = await Session.create(token_hash=hash_token(new_token()), user_id=user_id,
                               last_seen_at=expires_at - timedelta(days=30), expires_at=expires_at)
    return row.id


async def test_purge_deletes_expired_sessions_only_and_is_idempotent(participant):
    user_id = participant.user["id"]
    expired = [await _session(user_id, NOW - timedelta(days=d)) for d in (400, 3, 0)]
    alive = [await _session(user_id, NOW + timedelta(seconds=s)) for s in (1, 86_400 * 40)]
    first = await retention.purge(Retention(), NOW)
    assert first["expired_sessions"] >= len(expired)
    assert await Session.filter(id__in=expired).count() == 0
    assert await Session.filter(id__in=alive).count() == len(alive)
    assert (await retention.purge(Retention(), NOW))["expired_sessions"] == 0
    assert (await participant.get("/settings")).status_code == 200  # still signed in


async def test_purge_deletes_stale_throttling_rows_and_old_reset_requests(participant):
    from forum import db

    now = NOW.timestamp()
    day = 86_400
    throttles = {"stale": (now - 3 * day, 0), "recent": (now - 1 * day, 0),
                 "stale_but_still_blocked": (now - 3 * day, now + 60)}
    for name, (last, until) in throttles.items():
        await db.execute("INSERT INTO sign_in_throttle (key, failures, last_failed_at, blocked_until) "
                         "VALUES (?, 3, ?, ?)", [f"test:{name}:{new_token()}", last, until])
    for name, start in {"stale": now - 3 * day, "recent": now - 60}.items():
        await db.execute("INSERT INTO rate_count (key, window_start, hits) VALUES (?, ?, 4)",
                         [f"test:{name}:{new_token()}", int(start)])
    user_id = participant.user["id"]
    resets = {"old_unused": (NOW - timedelta(days=100), None), "old_used": (NOW - timedelta(days=95),
                                                                            NOW - timedelta(days=95)),
              "recent_used": (NOW - timedelta(days=100), NOW - timedelta(days=10)),
              "live": (NOW + timedelta(hours=1), None)}
    for name, (expires, used) in resets.items():
        await PasswordResetToken.create(user_id=user_id, token_hash=hash_token(name + new_token()),
                                        expires_at=expires, used_at=used)
    counts = await retention.purge(Retention(rate_limit_days=2, security_log_days=90), NOW)
    assert counts["sign_in_throttle_rows"] == 1 and counts["password_reset_requests"] == 2
    assert counts["rate_count_rows"] == 1
    assert [r["key"].split(":")[1] for r in await db.fetch_all("SELECT key FROM rate_count WHERE key LIKE ?",
                                                                ["test:%"])] == ["recent"]
    left = {r["key"].split(":")[1] for r in await db.fetch_all("SELECT key FROM sign_in_throttle WHERE key LIKE ?",
                                                                ["test:%"])}
    assert left == {"recent", "stale_but_still_blocked"}
    assert await PasswordResetToken.filter(user_id=user_id).count() == 2
    again = await retention.purge(Retention(rate_limit_days=2, security_log_days=90), NOW)
    assert again["sign_in_throttle_rows"] == 0 and again["password_reset_requests"] == 0


async def test_purge_tells_subscribers_the_clock_and_periods(app):
    seen: list[events.Purge] = []

    async def handler(purge: events.Purge) -> None:
        seen.append(purge)
        purge.counts["example_rows"] = 0

    events.subscribe(events.PURGING, handler)
    try:
        counts = await retention.purge(Retention(moderation_days=30), NOW)
    finally:
        events._handlers[events.PURGING].remove(handler)
    assert seen[0].now == NOW and seen[0].retention.moderation_days == 30
    assert seen[0].delete_batches is retention.delete_batches
    assert counts["example_rows"] == 0


async def test_delete_batches_takes_everything_in_small_transactions(participant):
    user_id = participant.user["id"]
    old = [await _session(user_id, NOW - timedelta(days=800, minutes=n)) for n in range(5)]
    cutoff = db.time_param(NOW - timedelta(days=799))
    assert await retention.delete_batches("session", "expires_at <= ?", [cutoff], batch=2) == 5
    assert await Session.filter(id__in=old).count() == 0
    assert await retention.delete_batches("session", "expires_at <= ?", [cutoff], batch=2) == 0


async def test_delete_batches_refuses_a_table_name_that_is_not_an_identifier(app):
    with pytest.raises(ValueError):
        await retention.delete_batches("session; DROP TABLE post", "1 = 1", [])


def test_retention_periods_are_settings_with_defaults(monkeypatch):
    settings = load_settings(secret_key="k" * 40)
    assert settings.retention == Retention(rate_limit_days=2, moderation_days=365, security_log_days=90)
    monkeypatch.setenv("FORUM_RETENTION_MODERATION_DAYS", "30")
    assert load_settings(secret_key="k" * 40).retention.moderation_days == 30
    for bad in ("0", "-1", "soon", "99999999"):
        monkeypatch.setenv("FORUM_RETENTION_SECURITY_LOG_DAYS", bad)
        with pytest.raises(SettingsError):
            load_settings(secret_key="k" * 40)


def test_forum_purge_from_cron_twice_deletes_once(tmp_path):
    run(tmp_path, "migrate")
    db = sqlite3.connect(tmp_path / "cli.sqlite3")
    db.execute("INSERT INTO account (email, password_hash, role, created_at) "
               "VALUES ('cron@example.test', 'x', 'member', '2026-01-01 00:00:00+00:00')")
    user_id = db.execute("SELECT id FROM account WHERE email = 'cron@example.test'").fetchone()[0]
    for n, expires in enumerate(["2020-01-01 00:00:00+00:00", "2099-01-01 00:00:00+00:00"]):
        db.execute("INSERT INTO session (token_hash, user_id, created_at, last_seen_at, expires_at) "
                   "VALUES (?, ?, ?, ?, ?)", [f"{n:064d}", user_id, expires, expires, expires])
    db.commit()
    first = run(tmp_path, "purge")
    assert "expired sessions deleted: 1" in first.stdout
    second = run(tmp_path, "purge")
    assert "expired sessions deleted: 0" in second.stdout
    assert db.execute("SELECT COUNT(*) FROM session").fetchone()[0] == 1
