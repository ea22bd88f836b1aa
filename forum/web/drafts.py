"""The composer forms' confirmation step: with JavaScript off, a post that seems to hold personal data or a secret
is shown back to its author with the warnings (kind and lines, never the value) before it is saved.

Sending the form again checks the text again; the "post anyway" button (`confirm_sensitive=1`) saves it, and the
post is then held for review as before. With JavaScript on, forum.js asks the same question in place and sends
`confirm_sensitive=1` once the author has chosen.
"""

from __future__ import annotations

from starlette.datastructures import FormData

from forum import events
from forum.services.drafts import check_draft
from forum.web.common import field

CONFIRM_FIELD = "confirm_sensitive"


async def warnings_to_confirm(author_id: int, form: FormData, source: str) -> list[events.DraftWarning]:
    """The warnings the author has not yet seen and accepted for this text; empty once confirmed."""
    if field(form, CONFIRM_FIELD) == "1":
        return []
    return await check_draft(author_id, source)
