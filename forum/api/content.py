"""JSON API: categories, topics, posts, likes, answers, notifications, search. Same services as the pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.api.endpoint import Doc, api_route, json_response, read_json, require_viewer, viewer_of
from forum.api.schema import Any_, Arr, Bool, Int, Obj, Str
from forum.errors import NotFound
from forum.params import cursor_param, page_param
from forum.services import (
    answers,
    categories,
    likes,
    notifications,
    posts,
    search,
    topic_queries,
    topics,
    unread_notifications,
)
from forum.services.access import access_category_by_slug
from forum.services.categories import visible_categories
from forum.services.topic_page import load_topic_page

CATEGORY = Obj({"slug": Str(), "name": Str(), "description": Str(), "read": Str(enum=("public", "members", "staff")),
                "start_topics": Str(enum=("participants", "staff")), "topic_count": Int(), "post_count": Int()},
               additional=True)
NEW_CATEGORY = Obj({"slug": Str(min_length=2, max_length=64), "name": Str(min_length=2, max_length=100),
                    "description": Str(max_length=2000), "read": Str(enum=("public", "members", "staff")),
                    "start_topics": Str(enum=("participants", "staff"))}, required=("slug", "name"))
CATEGORY_PATCH = Obj({"name": Str(min_length=2, max_length=100), "description": Str(max_length=2000),
                      "read": Str(enum=("public", "members", "staff")),
                      "start_topics": Str(enum=("participants", "staff")), "position": Int(minimum=0, maximum=10_000)})
ATTACH = Arr(Int(minimum=1), max_items=20, description="ids of your uploads (POST /api/v1/uploads) to attach")
NEW_TOPIC = Obj({"category": Str(max_length=64), "title": Str(max_length=300), "body": Str(max_length=60_000),
                 "kind": Str(enum=("question", "discussion", "training")), "attachments": ATTACH},
                required=("category", "title", "body"))
TOPIC_PATCH = Obj({"pinned": Bool(), "pinned_globally": Bool(), "locked": Bool(), "title": Str(max_length=300),
                   "category": Str(max_length=64)})
NEW_POST = Obj({"body": Str(max_length=60_000), "reply_to": Int(minimum=1, nullable=True), "attachments": ATTACH},
               required=("body",))
EDIT_POST = Obj({"body": Str(max_length=60_000)}, required=("body",))
MARK_READ = Obj({"ids": Arr(Int(), max_items=500, nullable=True)})
TOPIC_ROW = Obj({"id": Int(), "title": Str(), "slug": Str(), "kind": Str(), "pinned": Bool(), "locked": Bool(),
                 "post_count": Int(), "solved": Bool(), "author": Str(nullable=True)}, additional=True)
POST_ROW = Obj({"id": Int(), "number": Int(), "author": Str(nullable=True), "cooked": Str(nullable=True),
                "like_count": Int(), "accepted": Bool(), "liked": Bool(), "deleted": Bool(), "hidden": Bool()},
               additional=True)
PAGE = [("page", "query", Int(minimum=1))]


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _category_json(c) -> dict:
    return {"slug": c.slug, "name": c.name, "description": c.description, "read": c.read_access.value,
            "start_topics": c.start_topics.value, "topic_count": c.topic_count, "post_count": c.post_count}


def _topic_row_json(row: dict) -> dict:
    return {"id": row["id"], "title": row["title"], "slug": row["slug"], "kind": row["kind"],
            "pinned": bool(row["pinned"] or row.get("pinned_globally")), "locked": row["locked"],
            "post_count": row["post_count"], "category": row["category_slug"],
            "solved": row["solved"],
            "author": row["author"], "last_posted_at": _iso(row["last_posted_at"]),
            "unread": row.get("unread", 0), "new": row.get("new", False)}


def _post_json(post: dict) -> dict:
    return {"id": post["id"], "number": post["number"], "author": post["username"],
            "cooked": post["cooked"] if post["show_body"] and post["deleted_at"] is None else None,
            "like_count": post["like_count"], "accepted": post["accepted"], "liked": post["liked"],
            "reply_to": post["reply_to_number"], "created_at": _iso(post["created_at"]),
            "edited": post["edited_at"] is not None, "deleted": post["deleted_at"] is not None,
            "hidden": post["hidden_at"] is not None}


async def categories_endpoint(request: Request) -> Response:
    if request.method == "POST":
        data = await read_json(request, NEW_CATEGORY)
        category = await categories.create_category(require_viewer(request), **data)
        return json_response(_category_json(category), 201)
    return json_response({"categories": [_category_json(c) for c in await visible_categories(viewer_of(request))]})


async def category_endpoint(request: Request) -> Response:
    data = await read_json(request, CATEGORY_PATCH)
    category = await categories.update_category(require_viewer(request), request.path_params["slug"], **data)
    return json_response(_category_json(category))


async def category_topics(request: Request) -> Response:
    viewer = viewer_of(request)
    category = await access_category_by_slug(viewer, request.path_params["slug"])
    page = page_param(request.query_params.get("page"))
    before = cursor_param(request.query_params.get("before"))
    rows = await topic_queries.category_topics(viewer, category.id, before=before)
    for _ in range(1, min(page, 50)):  # ?page=N walks the keyset cursor; deep lists use `before`
        cursor = topic_queries.next_cursor(rows)
        if cursor is None:
            rows = []
            break
        rows = await topic_queries.category_topics(viewer, category.id, before=cursor_param(cursor))
    return json_response({"category": _category_json(category), "topics": [_topic_row_json(r) for r in rows],
                          "next": topic_queries.next_cursor(rows)})


async def create_topic(request: Request) -> Response:
    data = await read_json(request, NEW_TOPIC)
    pending = data.pop("attachments", None) or ()
    topic, post = await topics.create_topic(require_viewer(request), **data, pending=pending)
    return json_response({"id": topic.id, "slug": topic.slug, "first_post_id": post.id,
                          "held": post.hidden_at is not None}, 201)


async def topic_endpoint(request: Request) -> Response:
    viewer = viewer_of(request)
    topic_id = request.path_params["topic_id"]
    if request.method == "PATCH":
        data = await read_json(request, TOPIC_PATCH)
        await topics.update_topic(require_viewer(request), topic_id, **data)
    try:
        page = page_param(request.query_params.get("page"))
    except NotFound:
        page = 0
    context = await load_topic_page(viewer, topic_id, page)
    t = context["topic"]
    topic = {"id": t["id"], "title": t["title"], "slug": t["slug"], "kind": t["kind"], "category": t["category_slug"],
             "pinned": t["pinned"], "pinned_globally": t["pinned_globally"], "locked": t["locked"],
             "solved": t["solved"], "accepted_post_id": t["accepted_post_id"], "author": t["author"],
             "post_count": t["post_count"], "created_at": _iso(t["created_at"]), "watching": context["watching"]}
    return json_response({"topic": topic, "posts": [_post_json(p) for p in context["posts"]],
                          "page": context["page"], "pages": context["pages"]})


async def create_post(request: Request) -> Response:
    data = await read_json(request, NEW_POST)
    post = await posts.create_reply(require_viewer(request), request.path_params["topic_id"], body=data["body"],
                                    reply_to=data.get("reply_to"), pending=data.get("attachments") or ())
    return json_response({"id": post.id, "number": post.number, "held": post.hidden_at is not None}, 201)


async def post_endpoint(request: Request) -> Response:
    viewer = require_viewer(request)
    post_id = request.path_params["post_id"]
    if request.method == "DELETE":
        await read_json(request)
        post = await posts.delete_post(viewer, post_id)
        return json_response({"id": post.id, "deleted": True})
    data = await read_json(request, EDIT_POST)
    post = await posts.edit_post(viewer, post_id, body=data["body"])
    return json_response({"id": post.id, "cooked": post.cooked, "edited": post.edited_at is not None})


async def like_endpoint(request: Request) -> Response:
    await read_json(request)
    viewer = require_viewer(request)
    post_id = request.path_params["post_id"]
    if request.method == "DELETE":
        count = await likes.unlike_post(viewer, post_id)
        return json_response({"liked": False, "like_count": count})
    count = await likes.like_post(viewer, post_id)
    return json_response({"liked": True, "like_count": count})


async def accept_endpoint(request: Request) -> Response:
    await read_json(request)
    viewer = require_viewer(request)
    post_id = request.path_params["post_id"]
    if request.method == "DELETE":
        topic = await answers.unaccept_answer(viewer, post_id)
    else:
        topic = await answers.accept_answer(viewer, post_id)
    return json_response({"topic_id": topic.id, "accepted_post_id": topic.accepted_post_id})


async def revisions_endpoint(request: Request) -> Response:
    revs = await posts.revisions(require_viewer(request), request.path_params["post_id"])
    return json_response({"revisions": [{"number": r["number"], "source": r["source"],
                                         "editor": r["editor__profile__username"],
                                         "created_at": _iso(r["created_at"])} for r in revs]})


async def notifications_endpoint(request: Request) -> Response:
    viewer = require_viewer(request)
    if request.method == "POST":
        data = await read_json(request, MARK_READ)
        count = await notifications.mark_read(viewer, data.get("ids"))
        return json_response({"marked_read": count})
    items = await notifications.list_notifications(viewer)
    return json_response({"notifications": [
        {"id": n["id"], "kind": n["kind"], "count": n["count"], "topic_id": n["topic_id"], "post_id": n["post_id"],
         "topic_title": n["topic_title"], "actor": n["actor"], "message": n["message"],
         "created_at": _iso(n["created_at"]), "read": n["read_at"] is not None} for n in items],
        "unread": await unread_notifications.unread_count(viewer.id, cap=None)})  # all of them, not only the 50 listed


async def search_endpoint(request: Request) -> Response:
    params = request.query_params
    hits = await search.search(viewer_of(request), (params.get("q") or "")[:200],
                               category=params.get("category") or None, author=params.get("author") or None,
                               solved={"yes": True, "no": False, "true": True, "false": False}.get(
                                   params.get("solved") or ""))
    return json_response({"hits": [{"topic_id": h.topic_id, "post_id": h.post_id, "post_number": h.post_number,
                                    "title": h.title, "snippet": h.snippet, "category": h.category_slug,
                                    "author": h.author} for h in hits]})


OK = Obj(additional=True)
routes = [
    api_route("/api/v1/categories", categories_endpoint, methods=["GET", "POST"], name="api_categories", doc={
        "GET": Doc("The categories the viewer may read", response=Obj({"categories": Arr(CATEGORY)})),
        "POST": Doc("Admins: create a category", body=NEW_CATEGORY, response=CATEGORY, status=201, auth=True,
                    errors=(400, 401, 403, 404, 409)),
    }),
    api_route("/api/v1/categories/{slug}", category_endpoint, methods=["PATCH"], name="api_category",
              doc=Doc("Admins: rename, describe, reorder or change a category's access", body=CATEGORY_PATCH,
                      response=CATEGORY, auth=True, errors=(400, 401, 403, 404))),
    api_route("/api/v1/categories/{slug}/topics", category_topics, methods=["GET"], name="api_category_topics",
              doc=Doc("A category's topics, pinned first, then newest activity", errors=(404,),
                      params=(*PAGE, ("before", "query", Str(max_length=80))),
                      response=Obj({"category": CATEGORY, "topics": Arr(TOPIC_ROW), "next": Str(nullable=True)}))),
    api_route("/api/v1/topics", create_topic, methods=["POST"], name="api_create_topic",
              doc=Doc("Start a topic", body=NEW_TOPIC, status=201, auth=True, errors=(400, 401, 403, 404, 413, 429),
                      response=Obj({"id": Int(), "slug": Str(), "first_post_id": Int(),
                                    "held": Bool(description="hidden for moderator review; a notice says why")}))),
    api_route("/api/v1/topics/{topic_id:int}", topic_endpoint, methods=["GET", "PATCH"], name="api_topic", doc={
        "GET": Doc("A topic and one page of its posts", params=PAGE, errors=(404,),
                   response=Obj({"topic": Any_(), "posts": Arr(POST_ROW), "page": Int(), "pages": Int()})),
        "PATCH": Doc("Staff: pin, lock, rename, move", body=TOPIC_PATCH, auth=True, errors=(400, 401, 403, 404),
                     response=Obj({"topic": Any_(), "posts": Arr(POST_ROW), "page": Int(), "pages": Int()})),
    }),
    api_route("/api/v1/topics/{topic_id:int}/posts", create_post, methods=["POST"], name="api_create_post",
              doc=Doc("Reply to a topic", body=NEW_POST, status=201, auth=True, errors=(400, 401, 403, 404, 413, 429),
                      response=Obj({"id": Int(), "number": Int(),
                                    "held": Bool(description="hidden for moderator review; a notice says why")}))),
    api_route("/api/v1/posts/{post_id:int}", post_endpoint, methods=["PATCH", "DELETE"], name="api_post", doc={
        "PATCH": Doc("Edit a post; the previous text is kept as a revision", body=EDIT_POST, auth=True,
                     errors=(400, 401, 403, 404), response=OK),
        "DELETE": Doc("Soft-delete a post (author or moderator)", auth=True, errors=(401, 403, 404), response=OK),
    }),
    api_route("/api/v1/posts/{post_id:int}/revisions", revisions_endpoint, methods=["GET"], name="api_revisions",
              doc=Doc("A post's edit history (author and moderators)", auth=True, errors=(401, 404),
                      response=Obj({"revisions": Arr(Any_())}))),
    api_route("/api/v1/posts/{post_id:int}/like", like_endpoint, methods=["POST", "DELETE"], name="api_like", doc={
        "POST": Doc("Like a post", auth=True, errors=(401, 403, 404), response=OK),
        "DELETE": Doc("Take a like back", auth=True, errors=(401, 403, 404), response=OK),
    }),
    api_route("/api/v1/posts/{post_id:int}/accept", accept_endpoint, methods=["POST", "DELETE"], name="api_accept",
              doc={"POST": Doc("Mark the accepted answer of a question", auth=True, errors=(400, 401, 403, 404),
                               response=OK),
                   "DELETE": Doc("Unmark the accepted answer", auth=True, errors=(401, 403, 404), response=OK)}),
    api_route("/api/v1/notifications", notifications_endpoint, methods=["GET", "POST"], name="api_notifications",
              doc={"GET": Doc("The user's notifications, unread first", auth=True, errors=(401,), response=OK),
                   "POST": Doc("Mark notifications read (all when ids is absent)", body=MARK_READ, auth=True,
                               errors=(400, 401, 403), response=OK)}),
    api_route("/api/v1/search", search_endpoint, methods=["GET"], name="api_search",
              doc=Doc("Full-text search, best first", errors=(400,), response=OK,
                      params=(("q", "query", Str(max_length=200)), ("category", "query", Str(max_length=64)),
                              ("author", "query", Str(max_length=32)), ("solved", "query", Str(enum=("yes", "no")))))),
]
