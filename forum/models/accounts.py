"""The account (email + password, kept after consent withdrawal) and the forum profile (removed by it)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    MEMBER = "member"
    STAFF = "staff"
    MODERATOR = "moderator"
    ADMIN = "admin"


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(Role, max_length=16, default=Role.MEMBER)
    locale = fields.CharField(max_length=8, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    # when the address was confirmed (a link mailed to it); null: not yet, and sign-in waits for it
    email_verified_at = fields.DatetimeField(null=True)

    profile: fields.ReverseRelation[Profile]

    class Meta:
        table = "account"

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF, Role.MODERATOR, Role.ADMIN)

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class Profile(Model):
    # The public forum identity. Consent withdrawal deletes this row; the account stays.

    id = fields.IntField(primary_key=True)
    user = fields.OneToOneField("models.User", related_name="profile", on_delete=fields.CASCADE)
    username = fields.CharField(max_length=32, unique=True)
    # casefolded, confusable-folded form: two handles with the same key look alike and are refused
    username_key = fields.CharField(max_length=64, unique=True)
    display_name = fields.CharField(max_length=64, default="")
    bio = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    # the member's choice to let search engines index the profile page; noindex unless chosen
    public_profile = fields.BooleanField(default=False)

    class Meta:
        table = "profile"


class NameClaim(Model):
    # A name a member is shown by, as its look-alike skeleton (forum.services.name_claims): the handle, and the display
    # name when it differs. Unique, so no two members can look alike, even when both write in the same moment.
    # Goes with the profile (consent withdrawal deletes it).

    id = fields.IntField(primary_key=True)
    profile = fields.ForeignKeyField("models.Profile", related_name="name_claims", on_delete=fields.CASCADE,
                                     db_index=True)
    kind = fields.CharField(max_length=8)  # "handle" or "display"
    skeleton = fields.CharField(max_length=255, unique=True)

    class Meta:
        table = "name_claim"


class Session(Model):
    # A server-side session. Only the SHA-256 of the cookie token is stored.

    id = fields.IntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    user = fields.ForeignKeyField("models.User", related_name="sessions", on_delete=fields.CASCADE, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "session"
