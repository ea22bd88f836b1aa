"""The `forum` command as scripts call it: migrate twice, demo once, create-admin prints a password once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest


def run(tmp_path, *args, ok: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "FORUM_DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}",
           "FORUM_ARGON2_PROFILE": "cheapest"}
    env.pop("FORUM_SECRET_KEY", None)
    result = subprocess.run([sys.executable, "-m", "forum.cli", *args], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli")
    run(path, "migrate")
    return path


def test_migrate_is_idempotent(cli_db):
    second = run(cli_db, "migrate")
    assert "apply_start" not in second.stdout
    db = sqlite3.connect(cli_db / "cli.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT COUNT(*) FROM tortoise_migrations").fetchone()[0] >= 2


def test_demo_seeds_once_and_prints_the_admin_password(cli_db):
    first = run(cli_db, "demo", "--if-empty")
    assert "password (shown once)" in first.stdout
    db = sqlite3.connect(cli_db / "cli.sqlite3")
    names = {row[0] for row in db.execute("SELECT name FROM category")}
    assert names == {"Spørsmål og svar", "Opplæring", "Kunngjøringer"}
    assert db.execute("SELECT COUNT(*) FROM topic").fetchone()[0] >= 3
    assert db.execute("SELECT role FROM account WHERE email = 'admin@example.com'").fetchone()[0] == "admin"
    again = run(cli_db, "demo", "--if-empty")
    assert "password" not in again.stdout
    assert db.execute("SELECT COUNT(*) FROM category").fetchone()[0] == 3
    assert (cli_db / "cli.sqlite3.secret").exists()


def test_create_admin_prints_a_password_once_and_refuses_bad_input(cli_db):
    result = run(cli_db, "create-admin", "--email", "boss@example.test", "--username", "Sjefen")
    assert "password (shown once)" in result.stdout
    bad = run(cli_db, "create-admin", "--email", "not-an-email", "--username", "x", ok=False)
    assert bad.returncode == 2 and "error" in bad.stderr and "Traceback" not in bad.stderr


def test_backup_writes_a_readable_copy(cli_db):
    result = run(cli_db, "backup", str(cli_db / "copy.sqlite3"))
    assert "integrity: ok" in result.stdout
    copy = sqlite3.connect(cli_db / "copy.sqlite3")
    assert copy.execute("SELECT COUNT(*) FROM account").fetchone()[0] >= 1
    refused = run(cli_db, "backup", str(cli_db / "copy.sqlite3"), ok=False)
    assert refused.returncode == 2
