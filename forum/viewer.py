"""Who is asking: resolved once per request from the session cookie (one query), plus their locale."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.types import ASGIApp, Receive, Scope, Send

from forum import db, i18n
from forum.models import Role
from forum.security import LANG_COOKIE, SESSION_COOKIE, hash_token
from forum.services.unread_notifications import unread_count_sql
from forum.settings import LOCALES

SESSION_LIFETIME = timedelta(days=30)
# sliding expiry is written at most this often, so reads stay reads
TOUCH_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as the request sees them. Services take this as the acting user."""

    id: int
    email: str
    role: Role
    locale: str | None
    username: str | None
    display_name: str | None
    unread_notifications: int
    session_id: int
    session_token: str

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF, Role.MODERATOR, Role.ADMIN)

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def has_profile(self) -> bool:
        return self.username is not None


VIEWER_SQL = """
SELECT s.id AS session_id, s.last_seen_at, s.expires_at, u.id, u.email, u.role, u.locale,
       p.username, p.display_name, {unread} AS unread
FROM session s JOIN account u ON u.id = s.user_id LEFT JOIN profile p ON p.user_id = u.id
WHERE s.token_hash = ?
"""


@functools.cache
def viewer_sql() -> str:
    """The unread count is the notification list's, so that the badge counts what the list shows."""
    return VIEWER_SQL.format(unread=unread_count_sql("u.id", "u.role"))


async def load_viewer(token: str) -> Viewer | None:
    if not token or len(token) > 128:
        return None
    row = await db.fetch_point(viewer_sql(), [hash_token(token)])
    if row is None:
        return None
    now = datetime.now(UTC)
    if db.as_datetime(row["expires_at"]) <= now:
        return None
    if now - db.as_datetime(row["last_seen_at"]) > TOUCH_EVERY:
        from forum.models import Session

        await Session.filter(id=row["session_id"]).update(last_seen_at=now, expires_at=now + SESSION_LIFETIME)
    return Viewer(
        id=row["id"], email=row["email"], role=Role(row["role"]), locale=row["locale"],
        username=row["username"], display_name=row["display_name"],
        unread_notifications=int(row["unread"] or 0), session_id=row["session_id"], session_token=token,
    )


def _cookies(scope: Scope) -> dict[str, str]:
    from starlette.requests import cookie_parser

    for name, value in scope["headers"]:
        if name == b"cookie":
            return cookie_parser(value.decode("latin-1"))
    return {}


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return value.decode("latin-1")
    return None


class ViewerMiddleware:
    """Puts `viewer` and `locale` on request.state; locale: user setting, then cookie, then Accept-Language."""

    def __init__(self, app: ASGIApp, *, default_locale: str) -> None:
        self.app = app
        self.default_locale = default_locale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        viewer = await load_viewer(cookies.get(SESSION_COOKIE, ""))
        locale = (viewer.locale if viewer else None) or cookies.get(LANG_COOKIE)
        if locale not in LOCALES:
            locale = i18n.negotiate(_header(scope, b"accept-language"), self.default_locale)
        i18n.set_locale(locale)
        state = scope.setdefault("state", {})
        state["viewer"] = viewer
        state["locale"] = locale
        state["cookies"] = cookies
        await self.app(scope, receive, send)


async def viewer_for_user(user_id: int) -> Viewer:
    """A Viewer for work done on a user's behalf outside a request (CLI, demo seeding, benchmarks)."""
    from forum.models import Profile, User

    user = await User.get(id=user_id)
    profile = await Profile.filter(user_id=user_id).first()
    return Viewer(id=user.id, email=user.email, role=user.role, locale=user.locale,
                  username=profile.username if profile else None,
                  display_name=profile.display_name if profile else None,
                  unread_notifications=0, session_id=0, session_token="")
