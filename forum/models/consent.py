"""Consent per purpose: published policy versions, an append-only ledger of decisions, signed receipts."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ConsentAction(StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


class LegalBasis(StrEnum):
    CONSENT = "consent"          # GDPR art. 6(1)(a): the member's own decision, recorded with the text shown
    EMPLOYMENT = "employment"    # art. 6(1)(b): staff taking part as part of their work (no free consent possible)


class PolicyVersion(Model):
    # one published text of the forum policy, per locale, with the hash of exactly what is shown
    id = fields.IntField(primary_key=True)
    purpose = fields.CharField(max_length=32, default="forum", db_index=True)
    version = fields.CharField(max_length=32)
    text_nb = fields.TextField()
    text_en = fields.TextField()
    sha256_nb = fields.CharField(max_length=64)
    sha256_en = fields.CharField(max_length=64)
    published_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    requires_reconsent = fields.BooleanField(default=False)

    class Meta:
        table = "policy_version"
        unique_together = (("purpose", "version"),)


class ConsentSubject(Model):
    # the only link from ledger rows to an account: erasing the account deletes this row, and the
    # ledger keeps its events and versions without anything that names the person
    id = fields.IntField(primary_key=True)
    user = fields.OneToOneField("models.User", related_name="consent_subject", on_delete=fields.CASCADE)
    # the pseudonymous subject id that receipts carry (never the email or the account id)
    pseudonym = fields.CharField(max_length=36, unique=True)

    class Meta:
        table = "consent_subject"


class ConsentEvent(Model):
    # append-only: the app inserts rows and never updates or deletes them
    id = fields.IntField(primary_key=True)
    subject_id = fields.IntField(db_index=True)
    purpose = fields.CharField(max_length=32, default="forum")
    basis = fields.CharEnumField(LegalBasis, max_length=16, default=LegalBasis.CONSENT)
    policy_version = fields.CharField(max_length=32)
    text_sha256 = fields.CharField(max_length=64)
    locale = fields.CharField(max_length=8)
    action = fields.CharEnumField(ConsentAction, max_length=16)
    channel = fields.CharField(max_length=8)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "consent_event"


class ConsentReceipt(Model):
    # The signed receipt of one ledger event, as handed to the member (a JWS over the JSON-LD receipt). Written
    # in the event's transaction and never changed. It names the member only by the subject's pseudonym, so once
    # the subject row is gone (erasure, or the end of the evidence period) nothing links it to anyone.

    id = fields.CharField(max_length=36, primary_key=True)   # the receipt id (UUID 4) inside the receipt
    event_id = fields.IntField(unique=True)
    subject_id = fields.IntField(db_index=True)
    purpose = fields.CharField(max_length=32)
    action = fields.CharEnumField(ConsentAction, max_length=16)
    jws = fields.TextField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "consent_receipt"


class ReceiptKey(Model):
    # A key that signs receipts. The newest unretired key signs; every key stays published so that receipts
    # signed before a rotation still verify. The private half is encrypted with a key derived from the secret key.

    kid = fields.CharField(max_length=64, primary_key=True)
    public_jwk = fields.TextField()
    private_jwk = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)
    retired_at = fields.DatetimeField(null=True)

    class Meta:
        table = "receipt_key"
