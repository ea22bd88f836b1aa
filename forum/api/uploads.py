"""JSON API: uploading a file for a post being written, then attaching it by id (forum.services.pending_uploads).

`POST /api/v1/uploads` takes one multipart file (and its alt text) through the composer's pipeline and keeps it
for its uploader; `POST /api/v1/topics` and `POST /api/v1/topics/{id}/posts` attach kept uploads with
`attachments: [id, ...]`. Each upload is attached once, by its uploader, before it expires.
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from forum.api.endpoint import Doc, api_route, check_csrf_header, json_response, read_json, require_viewer
from forum.api.schema import Int, Obj, Str
from forum.errors import N_, BadRequest, NotFound, ValidationFailed
from forum.services import attachments, pending_uploads
from forum.services.text import text_is_clean
from forum.web.common import path_for

UPLOAD_FORM = Obj({"file": Str(format="binary", description="a PNG, JPEG, WebP or GIF picture, or a .txt, .log or "
                                                            ".csv file (its name tells a text file's kind)"),
                   "alt": Str(max_length=attachments.MAX_ALT, description="what the picture shows (needed for "
                                                                          "pictures)")}, required=("file",))
UPLOADED = Obj({"id": Int(), "url": Str(), "markdown": Str(description="what a composer inserts in the text"),
                "kind": Str(enum=("image", "text")), "alt": Str(), "expires_at": Str(format="date-time")},
               additional=True)


async def read_upload(request: Request) -> attachments.Upload:
    """The one file of a multipart body, checked like a page's form (CSRF header, type, size, clean text)."""
    check_csrf_header(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        raise BadRequest(N_("Send the file as multipart/form-data."), code="unsupported_media_type")
    try:
        form = await request.form(max_files=1, max_fields=4)
    except HTTPException:
        raise
    except Exception:
        raise BadRequest(N_("The form could not be read."), code="invalid_form") from None
    upload, alt = form.get("file"), form.get("alt") or ""
    if not isinstance(upload, UploadFile):
        raise BadRequest(N_("Send the file in the field `file`."), code="file_missing")
    if not isinstance(alt, str) or not text_is_clean(alt):
        raise BadRequest(N_("The form contains characters that are not allowed."), code="invalid_characters")
    try:
        UPLOAD_FORM.properties["alt"].check(alt)  # as documented: not cut short silently
    except ValueError as exc:
        raise ValidationFailed(fields={"alt": str(exc)}) from None
    return attachments.Upload(await upload.read(), upload.filename or "", alt)


def _uploaded_json(request: Request, row: dict) -> dict:
    url = path_for(request, "attachment_file", token=row["token"])
    label = row["alt"] or "file"
    return {"id": row["id"], "url": url, "markdown": f"![{label}]({url})" if row["kind"] == attachments.IMAGE
            else f"[{label}]({url})", "kind": row["kind"], "alt": row["alt"], "size": row["size"],
            "expires_at": row["expires_at"].isoformat()}


async def upload(request: Request) -> Response:
    viewer = require_viewer(request)
    [row] = await pending_uploads.keep(viewer, [await read_upload(request)])
    return json_response(_uploaded_json(request, row), 201)


async def remove_upload(request: Request) -> Response:
    viewer = require_viewer(request)
    await read_json(request)
    if not await pending_uploads.remove(viewer, [request.path_params["upload_id"]]):
        raise NotFound()  # not one of the viewer's, whether it exists or not
    return json_response({"removed": 1})


routes = [
    api_route("/api/v1/uploads", upload, methods=["POST"], name="api_uploads",
              doc=Doc("Upload a file for a post being written: sniffed, drawn anew without metadata, kept for you "
                      "for 24 hours; attach it with `attachments: [id]` when starting a topic or replying",
                      body=UPLOAD_FORM, media="multipart/form-data", response=UPLOADED, status=201, auth=True,
                      errors=(400, 401, 403, 413, 415, 429))),
    api_route("/api/v1/uploads/{upload_id:int}", remove_upload, methods=["DELETE"], name="api_upload",
              doc=Doc("Remove an upload you have not attached", auth=True, errors=(401, 404),
                      response=Obj({"removed": Int()}))),
]
