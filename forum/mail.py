"""Outgoing mail (password resets) over SMTP with aiosmtplib. FORUM_SMTP_URL: smtp://[user:pass@]host:port.

`smtps://` uses TLS from the start, `smtp://…?starttls=on` upgrades. With no URL set, mail is logged as not
sent (the forum still answers every request the same way).
"""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

log = logging.getLogger("forum.mail")
SENDER = "forum@localhost"
_pending: set[asyncio.Task] = set()


async def send(smtp_url: str, *, to: str, subject: str, text: str, sender: str | None = None) -> bool:
    if not smtp_url:
        log.warning("FORUM_SMTP_URL is not set; a mail to a user was not sent (%s)", subject)
        return False
    url = urlsplit(smtp_url)
    options = parse_qs(url.query)
    message = EmailMessage()
    message["From"] = sender or options.get("from", [SENDER])[0]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    await aiosmtplib.send(message, hostname=url.hostname or "127.0.0.1", port=url.port or 25,
                          username=unquote(url.username) if url.username else None,
                          password=unquote(url.password) if url.password else None,
                          use_tls=url.scheme == "smtps", start_tls=options.get("starttls") == ["on"] or None,
                          timeout=20)
    return True


def send_later(smtp_url: str, **kwargs) -> None:
    """Sends without making the request wait, so how long an answer takes says nothing about the address."""

    async def run() -> None:
        try:
            await send(smtp_url, **kwargs)
        except Exception:  # a mail server that is down must not surface as an error to anyone
            log.exception("sending mail failed")

    task = asyncio.get_running_loop().create_task(run())
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def drain() -> None:
    """Waits for mail still being sent (tests, and the lifespan's shutdown)."""
    while _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)
