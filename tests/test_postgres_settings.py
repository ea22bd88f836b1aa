"""PostgreSQL pool and server-side limits come from the settings; the CLI runs without a statement limit."""

from __future__ import annotations

import pytest

from forum import db
from forum.db.config import tortoise_config
from forum.db.errors import is_transient
from forum.settings import SettingsError, load_settings


async def test_app_connections_carry_the_statement_timeout(app, settings):
    if settings.sqlite:
        pytest.skip("server-side limits are a PostgreSQL setting")
    row = await db.fetch_one("SELECT current_setting('statement_timeout') AS st, "
                             "current_setting('idle_in_transaction_session_timeout') AS idle, "
                             "current_setting('application_name') AS app")
    assert row == {"st": "15s", "idle": "1min", "app": "forum"}


def test_pool_and_timeout_settings_reach_the_connection_config(monkeypatch):
    monkeypatch.setenv("FORUM_DB_POOL_MIN", "2")
    monkeypatch.setenv("FORUM_DB_POOL_MAX", "4")
    monkeypatch.setenv("FORUM_DB_STATEMENT_TIMEOUT", "2.5")
    settings = load_settings(database_url="postgres://forum@db.example:5432/forum", secret_key="k" * 40)
    credentials = tortoise_config(settings.database_url, settings)["connections"]["default"]["credentials"]
    assert (credentials["minsize"], credentials["maxsize"]) == (2, 4)
    assert credentials["server_settings"]["statement_timeout"] == "2500"
    cli = tortoise_config(settings.database_url)["connections"]["default"]["credentials"]
    assert "statement_timeout" not in cli["server_settings"]  # migrations may build indexes for minutes
    monkeypatch.setenv("FORUM_DB_STATEMENT_TIMEOUT", "0")
    off = load_settings(database_url="postgres://forum@db.example:5432/forum", secret_key="k" * 40)
    assert "statement_timeout" not in tortoise_config(off.database_url, off)["connections"]["default"][
        "credentials"]["server_settings"]


@pytest.mark.parametrize("name,value", [("FORUM_DB_POOL_MAX", "0"), ("FORUM_DB_POOL_MIN", "many"),
                                        ("FORUM_DB_STATEMENT_TIMEOUT", "-1"), ("FORUM_DB_STATEMENT_TIMEOUT", "soon")])
def test_bad_pool_settings_are_refused_at_start(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError):
        load_settings(secret_key="k" * 40)


def test_pool_min_above_max_is_refused(monkeypatch):
    monkeypatch.setenv("FORUM_DB_POOL_MIN", "5")
    monkeypatch.setenv("FORUM_DB_POOL_MAX", "3")
    with pytest.raises(SettingsError):
        load_settings(secret_key="k" * 40)


def test_a_cancelled_statement_counts_as_busy_not_as_a_bug():
    import asyncpg

    assert is_transient(asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"))
