"""Putting a mail on the wire: the message itself (multipart text + HTML, with the headers a mail client and a
mail provider expect) and the two transports, SMTP (FORUM_SMTP_URL, aiosmtplib) and a local maildir.

FORUM_SMTP_URL: smtp://[user:pass@]host:port; `smtps://` uses TLS from the start, `smtp://…?starttls=on`
upgrades, `?from=` sets the sender. Without it (the embedded default) mail goes to a maildir beside the database
and the log names each file, so a newcomer can open a confirmation mail. What to send and when is the outbox's
business (forum/services/outbox.py); this module only sends one message when asked.

Internationalised addresses: a domain in Unicode (`kari@blåbær.no`) goes out in its ASCII form (IDNA 2008 with
UTS #46, `xn--blbr-roah.no`) to any server; a local part in Unicode (`søren@…`) needs the server's SMTPUTF8
(RFC 6531) and is then sent as UTF-8 in the envelope and the header. A server without SMTPUTF8 is a permanent
failure with that reason, recorded without the address.
"""

from __future__ import annotations

import asyncio
import copy
import email.policy
import logging
import mailbox
import quopri
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.charset import Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import idna

log = logging.getLogger("forum.mail")
SENDER = "forum@localhost"
SMTP_TIMEOUT = 20


class PermanentFailure(Exception):
    """The server refused the mail for good (5xx): trying again will not help."""


class TransientFailure(Exception):
    """The server was unreachable, slow or said "try later" (4xx)."""


class NotReady(Exception):
    """The caller's `ready` said no before the message's data went: nothing was sent."""


class _ReadyFailed(Exception):
    """`ready` itself raised (the caller's database, not the mail server): re-raised as it was."""


class Envelope:
    """The recipient as the envelope carries it, and whether that needs the server's SMTPUTF8."""

    __slots__ = ("address", "utf8")

    def __init__(self, address: str) -> None:
        local, _at, domain = address.rpartition("@")
        if not domain.isascii():
            try:
                domain = idna.encode(domain, uts46=True).decode("ascii")
            except (idna.IDNAError, UnicodeError):
                raise PermanentFailure("the recipient's domain is not a valid internationalised domain name") \
                    from None
        self.address = f"{local}@{domain}"
        self.utf8 = not local.isascii()


UTF8_HEADERS = email.policy.SMTPUTF8.clone(linesep="\n")


def message_bytes(message: Message, envelope: Envelope) -> bytes:
    """The message as it goes on the wire or into the maildir. An address in Unicode is written as UTF-8 (RFC
    6532), never as RFC 2047 words, which no mail program reads as an address."""
    if message["To"] != envelope.address and not envelope.utf8:
        message.replace_header("To", envelope.address)  # the domain's ASCII form
    if envelope.utf8:
        return message.as_bytes(policy=UTF8_HEADERS)
    return message.as_bytes()


def new_message_id(domain: str) -> str:
    return make_msgid(idstring="forum", domain=domain)


# 8-bit UTF-8 bodies (short lines), so a mail in the maildir reads as it is and its links can be clicked
UTF8 = Charset("utf-8")
UTF8.body_encoding = None


def build_message(*, sender: str, to: str, subject: str, text: str, html: str | None, message_id: str,
                  headers: dict[str, str] | None = None, when: datetime | None = None) -> Message:
    """multipart/alternative (text, then HTML), UTF-8. Built with the email package's classic API: its modern
    header registry cost more CPU than everything else a worker does per mail."""
    message: Message = MIMEMultipart("alternative") if html else MIMEText(text, "plain", UTF8)
    if html:
        message.attach(MIMEText(text, "plain", UTF8))
        message.attach(MIMEText(html, "html", UTF8))
    message["From"] = sender
    message["To"] = to
    message["Subject"] = Header(subject, "utf-8").encode() if not subject.isascii() else subject
    message["Date"] = format_datetime(when or datetime.now(UTC))
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        message[name] = value
    return message


def seven_bit(message: Message) -> Message:
    """A copy of the message whose 8-bit text parts are quoted-printable (RFC 2045), for a server that does not
    offer 8BITMIME (RFC 6152): such a server may strip the eighth bit, and æøå would arrive broken."""
    seven = copy.deepcopy(message)
    for part in seven.walk():
        if part.is_multipart() or (part["Content-Transfer-Encoding"] or "7bit").lower() != "8bit":
            continue
        data = part.get_payload(decode=True)
        del part["Content-Transfer-Encoding"]
        part.set_payload(quopri.encodestring(data).decode("ascii"))
        part["Content-Transfer-Encoding"] = "quoted-printable"
    return seven


class SmtpTransport:
    """One connection per batch of mails (so a worker sends many per second), reopened when it drops."""

    def __init__(self, smtp_url: str) -> None:
        url = urlsplit(smtp_url)
        options = parse_qs(url.query)
        self.sender = options.get("from", [SENDER])[0]
        self._kwargs = dict(hostname=url.hostname or "127.0.0.1", port=url.port or 25,
                            username=unquote(url.username) if url.username else None,
                            password=unquote(url.password) if url.password else None,
                            use_tls=url.scheme == "smtps", start_tls=options.get("starttls") == ["on"] or None,
                            timeout=SMTP_TIMEOUT)
        self._client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is None or not self._client.is_connected:
            client = aiosmtplib.SMTP(**self._kwargs)
            await client.connect()
            self._client = client
        if self._client.is_ehlo_or_helo_needed:
            await self._client.ehlo()
        return self._client

    async def send(self, message: Message, ready: Callable[[], Awaitable[bool]] | None = None) -> str:
        """Sends one message. `ready` (if given) is awaited after the envelope (MAIL, RCPT) and before the data,
        the moment the server can first accept the mail: the worker commits the previous mail's outcome there,
        while the server answers the envelope. False: the envelope is reset and NotReady raised."""
        envelope = Envelope(message["To"])
        try:
            client = await self._connected()
            eight_bit = client.supports_extension("8bitmime")
            options = ["BODY=8BITMIME"] if eight_bit else []  # the bodies are 8-bit; without it, re-encoded
            if envelope.utf8:
                if not client.supports_extension("smtputf8"):
                    raise PermanentFailure("the recipient's address has non-ASCII characters before the @ and the "
                                           "mail server does not offer SMTPUTF8 (RFC 6531)")
                options.append("SMTPUTF8")
            data = message_bytes(message if eight_bit else seven_bit(message), envelope)
            if ready is None:
                await client.sendmail(self.sender, [envelope.address], data, mail_options=options)
            else:
                await self._transaction(client, envelope, data, options, ready)
        except _ReadyFailed as exc:
            raise exc.__cause__ from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            await self._reset()
            raise (PermanentFailure if all(c >= 500 and c != 503 for c in codes) else TransientFailure)(
                f"recipient refused: {codes}") from None
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            # 503 (bad sequence of commands) is about this connection, not the mail: a new one may take it
            permanent = exc.code >= 500 and exc.code != 503
            raise (PermanentFailure if permanent else TransientFailure)(f"{exc.code} {exc.message}"[:200]) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            await self._reset()
            raise TransientFailure(f"{type(exc).__name__}: {exc}"[:200]) from None
        except asyncio.CancelledError:  # cut off mid-transaction (the worker's deadline): no later mail may reuse it
            await self._reset()
            raise
        return "smtp"

    async def _transaction(self, client: aiosmtplib.SMTP, envelope: Envelope, data: bytes, options: list[str],
                           ready: Callable[[], Awaitable[bool]]) -> None:
        """sendmail's steps, with `ready` between the envelope and the data."""
        encoding = "utf-8" if "SMTPUTF8" in options else "ascii"
        try:
            await client.mail(self.sender, options=options, encoding=encoding)
            await client.rcpt(envelope.address, encoding=encoding)
            try:
                go = await ready()
            except BaseException as exc:  # noqa: BLE001 (not the server's: the envelope is dropped with the link)
                await self._reset()
                if isinstance(exc, Exception):
                    raise _ReadyFailed() from exc
                raise
            if not go:
                await client.rset()
                raise NotReady()
            await client.data(data)
        except aiosmtplib.SMTPResponseException:
            try:
                await client.rset()
            except (ConnectionError, aiosmtplib.SMTPResponseException):
                pass
            raise

    async def _reset(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 (a broken connection is dropped either way)
                pass

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (TimeoutError, aiosmtplib.SMTPException, OSError):
                client.close()


class MaildirTransport:
    """The embedded default: every mail becomes a file in `<maildir>/new`, written atomically (tmp, then new)."""

    def __init__(self, path: Path, sender: str = SENDER) -> None:
        self.path = path
        self.sender = sender

    async def send(self, message: Message, ready: Callable[[], Awaitable[bool]] | None = None) -> str:
        if ready is not None and not await ready():
            raise NotReady()
        data = message_bytes(message, Envelope(message["To"]))

        def write() -> str:
            box = mailbox.Maildir(str(self.path), create=True)
            key = box.add(data)
            return str(self.path / "new" / key)

        try:
            file = await asyncio.to_thread(write)
        except OSError as exc:
            raise TransientFailure(f"maildir: {exc}"[:200]) from None
        log.info("mail to %s written to %s", message["To"], file)
        return file

    async def close(self) -> None:
        return None


def transport_for(settings) -> SmtpTransport | MaildirTransport:
    if settings.smtp_url:
        return SmtpTransport(settings.smtp_url)
    return MaildirTransport(settings.maildir)
