"""Reading the composer's files from its form, keeping them when the composer is sent back, and saying what was
wrong with one (forum/web/topics.py).

Without JavaScript a browser cannot send a file again: a composer the forum answers with its text (an empty body,
a warning to confirm, similar questions) would lose the files chosen. So those files are kept server-side as the
member's pending uploads (forum.services.pending_uploads), listed in the re-rendered composer by id (with their
alt text and a "remove" box) and attached when the form is sent again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import FormData, UploadFile

from forum import i18n
from forum.errors import DomainError, FileProblem
from forum.params import optional_id
from forum.services import attachments, pending_uploads

PENDING_FIELD, REMOVE_FIELD = "pending_upload", "pending_remove"


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


@dataclass
class ComposerFiles:
    uploads: list[attachments.Upload] = field(default_factory=list)  # sent with this try
    pending: list[int] = field(default_factory=list)                 # kept from an earlier try (ids)


def _ids(values) -> list[int]:
    return [i for i in (optional_id(v) if isinstance(v, str) else None for v in values) if i is not None][:20]


async def composer_files(viewer, form: FormData) -> ComposerFiles:
    """The files a composer's form carries: the new ones, and the kept ones it lists less those ticked for
    removal (which go now)."""
    removed = set(_ids(form.getlist(REMOVE_FIELD)))
    if removed:
        await pending_uploads.remove(viewer, sorted(removed))
    pending = [i for i in dict.fromkeys(_ids(form.getlist(PENDING_FIELD))) if i not in removed]
    uploads = [u for u in await read_uploads(form) if u.data or u.filename]
    return ComposerFiles(uploads, pending)


async def keep_for_later(viewer, files: ComposerFiles) -> tuple[list[dict], str | None]:
    """The composer goes back to the member: its new files are kept pending (each on its own, so a file that is
    refused does not take the good ones with it). Returns the kept files to list and the first problem."""
    problem = None
    kept = list(files.pending)
    for upload in files.uploads:
        try:
            kept.extend(row["id"] for row in await pending_uploads.keep(viewer, [upload]))
        except FileProblem as exc:
            problem = problem or problem_text(exc)
    return await pending_uploads.of_member(viewer.id, kept), problem


def problem_text(exc: DomainError) -> str:
    """A file problem's message in the viewer's language, its numbers filled in (the template prints it)."""
    text = i18n.gettext(exc.message)
    return (text % exc.params if exc.params else text).replace("%", "%%")
