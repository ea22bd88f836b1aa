"""What a mail composer is given and hands back: the worker's context, the composed message, or Drop.

A module of its own because mail_compose dispatches to the composers of other services (digests, verification)
and they answer in these types: here they import neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from forum.models import Role
from forum.viewer import Viewer


class Drop(Exception):
    """Nothing to send (any more): the reason is recorded."""


@dataclass
class MailContext:
    settings: Any
    url: Callable[..., str]      # url(route_name, **path_params) -> absolute URL
    render_html: Callable[[dict], str]

    @property
    def domain(self) -> str:
        return urlsplit(self.settings.base_url).hostname or "localhost"


@dataclass
class Composed:
    subject: str
    paragraphs: list[str]
    user_id: int | None = None
    action: tuple[str, str] | None = None        # (label, url)
    excerpt: str = ""
    why: str = ""                                # the footer: why this mail came
    topic_id: int | None = None
    unsubscribe_scope: str = "all"
    headers: dict[str, str] = field(default_factory=dict)


def viewer_of(account: dict) -> Viewer:
    return Viewer(id=account["id"], email=account["email"], role=Role(account["role"]), locale=account["locale"],
                  username=account["username"], display_name=account["display_name"], unread_notifications=0,
                  session_id=0, session_token="")
