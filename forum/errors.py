"""Domain errors. Services raise them; one handler turns them into a status and a page or JSON body.

Messages are English msgids (marked with `N_`) translated when the error is shown, in the viewer's language.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Marks a string for extraction without translating it yet."""
    return message


class DomainError(Exception):
    status = 400
    code = "bad_request"
    default_message = N_("The request could not be processed.")

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 fields: dict[str, str] | None = None, **params) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        self.fields = fields or {}
        self.params = params
        super().__init__(self.message)


class BadRequest(DomainError):
    pass


class ValidationFailed(DomainError):
    """Input broke a rule. `fields` maps a field name to a message msgid."""

    status = 400
    code = "invalid"
    default_message = N_("Some fields need attention.")


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    default_message = N_("Please sign in first.")


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = N_("You are not allowed to do that.")


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    default_message = N_("The form has expired or did not come from this site. Please try again.")


class ConsentRequired(Forbidden):
    code = "consent_required"
    default_message = N_("Taking part in the forum needs your consent first.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = N_("We could not find that page.")


class Gone(NotFound):
    """A page that was public and has been removed: search engines drop it (410) rather than retry it (404)."""

    status = 410
    code = "gone"
    default_message = N_("This topic has been removed.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = N_("That conflicts with something that already exists.")


class TooLarge(DomainError):
    status = 413
    code = "too_large"
    default_message = N_("The request is too large.")


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    default_message = N_("You are doing that too often. Please wait a moment.")


class FileProblem(ValidationFailed):
    """Something wrong with a file attached to a post (the composer shows it beside the file field)."""

    code = "file_problem"


class UnsupportedFile(FileProblem):
    """An uploaded file that is not one of the kinds the forum takes (sniffed from its bytes)."""

    status = 415
    code = "unsupported_file"
    default_message = N_("That kind of file cannot be attached. Attach a PNG, JPEG, WebP or GIF picture, "
                         "or a plain text file (.txt, .log, .csv).")


class FileTooLarge(FileProblem):
    status = 413
    code = "file_too_large"
    default_message = N_("The file is too large.")
