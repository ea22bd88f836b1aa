"""JSON API: the forum participation consent."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.api.endpoint import Doc, api_route, check_csrf_header, json_response, read_json, require_viewer, viewer_of
from forum.api.schema import Int, Obj, Str
from forum.errors import N_, NotFound
from forum.services import consent, withdrawal
from forum.settings import LOCALES

POLICY = Obj({"version": Str(), "locale": Str(enum=LOCALES), "text": Str(max_length=100_000), "sha256": Str()})
STATUS = Obj({"policy": POLICY, "status": Str(enum=tuple(s.value for s in consent.ConsentStatus), nullable=True)})
GRANT = Obj({"policy_version": Str(max_length=32), "locale": Str(enum=LOCALES), "username": Str(max_length=64)},
            required=("policy_version",))
WITHDRAWN = Obj({"status": Str(enum=("withdrawn",)), "anonymised_posts": Int(), "anonymised_topics": Int(),
                 "rewritten_posts": Int(), "rewritten_mentions": Int(), "rewritten_quotes": Int(),
                 "rewritten_titles": Int(), "rewritten_revisions": Int(), "removed_revisions": Int(),
                 "removed_likes": Int(), "removed_watches": Int(), "removed_notifications": Int()}, additional=True)


async def consent_endpoint(request: Request) -> Response:
    viewer = viewer_of(request)
    if request.method == "DELETE":
        check_csrf_header(request)
        counts = await withdrawal.withdraw_consent(require_viewer(request), channel="api",
                                                   text_locale=request.app.state.settings.default_locale)
        return json_response({"status": "withdrawn", **counts})
    if request.method == "POST":
        data = await read_json(request, GRANT)
        event = await consent.grant_consent(require_viewer(request), policy_version=data["policy_version"],
                                            locale=data.get("locale", request.state.locale), channel="api",
                                            username=data.get("username"))
        return json_response({"status": "granted", "policy_version": event.policy_version,
                              "sha256": event.text_sha256, "locale": event.locale}, 201)
    policy = await consent.current_policy()
    if policy is None:
        raise NotFound(N_("No forum policy has been published yet."))
    locale = request.query_params.get("locale")
    text = consent.shown(policy, locale if locale in LOCALES else request.state.locale)
    status = (await consent.consent_status(viewer.id)).value if viewer else None
    return json_response({"policy": {"version": text.version, "locale": text.locale, "text": text.text,
                                     "sha256": text.sha256}, "status": status})


routes = [
    api_route("/api/v1/consent", consent_endpoint, methods=["GET", "POST", "DELETE"], name="api_consent", doc={
        "GET": Doc("The current forum policy in the viewer's language (or ?locale=) and their consent status",
                   response=STATUS, errors=(404,), tag="consent", params=(("locale", "query", Str(enum=LOCALES)),)),
        "POST": Doc("Give consent to the current policy version", body=GRANT, status=201, auth=True,
                    errors=(400, 401, 403, 404), response=Obj(additional=True), tag="consent"),
        "DELETE": Doc("Withdraw consent: anonymises the user's posts, removes their name from everyone's posts, "
                      "deletes the forum profile; answers with counts of what changed", response=WITHDRAWN,
                      auth=True, errors=(401, 403, 409), tag="consent"),
    }),
]
