"""Attached files: served from their own path with the access of their post, and read from the composer's form.

Every file answer is inert whatever its bytes: `X-Content-Type-Options: nosniff` (the middleware's), its own
`Content-Security-Policy: sandbox` (no script, no same origin, should a browser ever render it as a page),
the type the forum sniffed and wrote, and text files as downloads. Only a public picture may be cached long
(its name is a random token, and its bytes never change); everything else is `private, no-store`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from forum.services import attachments

FILE_POLICY = "sandbox; default-src 'none'; img-src 'self'; frame-ancestors 'none'"
PUBLIC_CACHE = "public, max-age=31536000, immutable"


async def attachment_file(request: Request) -> Response:
    row, public = await attachments.access_file(request.state.viewer, request.path_params["token"])
    media_type = row["media_type"] + ("; charset=utf-8" if row["kind"] == attachments.TEXT else "")
    disposition = "inline" if row["kind"] == attachments.IMAGE else "attachment"
    return Response(bytes(row["data"]), media_type=media_type, headers={
        "Content-Security-Policy": FILE_POLICY,
        "Content-Disposition": f'{disposition}; filename="{attachments.zip_name(row)}"',
        "Cache-Control": PUBLIC_CACHE if public and row["kind"] == attachments.IMAGE else "private, no-store",
        "Cross-Origin-Resource-Policy": "same-origin",
    })


routes = [
    Route("/files/{token}", attachment_file, methods=["GET"], name="attachment_file"),
]
