"""Reading the composer's files from its form, and saying what was wrong with one (forum/web/topics.py)."""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile

from forum import i18n
from forum.errors import DomainError
from forum.services import attachments


async def read_uploads(form: FormData) -> list[attachments.Upload]:
    """The form's files, each with the alt text typed beside it (fields `attachment` and `attachment_alt`,
    paired in order)."""
    files = [f for f in form.getlist("attachment") if isinstance(f, UploadFile)]
    alts = [a for a in form.getlist("attachment_alt") if isinstance(a, str)]
    uploads = []
    for index, upload in enumerate(files):
        data = await upload.read()
        uploads.append(attachments.Upload(data, upload.filename or "", alts[index] if index < len(alts) else ""))
    return uploads


def problem_text(exc: DomainError) -> str:
    """A file problem's message in the viewer's language, its numbers filled in (the template prints it)."""
    text = i18n.gettext(exc.message)
    return (text % exc.params if exc.params else text).replace("%", "%%")
