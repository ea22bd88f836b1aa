"""`/consent`: the member's consent dashboard (every purpose, its status, the text agreed to, give or withdraw
each on its own), the signed receipts (read, print, download), and `/consent/verify` for anyone holding one."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from forum import markup
from forum.errors import N_, NotFound, ValidationFailed
from forum.services import consent, receipts, withdrawal_scope
from forum.services.consent import ConsentStatus
from forum.services.purposes import PURPOSES, purpose_named
from forum.settings import LOCALES
from forum.web.common import field, path_for, read_form, render, require_viewer, safe_next


async def consent_page(request: Request, error: str | None = None, status_code: int = 200,
                       field_errors: dict | None = None, username: str = "", error_purpose: str = "") -> Response:
    viewer = request.state.viewer
    policy = await consent.current_policy()
    if policy is None:
        raise NotFound(N_("No forum policy has been published yet."))
    text = consent.shown(policy, request.state.locale)
    status = await consent.consent_status(viewer.id) if viewer else None
    purposes = await consent.dashboard(viewer, request.state.locale) if viewer else []
    for row in purposes:
        row["policy_html"] = markup.cook(row["policy"].text) if row["policy"] else ""
    return render(request, "consent.html", {
        "policy": text, "policy_html": markup.cook(text.text), "status": status.value if status else None,
        "purposes": purposes, "receipts": await receipts.receipts_of(viewer.id) if viewer else [],
        "saved": request.query_params.get("saved", ""), "error": error, "error_purpose": error_purpose,
        "field_errors": field_errors or {}, "username": username,
        "name_warnings": await withdrawal_scope.name_warnings(viewer.id) if status == ConsentStatus.GRANTED else [],
        "next": safe_next(request.query_params.get("next")) or ""}, status=status_code)


async def give_consent(request: Request) -> Response:
    viewer = require_viewer(request)
    form = await read_form(request)
    purpose = field(form, "purpose", "forum")
    if purpose not in PURPOSES:
        return await consent_page(request, N_("Not one of the allowed values."), 400)
    if field(form, "agree") != "yes":
        return await consent_page(request, N_("Tick the box if you want to take part.") if purpose == "forum"
                                  else N_("Tick the box to give this consent."), 400, error_purpose=purpose)
    try:
        await consent.grant_consent(viewer, policy_version=field(form, "policy_version"),
                                    locale=field(form, "locale"), channel="page", username=field(form, "username"),
                                    purpose=purpose)
    except ValidationFailed as exc:
        return await consent_page(request, None if exc.fields else exc.message, 400, exc.fields,
                                  field(form, "username"), error_purpose=purpose)
    following = safe_next(field(form, "next"))
    if purpose != "forum" or await withdrawal_scope.name_warnings(viewer.id):
        # the handle chosen now is an ordinary word: the consent page says so (as the API's answer does) before
        # the member goes on
        return RedirectResponse(path_for(request, "consent", {"saved": f"{purpose}-granted", "next": following}),
                                status_code=303)
    return RedirectResponse(following or path_for(request, "home"), status_code=303)


async def consent_route(request: Request) -> Response:
    if request.method == "POST":
        return await give_consent(request)
    return await consent_page(request)


async def withdraw_purpose(request: Request) -> Response:
    """Withdrawing a purpose that only stops processing (mail) is one button, as giving it was. Withdrawing
    taking part anonymises and has its own confirmation page (`/settings/withdraw`)."""
    viewer = require_viewer(request)
    await read_form(request)
    purpose = purpose_named(request.path_params["purpose"])
    if purpose.gates_participation:
        return RedirectResponse(path_for(request, "withdraw_consent"), status_code=303)
    await consent.withdraw_purpose(viewer, purpose=purpose.name, channel="page",
                                   locale=viewer.locale or request.state.locale)
    return RedirectResponse(path_for(request, "consent", {"saved": f"{purpose.name}-withdrawn"}), status_code=303)


async def policy_text(request: Request) -> Response:
    """A purpose's text exactly as published, in either language: what a receipt's notice points to."""
    purpose = request.path_params["purpose"]
    policy = await consent.policy_version(purpose, request.path_params["version"]) if purpose in PURPOSES else None
    if policy is None:
        raise NotFound()
    locale = request.query_params.get("locale")
    text = consent.shown(policy, locale if locale in LOCALES else request.state.locale)
    return render(request, "consent_text.html", {"purpose": PURPOSES[purpose], "text": text,
                                                 "text_html": markup.cook(text.text)})


async def _own_receipt(request: Request) -> dict:
    viewer = require_viewer(request)
    receipt = await receipts.receipt_of(viewer.id, request.path_params["receipt_id"])
    if receipt is None:
        raise NotFound()
    return receipt


async def receipt_page(request: Request) -> Response:
    receipt = await _own_receipt(request)
    document = receipts.payload_of(receipt["jws"])
    record = document["dpv:hasRecordOfActivity"]
    return render(request, "receipt.html", {
        "receipt": receipt, "record": record, "kantara": document["kantaraReceipt"],
        "purpose": PURPOSES.get(receipt["purpose"]), "fingerprint": receipts.fingerprint(receipt["jws"])})


async def receipt_download(request: Request) -> Response:
    receipt = await _own_receipt(request)
    body = json.dumps(receipts.download(receipt), ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="consent-receipt-{receipt["id"]}.json"',
        "Cache-Control": "no-store"})


async def verify_page(request: Request) -> Response:
    result, pasted = None, ""
    if request.method == "POST":
        form = await read_form(request)
        pasted = field(form, "receipt")
        result = await receipts.verify(pasted)
    return render(request, "verify.html", {"result": result, "pasted": pasted},
                  status=400 if result is not None and not pasted.strip() else 200)


async def jwks(request: Request) -> Response:
    return JSONResponse(await receipts.jwks(), media_type="application/jwk-set+json",
                        headers={"Cache-Control": "public, max-age=300"})


routes = [
    Route("/consent", consent_route, methods=["GET", "POST"], name="consent"),
    Route("/consent/verify", verify_page, methods=["GET", "POST"], name="consent_verify"),
    Route("/consent/{purpose}/withdraw", withdraw_purpose, methods=["POST"], name="consent_withdraw_purpose"),
    Route("/consent/policies/{purpose}/{version}", policy_text, methods=["GET"], name="consent_policy"),
    Route("/consent/receipts/{receipt_id}", receipt_page, methods=["GET"], name="consent_receipt"),
    Route("/consent/receipts/{receipt_id}/download", receipt_download, methods=["GET"],
          name="consent_receipt_download"),
    Route("/.well-known/jwks.json", jwks, methods=["GET"], name="jwks"),
]
