"""All forum models; Tortoise discovers them through this module."""

from forum.models.accounts import NameClaim, Profile, Role, Session, User
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
from forum.models.oidc import OidcIdentity, OidcLoginAttempt, OidcSession
from forum.models.security import PasswordResetToken, SignInThrottle

__all__ = [
    "NameClaim",
    "ConsentAction", "ConsentEvent", "ConsentReceipt", "ConsentSubject", "LegalBasis", "PolicyVersion", "ReceiptKey",
    "Category", "CategoryWatch", "Notification", "NotificationKind", "Post", "PostLike", "PostMention",
    "PostQuote", "PostRevision", "Profile", "ReadAccess", "Role", "Session", "StartTopics", "Topic",
    "TopicKind", "TopicRead", "TopicWatch", "User", "PasswordResetToken", "SignInThrottle",
    "OidcIdentity", "OidcLoginAttempt", "OidcSession",
]
