"""OpenID Connect sign-in: the link to the provider's account, sign-ins under way, and sessions it started."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class OidcIdentity(Model):
    # The account at the identity provider: `issuer` + `subject`, never the email alone. Only what the account needs.

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="oidc_identities", on_delete=fields.CASCADE,
                                  db_index=True)
    issuer = fields.CharField(max_length=255)
    subject = fields.CharField(max_length=255)
    # the provider said the account's email is verified (at the last sign-in): issue 21 counts it as verified
    email_verified = fields.BooleanField(default=False)
    # the staff role came from the provider's claim (FORUM_OIDC_STAFF_CLAIM), so the claim may take it back
    staff_from_claim = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_sign_in_at = fields.DatetimeField(null=True)

    class Meta:
        table = "oidc_identity"
        unique_together = [("issuer", "subject")]


class OidcLoginAttempt(Model):
    # A sign-in sent to the provider and not back yet: single use, bound to the browser's pre-sign-in session
    # (the SHA-256 of its forum_anon cookie, or of its forum session when a member links from settings).

    id = fields.IntField(primary_key=True)
    binding_hash = fields.CharField(max_length=64)
    state_hash = fields.CharField(max_length=64, unique=True)
    nonce = fields.CharField(max_length=64)
    code_verifier = fields.CharField(max_length=128)
    next_path = fields.CharField(max_length=500, default="")
    link_user_id = fields.IntField(null=True)   # set when a signed-in member links their account from settings
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "oidc_login_attempt"


class OidcSession(Model):
    # A forum session started by the provider, with the provider's session id (`sid`) for back-channel logout.

    id = fields.IntField(primary_key=True)
    session = fields.OneToOneField("models.Session", related_name="oidc", on_delete=fields.CASCADE)
    identity = fields.ForeignKeyField("models.OidcIdentity", related_name="sessions", on_delete=fields.CASCADE,
                                      db_index=True)
    sid = fields.CharField(max_length=255, null=True, db_index=True)

    class Meta:
        table = "oidc_session"
