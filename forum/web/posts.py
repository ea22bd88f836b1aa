"""Pages acting on one post: permalink, edit, delete, like, accept, history."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from forum.errors import ValidationFailed
from forum.params import optional_id
from forum.services import answers, attachments, likes, posts
from forum.services.access import access_post_by_id
from forum.web.common import field, path_for, post_url, read_form, render, require_viewer
from forum.web.drafts import warnings_to_confirm


async def permalink(request: Request) -> Response:
    post = await access_post_by_id(request.state.viewer, request.path_params["post_id"])
    return RedirectResponse(post_url(request, post), status_code=303)


async def edit(request: Request) -> Response:
    viewer = require_viewer(request)
    post = await posts.access_post_to_edit(viewer, request.path_params["post_id"])
    body, errors = post.source, {}
    files = (await attachments.of_posts([post.id])).get(post.id, [])
    if request.method == "POST":
        form = await read_form(request)
        body = field(form, "body")
        remove = [i for i in (optional_id(v) for v in form.getlist("remove_file")) if i is not None]
        warnings = await warnings_to_confirm(viewer.id, form, body)
        if warnings:
            return render(request, "edit_post.html", {"post": post, "body": body, "errors": {},
                                                      "warnings": warnings, "files": files})
        try:
            post = await posts.edit_post(viewer, post.id, body=body, remove_files=remove)
        except ValidationFailed as exc:
            errors = exc.fields or {"body": exc.message}
        else:
            post = await access_post_by_id(viewer, post.id)
            return RedirectResponse(post_url(request, post), status_code=303)
    return render(request, "edit_post.html", {"post": post, "body": body, "errors": errors, "files": files},
                  status=400 if errors else 200)


async def delete(request: Request) -> Response:
    viewer = require_viewer(request)
    await read_form(request)
    post = await posts.delete_post(viewer, request.path_params["post_id"])
    post = await access_post_by_id(viewer, post.id) if post.number > 1 else post
    if post.number == 1:
        return RedirectResponse(path_for(request, "home"), status_code=303)
    return RedirectResponse(post_url(request, post), status_code=303)


async def like(request: Request) -> Response:
    viewer = require_viewer(request)
    form = await read_form(request)
    post_id = request.path_params["post_id"]
    if field(form, "like", "1") == "1":
        await likes.like_post(viewer, post_id)
    else:
        await likes.unlike_post(viewer, post_id)
    return RedirectResponse(post_url(request, await access_post_by_id(viewer, post_id)), status_code=303)


async def accept(request: Request) -> Response:
    viewer = require_viewer(request)
    form = await read_form(request)
    post_id = request.path_params["post_id"]
    if field(form, "accept", "1") == "1":
        await answers.accept_answer(viewer, post_id)
    else:
        await answers.unaccept_answer(viewer, post_id)
    return RedirectResponse(post_url(request, await access_post_by_id(viewer, post_id)), status_code=303)


async def history(request: Request) -> Response:
    viewer = require_viewer(request)
    post = await access_post_by_id(viewer, request.path_params["post_id"])
    revisions = await posts.revisions(viewer, post.id)
    return render(request, "history.html", {"post": post, "revisions": revisions,
                                            "back": post_url(request, post)})


routes = [
    Route("/p/{post_id:int}", permalink, methods=["GET"], name="post_link"),
    Route("/p/{post_id:int}/edit", edit, methods=["GET", "POST"], name="edit_post"),
    Route("/p/{post_id:int}/delete", delete, methods=["POST"], name="delete_post"),
    Route("/p/{post_id:int}/like", like, methods=["POST"], name="like_post"),
    Route("/p/{post_id:int}/accept", accept, methods=["POST"], name="accept_post"),
    Route("/p/{post_id:int}/history", history, methods=["GET"], name="post_history"),
]
