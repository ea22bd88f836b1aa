"""Mail in tests: a real local SMTP server (aiosmtpd) that keeps what it accepted, and delivering the outbox
on demand (the suite's app runs no background worker)."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.live import free_port


class Inbox:
    """An aiosmtpd handler. `refuse` (an SMTP reply such as "550 no") makes it refuse every DATA."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: str | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        if self.refuse:
            return self.refuse
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def clear(self) -> None:
        self.messages.clear()


def text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def visible(message: EmailMessage) -> str:
    """Everything a recipient can see: headers shown by a client, the text part and the HTML part."""
    return f"{message['Subject']}\n{message['From']}\n{message['To']}\n{text(message)}\n{html(message)}"


def link(message: EmailMessage, path: str) -> str:
    match = re.search(r"https://forum\.example(" + re.escape(path) + r"[A-Za-z0-9_\-.]+)", text(message))
    assert match, text(message)
    return match.group(1)


@pytest.fixture
def smtp(app):
    """The app's mail goes to a local aiosmtpd while the test runs; links point at https://forum.example."""
    inbox = Inbox()
    inbox.app = app
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    original = app.state.settings
    app.state.settings = dataclasses.replace(original, smtp_url=f"smtp://127.0.0.1:{controller.port}",
                                             public_url="https://forum.example")
    yield inbox
    app.state.settings = original
    controller.stop()


async def deliver(app, *, later: float = 0.0) -> dict[str, int]:
    """Runs the mail worker until nothing is due (`later` seconds from now: notifications wait a few minutes)."""
    from forum.services.mail_worker import MailWorker

    worker = MailWorker(app)
    total: dict[str, int] = {}
    try:
        for _ in range(100):
            done = await worker.deliver_due(now=datetime.now(UTC) + timedelta(seconds=later))
            if not done:
                break
            for key, value in done.items():
                total[key] = total.get(key, 0) + value
    finally:
        await worker.transport.close()
    return total
