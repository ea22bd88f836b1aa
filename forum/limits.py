"""Limits on request bodies: at most MAX_BODY_BYTES (413), arriving within BODY_TIMEOUT_SECONDS (408).

Both are raised as HTTPException from `receive`, so the one error handler answers them in the documented shape
(JSON under /api, a translated page elsewhere) with the security headers. Starlette's own `max_body_size`
is not used: it replaces the answer with a bare text/plain one. A client trickling bytes cannot hold a worker
forever. Only the body is timed. Once it is complete, `receive` is handed through untouched, so streaming answers
(server-sent events) may still wait on it for as long as the client stays.
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1_000_000
# Seconds for the whole body, from the first read. A 1 MB body (the size limit) at 100 KB/s takes 10 s.
BODY_TIMEOUT_SECONDS = 15.0


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

        async def timed_receive() -> Message:
            nonlocal deadline, done, received
            if done:
                return await receive()
            if declared is not None and declared > MAX_BODY_BYTES:
                raise HTTPException(413)
            if deadline is None:
                deadline = loop.time() + BODY_TIMEOUT_SECONDS
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.001))
            except TimeoutError:
                raise HTTPException(408) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY_BYTES:
                    raise HTTPException(413)
            if message["type"] != "http.request" or not message.get("more_body", False):
                done = True
            return message

        await self.app(scope, timed_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
