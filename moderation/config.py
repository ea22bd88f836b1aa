"""What moderation reads from the app's settings, bound once by `install(app)`.

Only configuration lives here; every counter and limit is counted in the database, so the limits hold across
several app processes.
"""

from __future__ import annotations

from datetime import timedelta

from starlette.applications import Starlette

_app: Starlette | None = None

# posting limits for members (staff are exempt); lifted by FORUM_RATE_LIMITS=off
POSTS_PER_MINUTE = 3
POSTS_PER_HOUR = 30
DUPLICATE_WINDOW = timedelta(minutes=10)
# a member's first posts may carry only a few links
NEW_USER_POSTS = 5
NEW_USER_LINKS = 2
# flagging limits for members
FLAGS_PER_HOUR = 10
FLAGS_PER_DAY = 30
# a sanction lasts at most this long
MAX_SANCTION = timedelta(days=3650)


def bind(app: Starlette) -> None:
    global _app
    _app = app


def rate_limits() -> bool:
    return bool(_app is not None and _app.state.settings.rate_limits)


def hide_threshold() -> float:
    return float(_app.state.settings.flag_hide_threshold) if _app is not None else 3.0


def default_locale() -> str:
    return _app.state.settings.default_locale if _app is not None else "nb"
