"""JSON API: consent per purpose, receipts, and checking a receipt."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from forum.api.endpoint import Doc, api_route, check_csrf_header, json_response, read_json, require_viewer, viewer_of
from forum.api.schema import Arr, Bool, Int, Obj, Str
from forum.errors import N_, NotFound
from forum.services import consent, receipts, withdrawal, withdrawal_scope
from forum.services.purposes import PURPOSES, purpose_named
from forum.settings import LOCALES

PURPOSE = Str(enum=tuple(PURPOSES), max_length=32, description="the purpose; `forum` (taking part) when left out")
POLICY = Obj({"version": Str(), "locale": Str(enum=LOCALES), "text": Str(max_length=100_000), "sha256": Str()})
STATUS_VALUES = tuple(s.value for s in consent.ConsentStatus)
STATUS = Obj({"policy": POLICY, "status": Str(enum=STATUS_VALUES, nullable=True), "purpose": PURPOSE,
              "purposes": Arr(Obj({"purpose": PURPOSE, "status": Str(enum=STATUS_VALUES), "employment": Bool(),
                                   "version": Str(nullable=True)}))})
GRANT = Obj({"policy_version": Str(max_length=32), "locale": Str(enum=LOCALES), "username": Str(max_length=64),
             "purpose": PURPOSE}, required=("policy_version",))
WITHDRAWN = Obj({"status": Str(enum=("withdrawn",)), "anonymised_posts": Int(), "anonymised_topics": Int(),
                 "rewritten_posts": Int(), "rewritten_mentions": Int(), "rewritten_quotes": Int(),
                 "rewritten_titles": Int(), "rewritten_revisions": Int(), "removed_revisions": Int(),
                 "removed_likes": Int(), "removed_watches": Int(), "removed_notifications": Int()}, additional=True)
RECEIPTS = Obj({"receipts": Arr(Obj({"id": Str(), "purpose": PURPOSE, "event": Str(enum=("granted", "withdrawn")),
                                     "created_at": Str(), "jws": Str()}))})
VERIFY = Obj({"receipt": Str(max_length=64_000, description="the compact JWS, or the downloaded receipt file")},
             required=("receipt",))
VERIFIED = Obj({"valid": Bool(), "matches_ledger": Bool(), "purpose": Str(nullable=True),
                "event": Str(enum=("granted", "withdrawn"), nullable=True), "created_at": Str(nullable=True),
                "in_force": Bool(nullable=True)})
PURPOSE_PARAM = (("purpose", "query", PURPOSE),)


async def consent_endpoint(request: Request) -> Response:
    viewer = viewer_of(request)
    purpose = purpose_named(request.query_params.get("purpose"))
    if request.method == "DELETE":
        check_csrf_header(request)
        locale = request.app.state.settings.default_locale
        if not purpose.gates_participation:
            event = await consent.withdraw_purpose(require_viewer(request), purpose=purpose.name, channel="api",
                                                   locale=viewer.locale or request.state.locale)
            return json_response({"status": "withdrawn", "purpose": event.purpose})
        counts = await withdrawal.withdraw_consent(require_viewer(request), channel="api", text_locale=locale)
        return json_response({"status": "withdrawn", **counts})
    if request.method == "POST":
        data = await read_json(request, GRANT)
        event = await consent.grant_consent(require_viewer(request), policy_version=data["policy_version"],
                                            locale=data.get("locale", request.state.locale), channel="api",
                                            username=data.get("username"), purpose=data.get("purpose", "forum"))
        answer = {"status": "granted", "purpose": event.purpose, "policy_version": event.policy_version,
                  "sha256": event.text_sha256, "locale": event.locale}
        if purpose_named(event.purpose).gates_participation:  # the handle chosen now: an ordinary word?
            answer["warnings"] = await withdrawal_scope.name_warnings(viewer.id)
        return json_response(answer, 201)
    policy = await consent.current_policy(purpose=purpose.name)
    if policy is None:
        raise NotFound(N_("No forum policy has been published yet."))
    locale = request.query_params.get("locale")
    text = consent.shown(policy, locale if locale in LOCALES else request.state.locale)
    answer = {"policy": {"version": text.version, "locale": text.locale, "text": text.text, "sha256": text.sha256},
              "purpose": purpose.name, "status": None}
    if viewer:
        answer["status"] = (await consent.consent_status(viewer.id, purpose=purpose.name)).value
        answer["purposes"] = [{"purpose": row["purpose"].name, "status": row["status"], "employment": row["employment"],
                               "version": row["decision"]["policy_version"] if row["decision"] else None}
                              for row in await consent.dashboard(viewer, request.state.locale)]
    return json_response(answer)


async def receipts_endpoint(request: Request) -> Response:
    viewer = require_viewer(request)
    return json_response({"receipts": [{**r, "created_at": r["created_at"].isoformat()}
                                       for r in await receipts.receipts_of(viewer.id)]})


async def verify_endpoint(request: Request) -> Response:
    data = await read_json(request, VERIFY)
    return json_response(await receipts.verify(data["receipt"]))


routes = [
    api_route("/api/v1/consent", consent_endpoint, methods=["GET", "POST", "DELETE"], name="api_consent", doc={
        "GET": Doc("The current text of a purpose (default: taking part) in the viewer's language (or ?locale=), "
                   "and the viewer's status for it and for every purpose", response=STATUS, errors=(400, 404),
                   tag="consent", params=(("locale", "query", Str(enum=LOCALES, max_length=8)), *PURPOSE_PARAM)),
        "POST": Doc("Give consent to a purpose's current text (default: taking part)", body=GRANT, status=201,
                    auth=True, errors=(400, 401, 403, 404, 409), response=Obj(additional=True), tag="consent"),
        "DELETE": Doc("Withdraw consent. For taking part (the default) this anonymises the user's posts, removes "
                      "their name from everyone's posts and deletes the forum profile, and answers with counts of "
                      "what changed; ?purpose=mail only stops that processing", response=WITHDRAWN, auth=True,
                      errors=(400, 401, 403, 409), tag="consent", params=PURPOSE_PARAM),
    }),
    api_route("/api/v1/consent/receipts", receipts_endpoint, methods=["GET"], name="api_consent_receipts",
              doc=Doc("The signed receipts of the signed-in member's consent decisions, newest first",
                      response=RECEIPTS, auth=True, errors=(401,), tag="consent")),
    api_route("/api/v1/consent/verify", verify_endpoint, methods=["POST"], name="api_consent_verify",
              doc=Doc("Check a consent receipt: whether this forum signed it and whether it matches the ledger; "
                      "open to anyone holding one", body=VERIFY, response=VERIFIED, errors=(400,), tag="consent")),
]
