"""Consent to forum participation: published policy versions and an append-only ledger of decisions."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ConsentAction(StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


class PolicyVersion(Model):
    # one published text of the forum policy, per locale, with the hash of exactly what is shown
    id = fields.IntField(primary_key=True)
    version = fields.CharField(max_length=32, unique=True)
    text_nb = fields.TextField()
    text_en = fields.TextField()
    sha256_nb = fields.CharField(max_length=64)
    sha256_en = fields.CharField(max_length=64)
    published_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    requires_reconsent = fields.BooleanField(default=False)

    class Meta:
        table = "policy_version"


class ConsentSubject(Model):
    # the only link from ledger rows to an account: erasing the account deletes this row, and the
    # ledger keeps its events and versions without anything that names the person
    id = fields.IntField(primary_key=True)
    user = fields.OneToOneField("models.User", related_name="consent_subject", on_delete=fields.CASCADE)

    class Meta:
        table = "consent_subject"


class ConsentEvent(Model):
    # append-only: the app inserts rows and never updates or deletes them
    id = fields.IntField(primary_key=True)
    subject_id = fields.IntField(db_index=True)
    policy_version = fields.CharField(max_length=32)
    text_sha256 = fields.CharField(max_length=64)
    locale = fields.CharField(max_length=8)
    action = fields.CharEnumField(ConsentAction, max_length=16)
    channel = fields.CharField(max_length=8)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "consent_event"
