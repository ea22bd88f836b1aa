"""Live views: a topic's new posts as HTML fragments with server-sent events saying when there are some, and
the signed-in user's unread notification count as server-sent events.

The topic paths use a segment that can never be a topic slug (slugs are [a-z0-9-]), and are routed before the
topic page so that `/t/{id}/{slug}` does not swallow them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from forum.errors import NotFound
from forum.i18n import gettext
from forum.params import MAX_NUMBER, page_param, parse_int
from forum.services import live
from forum.services.access import access_topic_by_id
from forum.services.topic_page import load_posts_after
from forum.web.common import render, require_viewer


async def posts_fragment(request: Request) -> Response:
    """`?after=N`: the posts numbered after N, rendered exactly as on the topic page, without the page around."""
    after = page_param(request.query_params.get("after"), default=0, high=MAX_NUMBER)
    context = await load_posts_after(request.state.viewer, request.path_params["topic_id"], after)
    return render(request, "_posts_fragment.html", context)


def _after(request: Request) -> int | None:
    """Where the client is: the id of the last event it saw (on reconnect), else `?after=`."""
    raw = request.headers.get("last-event-id") or request.query_params.get("after") or ""
    return parse_int(raw, low=0, high=MAX_NUMBER)


def _event(name: str, data: dict, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data)}\n\n"


async def _stream(topic_id: int, after: int) -> AsyncIterator[str]:
    with live.stream_slot() as got_one:
        if not got_one:  # lost a race for the last slot: tell the browser to come back much later
            yield "retry: 60000\n\n"
            return
        yield f"retry: {live.RETRY_MS}\n\n"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + live.STREAM_SECONDS
        while (remaining := deadline - loop.time()) > 0:
            try:
                number = await live.wait_for_new_posts(topic_id, after,
                                                       within=min(live.KEEPALIVE_SECONDS, remaining))
            except NotFound:
                yield _event("gone", {})
                return
            if number is None:
                yield ": keepalive\n\n"
                continue
            after = number
            yield _event("posts", {"last_number": number}, event_id=number)


async def topic_events(request: Request) -> Response:
    """An event `posts` with `{"last_number": N}` whenever the topic gets new posts; the page then fetches them
    from `posts_fragment`. Ends after live.STREAM_SECONDS or when the client goes away."""
    topic_id = request.path_params["topic_id"]
    await access_topic_by_id(request.state.viewer, topic_id)
    after = _after(request)
    if after is None:
        after = await live.last_number(topic_id)
    live.check_capacity()
    return StreamingResponse(_stream(topic_id, after), media_type="text/event-stream",
                             headers={"cache-control": "no-cache, private", "x-accel-buffering": "no"})


async def _unread_stream(user_id: int, count: int, label: str) -> AsyncIterator[str]:
    with live.stream_slot() as got_one:
        if not got_one:
            yield "retry: 60000\n\n"
            return
        yield f"retry: {live.RETRY_MS}\n\n"
        yield _event("unread", {"count": count, "label": label})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + live.STREAM_SECONDS
        while (remaining := deadline - loop.time()) > 0:
            changed = await live.wait_for_unread_change(user_id, count,
                                                        within=min(live.KEEPALIVE_SECONDS, remaining))
            if changed is None:
                yield ": keepalive\n\n"
                continue
            count = changed
            yield _event("unread", {"count": count, "label": label})


async def notification_events(request: Request) -> Response:
    """The signed-in user's unread notification count: an event `unread` with `{"count": N, "label": "unread"}`
    at once and whenever it changes (the header badge follows it). Ends after live.STREAM_SECONDS."""
    viewer = require_viewer(request)
    live.check_capacity()
    count = await live.unread_count(viewer.id)
    return StreamingResponse(_unread_stream(viewer.id, count, gettext("unread")), media_type="text/event-stream",
                             headers={"cache-control": "no-cache, private", "x-accel-buffering": "no"})


routes = [
    Route("/t/{topic_id:int}/_posts", posts_fragment, methods=["GET"], name="topic_posts_fragment"),
    Route("/t/{topic_id:int}/_events", topic_events, methods=["GET"], name="topic_events"),
    Route("/notifications/_events", notification_events, methods=["GET"], name="notification_events"),
]
