"""Pages: `/mod` (queue, watched words, restrictions), `/mod/audit`, and the flag and appeal forms on posts."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from forum.errors import N_, ValidationFailed
from forum.models import Profile
from forum.params import optional_id, parse_int
from forum.services import live
from forum.services.access import access_post_by_id
from forum.services.usernames import username_key
from forum.web.common import field, path_for, post_url, read_form, render, require_viewer
from moderation import actions, appeals, audit, flags, queue, sanctions, words
from moderation.models import SanctionKind, WordAction
from moderation.notices import KIND_LABELS, REASON_LABELS
from moderation.permissions import check_moderator

MAX_DAYS = 3650
DONE = {
    "action": N_("The action was carried out."),
    "word": N_("The watched words were updated."),
    "sanction": N_("The restriction was saved."),
    "lift": N_("The restriction was lifted."),
}


def _days(raw: str) -> datetime | None:
    if not raw:
        return None
    days = parse_int(raw, low=1, high=MAX_DAYS)
    if days is None:
        raise ValidationFailed(fields={"days": N_("Give a number of days from 1 to 3650.")})
    return datetime.now(UTC) + timedelta(days=days)


def _done(request: Request, what: str) -> RedirectResponse:
    return RedirectResponse(path_for(request, "mod", {"done": what}), status_code=303)


async def queue_events(request: Request) -> Response:
    """Moderators' live queue: an event `queue` with `{"open": N}` at once and whenever the number of open cases
    changes or the queue is announced as changed (through the forum's live hub, across processes on PostgreSQL).
    The page then offers to reload. Ends after live.STREAM_SECONDS; the browser reconnects."""
    check_moderator(request.state.viewer)
    live.check_capacity()
    count = await queue.open_cases()

    async def stream():
        with live.stream_slot() as got_one:
            if not got_one:
                yield "retry: 60000\n\n"
                return
            yield f"retry: {live.RETRY_MS}\n\n"
            yield _sse("queue", {"open": count})
            known = count
            loop = asyncio.get_running_loop()
            deadline = loop.time() + live.STREAM_SECONDS
            while (remaining := deadline - loop.time()) > 0:
                changed = await queue.wait_for_queue_change(known, within=min(live.KEEPALIVE_SECONDS, remaining))
                if changed is None:
                    yield ": keepalive\n\n"
                    continue
                known = changed
                yield _sse("queue", {"open": known})

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"cache-control": "no-cache, private", "x-accel-buffering": "no"})


def _sse(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


async def mod_page(request: Request) -> Response:
    viewer = check_moderator(request.state.viewer)
    done = request.query_params.get("done")
    return render(request, "mod/queue.html", {
        "open_cases": await queue.open_cases(),
        "items": await queue.load_queue(viewer), "words": await words.list_words(viewer),
        "sanctions": await sanctions.active_list(viewer), "done": DONE.get(done or ""),
        "reason_labels": REASON_LABELS, "kind_labels": KIND_LABELS, "word_actions": [a.value for a in WordAction],
        "sanction_kinds": [k.value for k in SanctionKind]})


async def post_action(request: Request) -> Response:
    viewer = check_moderator(request.state.viewer)
    form = await read_form(request)
    action = field(form, "action")
    body = field(form, "body") if action == "edit" else None
    if action in ("silence", "suspend") and not field(form, "days"):
        raise ValidationFailed(fields={"days": N_("Give a number of days from 1 to 3650.")})
    await actions.moderate_post(viewer, request.path_params["post_id"], action=action, reason=field(form, "reason"),
                                body=body, until=_days(field(form, "days")))
    return _done(request, "action")


async def add_word(request: Request) -> Response:
    viewer = check_moderator(request.state.viewer)
    form = await read_form(request)
    await words.add_word(viewer, word=field(form, "word"), action=field(form, "action"))
    return _done(request, "word")


async def remove_word(request: Request) -> Response:
    viewer = check_moderator(request.state.viewer)
    await read_form(request)
    await words.remove_word(viewer, request.path_params["word_id"])
    return _done(request, "word")


async def sanction_user(request: Request) -> Response:
    viewer = check_moderator(request.state.viewer)
    form = await read_form(request)
    if not field(form, "days"):
        raise ValidationFailed(fields={"days": N_("Give a number of days from 1 to 3650.")})
    profile = await Profile.filter(username_key=username_key(field(form, "username")[:64])).first()
    if profile is None:
        raise ValidationFailed(fields={"username": N_("No member has that username.")})
    until = _days(field(form, "days"))
    await sanctions.impose(viewer, profile.user_id, kind=field(form, "kind"), until=until,
                           reason=field(form, "reason"))
    return _done(request, "sanction")


async def lift_sanction(request: Request) -> Response:
    viewer = check_moderator(request.state.viewer)
    form = await read_form(request)
    await sanctions.lift(viewer, request.path_params["user_id"], reason=field(form, "reason"))
    return _done(request, "lift")


async def audit_page(request: Request) -> Response:
    viewer = check_moderator(request.state.viewer)
    rows = await audit.list_entries(viewer, before=optional_id(request.query_params.get("before")))
    return render(request, "mod/audit.html", {
        "entries": rows, "next": rows[-1]["id"] if len(rows) == audit.PAGE_SIZE else None})


async def flag(request: Request) -> Response:
    """GET: the flag form for one post (linked from its card); POST: the flag."""
    viewer = require_viewer(request)
    if request.method == "GET":
        post = await flags.flaggable_post(viewer, request.path_params["post_id"])
        return render(request, "mod/flag.html", {"post": post, "back": post_url(request, post)})
    form = await read_form(request)
    post = await access_post_by_id(viewer, request.path_params["post_id"])
    await flags.flag_post(viewer, post.id, reason=field(form, "reason"), note=field(form, "note"))
    return render(request, "mod/flagged.html", {"back": post_url(request, post)})


async def appeal(request: Request) -> Response:
    viewer = require_viewer(request)
    post = await appeals.appealable_post(viewer, request.path_params["post_id"])
    errors: dict = {}
    text = ""
    sent = await appeals.has_appealed(post.id)
    if request.method == "POST":
        form = await read_form(request)
        text = field(form, "text")
        try:
            await appeals.appeal(viewer, post.id, text=text)  # a second appeal is refused there (409)
            sent = True
        except ValidationFailed as exc:
            errors = exc.fields
    return render(request, "mod/appeal.html", {"post": post, "sent": sent, "text": text, "errors": errors,
                                               "back": post_url(request, post)}, status=400 if errors else 200)


routes = [
    Route("/mod", mod_page, methods=["GET"], name="mod"),
    Route("/mod/_events", queue_events, methods=["GET"], name="mod_queue_events"),
    Route("/mod/audit", audit_page, methods=["GET"], name="mod_audit"),
    Route("/mod/posts/{post_id:int}/action", post_action, methods=["POST"], name="mod_post_action"),
    Route("/mod/words", add_word, methods=["POST"], name="mod_add_word"),
    Route("/mod/words/{word_id:int}/delete", remove_word, methods=["POST"], name="mod_remove_word"),
    Route("/mod/users/sanction", sanction_user, methods=["POST"], name="mod_sanction"),
    Route("/mod/users/{user_id:int}/lift", lift_sanction, methods=["POST"], name="mod_lift"),
    Route("/p/{post_id:int}/flag", flag, methods=["GET", "POST"], name="flag_post"),
    Route("/p/{post_id:int}/appeal", appeal, methods=["GET", "POST"], name="appeal_post"),
]
