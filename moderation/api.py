"""JSON API of moderation (see ../shared/API.md): flags, the queue, actions, suspensions, audit, watched words."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from forum.api.endpoint import Doc, api_route, json_response, read_json, require_viewer, viewer_of
from forum.api.schema import Any_, Arr, Bool, Int, Obj, Str
from forum.errors import N_, ValidationFailed
from forum.params import optional_id
from moderation import actions, appeals, audit, flags, queue, sanctions, words
from moderation.models import FlagReason, SanctionKind, WordAction

NEW_FLAG = Obj({"reason": Str(enum=tuple(r.value for r in FlagReason)),
                "note": Str(max_length=1000, nullable=True, description="required when reason is other")},
               required=("reason",))
ACTION = Obj({"action": Str(enum=actions.ACTIONS),
              "reason": Str(max_length=1000, description="shown in the audit log; also sent to the author "
                                                         "for hide, delete and warn"),
              "body": Str(max_length=60_000, description="the new text, for action edit"),
              "until": Str(max_length=40, format="date-time", description="for silence and suspend")},
             required=("action", "reason"))
SANCTION = Obj({"until": Str(max_length=40, format="date-time"), "reason": Str(max_length=1000),
                "kind": Str(enum=tuple(k.value for k in SanctionKind), description="default suspend")},
               required=("until", "reason"))
LIFT = Obj({"reason": Str(max_length=1000)})
NEW_WORD = Obj({"word": Str(max_length=100), "action": Str(enum=tuple(a.value for a in WordAction))},
               required=("word", "action"))
APPEAL = Obj({"text": Str(max_length=2000)}, required=("text",))
QUEUE_ITEM = Obj({"post_id": Int(), "topic_id": Int(), "score": Any_(), "reasons": Any_(), "flags": Arr(Any_()),
                  "detector_reason": Str(nullable=True), "kinds": Arr(Str()), "author": Str(nullable=True),
                  "history": Any_(), "appeal": Str(nullable=True), "hidden": Bool()}, additional=True)
AUDIT_ROW = Obj({"id": Int(), "actor_id": Int(nullable=True), "action": Str(), "target_kind": Str(),
                 "target_id": Int(nullable=True), "detail": Str(), "reason": Str(), "created_at": Str()},
                additional=True)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def parse_until(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(fields={"until": N_("Give an end time with a time zone, in the future.")}) from None


def _queue_json(item: dict) -> dict:
    context = item["context"]
    return {
        "post_id": item["post_id"], "post_number": item["number"], "topic_id": item["topic_id"],
        "topic_title": item["topic_title"], "score": item["score"], "reasons": item["reasons"],
        "flags": [{"reason": f["reason"], "note": f["note"], "weight": f["weight"],
                   "created_at": _iso(f["created_at"])} for f in item["flags"]],
        "detector_reason": item["detector_reason"], "kinds": item["kinds"],
        "author_id": item["author_id"], "author": item["author"], "history": item["history"],
        "sanction": ({"kind": item["sanction"]["kind"], "until": _iso(item["sanction"]["ends_at"])}
                     if item["sanction"] else None),
        "appeal": item["appeal_text"], "hidden": item["hidden_at"] is not None,
        "hidden_reason": item["hidden_reason"], "deleted": item["deleted_at"] is not None,
        "source": item["source"], "cooked": item["cooked"],
        "context": {"number": item["number"] - 1, "author": context["username"], "cooked": context["cooked"]}
        if context else None,
        "opened_at": _iso(item["opened_at"]),
    }


async def flag_endpoint(request: Request) -> Response:
    data = await read_json(request, NEW_FLAG)
    flag, hid = await flags.flag_post(require_viewer(request), request.path_params["post_id"],
                                      reason=data["reason"], note=data.get("note"))
    return json_response({"id": flag.id, "post_id": flag.post_id, "reason": flag.reason.value,
                          "post_hidden": hid}, 201)


async def appeal_endpoint(request: Request) -> Response:
    data = await read_json(request, APPEAL)
    case = await appeals.appeal(require_viewer(request), request.path_params["post_id"], text=data["text"])
    return json_response({"post_id": case.post_id, "appealed": True}, 201)


async def queue_endpoint(request: Request) -> Response:
    items = await queue.load_queue(viewer_of(request))
    return json_response({"items": [_queue_json(i) for i in items]})


async def action_endpoint(request: Request) -> Response:
    viewer = require_viewer(request)
    data = await read_json(request, ACTION)
    post = await actions.moderate_post(viewer, request.path_params["post_id"], action=data["action"],
                                       reason=data["reason"], body=data.get("body"),
                                       until=parse_until(data.get("until")))
    return json_response({"post_id": post.id, "action": data["action"], "hidden": post.hidden_at is not None,
                          "deleted": post.deleted_at is not None})


async def suspensions_endpoint(request: Request) -> Response:
    viewer = require_viewer(request)
    user_id = request.path_params["user_id"]
    if request.method == "DELETE":
        data = await read_json(request, LIFT)
        lifted = await sanctions.lift(viewer, user_id, reason=data.get("reason", ""))
        return json_response({"user_id": user_id, "lifted": lifted})
    data = await read_json(request, SANCTION)
    sanction = await sanctions.impose(viewer, user_id, kind=data.get("kind", "suspend"),
                                      until=parse_until(data["until"]), reason=data["reason"])
    return json_response({"id": sanction.id, "user_id": user_id, "kind": sanction.kind.value,
                          "until": _iso(sanction.ends_at)}, 201)


async def audit_endpoint(request: Request) -> Response:
    rows = await audit.list_entries(viewer_of(request), before=optional_id(request.query_params.get("before")))
    return json_response({"entries": [{"id": r["id"], "actor_id": r["actor_id"], "actor": r["actor"],
                                       "action": r["action"], "target_kind": r["target_kind"],
                                       "target_id": r["target_id"], "detail": r["detail"], "reason": r["reason"],
                                       "created_at": _iso(r["created_at"])} for r in rows],
                          "next": str(rows[-1]["id"]) if len(rows) == audit.PAGE_SIZE else None})


async def words_endpoint(request: Request) -> Response:
    viewer = require_viewer(request)
    if request.method == "POST":
        data = await read_json(request, NEW_WORD)
        entry = await words.add_word(viewer, word=data["word"], action=data["action"])
        return json_response({"id": entry.id, "word": entry.word, "action": entry.action.value}, 201)
    return json_response({"words": [{"id": w.id, "word": w.word, "action": w.action.value}
                                    for w in await words.list_words(viewer)]})


async def word_endpoint(request: Request) -> Response:
    await read_json(request)
    await words.remove_word(require_viewer(request), request.path_params["word_id"])
    return json_response({"deleted": True})


OK = Obj(additional=True)
MOD_ERRORS = (400, 401, 403, 404)
routes = [
    api_route("/api/v1/posts/{post_id:int}/flags", flag_endpoint, methods=["POST"], name="api_flag_post",
              doc=Doc("Flag a post for the moderators (signed in, not silenced or suspended; consent not needed)",
                      body=NEW_FLAG, status=201, auth=True, errors=(400, 401, 403, 404, 409, 429), tag="moderation",
                      response=Obj({"id": Int(), "post_id": Int(), "reason": Str(), "post_hidden": Bool()}))),
    api_route("/api/v1/posts/{post_id:int}/appeal", appeal_endpoint, methods=["POST"], name="api_appeal_post",
              doc=Doc("The author of a hidden post appeals, once; the post goes back to the queue", body=APPEAL,
                      status=201, auth=True, errors=(400, 401, 403, 404, 409), tag="moderation", response=OK)),
    api_route("/api/v1/mod/queue", queue_endpoint, methods=["GET"], name="api_mod_queue",
              doc=Doc("Moderators: flagged, auto-held and appealed posts, highest score first", auth=True,
                      errors=(401, 404), tag="moderation", response=Obj({"items": Arr(QUEUE_ITEM)}))),
    api_route("/api/v1/mod/posts/{post_id:int}/actions", action_endpoint, methods=["POST"],
              name="api_mod_action",
              doc=Doc("Moderators: act on a post (hide, delete, restore, dismiss_flags, edit, lock, warn, "
                      "silence, suspend)", body=ACTION, auth=True, errors=MOD_ERRORS, tag="moderation",
                      response=OK)),
    api_route("/api/v1/mod/users/{user_id:int}/suspensions", suspensions_endpoint, methods=["POST", "DELETE"],
              name="api_mod_suspensions", doc={
                  "POST": Doc("Moderators: suspend (or, with kind silence, silence) a user until a time", body=SANCTION,
                              status=201, auth=True, errors=MOD_ERRORS, tag="moderation", response=OK),
                  "DELETE": Doc("Moderators: lift the user's suspension or silence", body=LIFT, auth=True,
                                errors=MOD_ERRORS, tag="moderation", response=OK)}),
    api_route("/api/v1/mod/audit", audit_endpoint, methods=["GET"], name="api_mod_audit",
              doc=Doc("Moderators: the append-only log of moderator and staff actions, newest first", auth=True,
                      params=(("before", "query", Int(minimum=1)),), errors=(401, 404), tag="moderation",
                      response=Obj({"entries": Arr(AUDIT_ROW), "next": Str(nullable=True)}))),
    api_route("/api/v1/mod/watched-words", words_endpoint, methods=["GET", "POST"], name="api_mod_words", doc={
        "GET": Doc("Moderators: the watched words", auth=True, errors=(401, 404), tag="moderation", response=OK),
        "POST": Doc("Moderators: watch a word (block, flag or censor)", body=NEW_WORD, status=201, auth=True,
                    errors=(400, 401, 403, 404, 409), tag="moderation", response=OK)}),
    api_route("/api/v1/mod/watched-words/{word_id:int}", word_endpoint, methods=["DELETE"], name="api_mod_word",
              doc=Doc("Moderators: stop watching a word", auth=True, errors=(401, 403, 404), tag="moderation",
                      response=OK)),
]
