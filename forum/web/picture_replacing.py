"""Replacing or removing a picture OCR hid, from its held post's card (forum.services.picture_replacing)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from forum.errors import N_, FileProblem
from forum.services.access import access_post_by_id
from forum.services.picture_replacing import access_file_to_replace, replace_picture
from forum.web.common import field, post_url, read_form, render, require_viewer
from forum.web.uploads import problem_text, read_uploads


async def replace_file(request: Request) -> Response:
    viewer = require_viewer(request)
    post_id, file_id = request.path_params["post_id"], request.path_params["file_id"]
    post, file = await access_file_to_replace(viewer, post_id, file_id)
    error, status = None, 200
    if request.method == "POST":
        form = await read_form(request, files=1)
        uploads = [u for u in await read_uploads(form) if u.data or u.filename]
        if field(form, "remove") == "1" or uploads:
            try:
                await replace_picture(viewer, post.id, file["id"], None if field(form, "remove") == "1"
                                      else uploads[0])
            except FileProblem as exc:
                error, status = problem_text(exc), exc.status
            else:
                return RedirectResponse(post_url(request, await access_post_by_id(viewer, post.id)),
                                        status_code=303)
        else:
            error, status = problem_text(FileProblem(N_("Choose the new picture, or remove this one."))), 400
    return render(request, "replace_file.html", {"post": post, "file": file, "error": error}, status=status)


routes = [
    Route("/p/{post_id:int}/files/{file_id:int}/replace", replace_file, methods=["GET", "POST"],
          name="replace_file"),
]
