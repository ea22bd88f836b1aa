"""Limits on request bodies: at most MAX_BODY_BYTES (413), arriving within BODY_TIMEOUT_SECONDS (408).

Both are raised as HTTPException from `receive`, so the one error handler answers them in the documented shape
(JSON under /api, a translated page elsewhere) with the security headers. Starlette's own `max_body_size`
is not used: it replaces the answer with a bare text/plain one. A client trickling bytes cannot hold a worker
forever. Only the body is timed. Once it is complete, `receive` is handed through untouched, so streaming answers
(server-sent events) may still wait on it for as long as the client stays.
"""

from __future__ import annotations

import asyncio
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1_000_000
# Seconds for the whole body, from the first read. A 1 MB body (the size limit) at 100 KB/s takes 10 s.
BODY_TIMEOUT_SECONDS = 15.0
# The composer's forms carry files (issue 22): their limit is the files of one post and the form around them
# (forum.services.attachments.request_body_limit), with time for 25 MB at about 300 KB/s.
# So do the held post's picture replacement and the API's upload route.
UPLOAD_PATHS = re.compile(r"^/(t/[0-9]{1,10}/reply|c/[^/]{1,64}/new|p/[0-9]{1,10}/files/[0-9]{1,10}/replace"
                          r"|api/v1/uploads)$")
UPLOAD_TIMEOUT_SECONDS = 90.0


def _limits(scope: Scope) -> tuple[int, float]:
    """Multipart bodies to the composer's paths may carry files; every other body keeps the 1 MB limit."""
    if UPLOAD_PATHS.match(scope.get("path", "")) and _header(scope, b"content-type").startswith(
            b"multipart/form-data"):
        from forum.services.attachments import request_body_limit

        return request_body_limit(), UPLOAD_TIMEOUT_SECONDS
    return MAX_BODY_BYTES, BODY_TIMEOUT_SECONDS


class BodyLimitsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        done = False
        received = 0
        declared = _content_length(scope)
        max_bytes, timeout = _limits(scope)

        async def timed_receive() -> Message:
            nonlocal deadline, done, received
            if done:
                return await receive()
            if declared is not None and declared > max_bytes:
                raise HTTPException(413)
            if deadline is None:
                deadline = loop.time() + timeout
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.001))
            except TimeoutError:
                raise HTTPException(408) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise HTTPException(413)
            if message["type"] != "http.request" or not message.get("more_body", False):
                done = True
            return message

        await self.app(scope, timed_receive, send)


def _header(scope: Scope, wanted: bytes) -> bytes:
    for name, value in scope["headers"]:
        if name == wanted:
            return value.lower()
    return b""


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
