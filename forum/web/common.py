"""What every HTML handler shares: the viewer, CSRF-checked forms, and rendering with the base context."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, NoMatchFound, Route

from forum.errors import N_, BadRequest, CsrfFailed, NotAuthenticated
from forum.security import ANON_COOKIE, csrf_matches, csrf_token, new_token
from forum.services.findable import NOINDEX
from forum.services.text import text_is_clean
from forum.services.topic_queries import POSTS_PER_PAGE
from forum.viewer import Viewer
from forum.web.member_pages import member_page

MAX_FORM_FIELDS = 50


def viewer_of(request: Request) -> Viewer | None:
    return request.state.viewer


def require_viewer(request: Request) -> Viewer:
    viewer = request.state.viewer
    if viewer is None:
        raise NotAuthenticated()
    return viewer


def _binding(request: Request) -> str | None:
    viewer = request.state.viewer
    if viewer is not None:
        return viewer.session_token
    return request.state.cookies.get(ANON_COOKIE) or getattr(request.state, "new_anon", None)


def form_token(request: Request) -> str:
    """The CSRF token for forms on this page; before sign-in it is bound to an anonymous cookie set here."""
    binding = _binding(request)
    if binding is None:
        binding = request.state.new_anon = new_token()
    return csrf_token(request.app.state.settings.secret_key, binding)


class LazyFormToken:
    """`csrf_token` in templates: computed (and, before sign-in, the anonymous cookie set) only when a template
    prints it, so a page without a form gives a visitor no cookie (ekomloven § 3-15) and can be kept by caches."""

    __slots__ = ("request", "_value")

    def __init__(self, request: Request) -> None:
        self.request = request
        self._value: str | None = None

    def __str__(self) -> str:
        if self._value is None:
            self._value = form_token(self.request)
        return self._value

    __html__ = __str__  # a base64url token needs no escaping

    def __bool__(self) -> bool:
        return True


def same_origin(request: Request) -> bool:
    """Fetch metadata and Origin, the CSRF defence for the one form a visitor sends without a token (the
    language switch on every page, which a cached page cannot carry a per-visitor token for): a browser marks a
    cross-site POST as such, so only those are refused."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin.rstrip("/") == f"{request.url.scheme}://{request.url.netloc}"


async def read_form(request: Request, *, visitor_by_origin: bool = False, files: int = 0) -> FormData:
    """The only way page handlers read a posted form: CSRF, encoding and size are checked here.

    `visitor_by_origin`: a signed-out visitor's form without a token is accepted when the browser says it came
    from this site (see `same_origin`); with a token, or signed in, the token is checked as everywhere."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise BadRequest(N_("The form was sent in an unexpected format."), code="unsupported_media_type")
    try:
        form = await request.form(max_files=files, max_fields=MAX_FORM_FIELDS)
    except HTTPException:  # too large (413) or too slow (408): answered as such
        raise
    except Exception:  # malformed multipart, too many fields, undecodable bytes
        raise BadRequest(N_("The form could not be read."), code="invalid_form") from None
    submitted = _text(form.get("csrf_token"))
    if visitor_by_origin and request.state.viewer is None and not submitted:
        if not same_origin(request):
            raise CsrfFailed()
    elif not csrf_matches(request.app.state.settings.secret_key, _binding(request), submitted):
        raise CsrfFailed()
    for key, value in form.multi_items():
        if files and key == "attachment" and isinstance(value, UploadFile):
            continue  # read by forum.web.files.read_uploads
        if not isinstance(value, str) or not text_is_clean(value):
            raise BadRequest(N_("The form contains characters that are not allowed."), code="invalid_characters")
    return form


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def field(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    return value if isinstance(value, str) else default


def url_path(app, name: str, **params) -> str:
    """`app.url_path_for`, without trying every route in turn. Starlette's router raises and catches NoMatchFound
    for each route before the one named, which made building links the largest single cost of rendering a topic
    page (about 100 links on a signed-in page; the benchmark measured 44 % of the render). The first route of each
    name is looked up once; anything it cannot build falls back to the router, so the result is the same."""
    index = getattr(app, "_routes_by_name", None)
    if index is None:
        index = {}
        for route in app.routes:
            if isinstance(route, Route | Mount) and route.name:  # a Mount by its own name: the static files
                index.setdefault(route.name, route)
        app._routes_by_name = index
    key = (name, *params.items())
    built = app.__dict__.setdefault("_built_paths", {})
    path = built.get(key)
    if path is not None:
        return path
    path = _build(app, index.get(name), name, params)
    if len(built) >= BUILT_PATHS_KEPT:  # a bounded memo: the same ~100 links of a hot page cost a dict lookup
        built.clear()
    built[key] = path
    return path


BUILT_PATHS_KEPT = 50_000


def _build(app, route, name: str, params: dict) -> str:
    if route is not None:
        try:
            return str(route.url_path_for(name, **params))
        except NoMatchFound:
            pass
    return str(app.url_path_for(name, **params))


def path_for(request: Request, name: str, query: dict | None = None, **params) -> str:
    path = url_path(request.app, name, **params)
    if query:
        clean = {k: v for k, v in query.items() if v not in (None, "")}
        if clean:
            path += "?" + urlencode(clean)
    return path


def post_url(request: Request, post) -> str:
    """Where a post is shown: its topic's page that holds it, at its anchor (`post.topic` loaded)."""
    page = (post.number - 1) // POSTS_PER_PAGE + 1
    return path_for(request, "topic", {"page": page} if page > 1 else None, topic_id=post.topic_id,
                    slug=post.topic.slug) + f"#post-{post.number}"


def redirect(request: Request, name: str, **params) -> RedirectResponse:
    return RedirectResponse(path_for(request, name, **params), status_code=303)


def safe_next(value: str | None) -> str | None:
    """Only same-site relative paths are followed after sign-in."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value and len(value) < 500:
        return value
    return None


def render(request: Request, template: str, context: dict | None = None, status: int = 200) -> Response:
    viewer = request.state.viewer
    base = {
        "viewer": viewer,
        "locale": request.state.locale,
        "csrf_token": LazyFormToken(request),
        "path_for": lambda name, query=None, **p: path_for(request, name, query, **p),
        "current_path": request.url.path,
        "current_url": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    base.update(context or {})
    if viewer is not None:
        response = member_page(request, template, base, status)
        response.headers["cache-control"] = "private, no-store"  # personal: no cache may keep it
    else:
        response = request.app.state.templates.TemplateResponse(request, template, base, status_code=status)
    new_anon = getattr(request.state, "new_anon", None)
    if new_anon:
        set_cookie(request, response, ANON_COOKIE, new_anon, max_age=60 * 60 * 24 * 30)
    return response


def client_address(request: Request) -> str | None:
    """The client's address (behind a proxy, uvicorn's proxy_headers has already put the forwarded one here)."""
    return request.client.host if request.client else None


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=request.app.state.settings.secure_cookies)


def json_download(chunks, filename: str) -> StreamingResponse:
    """A streamed JSON document the browser saves as a file, never cached (it holds personal data)."""
    return StreamingResponse(chunks, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def noindex_unless(indexable: bool, response: Response) -> Response:
    """The header twin of a page's meta robots (forum.services.findable): also read before the body."""
    if not indexable:
        response.headers["x-robots-tag"] = NOINDEX
    return response
