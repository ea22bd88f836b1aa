"""All forum models; Tortoise discovers them through this module."""

from forum.models.accounts import NameClaim, Profile, Role, Session, User
from forum.models.attachments import Attachment, PendingUpload
from forum.models.composer import ComposerDraft
from forum.models.consent import (
    ConsentAction,
    ConsentEvent,
    ConsentReceipt,
    ConsentSubject,
    LegalBasis,
    PolicyVersion,
    ReceiptKey,
)
from forum.models.content import (
    Category,
    CategoryWatch,
    Notification,
    NotificationKind,
    Post,
    PostLike,
    PostMention,
    PostQuote,
    PostRevision,
    ReadAccess,
    StartTopics,
    Topic,
    TopicKind,
    TopicRead,
    TopicWatch,
)
from forum.models.mail import EmailToken, MailKind, MailOutbox, MailPreference, MailStatus
from forum.models.oidc import OidcIdentity, OidcLoginAttempt, OidcSession
from forum.models.security import PasswordResetToken, RateCount, SignInThrottle

__all__ = [
    "Attachment",
    "PendingUpload",
    "ComposerDraft",
    "NameClaim",
    "ConsentAction", "ConsentEvent", "ConsentReceipt", "ConsentSubject", "LegalBasis", "PolicyVersion", "ReceiptKey",
    "Category", "CategoryWatch", "Notification", "NotificationKind", "Post", "PostLike", "PostMention",
    "PostQuote", "PostRevision", "Profile", "ReadAccess", "Role", "Session", "StartTopics", "Topic",
    "TopicKind", "TopicRead", "TopicWatch", "User", "PasswordResetToken", "RateCount", "SignInThrottle",
    "EmailToken", "MailKind", "MailOutbox", "MailPreference", "MailStatus",
    "OidcIdentity", "OidcLoginAttempt", "OidcSession",
]
