"""Consent per purpose with signed receipts (issue 24): each purpose on its own, a receipt for every decision that
validates against the Kantara v1.1 schema and expands as DPV JSON-LD, verified with an independent JOSE library
(PyJWT) against the published JWKS, `/consent/verify` for anyone, key rotation, and staff on the employment basis.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import jsonschema
import jwt
import pytest
from pyld import jsonld

from forum import db
from forum.models import ConsentEvent, ConsentReceipt, Role
from forum.services import receipts
from tests.conftest import migrate_in_a_process, new_topic, unique

KANTARA = json.loads((Path(__file__).parent / "schemas" / "kantara-consent-receipt-v1.1.schema.json").read_text())


async def _policy(client, purpose: str = "forum") -> dict:
    return (await client.get(f"/api/v1/consent?purpose={purpose}")).json()["policy"]


async def _grant(client, purpose: str) -> None:
    policy = await _policy(client, purpose)
    response = await client.api("POST", "/api/v1/consent", {"policy_version": policy["version"], "purpose": purpose})
    assert response.status_code == 201, response.text


async def _receipts(client) -> list[dict]:
    response = await client.get("/api/v1/consent/receipts")
    assert response.status_code == 200, response.text
    return response.json()["receipts"]


async def _verify(client, receipt: str) -> dict:
    response = await client.api("POST", "/api/v1/consent/verify", {"receipt": receipt})
    assert response.status_code == 200, response.text
    return response.json()


def _payload(token: str) -> dict:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _statuses(client_json: dict) -> dict:
    return {row["purpose"]: row["status"] for row in client_json["purposes"]}


async def test_each_purpose_is_given_and_withdrawn_on_its_own(participant, category):
    state = (await participant.get("/api/v1/consent")).json()
    assert _statuses(state) == {"forum": "granted", "mail": "none"}
    await _grant(participant, "mail")
    assert _statuses((await participant.get("/api/v1/consent")).json()) == {"forum": "granted", "mail": "granted"}

    withdrawn = await participant.api("DELETE", "/api/v1/consent?purpose=mail")
    assert withdrawn.status_code == 200 and withdrawn.json() == {"status": "withdrawn", "purpose": "mail"}
    state = (await participant.get("/api/v1/consent")).json()
    assert _statuses(state) == {"forum": "granted", "mail": "withdrawn"}
    await new_topic(participant, category.slug)  # still takes part: withdrawing mail touched nothing else
    again = await participant.api("DELETE", "/api/v1/consent?purpose=mail")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_consented"

    subject_events = await db.fetch_all(
        "SELECT e.purpose, e.action FROM consent_event e JOIN consent_subject s ON s.id = e.subject_id "
        "WHERE s.user_id = ? ORDER BY e.id", [participant.user["id"]])
    assert [(r["purpose"], r["action"]) for r in subject_events] == [
        ("forum", "granted"), ("mail", "granted"), ("mail", "withdrawn")]


async def test_the_dashboard_gives_and_withdraws_each_purpose_with_its_own_button(participant):
    page = await participant.get("/consent")
    assert page.status_code == 200
    assert 'id="purpose-forum"' in page.text and 'id="purpose-mail"' in page.text
    assert 'data-status="granted"' in page.text and 'data-status="none"' in page.text
    token = await participant.form_token("/consent")
    mail = await _policy(participant, "mail")
    unticked = await participant.post("/consent", data={"csrf_token": token, "purpose": "mail",
                                                         "policy_version": mail["version"], "locale": "nb"})
    assert unticked.status_code == 400 and 'id="agree-mail-error"' in unticked.text
    given = await participant.post("/consent", data={"csrf_token": token, "purpose": "mail", "agree": "yes",
                                                      "policy_version": mail["version"], "locale": "nb"})
    assert given.status_code == 303 and given.headers["location"] == "/consent?saved=mail-granted"
    page = await participant.get("/consent?saved=mail-granted")
    assert page.text.count('data-status="granted"') == 2
    assert "/consent/policies/mail/" in page.text  # the text as it was shown, one link away
    withdrawn = await participant.post("/consent/mail/withdraw", data={"csrf_token": token})
    assert withdrawn.status_code == 303
    assert _statuses((await participant.get("/api/v1/consent")).json())["mail"] == "withdrawn"
    # the forum purpose's withdraw button leads to the confirmation that explains the anonymisation
    forum = await participant.post("/consent/forum/withdraw", data={"csrf_token": token})
    assert forum.status_code == 303 and forum.headers["location"] == "/settings/withdraw"
    assert _statuses((await participant.get("/api/v1/consent")).json())["forum"] == "granted"


async def test_every_decision_gets_a_signed_receipt_valid_against_kantara_and_dpv(participant, anon):
    await _grant(participant, "mail")
    assert (await participant.api("DELETE", "/api/v1/consent?purpose=mail")).status_code == 200
    listed = await _receipts(participant)
    assert [(r["purpose"], r["event"]) for r in listed][::-1] == [
        ("forum", "granted"), ("mail", "granted"), ("mail", "withdrawn")]
    keys = (await anon.get("/.well-known/jwks.json")).json()
    jwks = jwt.PyJWKSet.from_dict(keys)
    pseudonyms = set()
    for receipt in listed:
        header = jwt.get_unverified_header(receipt["jws"])
        assert header["alg"] == "ES256"
        key = next(k for k in jwks.keys if k.key_id == header["kid"])
        document = json.loads(jwt.api_jws.decode_complete(receipt["jws"], key.key, algorithms=["ES256"])["payload"])
        jsonschema.validate(document["kantaraReceipt"], KANTARA, format_checker=jsonschema.FormatChecker())
        # JSON-LD: every term expands to an IRI of the vocabularies (nothing dropped), and compacting it back with
        # the same context gives the receipt again
        expanded = jsonld.expand(document)
        assert expanded[0]["@type"] == ["https://w3id.org/dpv#ConsentReceipt"]
        assert jsonld.compact(expanded, {"@context": document["@context"]}) == document
        record = document["dpv:hasRecordOfActivity"]
        assert document["dct:conformsTo"] == "https://w3id.org/dpv/schema/dpv-27560#receipt"
        assert record["@type"] == "dpv:ConsentRecord" and record["dpv:hasLegalBasis"] == "eu-gdpr:A6-1-a"
        assert record["dpv:hasJurisdiction"] == "loc:NO" and record["dpv:hasApplicableLaw"] == "eu-gdpr:GDPR"
        assert record["dpv:hasProcess"]["dpv:hasPurpose"]["dct:identifier"] == receipt["purpose"]
        assert record["dpv:hasProcess"]["dpv:hasPersonalData"]
        notice = record["dpv:hasNotice"]
        assert len(notice["schema:sha256"]) == 64 and notice["dct:language"] in ("nb", "en")
        assert record["dpv:hasConsentStatus"]["dpv:hasIndicationMethod"] == "JSON API request of the member"
        assert record["dpv:hasConsentControl"]["dpv:isExercisedAt"].endswith("/consent")
        withdrawn = record["dpv:hasConsentStatus"]["@type"] == "dpv:ConsentWithdrawn"
        assert withdrawn == (receipt["event"] == "withdrawn")
        assert document["dpv:hasIdentifier"] == receipt["id"] == document["kantaraReceipt"]["consentReceiptID"]
        pseudonyms.add(record["dpv:hasDataSubject"]["dpv:hasIdentifier"])
        # pseudonymous: neither the email, the handle nor the account id is in the receipt
        text = json.dumps(document)
        assert participant.user["email"] not in text and participant.user["username"] not in text
        assert f'"{participant.user["id"]}"' not in text
    assert len(pseudonyms) == 1
    ledger = await ConsentEvent.filter(id__in=[r.event_id for r in await ConsentReceipt.filter(
        id__in=[r["id"] for r in listed])]).values("text_sha256")
    assert {row["text_sha256"] for row in ledger} >= {
        _payload(r["jws"])["dpv:hasRecordOfActivity"]["dpv:hasNotice"]["schema:sha256"] for r in listed}


async def test_verify_tells_genuine_from_tampered_foreign_and_withdrawn_receipts(participant, anon):
    await _grant(participant, "mail")
    grant = next(r for r in await _receipts(participant) if r["purpose"] == "mail")
    assert await _verify(anon, grant["jws"]) == {"valid": True, "matches_ledger": True, "purpose": "mail",
                                                  "event": "granted", "created_at": grant["created_at"][:19] + "Z",
                                                  "in_force": True}
    # the downloaded file verifies as well as the bare JWS
    download = await participant.get(f"/consent/receipts/{grant['id']}/download")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    assert (await _verify(anon, download.text))["matches_ledger"] is True

    header, body, signature = grant["jws"].split(".")
    changed = _payload(grant["jws"])
    changed["dpv:hasRecordOfActivity"]["dpv:hasProcess"]["dpv:hasPurpose"]["dct:identifier"] = "forum"
    forged_body = base64.urlsafe_b64encode(json.dumps(changed).encode()).rstrip(b"=").decode()
    assert (await _verify(anon, f"{header}.{forged_body}.{signature}"))["valid"] is False

    from joserfc import jws as joserfc_jws
    from joserfc.jwk import ECKey

    foreign = ECKey.generate_key("P-256")  # another forum's key, claiming our key id
    kid = jwt.get_unverified_header(grant["jws"])["kid"]
    other = joserfc_jws.serialize_compact({"alg": "ES256", "kid": kid}, json.dumps(_payload(grant["jws"])), foreign,
                                          algorithms=["ES256"])
    assert await _verify(anon, other) == {"valid": False, "matches_ledger": False, "purpose": None, "event": None,
                                           "created_at": None, "in_force": None}
    unknown = joserfc_jws.serialize_compact({"alg": "ES256", "kid": "someone-else"}, "{}", foreign,
                                            algorithms=["ES256"])
    assert (await _verify(anon, unknown))["valid"] is False
    for garbage in ("", "not a receipt", "a.b.c", "{}", '{"jws": 7}', "é.☃.²"):
        assert (await _verify(anon, garbage))["valid"] is False

    assert (await participant.api("DELETE", "/api/v1/consent?purpose=mail")).status_code == 200
    assert await _verify(anon, grant["jws"]) == {**(await _verify(anon, grant["jws"])), "valid": True,
                                                  "matches_ledger": True, "in_force": False}
    withdrawal = next(r for r in await _receipts(participant) if r["event"] == "withdrawn")
    result = await _verify(anon, withdrawal["jws"])
    assert (result["valid"], result["matches_ledger"], result["event"]) == (True, True, "withdrawn")

    # the page, for anyone without an account
    token = await anon.form_token("/consent/verify")
    page = await anon.post("/consent/verify", data={"csrf_token": token, "receipt": grant["jws"]})
    assert page.status_code == 200 and 'data-valid="yes" data-ledger="yes"' in page.text
    page = await anon.post("/consent/verify", data={"csrf_token": token, "receipt": other})
    assert 'data-valid="no"' in page.text


async def test_a_rotated_key_stays_published_and_old_receipts_still_verify(participant, anon):
    old = (await _receipts(participant))[0]
    old_kid = jwt.get_unverified_header(old["jws"])["kid"]
    new_kid = await receipts.rotate_key()
    await _grant(participant, "mail")
    new = next(r for r in await _receipts(participant) if r["purpose"] == "mail")
    assert jwt.get_unverified_header(new["jws"])["kid"] == new_kid != old_kid
    published = {k["kid"] for k in (await anon.get("/.well-known/jwks.json")).json()["keys"]}
    assert {old_kid, new_kid} <= published
    assert all(k.get("d") is None for k in (await anon.get("/.well-known/jwks.json")).json()["keys"])
    for receipt in (old, new):
        assert (await _verify(anon, receipt["jws"]))["matches_ledger"] is True
    stored = await db.fetch_one("SELECT private_jwk FROM receipt_key WHERE kid = ?", [new_kid])
    assert '"d"' not in stored["private_jwk"]  # the private half is sealed, not stored as plain JSON


async def test_receipts_are_the_members_own(participant, make_user, anon):
    receipt = (await _receipts(participant))[0]
    other = await make_user()
    for path in (f"/consent/receipts/{receipt['id']}", f"/consent/receipts/{receipt['id']}/download"):
        assert (await other.get(path)).status_code == 404
        assert (await anon.get(path)).status_code in (303, 401)
        assert (await participant.get(path)).status_code == 200
    page = await participant.get(f"/consent/receipts/{receipt['id']}")
    assert receipt["id"] in page.text
    assert "@media print" in (await participant.get("/static/forum.css")).text  # a printable receipt
    assert (await anon.get("/api/v1/consent/receipts")).status_code == 401


async def test_the_data_export_holds_the_receipts(participant):
    await _grant(participant, "mail")
    export = (await participant.get("/api/v1/me/export")).json()
    assert export["consent"]["purposes"] == {"forum": "granted", "mail": "granted"}
    assert [r["purpose"] for r in export["consent"]["receipts"]] == ["mail", "forum"]
    assert all(r["jws"].count(".") == 2 and r["receipt"]["@type"] == "dpv:ConsentReceipt"
               for r in export["consent"]["receipts"])


async def test_staff_take_part_on_the_employment_basis_and_everyone_else_consents(staff, member, admin, category):
    await new_topic(staff, category.slug)  # no consent asked of staff
    state = (await staff.get("/api/v1/consent")).json()
    forum = next(p for p in state["purposes"] if p["purpose"] == "forum")
    assert forum["employment"] is True and state["status"] == "none"
    refused = await staff.api("POST", "/api/v1/consent", {"policy_version": (await _policy(staff))["version"]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "employment_basis"
    assert 'id="employment-basis"' in (await staff.get("/consent")).text
    await _grant(staff, "mail")  # other purposes are consented to like everyone else's

    blocked = await member.api("POST", "/api/v1/topics", {"category": category.slug, "title": unique("Emne "),
                                                          "body": "Hei", "kind": "question"})
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "consent_required"

    # an admin makes the member staff: the ledger records the basis, with a receipt on art. 6(1)(b)
    token = await admin.form_token("/admin")
    made = await admin.post("/admin/roles", data={"csrf_token": token, "username": member.user["username"],
                                                  "role": "staff"})
    assert made.status_code == 303
    rows = await db.fetch_all("SELECT e.basis, e.action, e.channel FROM consent_event e JOIN consent_subject s "
                              "ON s.id = e.subject_id WHERE s.user_id = ?", [member.user["id"]])
    assert [(r["basis"], r["action"], r["channel"]) for r in rows] == [("employment", "granted", "role")]
    receipt = (await _receipts(member))[0]
    assert _payload(receipt["jws"])["dpv:hasRecordOfActivity"]["dpv:hasLegalBasis"] == "eu-gdpr:A6-1-b"
    await new_topic(member, category.slug)
    made = await admin.post("/admin/roles", data={"csrf_token": token, "username": member.user["username"],
                                                  "role": "member"})
    blocked = await member.api("POST", "/api/v1/topics", {"category": category.slug, "title": unique("Emne "),
                                                          "body": "Hei", "kind": "question"})
    assert blocked.status_code == 403  # back to a member: consent needed again


async def test_a_purpose_text_version_is_unique_within_its_purpose_only(admin):
    from forum.errors import ValidationFailed
    from forum.services.consent import publish_policy

    await publish_policy(version=unique("v"), text_nb="a", text_en="b", purpose="mail")
    with pytest.raises(ValidationFailed):
        await publish_policy(version="test-1", text_nb="a", text_en="b", purpose="mail")
    with pytest.raises(ValidationFailed):
        await publish_policy(version="x", text_nb="a", text_en="b", purpose="marketing")


def test_the_receipts_migration_gives_subjects_pseudonyms_and_goes_back(tmp_path):
    path = tmp_path / "receipts.sqlite3"
    url = f"sqlite:///{path}"
    migrate_in_a_process(url, "models.0010_audit_reason_scrub")
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO account (id, email, password_hash, role, created_at) "
                 "VALUES (1, 'a@example.test', 'x', 'member', '2026-01-01')")
    conn.execute("INSERT INTO consent_subject (id, user_id) VALUES (1, 1)")
    conn.execute("INSERT INTO policy_version (id, version, text_nb, text_en, sha256_nb, sha256_en, published_at, "
                 "requires_reconsent) VALUES (1, '1', 'a', 'b', 'c', 'd', '2026-01-01', 0)")
    conn.execute("INSERT INTO consent_event (subject_id, policy_version, text_sha256, locale, action, channel, "
                 "created_at) VALUES (1, '1', 'c', 'nb', 'granted', 'page', '2026-01-01')")
    conn.commit()
    conn.close()
    migrate_in_a_process(url, None)
    conn = sqlite3.connect(path)
    assert len(conn.execute("SELECT pseudonym FROM consent_subject").fetchone()[0]) == 36
    assert conn.execute("SELECT purpose, basis FROM consent_event").fetchall() == [("forum", "consent")]
    assert conn.execute("SELECT purpose FROM policy_version").fetchall() == [("forum",)]
    conn.execute("INSERT INTO policy_version (version, purpose, text_nb, text_en, sha256_nb, sha256_en, "
                 "published_at, requires_reconsent) VALUES ('1', 'mail', 'a', 'b', 'c', 'd', '2026-01-02', 0)")
    conn.commit()
    conn.close()
    migrate_in_a_process(url, "models.0010_audit_reason_scrub")
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT version FROM policy_version").fetchall() == [("1",)]
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO policy_version (version, text_nb, text_en, sha256_nb, sha256_en, published_at, "
                     "requires_reconsent) VALUES ('1', 'a', 'b', 'c', 'd', '2026-01-03', 0)")
    conn.close()


def test_roles_on_the_employment_basis_come_from_the_setting(monkeypatch):
    from forum.settings import SettingsError, load_settings

    monkeypatch.setenv("FORUM_EMPLOYMENT_ROLES", "staff, moderator")
    assert load_settings(secret_key="x" * 40).employment_roles == ("staff", "moderator")
    monkeypatch.setenv("FORUM_EMPLOYMENT_ROLES", "")
    assert load_settings(secret_key="x" * 40).employment_roles == ()
    monkeypatch.setenv("FORUM_EMPLOYMENT_ROLES", "staff,boss")
    with pytest.raises(SettingsError):
        load_settings(secret_key="x" * 40)
    assert Role.STAFF.value == "staff"
