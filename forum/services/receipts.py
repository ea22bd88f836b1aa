"""Signed consent receipts: every ledger event gets one the member keeps, and anyone can check it.

A receipt is a JSON-LD document in the ISO/IEC TS 27560:2023 receipt structure as the W3C Data Privacy
Vocabulary's guide lays it out (a `dpv:ConsentReceipt` wrapping the `dpv:ConsentRecord` of the event), carrying
the Kantara Consent Receipt v1.1 fields as a JSON literal beside it (`kantaraReceipt`), signed as a compact JWS
(ES256, joserfc). The public keys are published at /.well-known/jwks.json; a rotated key stays published, so a
receipt signed before the rotation still verifies. The private keys live in the database (every host signs with
the same key), encrypted with AES-GCM under a key derived from FORUM_SECRET_KEY.

The receipt names the member only by their subject pseudonym: no email, no account id, no handle.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from forum import db
from forum.models import ConsentAction, ConsentEvent, ConsentReceipt, ConsentSubject, PolicyVersion, ReceiptKey

ALG = "ES256"
RECEIPT_PROFILE = "https://w3id.org/dpv/schema/dpv-27560#receipt"
RECORD_PROFILE = "https://w3id.org/dpv/schema/dpv-27560#record"
KANTARA_VERSION = "KI-CR-v1.1.0"
KANTARA_TERM = "https://kantarainitiative.org/consent-receipt/v1.1#receipt"
# Prefixes as the DPV guide uses them; the context is inline so that a receipt expands without fetching anything
CONTEXT = {
    "dpv": "https://w3id.org/dpv#",
    "pd": "https://w3id.org/dpv/pd#",
    "eu-gdpr": "https://w3id.org/dpv/legal/eu/gdpr#",
    "loc": "https://w3id.org/dpv/loc#",
    "dct": "http://purl.org/dc/terms/",
    "schema": "https://schema.org/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "kantaraReceipt": {"@id": KANTARA_TERM, "@type": "@json"},
}
KEY_CACHE_SECONDS = 60.0
METHODS = {"page": ("web form with an unticked box", "dpv:DataSubject"),
           "api": ("JSON API request of the member", "dpv:DataSubject"),
           "role": ("role given or taken by an administrator", "dpv:DataController")}


@dataclass(frozen=True)
class Controller:
    name: str = "Forum operator"
    email: str = ""
    address: str = ""
    country: str = "NO"
    phone: str = ""
    base_url: str = "http://127.0.0.1:8000"


_controller = Controller()
_secret = b""
_active: tuple[float, str, ECKey] | None = None


def configure(*, secret_key: str, controller: Controller) -> None:
    global _controller, _secret, _active
    _controller, _active = controller, None
    _secret = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"forum consent receipt signing keys").derive(secret_key.encode("utf-8"))


# --- keys ---------------------------------------------------------------------------------------------------

def _seal(private: dict) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_secret).encrypt(nonce, json.dumps(private).encode("utf-8"), b"receipt-key")
    return base64.b64encode(nonce + sealed).decode("ascii")


def _open(sealed: str) -> dict | None:
    raw = base64.b64decode(sealed)
    try:
        return json.loads(AESGCM(_secret).decrypt(raw[:12], raw[12:], b"receipt-key"))
    except Exception:  # sealed under another FORUM_SECRET_KEY: it can still verify, not sign
        return None


async def create_key(conn=None) -> ReceiptKey:
    key = ECKey.generate_key("P-256", parameters={"kid": uuid.uuid4().hex, "use": "sig", "alg": ALG})
    return await ReceiptKey.create(kid=key.kid, public_jwk=json.dumps(key.as_dict(private=False)),
                                   private_jwk=_seal(key.as_dict(private=True)), using_db=conn)


async def rotate_key() -> str:
    """Retires the signing key and makes a new one; retired keys stay published for verification."""
    global _active
    async with db.write_transaction() as conn:
        await ReceiptKey.filter(retired_at__isnull=True).using_db(conn).update(retired_at=datetime.now(UTC))
        key = await create_key(conn)
    _active = None
    return key.kid


async def _signing_key(conn) -> tuple[str, ECKey]:
    global _active
    if _active is not None and time.monotonic() - _active[0] < KEY_CACHE_SECONDS:
        return _active[1], _active[2]
    for row in await ReceiptKey.filter(retired_at__isnull=True).using_db(conn).order_by("-created_at"):
        private = _open(row.private_jwk)
        if private is not None:
            break
    else:  # none yet, or only keys sealed under another secret key
        row = await create_key(conn)
        private = _open(row.private_jwk)
    _active = (time.monotonic(), row.kid, ECKey.import_key(private))
    return row.kid, _active[2]


async def jwks() -> dict:
    rows = await ReceiptKey.all().order_by("created_at").values("public_jwk")
    return {"keys": [json.loads(r["public_jwk"]) for r in rows]}


# --- the receipt ------------------------------------------------------------------------------------------

def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build(*, receipt_id: str, event: ConsentEvent, pseudonym: str, purpose, policy: PolicyVersion,
          public_pem: str) -> dict:
    """The receipt document for one ledger event (before signing)."""
    c = _controller
    given = event.action == ConsentAction.GRANTED
    employment = str(getattr(event.basis, "value", event.basis)) == "employment"
    method, indicated_by = METHODS.get(event.channel, METHODS["page"])
    manage_url = f"{c.base_url}/consent"
    policy_url = f"{c.base_url}/consent/policies/{purpose.name}/{policy.version}?locale={event.locale}"
    title = purpose.title  # receipts are in English msgids: the texts shown are the policy's
    record_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{c.base_url}/consent/events/{event.id}"))
    controller = {"@id": c.base_url, "@type": "dpv:DataController", "dpv:hasName": c.name,
                  "dpv:hasIdentifier": c.base_url, "schema:email": c.email, "schema:url": c.base_url,
                  "schema:telephone": c.phone,
                  "schema:address": {"@type": "schema:PostalAddress", "schema:streetAddress": c.address,
                                     "schema:addressCountry": c.country}}
    status: dict = {"@type": (["dpv:ConsentGiven", "dpv:ExpressedConsent"] if given else "dpv:ConsentWithdrawn"),
                    "dpv:isIndicatedBy": indicated_by, "dpv:hasIndicationMethod": method,
                    "dpv:isIndicatedAtTime": {"@value": _iso(event.created_at), "@type": "xsd:dateTime"}}
    record = {
        "@id": f"urn:uuid:{record_id}",
        "@type": "dpv:ConsentRecord",
        "dct:identifier": record_id,
        "dct:conformsTo": RECORD_PROFILE,
        "dpv:hasDataSubject": {"@id": f"urn:uuid:{pseudonym}", "@type": "dpv:DataSubject",
                               "dpv:hasIdentifier": pseudonym},
        "dpv:hasDataController": controller,
        "dpv:hasJurisdiction": f"loc:{c.country}",
        "dpv:hasApplicableLaw": "eu-gdpr:GDPR",
        "dpv:hasLegalBasis": "eu-gdpr:A6-1-b" if employment else "eu-gdpr:A6-1-a",
        "dpv:hasProcess": {
            "@type": "dpv:Process",
            "dpv:hasPurpose": {"@type": purpose.dpv_purpose, "dct:identifier": purpose.name, "dct:title": title,
                               "dct:description": purpose.summary},
            "dpv:hasPersonalData": list(purpose.dpv_personal_data),
            "dpv:hasDataSource": "dpv:DataSubject",
        },
        "dpv:hasNotice": {"@id": policy_url, "@type": "dpv:ConsentNotice", "dct:identifier": policy.version,
                          "dct:hasVersion": policy.version, "dct:language": event.locale,
                          "schema:sha256": event.text_sha256, "schema:url": policy_url},
        "dpv:hasConsentControl": {"@type": ["dpv:ProvideConsent", "dpv:WithdrawConsent"],
                                  "dpv:isExercisedAt": manage_url},
        "dpv:hasRight": {"@type": ["dpv:DataSubjectRight", "eu-gdpr:A7-3"],
                         "dct:title": "Right to Withdraw Consent", "dpv:isExercisedAt": manage_url},
        "dpv:hasConsentStatus": status,
    }
    kantara = {
        "version": KANTARA_VERSION,
        "jurisdiction": c.country,
        "consentTimestamp": int(event.created_at.timestamp()),
        "collectionMethod": method,
        "consentReceiptID": receipt_id,
        "publicKey": public_pem,
        "language": event.locale,
        "piiPrincipalId": pseudonym,
        "piiControllers": [{"piiController": c.name, "onBehalf": False, "contact": c.email or c.base_url,
                            "address": {"streetAddress": c.address, "addressCountry": c.country},
                            "email": c.email, "phone": c.phone, "piiControllerUrl": c.base_url}],
        "policyUrl": policy_url,
        "services": [{"service": c.name, "purposes": [{
            "purpose": title, "purposeCategory": [purpose.kantara_category],
            "consentType": "EXPLICIT", "piiCategory": list(purpose.data_categories),
            "primaryPurpose": bool(purpose.gates_participation),
            "termination": f"Until withdrawn, at any time, at {manage_url}",
            "thirdPartyDisclosure": False}]}],
        "sensitive": False,
        "spiCat": [],
    }
    return {
        "@context": CONTEXT,
        "@id": f"urn:uuid:{receipt_id}",
        "@type": "dpv:ConsentReceipt",
        "dpv:hasIdentifier": receipt_id,
        "dct:identifier": receipt_id,
        "dct:conformsTo": RECEIPT_PROFILE,
        "dct:created": {"@value": _iso(event.created_at), "@type": "xsd:dateTime"},
        "dct:publisher": c.base_url,
        "schema:recipient": "dpv:DataSubject",
        "dpv:hasRecordOfActivity": record,
        "kantaraReceipt": kantara,
    }


def _canonical(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


async def issue(conn, event: ConsentEvent, purpose) -> ConsentReceipt:
    """Signs and stores the receipt of `event`, in the event's transaction."""
    subject = await ConsentSubject.get(id=event.subject_id).using_db(conn)
    policy = await PolicyVersion.get(purpose=event.purpose, version=event.policy_version).using_db(conn)
    kid, key = await _signing_key(conn)
    public_pem = key.as_pem(private=False).decode("ascii")
    receipt_id = str(uuid.uuid4())
    document = build(receipt_id=receipt_id, event=event, pseudonym=subject.pseudonym, purpose=purpose,
                     policy=policy, public_pem=public_pem)
    token = jws.serialize_compact({"alg": ALG, "kid": kid, "cty": "ld+json"}, _canonical(document), key,
                                  algorithms=[ALG])
    return await ConsentReceipt.create(id=receipt_id, event_id=event.id, subject_id=event.subject_id,
                                       purpose=event.purpose, action=event.action, jws=token,
                                       created_at=event.created_at, using_db=conn)


def payload_of(token: str) -> dict:
    """The receipt document inside a JWS, without checking it (for showing the member their own receipts)."""
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


async def receipts_of(user_id: int) -> list[dict]:
    rows = await db.fetch_all(
        "SELECT r.id, r.purpose, r.action, r.created_at, r.jws FROM consent_receipt r "
        "JOIN consent_subject s ON s.id = r.subject_id WHERE s.user_id = ? ORDER BY r.created_at DESC, r.id",
        [user_id])
    return [{"id": r["id"], "purpose": r["purpose"], "event": r["action"],
             "created_at": db.as_datetime(r["created_at"]), "jws": r["jws"]} for r in rows]


async def receipt_of(user_id: int, receipt_id: str) -> dict | None:
    for receipt in await receipts_of(user_id):
        if receipt["id"] == receipt_id:
            return receipt
    return None


def download(receipt: dict) -> dict:
    """What the member downloads: the receipt document and the JWS that proves it, in one JSON file."""
    return {"receipt": payload_of(receipt["jws"]), "jws": receipt["jws"],
            "verify": f"{_controller.base_url}/consent/verify", "keys": f"{_controller.base_url}/.well-known/jwks.json"}


# --- verification -----------------------------------------------------------------------------------------

def token_from(text: str) -> str:
    """A receipt as pasted or uploaded: the compact JWS itself, or the downloaded JSON file that holds it."""
    text = (text or "").strip()
    if text.startswith("{"):
        try:
            value = json.loads(text).get("jws")
        except (ValueError, AttributeError):
            return ""
        return value.strip() if isinstance(value, str) else ""
    return text


async def verify(text: str) -> dict:
    """Whether a receipt was signed by this forum, and whether it is the one its ledger holds. Says nothing
    about the member beyond what the receipt itself says."""
    answer = {"valid": False, "matches_ledger": False, "purpose": None, "event": None, "created_at": None,
              "in_force": None}
    token = token_from(text)
    if token.count(".") != 2 or len(token) > 64_000:
        return answer
    try:
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==="))
        kid = header.get("kid") if isinstance(header, dict) else None
    except (ValueError, UnicodeDecodeError):
        return answer
    row = await ReceiptKey.filter(kid=kid).first() if isinstance(kid, str) and len(kid) <= 64 else None
    if row is None:
        return answer
    try:
        verified = jws.deserialize_compact(token, ECKey.import_key(json.loads(row.public_jwk)), algorithms=[ALG])
        document = json.loads(verified.payload)
    except (JoseError, ValueError, TypeError):
        return answer
    record = document.get("hasRecordOfActivity") or document.get("dpv:hasRecordOfActivity") or {}
    status = record.get("dpv:hasConsentStatus", {})
    kinds = status.get("@type") if isinstance(status, dict) else None
    answer.update(valid=True, created_at=(document.get("dct:created") or {}).get("@value"),
                  purpose=((record.get("dpv:hasProcess") or {}).get("dpv:hasPurpose") or {}).get("dct:identifier"),
                  event="withdrawn" if kinds == "dpv:ConsentWithdrawn" else "granted")
    stored = await db.fetch_one(
        "SELECT r.jws, r.subject_id, r.purpose, r.event_id, r.action FROM consent_receipt r WHERE r.id = ?",
        [str(document.get("dpv:hasIdentifier", ""))[:36]])
    if stored is None or stored["jws"] != token:
        return answer
    later = await db.fetch_one(
        "SELECT COUNT(*) AS n FROM consent_event WHERE subject_id = ? AND purpose = ? AND basis = ? AND id > ?",
        [stored["subject_id"], stored["purpose"], str(_basis_of(record)), stored["event_id"]])
    answer.update(matches_ledger=True,
                  in_force=stored["action"] == ConsentAction.GRANTED.value and not later["n"])
    return answer


def _basis_of(record: dict) -> str:
    return "employment" if record.get("dpv:hasLegalBasis") == "eu-gdpr:A6-1-b" else "consent"


def fingerprint(token: str) -> str:
    """A short digest of a receipt, printed on the human-readable page so a printout can be matched to a file."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()[:16]


def public_pem_of(jwk: dict) -> str:
    return ECKey.import_key(jwk).as_pem(private=False).decode("ascii")

