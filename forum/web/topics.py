"""Pages: a category's topics, a topic with its posts, starting a topic, replying."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from forum import i18n
from forum.errors import DomainError, FileProblem, Gone, NotFound, ValidationFailed
from forum.params import cursor_param, optional_id, page_param
from forum.permissions.facts import PostFacts
from forum.permissions.posts import check_visible_post
from forum.permissions.topics import can_start_topic
from forum.services import findable, page_versions, topic_queries, topics
from forum.services.access import access_category_by_slug, access_post_by_id
from forum.services.composer_drafts import draft_for
from forum.services.posts import create_reply
from forum.services.similar import similar_before_posting
from forum.services.topic_page import load_topic_page
from forum.services.watching import set_category_watch, set_topic_watch
from forum.web.common import field, noindex_unless, path_for, read_form, render, require_viewer
from forum.web.drafts import warnings_to_confirm
from forum.web.page_cache import visitor_page
from forum.web.uploads import composer_files, keep_for_later, problem_text

FORM_FILES = 12  # file parts a composer's form may carry (the post's own limit is a setting, checked after)


def topic_filter(request: Request) -> topic_queries.TopicFilter:
    kind = request.query_params.get("kind")
    solved = request.query_params.get("solved")
    return topic_queries.TopicFilter(kind=kind if kind in ("question", "discussion", "training") else None,
                                     solved={"yes": True, "no": False}.get(solved or ""))


async def category_page(request: Request) -> Response:
    slug = request.path_params["slug"]
    return await visitor_page(request, lambda: page_versions.category(slug), lambda: _category_page(request),
                              lists=True)


async def _category_page(request: Request) -> Response:
    viewer = request.state.viewer
    category = await access_category_by_slug(viewer, request.path_params["slug"])
    flt = topic_filter(request)
    rows = await topic_queries.category_topics(viewer, category.id, flt=flt,
                                               before=cursor_param(request.query_params.get("before")))
    indexable = findable.indexable_category(category.read_access.value)
    return noindex_unless(indexable, render(request, "category.html", {
        "category": category, "topics": rows, "filter": flt, "next_cursor": topic_queries.next_cursor(rows),
        "can_start": can_start_topic(viewer, category), "indexable": indexable}))


def topic_seo(request: Request, context: dict) -> dict:
    """The <head> of a topic page for engines and link previews (forum.services.findable). Crawlers and preview
    bots read the visitors' page; a signed-in page (private, never indexed) carries only its noindex, which keeps
    its weight where issue 20 put it."""
    topic, posts, page = context["topic"], context["posts"], context["page"]
    settings = request.app.state.settings
    return findable.topic_head(topic, posts, context["accepted"], context["first_post"], page=page,
                               base_url=settings.base_url.rstrip("/"), locale=request.state.locale,
                               content_language=settings.default_locale, site_name=i18n.gettext("Community forum"),
                               for_visitor=request.state.viewer is None)


async def topic_page(request: Request) -> Response:
    topic_id = request.path_params["topic_id"]
    return await visitor_page(request, lambda: page_versions.topic(topic_id), lambda: _topic_page(request))


async def _topic_page(request: Request) -> Response:
    viewer = request.state.viewer
    topic_id = request.path_params["topic_id"]
    page = page_param(request.query_params.get("page"))
    try:
        context = await load_topic_page(viewer, topic_id, page, with_first=viewer is None)
    except NotFound:
        if await findable.is_gone(topic_id):
            raise Gone() from None
        raise
    slug = context["topic"]["slug"]
    if request.path_params.get("slug") != slug:
        query = {"page": page} if page > 1 else None
        return RedirectResponse(path_for(request, "topic", query, topic_id=topic_id, slug=slug), status_code=301)
    context.update(await composer_prefill(request, viewer))
    context["seo"] = topic_seo(request, context)
    return noindex_unless(context["seo"]["robots"] is None, render(request, "topic.html", context))


async def composer_prefill(request: Request, viewer) -> dict:
    """`?reply_to=ID` and `?quote=ID` open the composer aimed at (or quoting) a post of this topic."""
    prefill = {"reply_error": None, "reply_body": "", "reply_to": None,
               "draft_saved": request.query_params.get("draft") == "saved", "draft_restored": False}
    for name in ("quote", "reply_to"):
        post_id = optional_id(request.query_params.get(name))
        if post_id is None or viewer is None:
            continue
        try:
            post = await access_post_by_id(viewer, post_id)
            check_visible_post(PostFacts.of(post))
        except DomainError:
            continue
        if post.topic_id != request.path_params["topic_id"]:
            continue
        prefill["reply_to"] = post.id
        if name == "quote":
            prefill["reply_body"] = f"[quote post={post.id}]\n{post.source}\n[/quote]\n\n"
    if viewer is not None and not prefill["reply_body"]:
        draft = await draft_for(viewer, request.path_params["topic_id"])
        if draft is not None:  # the member's reply draft, as they left it
            prefill.update(reply_body=draft.body, draft_restored=True)
    return prefill


async def topic_redirect(request: Request) -> Response:
    return await _topic_page(request)  # always a redirect to the page with its slug: nothing to cache


async def new_topic(request: Request) -> Response:
    viewer = require_viewer(request)
    category = await access_category_by_slug(viewer, request.path_params["slug"])
    values = {"title": "", "body": "", "kind": "question" if category.start_topics.value == "participants"
              else "training"}
    errors: dict = {}
    status = 200
    restored = False
    if request.method == "GET":
        values, restored = await restore_new_topic_draft(viewer, category, values)
    pending: list = []
    if request.method == "POST":
        form = await read_form(request, files=FORM_FILES)
        values = {"title": field(form, "title"), "body": field(form, "body"), "kind": field(form, "kind")}
        files = await composer_files(viewer, form)
        can_start = can_start_topic(viewer, category)
        warnings = await warnings_to_confirm(viewer.id, form, values["body"]) if can_start else []
        similar = (await similar_before_posting(viewer, values["title"], values["body"])
                   if can_start and not warnings and field(form, "confirm_similar") != "1" else [])
        if warnings or similar:  # to confirm first: the files chosen are kept for the next try
            pending, problem = await keep_for_later(viewer, files)
            step = {"warnings": warnings} if warnings else {"similar": similar, "confirm_step": True}
            return render(request, "new_topic.html", {"category": category, "values": values,
                                                      "errors": {"attachment": problem} if problem else {},
                                                      "can_start": can_start, "pending_files": pending, **step})
        try:
            topic, _post = await topics.create_topic(viewer, category=category.slug, **values, files=files.uploads,
                                                     pending=files.pending)
        except ValidationFailed as exc:  # a file's problem, or the text's: the files that can be are kept
            pending, problem = await keep_for_later(viewer, files)
            if isinstance(exc, FileProblem):
                errors, status = {"attachment": problem_text(exc)}, exc.status
            else:
                errors, status = exc.fields or {"body": exc.message}, exc.status
                if problem:
                    errors["attachment"] = problem
        else:
            return RedirectResponse(path_for(request, "topic", topic_id=topic.id, slug=topic.slug), status_code=303)
    return render(request, "new_topic.html", {"category": category, "values": values, "errors": errors,
                                              "can_start": can_start_topic(viewer, category),
                                              "draft_saved": request.query_params.get("draft") == "saved",
                                              "draft_restored": restored, "pending_files": pending},
                  status=status if errors else 200)


async def restore_new_topic_draft(viewer, category, values: dict) -> tuple[dict, bool]:
    """The member's new-topic draft, when it was begun in this category (or in none)."""
    draft = await draft_for(viewer, None)
    if draft is None or draft.category_slug not in (None, category.slug):
        return values, False
    return {"title": draft.title, "body": draft.body, "kind": draft.kind or values["kind"]}, True


async def reply(request: Request) -> Response:
    viewer = require_viewer(request)
    topic_id = request.path_params["topic_id"]
    form = await read_form(request, files=FORM_FILES)
    body = field(form, "body")
    reply_to_id = optional_id(field(form, "reply_to"))
    files = await composer_files(viewer, form)
    warnings = await warnings_to_confirm(viewer.id, form, body)
    if warnings:  # to confirm first: the files chosen are kept for the next try
        pending, problem = await keep_for_later(viewer, files)
        return await _composer_again(request, viewer, topic_id, body, reply_to_id, warnings=warnings,
                                     pending=pending, attach_error=problem)
    try:
        post = await create_reply(viewer, topic_id, body=body, reply_to=reply_to_id, files=files.uploads,
                                  pending=files.pending)
    except ValidationFailed as exc:  # a file's problem, or the text's: the files that can be are kept
        pending, problem = await keep_for_later(viewer, files)
        if isinstance(exc, FileProblem):
            error, problem = problem_text(exc), None
        else:
            error = next(iter(exc.fields.values()), exc.message)
        return await _composer_again(request, viewer, topic_id, body, reply_to_id, error=error, status=exc.status,
                                     pending=pending, attach_error=problem)
    return RedirectResponse(path_for(request, "post_link", post_id=post.id), status_code=303)


async def _composer_again(request: Request, viewer, topic_id: int, body: str, reply_to: int | None, *,
                          error: str | None = None, warnings: list | None = None, status: int = 400,
                          pending: list | None = None, attach_error: str | None = None) -> Response:
    """The topic's last page with the reply composer holding the text and the kept files: refused (400) or to
    confirm (200)."""
    row = await topic_queries.topic_row(topic_id)
    last_page = topic_queries.page_count(row["last_number"]) if row else 1
    context = await load_topic_page(viewer, topic_id, last_page)
    context.update(reply_error=error, reply_body=body, reply_to=reply_to, reply_warnings=warnings or [],
                   reply_pending=pending or [], reply_attach_error=attach_error)
    context["seo"] = topic_seo(request, context)
    return render(request, "topic.html", context, status=status if error else 200)


async def watch_topic(request: Request) -> Response:
    viewer = require_viewer(request)
    form = await read_form(request)
    topic_id = request.path_params["topic_id"]
    await set_topic_watch(viewer, topic_id, field(form, "watch") == "1")
    return RedirectResponse(path_for(request, "topic_short", topic_id=topic_id), status_code=303)


async def watch_category(request: Request) -> Response:
    viewer = require_viewer(request)
    form = await read_form(request)
    slug = request.path_params["slug"]
    await set_category_watch(viewer, slug, field(form, "watch") == "1")
    return RedirectResponse(path_for(request, "category", slug=slug), status_code=303)


async def moderate_topic(request: Request) -> Response:
    viewer = require_viewer(request)
    form = await read_form(request)
    topic_id = request.path_params["topic_id"]
    flags = {name: field(form, name) == "1" for name in ("pinned", "pinned_globally", "locked") if name in form}
    title = field(form, "title") or None
    category = field(form, "category") or None
    topic = await topics.update_topic(viewer, topic_id, title=title, category=category, **flags)
    return RedirectResponse(path_for(request, "topic", topic_id=topic.id, slug=topic.slug), status_code=303)


routes = [
    Route("/c/{slug}", category_page, methods=["GET"], name="category"),
    Route("/c/{slug}/new", new_topic, methods=["GET", "POST"], name="new_topic"),
    Route("/c/{slug}/watch", watch_category, methods=["POST"], name="watch_category"),
    Route("/t/{topic_id:int}", topic_redirect, methods=["GET"], name="topic_short"),
    Route("/t/{topic_id:int}/{slug}", topic_page, methods=["GET"], name="topic"),
    Route("/t/{topic_id:int}/reply", reply, methods=["POST"], name="reply"),
    Route("/t/{topic_id:int}/watch", watch_topic, methods=["POST"], name="watch_topic"),
    Route("/t/{topic_id:int}/moderate", moderate_topic, methods=["POST"], name="moderate_topic"),
]
