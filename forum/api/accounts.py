"""JSON API: accounts and sessions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.api.endpoint import Doc, api_route, json_response, read_json, require_viewer
from forum.api.schema import Arr, Bool, Int, Obj, Str
from forum.models import Profile, User
from forum.security import SESSION_COOKIE, csrf_token
from forum.services import accounts, erasure, oidc, profiles, sessions, verification, withdrawal_scope
from forum.services import export as data_export
from forum.settings import LOCALES
from forum.viewer import SESSION_LIFETIME, Viewer
from forum.web.common import client_address, json_download, set_cookie

USER = Obj({
    "id": Int(),
    "username": Str(nullable=True, description="public forum handle; null after consent withdrawal"),
    "display_name": Str(nullable=True),
    "role": Str(enum=("member", "staff", "moderator", "admin")),
    "locale": Str(nullable=True),
}, required=("id", "username"))
NEW_USER = Obj({"username": Str(min_length=3, max_length=32, description="public forum handle"),
                "email": Str(max_length=254, format="email"),
                "password": Str(max_length=1024)}, required=("username", "email", "password"))
SIGN_IN = Obj({"email": Str(max_length=254), "password": Str(max_length=1024)}, required=("email", "password"))
SESSION = Obj({"user": USER, "csrf_token": Str()}, required=("user", "csrf_token"))
PASSWORD = Obj({"current_password": Str(max_length=1024), "new_password": Str(max_length=1024)},
               required=("current_password", "new_password"))
ME_PATCH = Obj({"locale": Str(enum=LOCALES)})
ERASE = Obj({"password": Str(max_length=1024)}, required=("password",))
PROFILE_PATCH = Obj({"display_name": Str(max_length=64), "bio": Str(max_length=2000), "public_profile": Bool()})


# issue 16: a handle or display name that is an ordinary word of this forum (forum.services.withdrawal_scope)
NAME_WARNINGS = Arr(Obj({"field": Str(enum=("username", "display_name")), "code": Str(enum=("ordinary_word",)),
                         "name": Str(), "unrelated_posts": Int()}),
                    description="names that a withdrawal would leave in others' posts that are not about you")


async def _user_json(user_id: int) -> dict:
    user = await User.get(id=user_id)
    profile = await Profile.filter(user_id=user_id).first()
    return {"id": user.id, "username": profile.username if profile else None,
            "display_name": profile.display_name if profile else None, "role": user.role.value,
            "locale": user.locale}


def _viewer_json(viewer: Viewer) -> dict:
    return {"id": viewer.id, "username": viewer.username, "display_name": viewer.display_name,
            "role": viewer.role.value, "locale": viewer.locale}


async def create_user(request: Request) -> Response:
    """201 with the handle whether or not the address had an account, and `id` null in both cases (an id would
    tell the two apart); the id comes with sign-in, after the address is confirmed."""
    data = await read_json(request, NEW_USER)
    oidc.check_registration_open(request.app.state.settings.oidc)
    done = await verification.register_member(request.app.state.passwords, username=data["username"],
                                              email=data["email"], password=data["password"],
                                              locale=request.state.locale)
    return json_response({"id": None, "username": done.username}, 201)


async def session(request: Request) -> Response:
    if request.method == "GET":
        return json_response({"user": _viewer_json(require_viewer(request))})
    if request.method == "DELETE":
        await read_json(request)
        viewer = require_viewer(request)
        await sessions.end_session(viewer.session_token)
        response = json_response({"signed_out": True})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    data = await read_json(request, SIGN_IN)
    user, token = await accounts.sign_in(request.app.state.passwords, email=data["email"], password=data["password"],
                                         client=client_address(request),
                                         admins_only=oidc.password_sign_in_for_admins_only(
                                             request.app.state.settings.oidc),
                                         replacing=request.state.cookies.get(SESSION_COOKIE))
    response = json_response({"user": await _user_json(user.id),
                              "csrf_token": csrf_token(request.app.state.settings.secret_key, token)})
    set_cookie(request, response, SESSION_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()))
    return response


async def all_sessions(request: Request) -> Response:
    await read_json(request)
    viewer = require_viewer(request)
    count = await sessions.end_all_sessions(viewer.id)
    response = json_response({"ended_sessions": count})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def me(request: Request) -> Response:
    viewer = require_viewer(request)
    if request.method == "DELETE":
        data = await read_json(request, ERASE)
        counts = await erasure.erase_account(request.app.state.passwords, viewer, password=data["password"],
                                             channel="api", text_locale=request.app.state.settings.default_locale)
        response = json_response({"status": "erased", **counts})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
    if request.method == "PATCH":
        data = await read_json(request, ME_PATCH)
        if "locale" in data:
            await accounts.set_locale(viewer.id, data["locale"])
    return json_response(await _user_json(viewer.id))


async def export(request: Request) -> Response:
    chunks = await data_export.export_user(require_viewer(request))
    return json_download(chunks, "forum-export.json")


async def profile(request: Request) -> Response:
    data = await read_json(request, PROFILE_PATCH)
    viewer = require_viewer(request)
    saved = await profiles.update_profile(viewer, **data)
    return json_response(await _user_json(viewer.id) | {"bio": saved.bio, "public_profile": saved.public_profile,
                                                        "warnings": await withdrawal_scope.name_warnings(viewer.id)})


async def password(request: Request) -> Response:
    data = await read_json(request, PASSWORD)
    viewer = require_viewer(request)
    ended = await accounts.change_password(request.app.state.passwords, viewer.id, current=data["current_password"],
                                           new=data["new_password"], keep_session=viewer.session_token)
    return json_response({"changed": True, "ended_other_sessions": ended})


routes = [
    api_route("/api/v1/users", create_user, methods=["POST"], name="api_create_user",
              doc=Doc("Register an account with its forum handle. The answer is the same whether or not the address "
                      "already has an account (its owner is mailed instead), so `id` is always null; a confirmation "
                      "link is mailed, and sign-in waits for it (FORUM_EMAIL_VERIFICATION)", body=NEW_USER,
                      status=201, response=Obj({"id": Int(nullable=True), "username": Str()}), errors=(400, 403, 409))),
    api_route("/api/v1/session", session, methods=["GET", "POST", "DELETE"], name="api_session", doc={
        "GET": Doc("The signed-in user", response=Obj({"user": USER}), auth=True, errors=(401,)),
        "POST": Doc("Sign in by email; sets the session cookie and returns the CSRF token. Repeated failures make "
                    "the account and the client address wait: 429 sign_in_throttled with Retry-After; 403 "
                    "email_unconfirmed before the address is confirmed", body=SIGN_IN, response=SESSION,
                    errors=(400, 401, 403, 429)),
        "DELETE": Doc("Sign out", auth=True, response=Obj({"signed_out": Bool()}), errors=(401, 403)),
    }),
    api_route("/api/v1/sessions", all_sessions, methods=["DELETE"], name="api_all_sessions",
              doc=Doc("Sign out everywhere: ends every session of the user", auth=True,
                      response=Obj({"ended_sessions": Int()}), errors=(401, 403))),
    api_route("/api/v1/me", me, methods=["GET", "PATCH", "DELETE"], name="api_me", doc={
        "DELETE": Doc("Erase the account: anonymises the user's posts like a withdrawal, then deletes the account "
                      "and its sessions; the password confirms it", body=ERASE, auth=True,
                      response=Obj({"status": Str(enum=("erased",))}, additional=True), errors=(400, 401, 403)),
        "GET": Doc("The signed-in user's account", response=USER, auth=True, errors=(401,)),
        "PATCH": Doc("Change account settings (language)", body=ME_PATCH, response=USER, auth=True,
                     errors=(400, 401, 403)),
    }),
    api_route("/api/v1/me/export", export, methods=["GET"], name="api_export",
              doc=Doc("Everything the forum holds about the signed-in user, as one JSON document (streamed)",
                      auth=True, response=Obj(additional=True), errors=(401,))),
    api_route("/api/v1/me/profile", profile, methods=["PATCH"], name="api_profile",
              doc=Doc("Change the public profile (display name, bio, whether search engines may index it); needs "
                      "consent", body=PROFILE_PATCH, auth=True,
                      response=Obj({**USER.properties, "bio": Str(), "public_profile": Bool(),
                                    "warnings": NAME_WARNINGS}, required=USER.required),
                      errors=(400, 401, 403))),
    api_route("/api/v1/me/password", password, methods=["POST"], name="api_password",
              doc=Doc("Change the password; other sessions end", body=PASSWORD, auth=True,
                      response=Obj({"changed": Bool(), "ended_other_sessions": Int()}), errors=(400, 401, 403))),
]
