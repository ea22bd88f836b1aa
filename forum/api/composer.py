"""What the composers ask while a member writes (forum.js): similar questions for a new topic's title, saving the
draft, and handles for "@". The same services serve the forms without JavaScript (forum/web/composer.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.api.endpoint import ID, SLUG, Doc, api_route, json_response, read_json, require_viewer, viewer_of
from forum.api.schema import Arr, Bool, Int, Obj, Str
from forum.markup import MAX_SOURCE_CHARS
from forum.params import optional_id
from forum.services.composer_drafts import MAX_TITLE_CHARS, save_draft
from forum.services.mention_suggestions import suggest_handles
from forum.services.similar import similar_topics
from forum.web.common import path_for

SIMILAR_TOPIC = Obj({"id": Int(), "title": Str(), "url": Str(), "category": Str(), "category_name": Str(),
                     "solved": Bool(), "accepted_answer": Bool(), "posts": Int()})
DRAFT = Obj({"topic_id": Int(minimum=1, maximum=2**31 - 1, nullable=True), "category": Str(max_length=64),
             "title": Str(max_length=MAX_TITLE_CHARS), "body": Str(max_length=MAX_SOURCE_CHARS),
             "kind": Str(enum=("", "question", "discussion", "training"))})


def similar_json(request: Request, found) -> list[dict]:
    return [{"id": s.topic_id, "title": s.title, "url": path_for(request, "topic", topic_id=s.topic_id, slug=s.slug),
             "category": s.category_slug,
             "category_name": s.category_name, "solved": s.solved, "accepted_answer": s.accepted,
             "posts": s.post_count} for s in found]


async def similar(request: Request) -> Response:
    params = request.query_params
    found = await similar_topics(viewer_of(request), (params.get("title") or "")[:MAX_TITLE_CHARS],
                                 (params.get("body") or "")[:2_000])
    return json_response({"topics": similar_json(request, found)})


async def draft(request: Request) -> Response:
    viewer = require_viewer(request)
    data = await read_json(request, DRAFT)
    saved = await save_draft(viewer, topic_id=data.get("topic_id"), category=data.get("category") or None,
                             title=data.get("title", ""), body=data.get("body", ""), kind=data.get("kind", ""))
    return json_response({"saved": saved is not None,
                          "updated_at": saved.updated_at.isoformat() if saved else None})


async def mentions(request: Request) -> Response:
    viewer = require_viewer(request)
    params = request.query_params
    found = await suggest_handles(viewer, params.get("q") or "", topic_id=optional_id(params.get("topic_id")),
                                  category=params.get("category") or None)
    return json_response({"users": [{"username": s.username, "display_name": s.display_name} for s in found]})


routes = [
    api_route("/api/v1/similar-topics", similar, methods=["GET"], name="api_similar_topics",
              doc=Doc("Topics like a new topic's title (and body), solved ones first, that the viewer may read",
                      params=(("title", "query", Str(max_length=MAX_TITLE_CHARS)),
                              ("body", "query", Str(max_length=2_000))),
                      response=Obj({"topics": Arr(SIMILAR_TOPIC)}))),
    api_route("/api/v1/drafts", draft, methods=["PUT"], name="api_save_draft",
              doc=Doc("Save the signed-in member's draft: a reply to `topic_id`, or the new topic (no `topic_id`); "
                      "an empty draft is deleted. Nobody else can read it", body=DRAFT, auth=True,
                      errors=(400, 401, 403, 404),
                      response=Obj({"saved": Bool(), "updated_at": Str(nullable=True)}))),
    api_route("/api/v1/mention-suggestions", mentions, methods=["GET"], name="api_mention_suggestions",
              doc=Doc("Handles starting with `q` (two characters or more) of members a post in this topic or "
                      "category could mention: consented, not suspended, able to read it", auth=True,
                      errors=(400, 401, 404),
                      params=(("q", "query", Str(max_length=33)), ("topic_id", "query", ID),
                              ("category", "query", SLUG)),
                      response=Obj({"users": Arr(Obj({"username": Str(), "display_name": Str()}))}))),
]
