"""JSON API: a forgotten password. Same service as the /password pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.api.endpoint import Doc, api_route, json_response, read_json
from forum.api.schema import Bool, Int, Obj, Str
from forum.services import password_reset

FORGOT = Obj({"email": Str(max_length=254, format="email")}, required=("email",))
RESET = Obj({"token": Str(max_length=128), "new_password": Str(max_length=1024)}, required=("token", "new_password"))


async def forgot(request: Request) -> Response:
    data = await read_json(request, FORGOT)
    await password_reset.request_reset(data["email"], locale=request.state.locale)
    return json_response({"sent": True}, 202)


async def reset(request: Request) -> Response:
    data = await read_json(request, RESET)
    ended = await password_reset.reset_password(request.app.state.passwords, data["token"], data["new_password"])
    return json_response({"reset": True, "ended_sessions": ended})


routes = [
    api_route("/api/v1/password/forgot", forgot, methods=["POST"], name="api_password_forgot",
              doc=Doc("Ask for a password reset link by email. The answer is the same whether or not an account "
                      "uses the address", body=FORGOT, status=202, response=Obj({"sent": Bool()}), errors=(400,),
                      tag="accounts")),
    api_route("/api/v1/password/reset", reset, methods=["POST"], name="api_password_reset",
              doc=Doc("Set a new password with the token from the mail; the token works once, for an hour, and "
                      "every session of the account ends (400 invalid_token when it is unknown, used or expired)",
                      body=RESET, response=Obj({"reset": Bool(), "ended_sessions": Int()}), errors=(400,),
                      tag="accounts")),
]
