"""One place turns errors into answers: JSON under /api, a translated page elsewhere, never a trace."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from forum import i18n
from forum.db.errors import is_transient, is_unstorable_text
from forum.errors import N_, DomainError, NotAuthenticated

log = logging.getLogger("forum")

HTTP_MESSAGES = {
    400: ("bad_request", N_("The request could not be processed.")),
    401: ("not_authenticated", N_("Please sign in first.")),
    403: ("forbidden", N_("You are not allowed to do that.")),
    404: ("not_found", N_("We could not find that page.")),
    405: ("method_not_allowed", N_("That method is not allowed here.")),
    408: ("request_timeout", N_("The request took too long to arrive. Please try again.")),
    413: ("too_large", N_("The request is too large.")),
    429: ("rate_limited", N_("You are doing that too often. Please wait a moment.")),
    503: ("busy", N_("The forum is busy right now. Nothing was saved; please try again in a moment.")),
    500: ("server_error", N_("Something went wrong on our side. It has been logged; please try again.")),
}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(request: Request, status: int, code: str, message: str, fields: dict | None = None,
                   params: dict | None = None) -> Response:
    state = request.scope.get("state", {})
    if "locale" in state:
        i18n.set_locale(state["locale"])
    text = i18n.gettext(message)
    if params:
        text = text % params
    if _wants_json(request):
        body: dict = {"code": code, "message": text}
        if fields:
            body["fields"] = {k: i18n.gettext(v) for k, v in fields.items()}
        return JSONResponse({"error": body}, status_code=status)
    from forum.web.common import render

    if "viewer" not in state:  # the error happened before the viewer was known (or the ORM is down)
        request.state.viewer = None
        request.state.locale = i18n.get_locale()
        request.state.cookies = {}
    try:
        return render(request, "error.html", {"status": status, "message": text,
                                              "fields": {k: i18n.gettext(v) for k, v in (fields or {}).items()}},
                      status=status)
    except Exception:  # the error page itself must never fail
        log.exception("error page failed")
        return Response(text, status_code=status, media_type="text/plain; charset=utf-8")


async def domain_error(request: Request, exc: DomainError) -> Response:
    if isinstance(exc, NotAuthenticated) and not _wants_json(request) and request.method == "GET":
        from forum.web.common import path_for

        return RedirectResponse(path_for(request, "login", {"next": request.url.path}), status_code=303)
    response = error_response(request, exc.status, exc.code, exc.message, exc.fields, exc.params)
    if getattr(exc, "retry_after", None):
        response.headers["retry-after"] = str(exc.retry_after)
    return response


async def http_error(request: Request, exc: HTTPException) -> Response:
    code, message = HTTP_MESSAGES.get(exc.status_code, ("error", N_("The request could not be processed.")))
    response = error_response(request, exc.status_code, code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    if is_unstorable_text(exc):
        return error_response(request, 400, "bad_request", N_("The request contains characters that are not allowed."))
    if is_transient(exc):  # the database stayed busy past every wait: the transaction was rolled back
        log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
        code, message = HTTP_MESSAGES[503]
        response = error_response(request, 503, code, message)
        response.headers["retry-after"] = "1"
        return response
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    code, message = HTTP_MESSAGES[500]
    return error_response(request, 500, code, message)


EXCEPTION_HANDLERS = {DomainError: domain_error, HTTPException: http_error, Exception: server_error}
